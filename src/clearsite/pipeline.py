"""The shell's verbs — import, identify, assess, list — shared by the CLI, the web app and the agents.

Each takes an engine and plain arguments, runs the pure core, and stores the results in one
transaction (a failure leaves the database as it was).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from clearsite.assess import assess_device, nil_verdict
from clearsite.identify import register_evidence
from clearsite.knowledge import Knowledge
from clearsite.knowledge.schema import Policy
from clearsite.models import DeviceFacts, Finding, Identity, Site
from clearsite.sources.register import RegisterError, RowProblem, parse_register, site_key
from clearsite.store.devices import NewObservation, add_source, now, refresh_identities, store_observations
from clearsite.store.sites import find_site, load_sites, site_ids_by_key
from clearsite.store.tables import DeviceRow, FindingRow, IdentityRow, SiteRow, SourceRow


class ImportRefused(ValueError):
    """The whole file was refused (--strict, or nothing usable); nothing was stored."""


@dataclass
class ImportReport:
    file: str
    rows_read: int
    stored: int
    duplicates: int
    new_devices: int
    identified: int
    skipped: list[str] = field(default_factory=list)  # one line per junk row
    warnings: list[str] = field(default_factory=list)
    already_imported: bool = False


def import_register(
    engine: Engine,
    path: Path,
    knowledge: Knowledge,
    *,
    site: str | None = None,
    mapping: dict[str, str] | None = None,
    strict: bool = False,
    actor: str = "cli",
    today: date | None = None,
) -> ImportReport:
    """Import a CSV/XLSX asset register: junk rows are reported and skipped (or refuse all with strict)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RegisterError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    name = path.name
    parsed = parse_register(data, name, mapping, site_given=site is not None, today=today)
    with engine.begin() as conn:
        fixed_site = find_site(conn, site) if site else None
        site_ids = site_ids_by_key(conn)
        problems = list(parsed.problems)
        observations: list[NewObservation] = []
        seen: Counter[str] = Counter()
        for row in parsed.rows:
            site_id = fixed_site
            if site_id is None:
                written = row.values.get("site", "")
                site_id = site_ids.get(site_key(written))
                if site_id is None:
                    reason = f"unknown site {written!r}" if written else "no site given"
                    problems.append(RowProblem(row.row_number, f"{reason}; skipped"))
                    continue
            fields = {k: v for k, v in row.values.items() if k != "site"}
            content = repr(sorted(fields.items())) + str(row.install_date) + str(site_id)
            occurrence = seen[content]
            seen[content] += 1
            source = f"{name} row {row.row_number}"
            description = " ".join(filter(None, (fields.get("description"), fields.get("device_type"))))
            evidence = register_evidence(
                source, brand=fields.get("brand"), model=fields.get("model"), serial=fields.get("serial"),
                mac=fields.get("mac"), description=description or None, firmware=fields.get("firmware"),
            )
            observations.append(NewObservation(
                site_id=site_id, kind="register_row", locator=f"row {row.row_number}",
                fields={**fields, "install_date": row.install_date.isoformat() if row.install_date else None},
                evidence=tuple(evidence), serial=fields.get("serial"), mac=fields.get("mac"), ip=fields.get("ip"),
                install_date=row.install_date, location=fields.get("location"), occurrence=occurrence,
            ))
        problems.sort(key=lambda p: p.row_number)
        skipped = [p.describe(name) for p in problems]
        warnings = [f"{name}: row {r.row_number}: {w}" for r in parsed.rows for w in r.warnings]
        if strict and (problems or warnings):
            raise ImportRefused(f"{(skipped + warnings)[0]} (--strict: nothing imported; "
                                f"{len(skipped)} bad rows, {len(warnings)} warnings)")
        if not observations:
            raise ImportRefused(f"{name}: no usable rows ({len(skipped)} skipped); nothing imported")
        sha = hashlib.sha256(data).hexdigest()
        source_id = add_source(conn, "register", name, sha, actor, fixed_site,
                               {"columns": parsed.columns, "header_row": parsed.header_row})
        stored = store_observations(conn, source_id, observations)
        identified = refresh_identities(conn, stored.touched_devices, knowledge)
        conn.execute(SourceRow.__table__.update().where(SourceRow.id == source_id).values(
            rows_read=len(parsed.rows) + len(parsed.problems), rows_skipped=len(problems)))
    return ImportReport(name, len(parsed.rows) + len(parsed.problems), stored.stored, stored.duplicates,
                        stored.new_devices, identified, skipped, warnings, already_imported=stored.stored == 0)


# --------------------------------------------------------------------------- reading devices


@dataclass(frozen=True, slots=True)
class DeviceView:
    """A device as users and scripts see it (the `clearsite devices` contract)."""

    id: int
    site: str
    ip: str | None
    mac: str | None
    serial: str | None
    location: str | None
    install_date: date | None
    removed_on: date | None
    identity: Identity
    evidence: list[dict[str, Any]]


