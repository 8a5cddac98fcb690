"""Findings as stored: each distinct outcome once, and one row per device pointing at it.

Writes go to the driver as plain tuples (see store.bulk): a whole-estate assessment stores a few
million findings. Outcome rows carry the date they were assessed at (`as_of`); all outcomes of one
policy share it, which is what lets an intake re-assess the devices it touched at that same date.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, select

from clearsite.store.auth_tables import AuditRow
from clearsite.store.bulk import allocate_ids, dumps, insert_rows, table_of
from clearsite.store.tables import DeviceRow, FindingRow, OutcomeRow, SiteRow

__all__ = ["OUTCOME_COLUMNS", "OutcomeKey", "add_findings", "add_outcomes", "assessed_as_of", "clear_policies",
           "device_id_range", "device_policies", "last_estate_assessment", "new_outcome_ids", "outcome_ids",
           "refresh_statistics", "remove_device_findings", "stored_findings"]

CHUNK = 5000
OUTCOME_COLUMNS = ("id", "policy", "obligation", "status", "due", "reasons", "as_of", "assessed_at")
# An outcome as stored, without its id and stamp: policy, obligation, status, due, reasons (JSON text), as_of.
OutcomeKey = tuple[str, str, str, "date | None", str, date]


def device_id_range(conn: Connection) -> tuple[int | None, int | None]:
    """The lowest and highest device id (None, None when there are no devices)."""
    low, high = conn.execute(select(func.min(DeviceRow.id), func.max(DeviceRow.id))).one()
    return low, high


def clear_policies(conn: Connection, policies: Sequence[str]) -> None:
    """Forget every finding and outcome of those policies."""
    replaced = select(OutcomeRow.id).where(OutcomeRow.policy.in_(policies))
    conn.execute(delete(FindingRow).where(FindingRow.outcome_id.in_(replaced)))
    conn.execute(delete(OutcomeRow).where(OutcomeRow.policy.in_(policies)))


def new_outcome_ids(conn: Connection, count: int) -> list[int]:
    return allocate_ids(conn, table_of(OutcomeRow), count)


def add_outcomes(conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
    """Store outcomes given as OUTCOME_COLUMNS tuples (reasons already JSON text; dates as the driver takes them)."""
    insert_rows(conn, table_of(OutcomeRow), OUTCOME_COLUMNS, rows, frozenset({"reasons"}))


def add_findings(conn: Connection, rows: Sequence[tuple[int, int]]) -> None:
    """Store findings given as (device id, outcome id)."""
    insert_rows(conn, table_of(FindingRow), ("device_id", "outcome_id"), rows)


def assessed_as_of(conn: Connection) -> dict[str, date]:
    """Each policy with stored outcomes, and the date it was last assessed at."""
    query = select(OutcomeRow.policy, func.max(OutcomeRow.as_of)).group_by(OutcomeRow.policy)
    return {policy: as_of for policy, as_of in conn.execute(query)}


def outcome_ids(conn: Connection, policies: Iterable[str]) -> dict[OutcomeKey, int]:
    """The stored outcomes of those policies by content, so a re-assessment reuses them."""
    query = select(OutcomeRow.id, OutcomeRow.policy, OutcomeRow.obligation, OutcomeRow.status, OutcomeRow.due,
                   OutcomeRow.reasons, OutcomeRow.as_of).where(OutcomeRow.policy.in_(list(policies)))
    return {(row.policy, row.obligation, row.status, row.due, dumps(row.reasons), row.as_of): row.id
            for row in conn.execute(query)}


def device_policies(conn: Connection, device_ids: Sequence[int]) -> dict[int, set[str]]:
    """The policies each device has stored findings of."""
    found: dict[int, set[str]] = {}
    for start in range(0, len(device_ids), CHUNK):
        part = list(device_ids[start : start + CHUNK])
        query = (select(FindingRow.device_id, OutcomeRow.policy).join(OutcomeRow, OutcomeRow.id == FindingRow.outcome_id)
                 .where(FindingRow.device_id.in_(part)).distinct())
        for device_id, policy in conn.execute(query):
            found.setdefault(device_id, set()).add(policy)
    return found


def remove_device_findings(conn: Connection, device_ids: Sequence[int], policies: Sequence[str]) -> None:
    """Forget those devices' findings of those policies (their outcomes stay: other devices share them)."""
    of_policies = select(OutcomeRow.id).where(OutcomeRow.policy.in_(list(policies)))
    for start in range(0, len(device_ids), CHUNK):
        part = list(device_ids[start : start + CHUNK])
        conn.execute(delete(FindingRow).where(FindingRow.device_id.in_(part), FindingRow.outcome_id.in_(of_policies)))


def stored_findings(conn: Connection, policy_id: str | None = None) -> Iterator[Any]:
    """Stored findings in device order: device_id, site name, policy, obligation, status, due, reasons."""
    query = (select(FindingRow.device_id, SiteRow.name, OutcomeRow.policy, OutcomeRow.obligation, OutcomeRow.status,
                    OutcomeRow.due, OutcomeRow.reasons)
             .join(OutcomeRow, OutcomeRow.id == FindingRow.outcome_id)
             .join(DeviceRow, DeviceRow.id == FindingRow.device_id).join(SiteRow, SiteRow.id == DeviceRow.site_id)
             .order_by(FindingRow.device_id, OutcomeRow.policy, FindingRow.id))
    if policy_id:
        query = query.where(OutcomeRow.policy == policy_id)
    yield from conn.execute(query)


def last_estate_assessment(conn: Connection, action: str, target: str) -> tuple[dict[str, Any], set[str]] | None:
    """What the newest audit entry of that action and target recorded (its `after`), and the actions audited
    since it; None when there is no such entry."""
    row = conn.execute(select(AuditRow.seq, AuditRow.after)
                       .where(AuditRow.action == action, AuditRow.target == target)
                       .order_by(AuditRow.seq.desc()).limit(1)).first()
    if row is None:
        return None
    later = set(conn.scalars(select(AuditRow.action).where(AuditRow.seq > row.seq).distinct()))
    return orjson.loads(row.after), later


def refresh_statistics(conn: Connection, tables: Sequence[str]) -> None:
    """PostgreSQL: sample these tables for the planner now, after a whole-estate rewrite, rather than when
    autovacuum next gets to them (each ANALYZE reads a fixed sample, a fraction of a second at any size).
    SQLite plans without statistics until ANALYZE is first run, which would change every query's plan: left alone."""
    unknown = set(tables) - _REWRITTEN
    if unknown:  # the names go into SQL text
        raise ValueError(f"not a table assessment or identification rewrites: {sorted(unknown)}")
    if conn.dialect.name == "postgresql":
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {table}")


_REWRITTEN = frozenset({"findings", "outcomes", "identities"})
