"""Removal timelines: which milestones a programme is held to, and how far each site has got.

One source for the dashboard, the web's public preview and `clearsite publish`: the milestones of
the programme are the current plan's when one is stored (the plan was made against them, possibly
from a plan file's own list), else those of the policy's obligation. Other removal obligations
keep their own milestones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection

from clearsite.core.knowledge import Knowledge
from clearsite.core.knowledge.schema import Obligation, Policy, RuleKind
from clearsite.core.models import OUTSTANDING as OUTSTANDING_STATUSES
from clearsite.store.plans import current_plan
from clearsite.store.reads import EVERYTHING, SiteScope
from clearsite.store.site_reads import obligation_rows

__all__ = ["OUTSTANDING", "MilestoneTarget", "SiteState", "Timeline", "programme_milestones", "removal_timelines"]

OUTSTANDING = tuple(s.value for s in OUTSTANDING_STATUSES)


@dataclass(frozen=True, slots=True)
class MilestoneTarget:
    date: date
    target_share: float
    note: str = ""


@dataclass(frozen=True, slots=True)
class SiteState:
    """An affected site: its department, and when it was cleared (None while a device is outstanding)."""

    site_id: int
    department: str
    cleared_on: date | None


@dataclass(frozen=True, slots=True)
class Timeline:
    """One removal obligation's milestones and the sites it affects (within a scope)."""

    policy: Policy
    obligation: Obligation
    milestones: tuple[MilestoneTarget, ...]
    milestones_from: str  # "plan" or "policy"
    sites: tuple[SiteState, ...]

    @property
    def programme(self) -> str:
        return f"{self.policy.title} — {self.obligation.title}"

    @property
    def clear_sites(self) -> int:
        return sum(1 for s in self.sites if s.cleared_on is not None)

    @property
    def share_clear(self) -> float:
        return self.clear_sites / len(self.sites) if self.sites else 0.0


def _removal_obligations(knowledge: Knowledge) -> list[tuple[Policy, Obligation]]:
    return [(p, o) for p in knowledge.policies.values() for o in p.obligations
            if o.rule == RuleKind.REMOVE_BY and o.milestones]


def _site_states(conn: Connection, scope: SiteScope, policy: Policy, obligation: Obligation) -> tuple[SiteState, ...]:
    """Sites with a device under the obligation that is outstanding, or compliant because it was removed."""
    departments: dict[int, str] = {}
    outstanding: set[int] = set()
    removed: dict[int, date] = {}
    for site_id, department, status, removed_on in obligation_rows(conn, scope, policy.id, obligation.id,
                                                                   (*OUTSTANDING, "compliant")):
        if status in OUTSTANDING:
            outstanding.add(site_id)
        elif status == "compliant" and removed_on is not None:
            removed[site_id] = max(removed_on, removed.get(site_id, removed_on))
        else:
            continue
        departments[site_id] = department
    return tuple(SiteState(site_id, departments[site_id], None if site_id in outstanding else removed.get(site_id))
                 for site_id in sorted(departments))


def programme_milestones(conn: Connection, knowledge: Knowledge) -> tuple[tuple[MilestoneTarget, ...], str]:
    """The programme's milestones and where they come from: the current plan's, else the programme
    obligation's (the first removal obligation with milestones); empty when there is neither."""
    stored = current_plan(conn)
    if stored is not None and stored.plan.milestones:
        return tuple(MilestoneTarget(m.date, m.target_share, m.note) for m in stored.plan.milestones), "plan"
    obligations = _removal_obligations(knowledge)
    if not obligations:
        return (), "policy"
    return _own_milestones(obligations[0][1]), "policy"


def _own_milestones(obligation: Obligation) -> tuple[MilestoneTarget, ...]:
    return tuple(MilestoneTarget(m.date, m.target_share, m.note) for m in obligation.milestones)


def removal_timelines(conn: Connection, knowledge: Knowledge, scope: SiteScope = EVERYTHING) -> list[Timeline]:
    """Every removal obligation with milestones and affected sites in the scope, in knowledge order.

    The programme obligation's milestones are `programme_milestones`; the others keep their own.
    """
    obligations = _removal_obligations(knowledge)
    programme = obligations[0] if obligations else None
    timelines: list[Timeline] = []
    for policy, obligation in obligations:
        sites = _site_states(conn, scope, policy, obligation)
        if not sites:
            continue
        if programme is not None and obligation is programme[1]:
            milestones, source = programme_milestones(conn, knowledge)
        else:
            milestones, source = _own_milestones(obligation), "policy"
        timelines.append(Timeline(policy, obligation, milestones, source, sites))
    return timelines
