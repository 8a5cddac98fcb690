"""The shell around the planner: removal work from the database, plans stored as versions, and the
public and internal progress statements. `clearsite plan`, `clearsite publish` and the demo call it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from clearsite.core.knowledge import Knowledge
from clearsite.core.knowledge.schema import RuleKind
from clearsite.core.models import OUTSTANDING, Finding
from clearsite.core.plan import SiteInfo, WorkItem, device_risk
from clearsite.core.plan.result import Plan
from clearsite.core.plan.scenario import parse_scenario
from clearsite.formats.outputs import output_set
from clearsite.formats.planfile import PlanFile, parse_plan_file
from clearsite.render.plan_export import site_clear_dates
from clearsite.services.assessment import iter_findings
from clearsite.services.devices import iter_devices
from clearsite.store import audit
from clearsite.store.devices import now
from clearsite.store.plans import BASELINE, StoredPlan, has_plan, insert_plan
from clearsite.store.plans import current_plan as stored_current_plan
from clearsite.store.reads import EVERYTHING, SiteScope
from clearsite.store.site_reads import list_sites
from clearsite.store.transactions import write_transaction

OPEN = OUTSTANDING
REMOVAL_RULES = (RuleKind.REMOVE_BY, RuleKind.NO_NEW_DEPLOYMENT)


@dataclass(frozen=True)
class RemovalWork:
    """What must come out, and the sites it is at, as the planner reads them."""

    work: list[WorkItem]
    sites: dict[str, SiteInfo]
    departments: dict[str, str]  # site → department
    regions: dict[str, str]  # site → region
    cleared: dict[str, date]  # affected sites whose removal devices are all removed → when


def removal_work(engine: Engine, knowledge: Knowledge, as_of: date, policy_id: str | None = None) -> RemovalWork:
    """Devices with open removal findings (breach, overdue, due under a removal or no-deployment obligation)."""
    removal_obligations = {(p.id, o.id) for p in knowledge.policies.values() for o in p.obligations
                           if o.rule in REMOVAL_RULES}
    open_findings: dict[int, list[Finding]] = {}
    removed_affected: dict[str, list[date]] = {}
    site_department: dict[str, str] = {}
    for finding in iter_findings(engine, knowledge, as_of, policy_id):
        if (finding.policy, finding.obligation) in removal_obligations and finding.status in OPEN:
            open_findings.setdefault(finding.device_id, []).append(finding)
    work: list[WorkItem] = []
    sites: dict[str, SiteInfo] = {}
    departments: dict[str, str] = {}
    regions: dict[str, str] = {}
    for view, site in iter_devices(engine, with_evidence=False):
        findings = open_findings.get(view.id)
        site_department[site.name] = site.department
        if view.removed_on is not None:
            removed_affected.setdefault(site.name, []).append(view.removed_on)
        if not findings:
            continue
        network = site.network_for(view.ip)
        region = site.region or "Unassigned"
        work.append(WorkItem(
            id=view.id, site=site.name, department=site.department, region=region,
            device_class=view.identity.device_class,
            risk=device_risk(findings, sensitive=site.sensitive, on_core_network=bool(network and network.core)),
            group=f"{site.name}/recorders" if view.identity.device_class in ("nvr", "dvr") else None,
        ))
        sites.setdefault(site.name, SiteInfo(site.name, sensitive=site.sensitive))
        departments[site.name] = site.department
        regions[site.name] = region
    cleared = {name: max(days) for name, days in removed_affected.items() if name not in sites}
    for name in cleared:
        departments[name] = site_department[name]
    return RemovalWork(work, sites, departments, regions, cleared)


def default_plan_file(regions: Sequence[str], start: date, policy: str = "uk-hcws386/O3") -> PlanFile:
    """A starting plan when the user has none: one crew per region, typical UK rates, the policy's milestones."""
    lines = [f"start: {start.isoformat()}", "time_limit: 20", f"policy: {policy}", "holidays: england-and-wales",
             "crews:"]
    for index, region in enumerate(sorted(set(regions)) or ["Unassigned"]):
        lines.append(f"  - {{id: crew-{index + 1}, region: {json.dumps(region)}, hours_per_week: 60}}")
    lines += [
        "rates:",
        "  travel_hours: 3",
        "  visit_cost: 250",
        "  default: {hours: 1.0, removal: 80, replacement: 450, disposal: 15, lead_time_weeks: 2}",
        "  classes:",
        "    ip_camera: {hours: 0.75, removal: 60, replacement: 420, disposal: 10, lead_time_weeks: 4}",
        "    ptz_camera: {hours: 1.5, removal: 90, replacement: 1400, disposal: 15, lead_time_weeks: 6}",
        "    nvr: {hours: 2.0, removal: 120, replacement: 1800, disposal: 25, lead_time_weeks: 6}",
        "    dvr: {hours: 2.0, removal: 120, replacement: 1500, disposal: 25, lead_time_weeks: 6}",
    ]
    return parse_plan_file("\n".join(lines) + "\n", "default plan")


