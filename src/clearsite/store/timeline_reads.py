"""What the programme timeline reads: each device under a removal obligation in a scope, with its
site, the status the obligation gives it, and the date recorded as its removal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, and_, or_, select

from clearsite.store.reads import SiteScope, site_clause
from clearsite.store.tables import Department, DeviceRow, FindingRow, OutcomeRow, SiteRow

__all__ = ["ObligationDevice", "obligation_devices"]


@dataclass(frozen=True, slots=True)
class ObligationDevice:
    device_id: int
    site_id: int
    site: str
    department: str
    region: str | None
    status: str
    removed_on: date | None


def obligation_devices(conn: Connection, scope: SiteScope, obligations: Sequence[tuple[str, str]],
                       statuses: Sequence[str]) -> list[ObligationDevice]:
    """Distinct (device, status) of these (policy, obligation) findings with these statuses in the scope."""
    if not obligations:
        return []
    which = or_(*(and_(OutcomeRow.policy == policy, OutcomeRow.obligation == obligation)
                  for policy, obligation in obligations))
    query = (select(DeviceRow.id, SiteRow.id, SiteRow.name, Department.name, SiteRow.region, OutcomeRow.status,
                    DeviceRow.removed_on)
             .select_from(FindingRow).join(OutcomeRow, OutcomeRow.id == FindingRow.outcome_id)
             .join(DeviceRow, DeviceRow.id == FindingRow.device_id).join(SiteRow, SiteRow.id == DeviceRow.site_id)
             .join(Department, Department.id == SiteRow.department_id)
             .where(site_clause(scope), which, OutcomeRow.status.in_(list(statuses)))
             .distinct())
    return [ObligationDevice(*row) for row in conn.execute(query)]
