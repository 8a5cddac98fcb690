"""`clearsite evidence-pack`: the signed proof of a site's or a department's removals, and its check.

    write    clearsite evidence-pack --site "Alpha HQ" --out pack-alpha/
             clearsite evidence-pack --department "Home Office" --out pack-ho/
    verify   clearsite evidence-pack verify pack-alpha/ --public-key home-office.pem

`verify` needs no database: an auditor outside the department runs it with the department's public
key (`clearsite department key show`). Exit 0 with a summary; exit 1 naming every failure.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from clearsite.cli.errors import HandledGroup
from clearsite.cli.options import DbOption, actor, open_engine, say
from clearsite.core.errors import CheckFailed, UsageError

__all__ = ["app"]

app = typer.Typer(cls=HandledGroup, invoke_without_command=True, no_args_is_help=False,
                  help="Write a signed evidence pack of removals (--site or --department, --out), or verify one.")


@app.callback()
def write(
    ctx: typer.Context,
    site: Annotated[str | None, typer.Option("--site", help="One site's removals.")] = None,
    department: Annotated[str | None, typer.Option("--department", help="A whole department's removals.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="A new (or empty) folder for the pack.")] = None,
    key_file: Annotated[Path | None, typer.Option("--key-file", help="The department's private key (default: "
                                                  "the one on record).")] = None,
    db: DbOption = None,
) -> None:
    """Write a signed evidence pack: every removal claim with its evidence files and hashes, the observations
    that verified it and the audit log head, signed with the department's Ed25519 key."""
    if ctx.invoked_subcommand is not None:
        return
    if out is None:
        raise UsageError("--out FOLDER is needed (a new or empty folder for the pack)")
    from clearsite.services.evidence_pack import build_evidence_pack

    summary = build_evidence_pack(open_engine(db), actor(), out, site=site, department=department,
                                  key_file=key_file)
    sys.stdout.write(summary.describe() + "\n")
    say(f"manifest SHA-256 {summary.manifest_sha256}; auditors check it with "
        f"'clearsite evidence-pack verify {out} --public-key KEY.pem'")


@app.command("verify")
def verify(
    pack: Annotated[Path, typer.Argument(help="The pack's folder.")],
    public_key: Annotated[Path | None, typer.Option("--public-key", help="The department's public key (PEM), "
                                                    "obtained from them; default: the pack's own, whose "
                                                    "fingerprint you then compare.")] = None,
    fingerprint: Annotated[str | None, typer.Option("--fingerprint", help="The signer's expected fingerprint "
                                                    "(64 or 16 hex digits).")] = None,
) -> None:
    """Check a pack's signature and every file's hash with a public key alone; exit 1 naming what failed."""
    from clearsite.services.evidence_pack import verify_evidence_pack

    result = verify_evidence_pack(pack, public_key, fingerprint)
    if not result.ok:
        raise CheckFailed(result.describe())
    sys.stdout.write(result.describe() + "\n")
    if public_key is None and fingerprint is None:
        say("checked against the key inside the pack: compare its fingerprint with the department's before "
            "relying on it")
