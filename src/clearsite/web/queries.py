"""What pages and the API read, always through `site_filter`: sites, devices, findings, dashboard figures."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, String, func, select, type_coerce

from clearsite.core.knowledge import Knowledge
from clearsite.core.knowledge.schema import RuleKind
from clearsite.core.models import Identity, Site
from clearsite.services.pipeline import DeviceView
from clearsite.services.identification import device_evidence, evidence_links
from clearsite.store.tables import (
    Department,
    DeviceRow,
    FindingRow,
    IdentityRow,
    NetworkRow,
    ObservationRow,
    OutcomeRow,
    SiteRow,
    SourceRow,
)
from clearsite.web.access import Principal
from clearsite.web.scope import site_filter

STATUSES = ("breach", "overdue", "due", "review", "advisory", "compliant")
OUTSTANDING = ("breach", "overdue", "due")
_FLAGS = ("holds_secret", "dv_hub", "ministerial", "socpa")


# --------------------------------------------------------------------------- sites


def _site_columns() -> list[Any]:
    return [SiteRow.id, SiteRow.name, SiteRow.region, SiteRow.department_id, Department.name.label("department"),
            Department.jurisdiction, *(getattr(SiteRow, f) for f in _FLAGS)]


def _site_dict(row: Any, networks: list[dict[str, Any]]) -> dict[str, Any]:
    criteria = [f for f in _FLAGS if getattr(row, f)]
    return {"id": row.id, "name": row.name, "department": row.department, "jurisdiction": row.jurisdiction,
            "region": row.region,
            "sensitive": bool(criteria), "criteria": criteria, "networks": networks,
            **{f: bool(getattr(row, f)) for f in _FLAGS}}


def list_sites(conn: Connection, principal: Principal) -> list[dict[str, Any]]:
    """Visible sites with their device count and findings by status."""
    rows = conn.execute(select(*_site_columns()).join(Department, Department.id == SiteRow.department_id)
                        .where(site_filter(principal)).order_by(SiteRow.name)).all()
    ids = [r.id for r in rows]
    networks: dict[int, list[dict[str, Any]]] = defaultdict(list)
    devices: dict[int, int] = {}
    statuses: dict[int, Counter[str]] = defaultdict(Counter)
    if ids:
        for n in conn.execute(select(NetworkRow.site_id, NetworkRow.cidr, NetworkRow.core)
                              .join(SiteRow, SiteRow.id == NetworkRow.site_id).where(site_filter(principal))
                              .order_by(NetworkRow.id)):
            networks[n.site_id].append({"cidr": n.cidr, "core": n.core})
        devices = dict(conn.execute(select(DeviceRow.site_id, func.count()).join(SiteRow, SiteRow.id == DeviceRow.site_id)
                                    .where(site_filter(principal)).group_by(DeviceRow.site_id)).all())
        query = (select(DeviceRow.site_id, OutcomeRow.status, func.count()).select_from(FindingRow)
                 .join(OutcomeRow, OutcomeRow.id == FindingRow.outcome_id)
                 .join(DeviceRow, DeviceRow.id == FindingRow.device_id).join(SiteRow, SiteRow.id == DeviceRow.site_id)
                 .where(site_filter(principal)).group_by(DeviceRow.site_id, OutcomeRow.status))
        for site_id, status, count in conn.execute(query):
            statuses[site_id][status] = count
    return [{**_site_dict(r, networks[r.id]), "devices": devices.get(r.id, 0),
             "findings": {s: statuses[r.id][s] for s in STATUSES}} for r in rows]


def get_site(conn: Connection, principal: Principal, site_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(*_site_columns()).join(Department, Department.id == SiteRow.department_id)
                       .where(SiteRow.id == site_id, site_filter(principal))).first()
    if row is None:
        return None
    networks = [{"cidr": n.cidr, "core": n.core} for n in conn.execute(
        select(NetworkRow.cidr, NetworkRow.core).where(NetworkRow.site_id == site_id).order_by(NetworkRow.id))]
    return _site_dict(row, networks)


def site_domain(site: dict[str, Any]) -> Site:
    from clearsite.core.models import Network

    return Site(site["name"], site["department"], site["region"], site["holds_secret"], site["dv_hub"],
                site["ministerial"], site["socpa"], tuple(Network(n["cidr"], n["core"]) for n in site["networks"]),
                site["jurisdiction"])


# --------------------------------------------------------------------------- devices


def _device_query(principal: Principal, with_evidence: bool):  # type: ignore[no-untyped-def]
    columns = [DeviceRow.id, DeviceRow.site_id, SiteRow.name.label("site_name"), DeviceRow.ip, DeviceRow.mac,
               DeviceRow.serial, DeviceRow.location, DeviceRow.install_date, DeviceRow.removed_on,
               IdentityRow.label_brand, IdentityRow.producer_id, IdentityRow.model, IdentityRow.device_class,
               IdentityRow.confidence, type_coerce(IdentityRow.contradictions, String).label("contradictions"),
               type_coerce(IdentityRow.alternatives, String).label("alternatives")]
    if with_evidence:
        columns.append(IdentityRow.evidence)
    return (select(*columns).join(SiteRow, SiteRow.id == DeviceRow.site_id)
            .join(IdentityRow, IdentityRow.device_id == DeviceRow.id, isouter=True).where(site_filter(principal)))


def _views(conn: Connection, rows: list[Any], with_evidence: bool) -> list[DeviceView]:
    evidence = device_evidence(conn, [r.id for r in rows]) if with_evidence else {}
    return [_view(r, evidence.get(r.id)) for r in rows]


def _view(row: Any, evidence_list: list[Any] | None) -> DeviceView:
    # The same construction as pipeline.iter_devices, with the department filter it lacks.
    contradictions, alternatives = row.contradictions, row.alternatives
    identity = Identity(
        row.label_brand, row.producer_id, row.model, row.device_class or "unknown", row.confidence or 0.0, (),
        tuple(json.loads(contradictions)) if contradictions and contradictions != "[]" else (),
        tuple((a[0], a[1]) for a in json.loads(alternatives)) if alternatives and alternatives != "[]" else (),
    )
    evidence = evidence_links(row.evidence or [], evidence_list) if evidence_list is not None else []
    return DeviceView(row.id, row.site_name, row.ip, row.mac, row.serial, row.location, row.install_date,
                      row.removed_on, identity, evidence)


def list_devices(conn: Connection, principal: Principal, site_id: int | None = None, after: int = 0,
                 limit: int = 100, with_evidence: bool = True) -> list[DeviceView]:
    query = _device_query(principal, with_evidence).where(DeviceRow.id > after).order_by(DeviceRow.id).limit(limit)
    if site_id is not None:
        query = query.where(DeviceRow.site_id == site_id)
    return _views(conn, conn.execute(query).all(), with_evidence)


@dataclass(frozen=True, slots=True)
class DeviceDetail:
    view: DeviceView
    site_id: int
    observations: list[dict[str, Any]]
    findings: list[dict[str, Any]]


def get_device(conn: Connection, principal: Principal, device_id: int) -> DeviceDetail | None:
    row = conn.execute(_device_query(principal, True).where(DeviceRow.id == device_id)).first()
    if row is None:
        return None
    observations = [
        {"id": o.id, "kind": o.kind, "locator": o.locator, "observed_at": o.observed_at.isoformat(),
         "source": o.name, "source_kind": o.source_kind, "actor": o.actor, "data": o.data}
        for o in conn.execute(select(ObservationRow.id, ObservationRow.kind, ObservationRow.locator,
                                     ObservationRow.observed_at, ObservationRow.data, SourceRow.name,
                                     SourceRow.kind.label("source_kind"), SourceRow.actor)
                              .join(SourceRow, SourceRow.id == ObservationRow.source_id)
                              .where(ObservationRow.device_id == device_id).order_by(ObservationRow.id).limit(500))]
    findings = [_finding(f) for f in conn.execute(_finding_query().where(FindingRow.device_id == device_id))]
    return DeviceDetail(_views(conn, [row], True)[0], row.site_id, observations, findings)


def device_site_id(conn: Connection, principal: Principal, device_id: int) -> int | None:
    return conn.scalar(select(DeviceRow.site_id).join(SiteRow, SiteRow.id == DeviceRow.site_id)
                       .where(DeviceRow.id == device_id, site_filter(principal)))


# --------------------------------------------------------------------------- findings


def _finding_query():  # type: ignore[no-untyped-def]
    return (select(FindingRow.id, FindingRow.device_id, SiteRow.id.label("site_id"), SiteRow.name, OutcomeRow.policy,
                   OutcomeRow.obligation, OutcomeRow.status, OutcomeRow.due, OutcomeRow.reasons, OutcomeRow.as_of)
            .select_from(FindingRow).join(OutcomeRow, OutcomeRow.id == FindingRow.outcome_id)
            .join(DeviceRow, DeviceRow.id == FindingRow.device_id).join(SiteRow, SiteRow.id == DeviceRow.site_id)
            .order_by(FindingRow.id))


def _finding(row: Any) -> dict[str, Any]:
    return {"id": row.id, "device_id": row.device_id, "site_id": row.site_id, "site": row.name, "policy": row.policy,
            "obligation": row.obligation, "status": row.status, "due": row.due.isoformat() if row.due else None,
            "reasons": row.reasons, "as_of": row.as_of.isoformat()}


def list_findings(conn: Connection, principal: Principal, site_id: int | None = None, status: str | None = None,
                  after: int = 0, limit: int = 200) -> list[dict[str, Any]]:
    query = _finding_query().where(site_filter(principal), FindingRow.id > after).limit(limit)
    if site_id is not None:
        query = query.where(SiteRow.id == site_id)
    if status is not None:
        query = query.where(OutcomeRow.status == status)
    return [_finding(r) for r in conn.execute(query)]


# --------------------------------------------------------------------------- reconciliation


def reconciliation(conn: Connection, site_id: int) -> dict[str, list[int]] | None:
    """Register rows against what was seen, as the store merged them (by serial, MAC, then IP).

    None until the site has both register rows and something seen: a one-sided comparison says nothing.
    """
    kinds: dict[int, set[str]] = defaultdict(set)
    for device_id, kind in conn.execute(select(ObservationRow.device_id, ObservationRow.kind)
                                        .where(ObservationRow.site_id == site_id).distinct()):
        if device_id is not None:
            kinds[device_id].add("register" if kind == "register_row" else "seen")
    if not any("seen" in k for k in kinds.values()) or not any("register" in k for k in kinds.values()):
        return None
    result: dict[str, list[int]] = {"matched": [], "seen_not_registered": [], "registered_not_seen": []}
    for device_id, k in sorted(kinds.items()):
        key = "matched" if len(k) == 2 else "seen_not_registered" if "seen" in k else "registered_not_seen"
        result[key].append(device_id)
    return result


# --------------------------------------------------------------------------- dashboard


def dashboard(conn: Connection, principal: Principal, knowledge: Knowledge, as_of: date) -> dict[str, Any]:
    """Counts by status, by department and by site sensitivity, and progress against each removal timeline.

    Grouped by site id in SQL (integer keys, no join to departments per row) and rolled up here:
    a few thousand sites, however many devices.
    """
    scoped = site_filter(principal)
    sensitive = SiteRow.holds_secret | SiteRow.dv_hub | SiteRow.ministerial | SiteRow.socpa
    sites = {row.id: (row.name, "sensitive" if row.sensitive else "other") for row in conn.execute(
        select(SiteRow.id, Department.name, sensitive.label("sensitive"))
        .join(Department, Department.id == SiteRow.department_id).where(scoped))}

    def blank() -> dict[str, int]:
        return {"sites": 0, "devices": 0, **{s: 0 for s in STATUSES}}

    by_department: dict[str, dict[str, int]] = defaultdict(blank)
    by_sensitivity: dict[str, dict[str, int]] = {"sensitive": blank(), "other": blank()}
    status_counts: Counter[str] = Counter()
    for department, kind in sites.values():
        by_department[department]["sites"] += 1
        by_sensitivity[kind]["sites"] += 1
    for site_id, devices in conn.execute(select(DeviceRow.site_id, func.count()).join(
            SiteRow, SiteRow.id == DeviceRow.site_id).where(scoped).group_by(DeviceRow.site_id)):
        department, kind = sites[site_id]
        by_department[department]["devices"] += devices
        by_sensitivity[kind]["devices"] += devices
    for site_id, status, count in conn.execute(
            select(DeviceRow.site_id, OutcomeRow.status, func.count()).select_from(FindingRow)
            .join(OutcomeRow, OutcomeRow.id == FindingRow.outcome_id)
            .join(DeviceRow, DeviceRow.id == FindingRow.device_id).join(SiteRow, SiteRow.id == DeviceRow.site_id)
            .where(scoped).group_by(DeviceRow.site_id, OutcomeRow.status)):
        department, kind = sites[site_id]
        by_department[department][status] = by_department[department].get(status, 0) + count
        by_sensitivity[kind][status] = by_sensitivity[kind].get(status, 0) + count
        status_counts[status] += count
    return {"as_of": as_of.isoformat(), "statuses": {s: status_counts.get(s, 0) for s in STATUSES},
            "by_department": dict(sorted(by_department.items())), "by_sensitivity": by_sensitivity,
            "timelines": timelines(conn, principal, knowledge, as_of)}


def timelines(conn: Connection, principal: Principal, knowledge: Knowledge, as_of: date) -> list[dict[str, Any]]:
    """For each removal obligation with milestones: affected sites, how many are clear, and each milestone.

    A site is affected when a device there is (or was, before removal) under the obligation; it is
    clear when none is still outstanding (breach, overdue or due).
    """
    result = []
    for policy in knowledge.policies.values():
        for obligation in policy.obligations:
            if obligation.rule != RuleKind.REMOVE_BY or not obligation.milestones:
                continue
            outstanding: set[int] = set()
            removed: set[int] = set()
            query = (select(SiteRow.id, OutcomeRow.status, DeviceRow.removed_on).select_from(FindingRow)
                     .join(OutcomeRow, OutcomeRow.id == FindingRow.outcome_id)
                     .join(DeviceRow, DeviceRow.id == FindingRow.device_id).join(SiteRow, SiteRow.id == DeviceRow.site_id)
                     .where(site_filter(principal), OutcomeRow.policy == policy.id,
                            OutcomeRow.obligation == obligation.id,
                            OutcomeRow.status.in_([*OUTSTANDING, "compliant"])).distinct())
            for site_id, status, removed_on in conn.execute(query):
                if status in OUTSTANDING:
                    outstanding.add(site_id)
                elif removed_on is not None:
                    removed.add(site_id)
            affected = outstanding | removed
            if not affected:
                continue
            clear = len(affected - outstanding)
            share = clear / len(affected)
            milestones = [{"date": m.date.isoformat(), "target": m.target_share, "note": m.note,
                           "passed": m.date <= as_of, "met": share >= m.target_share} for m in obligation.milestones]
            result.append({"policy": policy.id, "obligation": obligation.id, "title": obligation.title,
                           "deadline": obligation.deadline.isoformat() if obligation.deadline else None,
                           "affected_sites": len(affected), "clear_sites": clear, "share_clear": round(share, 4),
                           "milestones": milestones})
    return result
