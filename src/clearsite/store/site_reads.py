"""Reads of sites, findings and observations for the doors, each within a `SiteScope`.

Every query here joins `sites` and applies `site_clause(scope)`: a record outside the scope is
absent, so a caller cannot reveal it by forgetting a filter.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, Select, func, or_, select

from clearsite.core.models import SENSITIVITY_CRITERIA
from clearsite.store.auth_tables import AttestationRow
from clearsite.store.ordering import byte_order
from clearsite.store.reads import SiteScope, site_clause
from clearsite.store.site_summary import SiteStatusSummaryRow, SiteSummaryRow
from clearsite.store.site_summary import is_fresh as summary_is_fresh
from clearsite.store.tables import (
    Department,
    DeviceRow,
    FindingRow,
    NetworkRow,
    ObservationRow,
    OutcomeRow,
    SiteRow,
    SourceRow,
)

__all__ = [
    "attestation_rows",
    "department_name",
    "device_counts_by_site",
    "device_findings",
    "device_observations",
    "device_site_id",
    "finding_counts_by_site",
    "get_site",
    "list_findings",
    "list_sites",
    "obligation_rows",
    "site_observation_rows",
    "site_summaries",
]

CRITERIA = SENSITIVITY_CRITERIA  # the sites table names its sensitivity columns as Site does


# --------------------------------------------------------------------------- sites


def _site_columns() -> list[Any]:
    return [SiteRow.id, SiteRow.name, SiteRow.region, SiteRow.department_id, Department.name.label("department"),
            Department.jurisdiction, *(getattr(SiteRow, f) for f in CRITERIA)]


def _site_dict(row: Any, networks: list[dict[str, Any]]) -> dict[str, Any]:
    criteria = [f for f in CRITERIA if getattr(row, f)]
    return {"id": row.id, "name": row.name, "department": row.department, "jurisdiction": row.jurisdiction,
            "region": row.region, "sensitive": bool(criteria), "criteria": criteria, "networks": networks,
            **{f: bool(getattr(row, f)) for f in CRITERIA}}


def list_sites(conn: Connection, scope: SiteScope) -> list[dict[str, Any]]:
    """Sites in the scope, by name (case and spacing aside, the same order on every database), with their
    networks (the /api/v1/sites shape without counts)."""
    rows = conn.execute(select(*_site_columns()).join(Department, Department.id == SiteRow.department_id)
                        .where(site_clause(scope)).order_by(byte_order(SiteRow.name_key), SiteRow.id)).all()
    networks: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if rows:
        for n in conn.execute(select(NetworkRow.site_id, NetworkRow.cidr, NetworkRow.core)
                              .join(SiteRow, SiteRow.id == NetworkRow.site_id).where(site_clause(scope))
                              .order_by(NetworkRow.id)):
            networks[n.site_id].append({"cidr": n.cidr, "core": n.core})
    return [_site_dict(r, networks[r.id]) for r in rows]


def get_site(conn: Connection, scope: SiteScope, site_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(*_site_columns()).join(Department, Department.id == SiteRow.department_id)
                       .where(SiteRow.id == site_id, site_clause(scope))).first()
    if row is None:
        return None
    networks = [{"cidr": n.cidr, "core": n.core} for n in conn.execute(
        select(NetworkRow.cidr, NetworkRow.core).where(NetworkRow.site_id == site_id).order_by(NetworkRow.id))]
    return _site_dict(row, networks)


def site_summaries(conn: Connection, scope: SiteScope) -> dict[int, tuple[str, bool]]:
    """Each site in the scope: its department's name and whether it is sensitive."""
    sensitive = SiteRow.holds_secret | SiteRow.dv_hub | SiteRow.ministerial | SiteRow.socpa
    return {row.id: (row.name, bool(row.sensitive)) for row in conn.execute(
        select(SiteRow.id, Department.name, sensitive.label("sensitive"))
        .join(Department, Department.id == SiteRow.department_id).where(site_clause(scope)))}


def device_counts_by_site(conn: Connection, scope: SiteScope, *, summary: bool = True) -> dict[int, int]:
    """Devices at each site in the scope that has any: from the site summary when it is fresh (`summary`)."""
    if summary and summary_is_fresh(conn):
        return dict(conn.execute(select(SiteSummaryRow.site_id, SiteSummaryRow.devices)
                                 .join(SiteRow, SiteRow.id == SiteSummaryRow.site_id)
                                 .where(site_clause(scope), SiteSummaryRow.devices > 0)).all())
    return dict(conn.execute(select(DeviceRow.site_id, func.count()).join(SiteRow, SiteRow.id == DeviceRow.site_id)
                             .where(site_clause(scope)).group_by(DeviceRow.site_id)).all())


def finding_counts_by_site(conn: Connection, scope: SiteScope, *, summary: bool = True) -> dict[int, Counter[str]]:
    """Findings by status at each site in the scope (grouped in SQL: a few thousand sites, however many devices),
    from the site summary when it is fresh (`summary`): then a few rows per site rather than every finding."""
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    if summary and summary_is_fresh(conn):
        for site_id, status, count in conn.execute(
                select(SiteStatusSummaryRow.site_id, SiteStatusSummaryRow.status, SiteStatusSummaryRow.findings)
                .join(SiteRow, SiteRow.id == SiteStatusSummaryRow.site_id).where(site_clause(scope))):
            counts[site_id][status] = count
        return counts
    query = (select(DeviceRow.site_id, OutcomeRow.status, func.count()).select_from(FindingRow)
             .join(OutcomeRow, OutcomeRow.id == FindingRow.outcome_id)
             .join(DeviceRow, DeviceRow.id == FindingRow.device_id).join(SiteRow, SiteRow.id == DeviceRow.site_id)
             .where(site_clause(scope)).group_by(DeviceRow.site_id, OutcomeRow.status))
    for site_id, status, count in conn.execute(query):
        counts[site_id][status] = count
    return counts


