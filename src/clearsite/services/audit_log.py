"""The hash-chained audit log: verify it against the head kept outside the database, and read it."""

from __future__ import annotations

from sqlalchemy import Engine

from clearsite.core.errors import UsageError
from clearsite.store.audit import AuditEntry, Verification, entries, users_and_sites, verify
from clearsite.store.audit_anchor import AnchorProblem, anchor_files, read_kept_head

__all__ = ["AuditEntry", "Verification", "audit_entries", "parse_anchor", "verify_audit_log"]


def parse_anchor(text: str) -> tuple[int, str]:
    """'SEQ:HASH' → (seq, lower-case hash)."""
    seq, _, digest = text.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise UsageError(f"--anchor {text!r}: expected SEQ:HASH, e.g. 120:3fa2… (64 hex digits)")
    return int(seq), digest.lower()


def verify_audit_log(engine: Engine, anchor: str | None = None, *, kept: bool = True) -> Verification:
    """Walk the whole chain; the result names the first tampered, inserted or deleted entry.

    With `kept` (the default) the chain must also still hold the signed head kept outside the
    database after the last append (store/audit_anchor.py), so cutting entries off the end or
    emptying the log fails; a log with entries but no kept head fails too, as does an empty log
    where users or sites exist (each was recorded when made).
    """
    pinned = [parse_anchor(anchor)] if anchor else []
    files = anchor_files(engine.url) if kept else None
    kept_problem, head = None, None
    if files is not None:
        try:
            head = read_kept_head(files)
        except AnchorProblem as exc:
            kept_problem = str(exc)
        if head is not None:
            pinned.append((head.seq, head.hash))
    with engine.connect() as conn:
        result = verify(conn, pinned)
        users, sites = users_and_sites(conn)
    if not result.ok:
        return result
    if kept_problem:
        return Verification(False, result.entries, result.head_seq, result.head_hash, kept_problem, None, "anchor")
    if result.entries == 0 and (users or sites):
        return Verification(False, 0, 0, result.head_hash, f"the audit log is empty, yet {users} users and {sites} "
                            f"sites exist: its entries were deleted", 1, "deleted")
    if files is not None and result.entries and head is None:
        return Verification(False, result.entries, result.head_seq, result.head_hash,
                            f"no signed head is kept for this log (expected {files.anchor}), so entries cut off its "
                            f"end would go unseen", None, "anchor")
    return result


def audit_entries(engine: Engine, after: int = 0, limit: int = 100, *, newest_first: bool = False) -> list[AuditEntry]:
    """Entries of the log `limit` at a time after (or, newest first, before) sequence number `after`."""
    with engine.connect() as conn:
        return entries(conn, after, limit, newest_first=newest_first)
