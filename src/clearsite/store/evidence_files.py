"""Evidence files (photos, disposal certificates) stored content-addressed beside the database.

A file is kept once under its SHA-256 (`ab/abcdef…`) in a folder only its owner can read (0700,
files 0600): the folder holds proof of where sensitive kit was, so it is treated like the database.
SQLite: `<database stem>-evidence/` beside the database file; otherwise CLEARSITE_EVIDENCE_DIR, else
`./clearsite-evidence`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from sqlalchemy import Engine

__all__ = ["ENV_VAR", "evidence_dir", "evidence_path", "store_file"]

ENV_VAR = "CLEARSITE_EVIDENCE_DIR"


def evidence_dir(engine: Engine) -> Path:
    """Where this database's evidence files live."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return Path(explicit)
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if database and database != ":memory:":
        path = Path(database).resolve()
        return path.with_name(f"{path.stem}-evidence")
    return Path("clearsite-evidence").resolve()


def evidence_path(engine: Engine, sha256: str) -> Path:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a SHA-256 in hex: {sha256!r}")
    return evidence_dir(engine) / sha256[:2] / sha256


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def store_file(engine: Engine, data: bytes) -> str:
    """Keep the bytes under their SHA-256 (once however often given); the hash."""
    digest = hashlib.sha256(data).hexdigest()
    target = evidence_path(engine, digest)
    root = evidence_dir(engine)
    _private_dir(root)
    _private_dir(target.parent)
    if target.is_file() and not target.is_symlink() and target.stat().st_size == len(data):
        return digest
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return digest