def department_name(conn: Connection, department_id: int | None) -> str | None:
    if department_id is None:
        return None
    return conn.scalar(select(Department.name).where(Department.id == department_id))


# --------------------------------------------------------------------------- devices and findings


def device_site_id(conn: Connection, scope: SiteScope, device_id: int) -> int | None:
    return conn.scalar(select(DeviceRow.site_id).join(SiteRow, SiteRow.id == DeviceRow.site_id)
                       .where(DeviceRow.id == device_id, site_clause(scope)))


def device_observations(conn: Connection, device_id: int, limit: int = 500) -> list[dict[str, Any]]:
    """A device's observations in the order they were stored, with their sources."""
    return [
        {"id": o.id, "kind": o.kind, "locator": o.locator, "observed_at": o.observed_at.isoformat(),
         "source": o.name, "source_kind": o.source_kind, "actor": o.actor, "data": o.data}
        for o in conn.execute(select(ObservationRow.id, ObservationRow.kind, ObservationRow.locator,
                                     ObservationRow.observed_at, ObservationRow.data, SourceRow.name,
                                     SourceRow.kind.label("source_kind"), SourceRow.actor)
                              .join(SourceRow, SourceRow.id == ObservationRow.source_id)
                              .where(ObservationRow.device_id == device_id).order_by(ObservationRow.id).limit(limit))]


def _finding_query() -> Select[Any]:
    return (select(FindingRow.id, FindingRow.device_id, SiteRow.id.label("site_id"), SiteRow.name, OutcomeRow.policy,
                   OutcomeRow.obligation, OutcomeRow.status, OutcomeRow.due, OutcomeRow.reasons, OutcomeRow.as_of)
            .select_from(FindingRow).join(OutcomeRow, OutcomeRow.id == FindingRow.outcome_id)
            .join(DeviceRow, DeviceRow.id == FindingRow.device_id).join(SiteRow, SiteRow.id == DeviceRow.site_id)
            .order_by(FindingRow.id))


def _finding(row: Any) -> dict[str, Any]:
    return {"id": row.id, "device_id": row.device_id, "site_id": row.site_id, "site": row.name, "policy": row.policy,
            "obligation": row.obligation, "status": row.status, "due": row.due.isoformat() if row.due else None,
            "reasons": row.reasons, "as_of": row.as_of.isoformat()}


def list_findings(conn: Connection, scope: SiteScope, site_id: int | None = None, status: str | None = None,
                  after: int = 0, limit: int = 200) -> list[dict[str, Any]]:
    query = _finding_query().where(site_clause(scope), FindingRow.id > after).limit(limit)
    if site_id is not None:
        query = query.where(SiteRow.id == site_id)
    if status is not None:
        query = query.where(OutcomeRow.status == status)
    return [_finding(r) for r in conn.execute(query)]


def device_findings(conn: Connection, device_id: int) -> list[dict[str, Any]]:
    return [_finding(f) for f in conn.execute(_finding_query().where(FindingRow.device_id == device_id))]


def obligation_rows(conn: Connection, scope: SiteScope, policy_id: str, obligation_id: str,
                    statuses: Sequence[str]) -> list[tuple[int, str, str, date | None]]:
    """The distinct (site id, department, status, removed on) of one obligation's findings with these
    statuses in the scope: a few per site, however many devices."""
    query = (select(SiteRow.id, Department.name, OutcomeRow.status, DeviceRow.removed_on)
             .select_from(FindingRow).join(OutcomeRow, OutcomeRow.id == FindingRow.outcome_id)
             .join(DeviceRow, DeviceRow.id == FindingRow.device_id).join(SiteRow, SiteRow.id == DeviceRow.site_id)
             .join(Department, Department.id == SiteRow.department_id)
             .where(site_clause(scope), OutcomeRow.policy == policy_id, OutcomeRow.obligation == obligation_id,
                    OutcomeRow.status.in_(list(statuses)))
             .distinct())
    return [(site_id, department, status, removed_on) for site_id, department, status, removed_on in conn.execute(query)]


# --------------------------------------------------------------------------- reconciliation and screening


def site_observation_rows(conn: Connection, site_id: int) -> list[tuple[int, str, dict[str, Any], str | None]]:
    """(device id, kind, data, device location) of each observation at a site placed on a device, oldest first."""
    query = (select(ObservationRow.device_id, ObservationRow.kind, ObservationRow.data, DeviceRow.location)
             .join(DeviceRow, DeviceRow.id == ObservationRow.device_id)
             .where(ObservationRow.site_id == site_id).order_by(ObservationRow.id))
    return [(device_id, kind, data, location) for device_id, kind, data, location in conn.execute(query)]


def attestation_rows(conn: Connection, department_id: int | None) -> list[Any]:
    """Supplier attestations a department may rely on: its own and those held for everyone."""
    query = select(AttestationRow.supplier, AttestationRow.statement, AttestationRow.signed, AttestationRow.expires,
                   AttestationRow.source)
    if department_id is not None:
        query = query.where(or_(AttestationRow.department_id.is_(None), AttestationRow.department_id == department_id))
    return list(conn.execute(query))

