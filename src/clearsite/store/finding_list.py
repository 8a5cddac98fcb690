"""The findings list: one filtered page, its exact total and the whole filtered set in keyset chunks.

Every query joins `sites` and applies `site_clause(scope)`, so an officer's pages, totals and exports hold
only their departments' findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, case, func, or_, select

from clearsite.store.ordering import byte_order
from clearsite.store.reads import SiteScope, site_clause
from clearsite.store.site_summary import SiteStatusSummaryRow
from clearsite.store.site_summary import is_fresh as summary_is_fresh
from clearsite.store.tables import DeviceRow, FindingRow, OutcomeRow, SiteRow

__all__ = ["FINDING_SORTS", "FindingFilter", "count_findings", "filtered_findings", "sort_value"]


@dataclass(frozen=True, slots=True)
class FindingFilter:
    site_id: int | None = None
    status: str | None = None
    policy: str | None = None
    obligation: str | None = None


def _where(query: Select[Any], scope: SiteScope, wanted: FindingFilter) -> Select[Any]:
    query = query.where(site_clause(scope))
    if wanted.site_id is not None:
        query = query.where(SiteRow.id == wanted.site_id)
    if wanted.status is not None:
        query = query.where(OutcomeRow.status == wanted.status)
    if wanted.policy is not None:
        query = query.where(OutcomeRow.policy == wanted.policy)
    if wanted.obligation is not None:
        query = query.where(OutcomeRow.obligation == wanted.obligation)
    return query


def _joined(query: Select[Any]) -> Select[Any]:
    return (query.select_from(FindingRow).join(OutcomeRow, OutcomeRow.id == FindingRow.outcome_id)
            .join(DeviceRow, DeviceRow.id == FindingRow.device_id).join(SiteRow, SiteRow.id == DeviceRow.site_id))


FINDING_SORTS = ("id", "device", "site", "status", "due")
_SEVERITY = ("breach", "overdue", "due", "review", "advisory", "compliant")  # worst first
_NO_DUE = date(9999, 12, 31)  # findings with no due date sort after every dated one


def _sort_column(sort: str) -> ColumnElement[Any]:
    if sort == "device":
        return FindingRow.__table__.c.device_id
    if sort == "site":
        return byte_order(SiteRow.name)
    if sort == "status":
        return case({s: rank for rank, s in enumerate(_SEVERITY)}, value=OutcomeRow.status, else_=len(_SEVERITY))
    if sort == "due":
        return func.coalesce(OutcomeRow.due, _NO_DUE)
    return FindingRow.__table__.c.id


def sort_value(row: dict[str, Any], sort: str) -> Any:
    """A listed finding's value under `sort`, as the keyset of the next page compares it."""
    if sort == "device":
        return row["device_id"]
    if sort == "site":
        return row["site"]
    if sort == "status":
        return _SEVERITY.index(row["status"]) if row["status"] in _SEVERITY else len(_SEVERITY)
    if sort == "due":
        return date.fromisoformat(row["due"]) if row["due"] else _NO_DUE
    return row["id"]


def filtered_findings(conn: Connection, scope: SiteScope, wanted: FindingFilter, after: int = 0,
                      limit: int = 200, *, sort: str = "id", descending: bool = False,
                      after_key: tuple[Any, int] | None = None) -> list[dict[str, Any]]:
    """Up to `limit` findings the filter matches, in `sort` order (ties by id; see FINDING_SORTS), after id
    `after` in id order or after `after_key` = (sort value, id) of the previous page's last row (keyset pages)."""
    if sort not in FINDING_SORTS:
        raise ValueError(f"sort {sort!r}: expected one of {', '.join(FINDING_SORTS)}")
    query = _joined(select(FindingRow.id, FindingRow.device_id, SiteRow.id.label("site_id"), SiteRow.name,
                           OutcomeRow.policy, OutcomeRow.obligation, OutcomeRow.status, OutcomeRow.due,
                           OutcomeRow.reasons, OutcomeRow.as_of))
    query = _where(query, scope, wanted)
    key = _sort_column(sort)
    if sort == "id" and descending:
        query = (query.where(FindingRow.id < after) if after else query).order_by(FindingRow.id.desc())
    elif sort == "id":
        query = query.where(FindingRow.id > after).order_by(FindingRow.id)
    else:
        if after_key is not None:
            value, last_id = after_key
            if descending:
                query = query.where(or_(key < value, and_(key == value, FindingRow.id < last_id)))
            else:
                query = query.where(or_(key > value, and_(key == value, FindingRow.id > last_id)))
        query = query.order_by(key.desc(), FindingRow.id.desc()) if descending else query.order_by(key, FindingRow.id)
    return [{"id": r.id, "device_id": r.device_id, "site_id": r.site_id, "site": r.name, "policy": r.policy,
             "obligation": r.obligation, "status": r.status, "due": r.due.isoformat() if r.due else None,
             "reasons": r.reasons, "as_of": r.as_of.isoformat()} for r in conn.execute(query.limit(limit))]


def count_findings(conn: Connection, scope: SiteScope, wanted: FindingFilter) -> int:
    """How many findings the filter matches in the scope: exact, the same joins as the list.

    By site and status alone, while the per-site summary is fresh (store.site_summary: built from the same
    counts, and used only while the estate is as it was), the total is a sum over a few rows per site rather
    than a count of every finding (2,000,000 at a million devices: some 600 ms on SQLite)."""
    if wanted.policy is None and wanted.obligation is None and summary_is_fresh(conn):
        query = (select(func.coalesce(func.sum(SiteStatusSummaryRow.findings), 0))
                 .join(SiteRow, SiteRow.id == SiteStatusSummaryRow.site_id).where(site_clause(scope)))
        if wanted.site_id is not None:
            query = query.where(SiteRow.id == wanted.site_id)
        if wanted.status is not None:
            query = query.where(SiteStatusSummaryRow.status == wanted.status)
        return int(conn.scalar(query) or 0)
    return int(conn.scalar(_where(_joined(select(func.count(FindingRow.id))), scope, wanted)) or 0)
