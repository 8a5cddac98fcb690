"""Departments' Ed25519 signing keys: make one, show its public half, load it to sign, sign a file.

The private key is a PKCS#8 PEM file of mode 0600, written beside a SQLite database (in
`<database>-keys/`) or where `key_file` says; the database records only the public key, its
fingerprint and the private key's path. Making a new key retires the old one (its public key stays
on record, so what it signed can still be checked). Keys are those of knowledge bundles
(`formats.bundles`); fingerprints those of evidence packs (`formats.evidence_pack`).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine

from clearsite.core.errors import CheckFailed, InputError, NotFoundError
from clearsite.formats.bundles import generate_key_pair, load_private_key
from clearsite.formats.evidence_pack import fingerprint, load_public_key
from clearsite.store import audit
from clearsite.store import keys as key_store
from clearsite.store.transactions import write_transaction

__all__ = ["DepartmentKey", "create_key", "department_key", "sign_file", "signing_key", "verify_file_signature"]

SIGNATURE_SUFFIX = ".sig"


@dataclass(frozen=True, slots=True)
class DepartmentKey:
    department: str
    key_id: str
    fingerprint: str
    public_pem: str
    private_key_path: str


def _default_key_path(engine: Engine, department_id: int, kid: str) -> Path:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        raise InputError("--key-file: the database is not a file, so there is no folder beside it for the "
                         "private key; say where to write it")
    folder = Path(database).resolve().with_name(Path(database).name + "-keys")
    return folder / f"department-{department_id}-{kid}.pem"


def _write_private(path: Path, data: bytes) -> None:
    """Create the key file, readable by its owner only; never over an existing file or through a link."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        raise InputError(f"{path}: already exists; a key file is never overwritten") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot write the key: {exc.strerror or exc}") from None
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)  # whatever the umask made of it


def create_key(engine: Engine, actor: str, department: str, key_file: Path | None = None) -> DepartmentKey:
    """Make the department's new signing key (audited); the old one, if any, is retired."""
    pair = generate_key_pair()
    public = load_public_key(pair.public_pem, "new key")
    with write_transaction(engine) as conn:
        department_id = key_store.department_id(conn, department)
        if department_id is None:
            raise NotFoundError(f"department {department!r} not found (it is created with its first site)")
        path = (key_file or _default_key_path(engine, department_id, pair.key_id)).absolute()
        _write_private(path, pair.private_pem)
        try:
            key_store.add_key(conn, department_id=department_id, key_id=pair.key_id, fingerprint=fingerprint(public),
                              public_pem=pair.public_pem.decode(), private_key_path=str(path), created_by=actor,
                              now=datetime.now(UTC).replace(tzinfo=None))
            audit.record(conn, actor, "department_key.create", f"department:{department_id}", None,
                         {"department": department, "key_id": pair.key_id, "fingerprint": fingerprint(public),
                          "private_key_path": str(path)})
        except BaseException:
            path.unlink(missing_ok=True)  # the key was not recorded: leave no orphan private key behind
            raise
    return DepartmentKey(department, pair.key_id, fingerprint(public), pair.public_pem.decode(), str(path))


def department_key(engine: Engine, department: str) -> DepartmentKey:
    """The department's current key (its public half and where the private half is)."""
    with engine.connect() as conn:
        department_id = key_store.department_id(conn, department)
        stored = key_store.current_key(conn, department_id) if department_id is not None else None
    if stored is None:
        raise NotFoundError(f"department {department!r} has no signing key; make one with "
                            f"'clearsite department key create --department {department!r}'")
    return DepartmentKey(stored.department, stored.key_id, stored.fingerprint, stored.public_pem,
                         stored.private_key_path)


def signing_key(engine: Engine, department: str, key_file: Path | None = None) -> tuple[Ed25519PrivateKey,
                                                                                         DepartmentKey]:
    """The department's private key, checked against the public key on record (a wrong file is refused)."""
    recorded = department_key(engine, department)
    path = key_file or Path(recorded.private_key_path)
    private = load_private_key(path)
    if fingerprint(private.public_key()) != recorded.fingerprint:
        raise InputError(f"{path.name}: not {department}'s current signing key (fingerprint "
                         f"{fingerprint(private.public_key())[:16]}…, on record {recorded.key_id}…)")
    return private, recorded


def sign_file(engine: Engine, department: str, target: Path, key_file: Path | None = None) -> tuple[Path,
                                                                                                    DepartmentKey]:
    """Write TARGET.sig beside a file (the public statement, say): its Ed25519 signature, base64, one line."""
    private, recorded = signing_key(engine, department, key_file)
    try:
        data = target.read_bytes()
    except OSError as exc:
        raise InputError(f"{target}: cannot read it: {exc.strerror or exc}") from None
    signature_path = target.with_name(target.name + SIGNATURE_SUFFIX)
    temporary = signature_path.with_name(f".{signature_path.name}.partial")
    temporary.write_bytes(base64.b64encode(private.sign(data)) + b"\n")
    os.replace(temporary, signature_path)
    return signature_path, recorded


def verify_file_signature(target: Path, public_key_file: Path, signature_file: Path | None = None) -> str:
    """The signer's fingerprint when TARGET.sig is a valid signature of TARGET under the key; CheckFailed if not."""
    signature_path = signature_file or target.with_name(target.name + SIGNATURE_SUFFIX)
    try:
        data, signature_text = target.read_bytes(), signature_path.read_bytes()
        public: Ed25519PublicKey = load_public_key(public_key_file.read_bytes(), public_key_file.name)
    except OSError as exc:
        raise InputError(f"cannot read {exc.filename}: {exc.strerror or exc}") from None
    try:
        signature = base64.b64decode(signature_text.removesuffix(b"\n"), validate=True)
        public.verify(signature, data)
    except (ValueError, InvalidSignature):
        raise CheckFailed(f"{target.name}: the signature in {signature_path.name} does not match it under key "
                          f"{fingerprint(public)}") from None
    if base64.b64encode(signature) + b"\n" != signature_text:
        raise CheckFailed(f"{signature_path.name}: not a base64 signature and one newline")
    return fingerprint(public)

