"""The audit log's head, kept where the database writer cannot silently rewrite it.

After every transaction that appended to the log, the head (sequence number and hash) is signed
with an Ed25519 key the database does not hold and written to an anchor file (and, when
CLEARSITE_AUDIT_SYSLOG is set, sent to syslog, which can forward it off the machine). Someone who
can change the database but not these files can no longer cut entries off the end, or empty the
log, without `audit verify` saying so.

Where: beside a SQLite file (`clearsite.db.audit-key`, `clearsite.db.audit-anchor`, mode 0600);
for other databases under $XDG_DATA_HOME/clearsite/audit/, one pair per server and database; or wherever
CLEARSITE_AUDIT_KEY and CLEARSITE_AUDIT_ANCHOR say (put them on storage the database's owner cannot
write to).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import logging
import os
import syslog
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import URL, event
from sqlalchemy.pool import Pool

KEY_ENV = "CLEARSITE_AUDIT_KEY"
ANCHOR_ENV = "CLEARSITE_AUDIT_ANCHOR"
SYSLOG_ENV = "CLEARSITE_AUDIT_SYSLOG"
APPENDED = "clearsite_audit_appended"  # connection info: this connection appended; anchor after commit
_log = logging.getLogger("clearsite.audit")


@dataclass(frozen=True, slots=True)
class AnchorFiles:
    key: Path
    anchor: Path


@dataclass(frozen=True, slots=True)
class KeptHead:
    seq: int
    hash: str
    at: str


class AnchorProblem(Exception):
    """The kept head cannot be trusted (missing key, bad signature, unreadable file); the message says which."""


def anchor_files(url: URL) -> AnchorFiles | None:
    """Where this database's key and anchor live; None for an in-memory database with nothing configured."""
    key, anchor = os.environ.get(KEY_ENV), os.environ.get(ANCHOR_ENV)
    if key and anchor:
        return AnchorFiles(Path(key), Path(anchor))
    if url.get_backend_name() == "sqlite":
        database = url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        path = Path(database).resolve()
        return AnchorFiles(path.with_name(path.name + ".audit-key"), path.with_name(path.name + ".audit-anchor"))
    # The server and database, not the role: migrations (owner role) and the app (application role) share one.
    place = f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{url.database or ''}"
    name = hashlib.sha256(place.encode()).hexdigest()[:24]
    home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    folder = home / "clearsite" / "audit"
    return AnchorFiles(folder / f"{name}.key", folder / f"{name}.anchor")


def _signed_body(seq: int, digest: str) -> bytes:
    return json.dumps({"seq": seq, "hash": digest}, sort_keys=True, separators=(",", ":")).encode()


def _write_private(path: Path, data: bytes, *, exclusive: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_EXCL if exclusive else os.O_TRUNC)
    descriptor = os.open(path, flags, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # whatever the umask
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _load_key(path: Path, *, create: bool) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if not create:
            raise AnchorProblem(f"the audit signing key {path} is missing") from None
        private = Ed25519PrivateKey.generate()
        try:
            _write_private(path, private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()), exclusive=True)
        except FileExistsError:  # another process made it first
            return _load_key(path, create=False)
        return private
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except ValueError as exc:
        raise AnchorProblem(f"the audit signing key {path} is not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise AnchorProblem(f"the audit signing key {path} is not an Ed25519 key")
    return key


def read_kept_head(files: AnchorFiles) -> KeptHead | None:
    """The signed head kept for this database; None when none was ever kept. AnchorProblem when it
    cannot be trusted (key missing, signature wrong, file altered)."""
    try:
        raw = files.anchor.read_bytes()
    except FileNotFoundError:
        return None
    try:
        kept = json.loads(raw)
        seq, digest, signature = int(kept["seq"]), str(kept["hash"]), base64.b64decode(kept["signature"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AnchorProblem(f"the kept audit head {files.anchor} is unreadable") from exc
    public = _load_key(files.key, create=False).public_key()
    try:
        public.verify(signature, _signed_body(seq, digest))
    except InvalidSignature:
        raise AnchorProblem(f"the kept audit head {files.anchor} does not carry the audit key's signature") from None
    return KeptHead(seq, digest, str(kept.get("at", "")))


def keep_head(files: AnchorFiles, seq: int, digest: str) -> bool:
    """Sign and keep (seq, digest) unless a later head is kept already; True when written."""
    files.anchor.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = os.open(files.anchor.with_name(files.anchor.name + ".lock"),
                   os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            current = read_kept_head(files)
        except AnchorProblem:
            current = None  # rewritten below; verify reports a head that no longer matches
        if current is not None and current.seq >= seq:
            return False
        key = _load_key(files.key, create=True)
        body: dict[str, Any] = {"seq": seq, "hash": digest, "at": datetime.now(UTC).isoformat(timespec="seconds"),
                                "signature": base64.b64encode(key.sign(_signed_body(seq, digest))).decode()}
        temporary = files.anchor.with_name(files.anchor.name + ".new")
        _write_private(temporary, json.dumps(body).encode() + b"\n", exclusive=False)
        os.replace(temporary, files.anchor)
    finally:
        os.close(lock)
    if os.environ.get(SYSLOG_ENV):
        syslog.syslog(syslog.LOG_AUTH | syslog.LOG_NOTICE, f"clearsite audit head seq={seq} hash={digest}")
    return True


def _head_of(dbapi_connection: Any) -> tuple[int, str] | None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        row = cursor.fetchone()
    finally:
        cursor.close()
        dbapi_connection.rollback()  # leave no transaction open in the pool
    return (int(row[0]), str(row[1])) if row else None


@event.listens_for(Pool, "checkin")
def _anchor_after_use(dbapi_connection: Any, record: Any) -> None:
    """A connection that appended is back in the pool, so its transaction has ended: keep the
    committed head (read back from the database: a rolled-back append changes nothing)."""
    files = record.info.pop(APPENDED, None) if record is not None else None
    if files is None or dbapi_connection is None:
        return
    try:
        head = _head_of(dbapi_connection)
        if head is not None:
            keep_head(files, *head)
    except Exception as exc:  # noqa: BLE001 - never break the pool; `audit verify` reports a head that was not kept
        _log.warning("clearsite: could not keep the audit head in %s: %s", files.anchor, exc)
