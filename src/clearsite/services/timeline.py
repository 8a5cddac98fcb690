"""The programme's one timeline: its milestones, and actual and forecast progress month by month, for
a scope. The dashboard, /plan, the web's public preview, `clearsite plan` and `clearsite publish`
(public and internal) all call `programme_timeline`, so they tell one story.

- Milestones: the current plan's when one is stored (the plan was made against them, possibly from a
  plan file's own list), else those of the programme's obligation (the first removal obligation with
  milestones in the knowledge).
- Affected sites: sites with a device under a removal obligation (remove-by or no-new-deployment, the
  obligations the planner plans) that is outstanding, or was removed. A department sees only its own
  sites, and milestone targets are shares of the sites it sees.
- Clear means proven: every affected device at the site verified removed (`_removal_proof` reads
  the removal claims and their verification); claimed-but-unverified sites are counted apart.
- Forecast: the current plan's date for each site (the Friday of its last visit).
The rules that turn these facts into figures are `core.timeline.compute_timeline`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine

from clearsite.core import contracts
from clearsite.core.knowledge import Knowledge
from clearsite.core.knowledge.schema import Obligation, Policy, RuleKind
from clearsite.core.models import OUTSTANDING as OUTSTANDING_STATUSES
from clearsite.core.plan.result import Plan
from clearsite.core.timeline import MilestoneTarget, SiteClearance, TimelineFigures, compute_timeline
from clearsite.render.plan_export import site_clear_dates
from clearsite.render.wording import shortfall_sentence
from clearsite.store.plans import StoredPlan, current_plan
from clearsite.store.reads import EVERYTHING, SiteScope
from clearsite.store.removals import read_removals
from clearsite.store.timeline_reads import ObligationDevice, SiteRemovals, site_removals

__all__ = ["EVERYTHING", "OUTSTANDING", "REMOVAL_RULES", "MilestoneTarget", "ProgrammeTimeline", "RemovalProof", "SiteScope",
           "programme_milestones", "programme_timeline", "removal_obligations", "timeline_summary"]

OUTSTANDING = tuple(s.value for s in OUTSTANDING_STATUSES)
REMOVAL_RULES = (RuleKind.REMOVE_BY, RuleKind.NO_NEW_DEPLOYMENT)  # what the planner plans


@dataclass(frozen=True, slots=True)
class RemovalProof:
    """How far a device's removal is proven: 'verified' (a later observation proved it gone) or
    'claimed' (someone says so, not yet proven), and the day it was said to go."""

    state: str
    removed_on: date


@dataclass(frozen=True, slots=True)
class ProgrammeTimeline:
    programme: str  # "policy title — obligation title"
    policy: Policy | None
    obligation: Obligation | None
    milestones_from: str  # "plan" | "policy" | "none"
    sites: tuple[SiteClearance, ...]  # in the scope; names for internal views only
    figures: TimelineFigures
    plan: Plan | None  # the current plan (programme-wide)
    problems: tuple[str, ...]  # the plan's shortfalls as sentences ("The 8 March 2027 milestone cannot be met: …")

    @property
    def as_of(self) -> date:
        return self.figures.as_of


def _removal_obligations(knowledge: Knowledge) -> list[tuple[Policy, Obligation]]:
    return [(p, o) for p in knowledge.policies.values() for o in p.obligations if o.rule in REMOVAL_RULES]


def removal_obligations(knowledge: Knowledge) -> list[tuple[str, str]]:
    """(policy, obligation) of every obligation the programme counts, as the stored findings name them."""
    return sorted({(p.id, o.id) for p, o in _removal_obligations(knowledge)})


def _programme_obligation(knowledge: Knowledge) -> tuple[Policy, Obligation] | None:
    return next(((p, o) for p, o in _removal_obligations(knowledge)
                 if o.rule == RuleKind.REMOVE_BY and o.milestones), None)


def programme_milestones(conn: Connection, knowledge: Knowledge) -> tuple[tuple[MilestoneTarget, ...], str]:
    """The programme's milestones and where they come from: the current plan's, else the programme
    obligation's; empty ("none") when there is neither."""
    stored = current_plan(conn)
    if stored is not None and stored.plan.milestones:
        return tuple(MilestoneTarget(m.date, m.target_share, m.note) for m in stored.plan.milestones), "plan"
    found = _programme_obligation(knowledge)
    if found is None:
        return (), "none"
    return tuple(MilestoneTarget(m.date, m.target_share, m.note) for m in found[1].milestones), "policy"


def _removal_proof(conn: Connection, rows: Sequence[ObligationDevice]) -> dict[int, RemovalProof]:
    """Each affected device's removal as far as it is proven: the one place that decides what counts
    as proof. A removal claim (services.removal) is 'claimed' until a later observation verifies it
    (services.verification); a contradicted or reappeared claim is no removal; a removal date with
    no claim behind it is someone's word, so 'claimed'."""
    claims = {c.device_id: c for c in read_removals(conn, device_ids=[r.device_id for r in rows])}
    proof: dict[int, RemovalProof] = {}
    for row in rows:
        claim = claims.get(row.device_id)
        if claim is not None and claim.status in ("verified", "claimed"):
            proof[row.device_id] = RemovalProof(claim.status, claim.removed_on)
        elif claim is None and row.removed_on is not None:
            proof[row.device_id] = RemovalProof("claimed", row.removed_on)
    return proof


