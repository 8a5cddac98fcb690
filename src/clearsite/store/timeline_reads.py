"""What the programme timeline reads: per site, its devices under the removal obligations by how far
their removal is proven (`site_removals`, one aggregate query). `ObligationDevice` is one device's
row of a live assessment, which the service aggregates by the same rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from clearsite.store.reads import SiteScope, site_clause
from clearsite.store.removals import RemovalRow
from clearsite.store.site_summary import SiteSummaryRow, obligations_key
from clearsite.store.site_summary import is_fresh as summary_is_fresh
from clearsite.store.tables import Department, DeviceRow, FindingRow, OutcomeRow, SiteRow

__all__ = ["ObligationDevice", "SiteRemovals", "site_removals"]


@dataclass(frozen=True, slots=True)
class ObligationDevice:
    device_id: int
    site_id: int
    site: str
    department: str
    region: str | None
    status: str
    removed_on: date | None


@dataclass(frozen=True, slots=True)
class SiteRemovals:
    """A site's devices under the removal obligations: still there, claimed removed, verified removed,
    and the last removal date among those claimed or verified."""

    site_id: int
    site: str
    department: str
    region: str | None
    open: int
    claimed: int
    verified: int
    last_removed: date | None


def site_removals(conn: Connection, scope: SiteScope, obligations: Sequence[tuple[str, str]],
                  outstanding: Sequence[str], *, summary: bool = True) -> list[SiteRemovals]:
    """Per site in the scope, one aggregate query (a few rows per site, however many devices); from the site
    summary (store.site_summary, one row per site) when it is fresh and was counted for these obligations.

    A device counts when a removal obligation's finding on it is outstanding, or compliant because it
    was removed. Its state: verified or claimed by its removal claim; a removal date with no claim is
    claimed; a contradicted or reappeared claim, or none, leaves it open while a finding is outstanding."""
    if not obligations:
        return []
    if summary and summary_is_fresh(conn, obligations_key(obligations, outstanding)):
        return _summarised_removals(conn, scope)
    which = or_(*(and_(OutcomeRow.policy == policy, OutcomeRow.obligation == obligation)
                  for policy, obligation in obligations))
    per_device = (select(FindingRow.device_id.label("device_id"),
                         func.max(case((OutcomeRow.status.in_(list(outstanding)), 1), else_=0)).label("open"))
                  .join(OutcomeRow, OutcomeRow.id == FindingRow.outcome_id)
                  .where(which, OutcomeRow.status.in_([*outstanding, "compliant"]))
                  .group_by(FindingRow.device_id)).subquery()
    state = case((RemovalRow.status == "verified", 2), (RemovalRow.status == "claimed", 1),
                 (and_(RemovalRow.id.is_(None), DeviceRow.removed_on.is_not(None)), 1),
                 (per_device.c.open == 1, 0), else_=-1)
    removed = case((RemovalRow.id.is_not(None), RemovalRow.removed_on), else_=DeviceRow.removed_on)
    devices = (select(DeviceRow.site_id.label("site_id"), state.label("state"), removed.label("removed"))
               .select_from(per_device).join(DeviceRow, DeviceRow.id == per_device.c.device_id)
               .join(SiteRow, SiteRow.id == DeviceRow.site_id)
               .outerjoin(RemovalRow, RemovalRow.device_id == per_device.c.device_id)
               .where(site_clause(scope))).subquery()

    def count(value: int) -> Any:
        return func.coalesce(func.sum(case((devices.c.state == value, 1), else_=0)), 0)

    query = (select(SiteRow.id, SiteRow.name, Department.name, SiteRow.region, count(0), count(1), count(2),
                    func.max(case((devices.c.state >= 1, devices.c.removed))).label("last_removed"))
             .select_from(devices).join(SiteRow, SiteRow.id == devices.c.site_id)
             .join(Department, Department.id == SiteRow.department_id)
             .where(devices.c.state >= 0)
             .group_by(SiteRow.id, SiteRow.name, Department.name, SiteRow.region))
    return _site_rows(conn, query)


def _summarised_removals(conn: Connection, scope: SiteScope) -> list[SiteRemovals]:
    s = SiteSummaryRow
    query = (select(SiteRow.id, SiteRow.name, Department.name, SiteRow.region, s.removal_open, s.removal_claimed,
                    s.removal_verified, s.last_removed)
             .select_from(s).join(SiteRow, SiteRow.id == s.site_id)
             .join(Department, Department.id == SiteRow.department_id)
             .where(site_clause(scope), (s.removal_open + s.removal_claimed + s.removal_verified) > 0))
    return _site_rows(conn, query)


def _site_rows(conn: Connection, query: Any) -> list[SiteRemovals]:
    found = []
    for site_id, site, department, region, open_, claimed, verified, last in conn.execute(query):
        if isinstance(last, str):  # SQLite hands an aggregate of dates back as text
            last = date.fromisoformat(last)
        found.append(SiteRemovals(site_id, site, department, region, int(open_), int(claimed), int(verified), last))
    return found
