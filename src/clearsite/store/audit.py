"""The audit log: every change as who, when, what, before → after, in a hash chain.

Each entry's hash covers the previous entry's hash and a canonical JSON of the entry, and entries
are numbered 1, 2, 3 … So `verify` can name the first bad entry: one whose content no longer
matches its hash (modified), a number that repeats (inserted), a number that is missing (deleted),
or a link that no longer holds (an entry rewritten with a fresh hash). A chain rewritten from some
point to its end is self-consistent; `verify` catches that only against an anchor (a sequence
number and hash recorded elsewhere earlier). Every append is anchored that way after its commit
(store/audit_anchor.py: the head signed with a key the database does not hold, in a file).

`record` writes in the caller's transaction, so a change and its entry commit or fail together.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, text

from clearsite.store.audit_anchor import APPENDED, anchor_files
from clearsite.store.auth_tables import AuditRow, UserRow
from clearsite.store.tables import SiteRow

GENESIS = "0" * 64
_PG_LOCK = 0x434C454152  # one advisory lock id for appenders on PostgreSQL ("CLEAR")


def canonical(value: Any) -> str:
    """One text per value: sorted keys, no spaces, dates as ISO text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain)


def _plain(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def entry_hash(seq: int, at: str, actor: str, action: str, target: str, before: str, after: str,
               prev_hash: str) -> str:
    body = canonical({"seq": seq, "at": at, "actor": actor, "action": action, "target": target,
                      "before": json.loads(before), "after": json.loads(after), "prev": prev_hash})
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    target: str
    before: Any
    after: Any
    hash: str


def record(conn: Connection, actor: str, action: str, target: str, before: Any = None, after: Any = None) -> AuditEntry:
    """Append one entry for a change made in this transaction (call it after the change's own writes)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})  # one appender at a time
    last = conn.execute(select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)).first()
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    before_text, after_text = canonical(before), canonical(after)
    digest = entry_hash(seq, at, actor, action, target, before_text, after_text, prev)
    conn.execute(insert(AuditRow).values(seq=seq, at=at, actor=actor[:200], action=action[:64],
                                                    target=target[:200], before=before_text, after=after_text,
                                                    prev_hash=prev, hash=digest))
    files = anchor_files(conn.engine.url)
    if files is not None:
        conn.info[APPENDED] = files  # the head is signed and kept once this connection's transaction is over
    return AuditEntry(seq, at, actor, action, target, json.loads(before_text), json.loads(after_text), digest)


def entries(conn: Connection, after_seq: int = 0, limit: int = 100, newest_first: bool = False) -> list[AuditEntry]:
    query = select(AuditRow.__table__).limit(limit)
    if newest_first:
        query = query.order_by(AuditRow.seq.desc())
        if after_seq:
            query = query.where(AuditRow.seq < after_seq)
    else:
        query = query.where(AuditRow.seq > after_seq).order_by(AuditRow.seq)
    return [AuditEntry(r.seq, r.at, r.actor, r.action, r.target, json.loads(r.before), json.loads(r.after), r.hash)
            for r in conn.execute(query)]


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    entries: int  # how many were checked
    head_seq: int
    head_hash: str
    problem: str | None = None  # the first bad entry, in words
    bad_seq: int | None = None
    kind: str | None = None  # modified, inserted, deleted, rewritten, anchor

    def describe(self) -> str:
        if self.ok:
            return f"audit log OK: {self.entries} entries, head {self.head_seq} {self.head_hash}"
        return f"audit log TAMPERED: {self.problem}"


def _rows(conn: Connection) -> Iterator[Any]:
    # Order by number then physical id: a forged copy of an entry sorts right after the original.
    query = select(AuditRow.id, AuditRow.seq, AuditRow.at, AuditRow.actor, AuditRow.action, AuditRow.target,
                   AuditRow.before, AuditRow.after, AuditRow.prev_hash, AuditRow.hash).order_by(AuditRow.seq, AuditRow.id)
    yield from conn.execute(query.execution_options(yield_per=5000))


def head(conn: Connection) -> tuple[int, str] | None:
    last = conn.execute(select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)).first()
    return (last.seq, last.hash) if last else None


def users_and_sites(conn: Connection) -> tuple[int, int]:
    """How many users and sites exist: each was recorded when made, so a log without entries is emptied."""
    return (int(conn.scalar(select(func.count()).select_from(UserRow)) or 0),
            int(conn.scalar(select(func.count()).select_from(SiteRow)) or 0))


def verify(conn: Connection, anchor: tuple[int, str] | list[tuple[int, str]] | None = None) -> Verification:
    """Walk the chain from the first entry and name the first bad one (anchor: one or more (seq, hash)
    kept elsewhere; each must still be in the chain)."""
    anchors = dict([anchor] if isinstance(anchor, tuple) else anchor or [])
    expected, prev, count = 1, GENESIS, 0
    previous_seq = 0
    seen: set[int] = set()

    def bad(seq: int, kind: str, problem: str) -> Verification:
        return Verification(False, count, previous_seq, prev, problem, seq, kind)

    for row in _rows(conn):
        try:
            digest = entry_hash(row.seq, row.at, row.actor, row.action, row.target, row.before, row.after,
                                row.prev_hash)
        except (ValueError, TypeError):
            digest = ""
        if digest != row.hash:
            return bad(row.seq, "modified", f"entry {row.seq} (id {row.id}) was modified: its content no longer "
                                            f"matches its hash")
        if row.seq < expected:
            return bad(row.seq, "inserted", f"entry {row.seq} (id {row.id}) was inserted: number {row.seq} "
                                            f"appears more than once")
        if row.seq > expected:
            missing = f"entry {expected}" if row.seq == expected + 1 else f"entries {expected}–{row.seq - 1}"
            return bad(expected, "deleted", f"{missing} deleted: the chain jumps from {expected - 1} to {row.seq}")
        if row.prev_hash != prev:
            if row.seq == 1:
                return bad(1, "modified", "entry 1 was rewritten: it does not start from the genesis hash")
            return bad(row.seq - 1, "rewritten", f"entry {row.seq - 1} was rewritten or replaced: entry {row.seq} "
                                                 f"no longer links to it")
        if row.seq in anchors:
            if row.hash != anchors[row.seq]:
                return bad(row.seq, "anchor", f"entry {row.seq} differs from the anchor kept for it: the chain was "
                                              f"rewritten from there on")
            seen.add(row.seq)
        prev, expected, count, previous_seq = row.hash, row.seq + 1, count + 1, row.seq
    for gone in sorted(set(anchors) - seen):
        return bad(gone, "deleted", f"entry {gone} (the anchor) is gone: the log was cut back to "
                                       f"{previous_seq} entries")
    return Verification(True, count, previous_seq, prev)