def _assessed_now(engine: Engine, knowledge: Knowledge, as_of: date,
                  obligations: set[tuple[str, str]]) -> list[ObligationDevice]:
    """The same rows as `obligation_devices`, from assessing every device at `as_of` rather than from
    the stored findings (for `plan` and `publish`, which may run at a date no `assess` stored)."""
    from clearsite.services.assessment import iter_findings
    from clearsite.services.devices import iter_devices

    where = {view.id: (site, view.removed_on) for view, site in iter_devices(engine, with_evidence=False)}
    site_ids = {name: i for i, name in enumerate(sorted({site.name for site, _ in where.values()}))}
    rows: dict[tuple[int, str], ObligationDevice] = {}
    for f in iter_findings(engine, knowledge, as_of):
        if (f.policy, f.obligation) in obligations and f.status in (*OUTSTANDING, "compliant"):
            site, removed_on = where[f.device_id]
            rows[f.device_id, f.status] = ObligationDevice(f.device_id, site_ids[site.name], site.name,
                                                           site.department, site.region, str(f.status), removed_on)
    return list(rows.values())


def _assessed_sites(conn: Connection, rows: Sequence[ObligationDevice]) -> list[SiteRemovals]:
    """`site_removals` for rows of a live assessment: the same rule, applied in Python."""
    proof = _removal_proof(conn, rows)
    devices: dict[int, tuple[ObligationDevice, int]] = {}  # device → (a row, state: 0 open, 1 claimed, 2 verified)
    for row in rows:
        found = proof.get(row.device_id)
        if found is not None:
            devices[row.device_id] = (row, 2 if found.state == "verified" else 1)
        elif row.status in OUTSTANDING:
            devices[row.device_id] = (row, 0)
    by_site: dict[int, list[tuple[ObligationDevice, int]]] = defaultdict(list)
    for row, state in devices.values():
        by_site[row.site_id].append((row, state))
    sites = []
    for site_id, own in by_site.items():
        first = own[0][0]
        removed = [proof[r.device_id].removed_on for r, state in own if state]
        sites.append(SiteRemovals(site_id, first.site, first.department, first.region,
                                  sum(1 for _, s in own if s == 0), sum(1 for _, s in own if s == 1),
                                  sum(1 for _, s in own if s == 2), max(removed) if removed else None))
    return sites


def _site_clearances(sites: Sequence[SiteRemovals], forecast: dict[str, date | None]) -> tuple[SiteClearance, ...]:
    """Clear when every device is verified removed; claimed when every one is removed and some only claimed."""
    found = []
    for s in sites:
        cleared_on = s.last_removed if s.open == 0 and s.claimed == 0 else None
        claimed_on = s.last_removed if s.open == 0 and s.claimed else None
        found.append(SiteClearance(s.site, s.department, cleared_on, claimed_on,
                                   forecast.get(s.site) if s.open else None, s.region, s.open, s.claimed))
    return tuple(sorted(found, key=lambda c: (c.department, c.site)))


def programme_timeline(engine: Engine, knowledge: Knowledge, scope: SiteScope, as_of: date, *,
                       assess: bool = False) -> ProgrammeTimeline:
    """The programme's timeline for the sites in `scope`, on `as_of` (the caller's clock), from the
    stored findings; with `assess` (everything only), from assessing every device at `as_of`."""
    if assess and scope != EVERYTHING:
        raise ValueError("a live assessment covers every site")
    obligations = {(p.id, o.id) for p, o in _removal_obligations(knowledge)}
    assessed = _assessed_now(engine, knowledge, as_of, obligations) if assess else None
    with engine.connect() as conn:
        stored: StoredPlan | None = current_plan(conn)
        milestones, source = programme_milestones(conn, knowledge)
        forecast = site_clear_dates(stored.plan) if stored is not None else {}
        removals = (_assessed_sites(conn, assessed) if assessed is not None
                    else site_removals(conn, scope, sorted(obligations), OUTSTANDING))
        sites = _site_clearances(removals, forecast)
    found = _programme_obligation(knowledge)
    policy, obligation = found if found is not None else (None, None)
    programme = f"{policy.title} — {obligation.title}" if policy and obligation else "Removal programme"
    plan = stored.plan if stored is not None else None
    problems = tuple(shortfall_sentence(s) for s in plan.shortfalls) if plan is not None else ()
    return ProgrammeTimeline(programme, policy, obligation, source, sites, compute_timeline(sites, milestones, as_of),
                             plan, problems)


def timeline_summary(timeline: ProgrammeTimeline) -> contracts.Timeline:
    """The timeline as the dashboard's JSON gives it (GET /api/v1/dashboard `timelines`)."""
    f = timeline.figures
    return {
        "policy": timeline.policy.id if timeline.policy else "",
        "obligation": timeline.obligation.id if timeline.obligation else "",
        "title": timeline.obligation.title if timeline.obligation else timeline.programme,
        "deadline": timeline.obligation.deadline.isoformat() if timeline.obligation and timeline.obligation.deadline
        else None,
        "affected_sites": f.affected, "clear_sites": f.cleared, "claimed_sites": f.claimed,
        "share_clear": round(f.share, 4), "milestones_from": timeline.milestones_from,
        "milestones": [{"date": m.date.isoformat(), "target": m.target_share, "note": m.note,
                        "passed": m.date <= f.as_of, "met": m.met, "basis": m.basis, "sites": m.sites,
                        "target_sites": m.target_sites, "status": m.status} for m in f.milestones],
    }

