"""`clearsite department key create|show` and `clearsite department sign|verify`: a department's signing key.

    key create   clearsite department key create --department "Home Office" [--key-file PATH]
    key show     clearsite department key show --department "Home Office" > home-office.pem
    sign         clearsite department sign public/progress.json --department "Home Office"
    verify       clearsite department verify public/progress.json --public-key home-office.pem

The public key goes to stdout (hand it, and its fingerprint, to auditors by a channel they trust);
the private key stays in its file, mode 0600, and is never printed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from clearsite.cli.errors import HandledGroup
from clearsite.cli.options import DbOption, actor, open_engine, say

__all__ = ["app"]

DepartmentOption = Annotated[str, typer.Option("--department", help="The department whose key it is.")]
KeyFileOption = Annotated[Path | None, typer.Option("--key-file", help="The private key file (default: the one "
                                                     "on record for the department).")]

app = typer.Typer(cls=HandledGroup, help="A department's Ed25519 signing key, for evidence packs and statements.")
key_app = typer.Typer(cls=HandledGroup, help="Make or show the department's signing key.")
app.add_typer(key_app, name="key")


@key_app.command("create")
def key_create(
    department: DepartmentOption,
    key_file: Annotated[Path | None, typer.Option("--key-file", help="Write the private key here (default: "
                                                  "beside a SQLite database, in <database>-keys/).")] = None,
    db: DbOption = None,
) -> None:
    """Make the department's signing key (the old one is retired); prints the public key and fingerprint."""
    from clearsite.services.department_keys import create_key

    made = create_key(open_engine(db), actor(), department, key_file)
    sys.stdout.write(made.public_pem)
    say(f"key {made.key_id} for {made.department}: fingerprint SHA256 {made.fingerprint}")
    say(f"private key in {made.private_key_path} (mode 0600): keep it, and back it up, as you would a password")


@key_app.command("show")
def key_show(department: DepartmentOption, db: DbOption = None) -> None:
    """Print the department's current public key (PEM) for auditors; its fingerprint on stderr."""
    from clearsite.services.department_keys import department_key

    found = department_key(open_engine(db), department)
    sys.stdout.write(found.public_pem)
    say(f"key {found.key_id} for {found.department}: fingerprint SHA256 {found.fingerprint}")


@app.command("sign")
def sign(
    file: Annotated[Path, typer.Argument(help="The file to sign, e.g. the public statement from publish --public.")],
    department: DepartmentOption,
    key_file: KeyFileOption = None,
    db: DbOption = None,
) -> None:
    """Sign a file with the department's key: writes FILE.sig (base64 Ed25519) and prints the key's fingerprint."""
    from clearsite.services.department_keys import sign_file

    written, key = sign_file(open_engine(db), department, file, key_file)
    sys.stdout.write(f"{key.fingerprint}\n")
    say(f"signed {file.name}: {written.name}, key {key.key_id} ({key.department})")


@app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="The signed file.")],
    public_key: Annotated[Path, typer.Option("--public-key", help="The department's public key (PEM).")],
    signature: Annotated[Path | None, typer.Option("--signature", help="The signature (default: FILE.sig).")] = None,
) -> None:
    """Check FILE.sig against FILE under a public key alone; exit 1 if it does not match."""
    from clearsite.services.department_keys import verify_file_signature

    signer = verify_file_signature(file, public_key, signature)
    sys.stdout.write(f"signature OK: {file.name} signed by key {signer}\n")
