"""The hash-chained audit log: verify it, optionally against an anchor kept elsewhere."""

from __future__ import annotations

from sqlalchemy import Engine

from clearsite.core.errors import UsageError
from clearsite.store.audit import AuditEntry, Verification, entries, verify

__all__ = ["AuditEntry", "Verification", "audit_entries", "parse_anchor", "verify_audit_log"]


def parse_anchor(text: str) -> tuple[int, str]:
    """'SEQ:HASH' → (seq, lower-case hash)."""
    seq, _, digest = text.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise UsageError(f"--anchor {text!r}: expected SEQ:HASH, e.g. 120:3fa2… (64 hex digits)")
    return int(seq), digest.lower()


def verify_audit_log(engine: Engine, anchor: str | None = None) -> Verification:
    """Walk the whole chain; the result names the first tampered, inserted or deleted entry."""
    pinned = parse_anchor(anchor) if anchor else None
    with engine.connect() as conn:
        return verify(conn, pinned)


def audit_entries(engine: Engine, after: int = 0, limit: int = 100, *, newest_first: bool = False) -> list[AuditEntry]:
    """Entries of the log `limit` at a time after (or, newest first, before) sequence number `after`."""
    with engine.connect() as conn:
        return entries(conn, after, limit, newest_first=newest_first)