def next_monday(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7)


def plan_removals(engine: Engine, knowledge: Knowledge, plan_file: PlanFile | None, as_of: date,
                  scenarios: Sequence[str] = (), compare: bool = False,
                  policy_id: str | None = None) -> tuple[list[Plan], RemovalWork, PlanFile]:
    """Plan the removal work (and each scenario) and store every plan as a new version."""
    work = removal_work(engine, knowledge, as_of, policy_id)
    if plan_file is None:
        plan_file = default_plan_file(list(work.regions.values()), next_monday(as_of))
    inputs = plan_file.inputs(work.work, work.sites)
    if plan_file.settings.start <= as_of and not inputs.already_cleared_sites:
        inputs = replace(inputs, already_cleared_sites=len(work.cleared))
    chosen = [plan_file.scenarios[s] if s in plan_file.scenarios else
              parse_scenario(s, plan_file.settings.start) for s in scenarios]
    if compare and not chosen:  # compare every scenario the plan file names
        chosen = list(plan_file.scenarios.values())
    # The solver (OR-Tools, which brings numpy and pandas: ~65 MB) is loaded only when a plan is made,
    # not by every process that imports this module (each web server worker does).
    from clearsite.core.plan.planner import compare_scenarios, make_plan

    if compare or chosen:
        plans = compare_scenarios(inputs, plan_file.settings, chosen, include_base=True)
    else:
        plans = [make_plan(inputs, plan_file.settings)]
    for plan in plans:
        store_plan(engine, plan, as_of, plan_file)
    return plans, work, plan_file


def store_plan(engine: Engine, plan: Plan, as_of: date, plan_file: PlanFile, actor: str = "cli") -> int:
    """Store a plan as a new version (typed in, its JSON contract in the row), with its audit entry."""
    settings = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(plan_file.settings).items()}
    result = plan.to_dict()
    with write_transaction(engine) as conn:
        plan_id = insert_plan(conn, plan, as_of=as_of, created_at=now(), settings=settings)
        audit.record(conn, actor, "plan.store", f"plan:{plan_id}", None,
                     {"scenario": plan.scenario or BASELINE, "status": result["status"],
                      "objective": result["objective"], "gap": result["gap"], "visits": len(result["visits"])})
    return plan_id


def current_plan(engine: Engine) -> StoredPlan | None:
    """The current plan: the newest baseline plan, never a what-if stored by `plan --compare`."""
    with engine.connect() as conn:
        return stored_current_plan(conn)


def progress_records(work: RemovalWork, plan: Plan | None) -> list[dict[str, Any]]:
    """One record per affected site: department, cleared date or the plan's forecast, for the statements."""
    forecast = site_clear_dates(plan) if plan is not None else {}
    records = [{"site": name, "department": work.departments[name], "region": work.regions[name],
                "cleared_on": None, "forecast_on": forecast.get(name),
                "devices": sum(1 for w in work.work if w.site == name)} for name in work.sites]
    records += [{"site": name, "department": work.departments[name], "region": None, "cleared_on": when,
                 "forecast_on": None, "devices": 0} for name, when in work.cleared.items()]
    return records


def write_files(out_dir: Path, files: dict[str, str]) -> list[Path]:
    """Write a set of text files into `out_dir`, all of them or none (see formats.outputs)."""
    with output_set(out_dir, files) as outputs:
        for name, text in files.items():
            outputs.write_text(name, text)
    return [out_dir / name for name in files]


def has_current_plan(engine: Engine) -> bool:
    """Is a baseline plan stored (so the web has a plan page to link to)?"""
    with engine.connect() as conn:
        return has_plan(conn)


def plan_for(engine: Engine, scope: SiteScope, max_visits: int = 2000) -> dict[str, Any] | None:
    """The current plan as a caller sees it: programme-wide milestones and totals, but only the
    visits to sites in their scope (a plan's visits name sites). None when no plan is stored."""
    with engine.connect() as conn:
        stored = stored_current_plan(conn)
        if stored is None:
            return None
        visible = None if scope == EVERYTHING else {s["name"] for s in list_sites(conn, scope)}
    plan = stored.plan
    visits = [v for v in plan.visits if visible is None or v.site in visible]
    return {"id": stored.id, "created_at": stored.created_at, "as_of": stored.as_of, "scenario": stored.scenario,
            "status": plan.status, "objective": plan.objective, "gap": plan.gap, "milestones": list(plan.milestones),
            "totals": dict(plan.totals), "visits": visits[:max_visits], "visits_total": len(visits)}