def iter_devices(engine: Engine, site: str | None = None) -> Iterator[tuple[DeviceView, Site]]:
    """Devices with their identities, in id order, optionally for one site."""
    with engine.connect() as conn:
        sites = load_sites(conn)
        query = (
            select(DeviceRow.id, DeviceRow.site_id, DeviceRow.ip, DeviceRow.mac, DeviceRow.serial, DeviceRow.location,
                   DeviceRow.install_date, DeviceRow.removed_on, IdentityRow.label_brand, IdentityRow.producer_id,
                   IdentityRow.model, IdentityRow.device_class, IdentityRow.confidence, IdentityRow.evidence,
                   IdentityRow.contradictions, IdentityRow.alternatives)
            .join(IdentityRow, IdentityRow.device_id == DeviceRow.id, isouter=True)
            .order_by(DeviceRow.id)
        )
        if site is not None:
            query = query.where(DeviceRow.site_id == find_site(conn, site))
        for row in conn.execution_options(yield_per=10000).execute(query):
            identity = Identity(
                row.label_brand, row.producer_id, row.model, row.device_class or "unknown", row.confidence or 0.0,
                (), tuple(row.contradictions or ()), tuple((a[0], a[1]) for a in row.alternatives or ()),
            )
            yield DeviceView(row.id, sites[row.site_id].name, row.ip, row.mac, row.serial, row.location,
                             row.install_date, row.removed_on, identity, list(row.evidence or [])), sites[row.site_id]


def device_json(view: DeviceView, knowledge: Knowledge, as_of: date) -> dict[str, Any]:
    identity = view.identity
    verdict = nil_verdict(identity, knowledge, as_of, produced=view.install_date)
    producer = None
    if identity.producer_id:
        company = knowledge.companies[identity.producer_id]
        producer = {"id": company.id, "name": company.name, "country": company.incorporated_in}
    return {
        "id": view.id, "site": view.site, "ip": view.ip, "mac": view.mac, "serial": view.serial,
        "label_brand": identity.label_brand, "model": identity.model, "device_class": identity.device_class,
        "producer": producer, "nil_subject": verdict.subject.value, "nil_basis": verdict.basis,
        "nil_reasons": list(verdict.reasons), "confidence": identity.confidence,
        "contradictions": list(identity.contradictions), "location": view.location,
        "install_date": view.install_date.isoformat() if view.install_date else None,
        "evidence": view.evidence,
    }


# --------------------------------------------------------------------------- assessment


def policies_for(knowledge: Knowledge, policy_id: str | None, jurisdictions: set[str]) -> list[Policy]:
    if policy_id:
        if policy_id not in knowledge.policies:
            raise ValueError(f"unknown policy {policy_id!r} (known: {', '.join(sorted(knowledge.policies))})")
        return [knowledge.policies[policy_id]]
    return [p for p in knowledge.policies.values() if p.jurisdiction in jurisdictions] or \
        [knowledge.policies["uk-hcws386"]]


def assess_all(engine: Engine, knowledge: Knowledge, as_of: date, policy_id: str | None = None,
               store: bool = True) -> list[Finding]:
    """Assess every device under the chosen policies (default: those of each department's jurisdiction)."""
    views = list(iter_devices(engine))
    jurisdictions = {s.jurisdiction for _, s in views} or {"GB"}
    policies = policies_for(knowledge, policy_id, jurisdictions)
    findings: list[Finding] = []
    for view, site in views:
        facts = DeviceFacts(view.id, site, view.identity, view.ip, view.install_date, view.removed_on)
        for policy in policies:
            if policy_id is None and policy.jurisdiction != site.jurisdiction:
                continue
            findings.extend(assess_device(facts, policy, knowledge, as_of))
    if store:
        _store_findings(engine, findings, [p.id for p in policies], as_of)
    return findings


def _store_findings(engine: Engine, findings: list[Finding], policy_ids: list[str], as_of: date) -> None:
    stamp: datetime = now()
    with engine.begin() as conn:
        conn.execute(delete(FindingRow).where(FindingRow.policy.in_(policy_ids)))
        rows = [{"device_id": f.device_id, "policy": f.policy, "obligation": f.obligation, "status": f.status.value,
                 "due": f.due, "reasons": list(f.reasons), "as_of": as_of, "assessed_at": stamp} for f in findings]
        for start in range(0, len(rows), 20000):
            conn.execute(insert(FindingRow), rows[start : start + 20000])


def site_names(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(SiteRow.name).order_by(SiteRow.name)))


def write_report(engine: Engine, knowledge: Knowledge, out_dir: Path, as_of: date, policy_id: str | None = None):  # type: ignore[no-untyped-def]
    """Assess at `as_of` and write the internal findings report (HTML, CSV, XLSX, JSON) into out_dir."""
    from clearsite.publish.report import write_report as render

    findings = [f.as_dict() for f in assess_all(engine, knowledge, as_of, policy_id, store=False)]
    devices = [device_json(v, knowledge, as_of) for v, _ in iter_devices(engine)]
    with engine.connect() as conn:
        sites = [{"name": s.name, "department": s.department, "region": s.region,
                  "criteria": list(s.sensitivity_criteria),
                  "networks": [{"cidr": n.cidr, "core": n.core} for n in s.networks]}
                 for _, s in sorted(load_sites(conn).items())]
    return render(out_dir, devices, findings, sites, as_of)
