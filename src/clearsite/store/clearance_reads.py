"""Per-site counts of proof of removal: affected devices, and how many are claimed, verified, seen again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, case, func, select, union

from clearsite.store.reads import SiteScope, site_clause
from clearsite.store.removals import RemovalRow
from clearsite.store.tables import DeviceRow, FindingRow, OutcomeRow, SiteRow

__all__ = ["affected_devices_by_site"]


def affected_devices_by_site(conn: Connection, scope: SiteScope, outstanding: Sequence[str]) -> list[Any]:
    """Per site in the scope: site_id, site, department_id, affected, claimed, verified, contradicted,
    last_verified. Affected devices have an outstanding finding or a removal claim (any status)."""
    affected = union(
        select(FindingRow.device_id.label("device_id")).join(OutcomeRow, OutcomeRow.id == FindingRow.outcome_id)
        .where(OutcomeRow.status.in_(list(outstanding))),
        select(RemovalRow.device_id.label("device_id")),
    ).subquery()

    def count(*statuses: str) -> Any:
        return func.coalesce(func.sum(case((RemovalRow.status.in_(statuses), 1), else_=0)), 0)

    query = (select(SiteRow.id.label("site_id"), SiteRow.name.label("site"), SiteRow.department_id,
                    func.count().label("affected"), count("claimed").label("claimed"),
                    count("verified").label("verified"), count("contradicted", "reappeared").label("contradicted"),
                    func.max(case((RemovalRow.status == "verified", RemovalRow.verified_at))).label("last_verified"))
             .select_from(affected).join(DeviceRow, DeviceRow.id == affected.c.device_id)
             .join(SiteRow, SiteRow.id == DeviceRow.site_id)
             .outerjoin(RemovalRow, RemovalRow.device_id == affected.c.device_id)
             .where(site_clause(scope)).group_by(SiteRow.id, SiteRow.name, SiteRow.department_id)
             .order_by(SiteRow.name))
    return list(conn.execute(query))
