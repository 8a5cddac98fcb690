"""The plan the planner returns, and its JSON form: the output contract scripts rely on.

Contract (stable; keys may be added, never renamed or removed):
  objective, lower_bound, gap (fraction), status (optimal | feasible | infeasible),
  capacity [{region, week, hours}], visits [{site, region, week, crew, hours, cost, devices}],
  milestones [{date, target_share, forecast_share, met}], shortfalls [...], unscheduled [{device, site, reason}].
`week` is the Monday (YYYY-MM-DD). `status` says whether the programme's requirements can be met:
"infeasible" means some milestone is missed or some device cannot be scheduled in the horizon (the
plan is then the best found, and `shortfalls` says what would fix it); otherwise "optimal" when the
gap is zero and "feasible" when it is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from clearsite.core.plan.types import DeviceId

SCHEMA = "clearsite.core.plan/1"


@dataclass(frozen=True, slots=True)
class CapacityRow:
    region: str
    week: date
    hours: float
    used: float


@dataclass(frozen=True, slots=True)
class Visit:
    site: str
    department: str
    region: str
    week: date
    crew: str
    hours: float
    cost: float
    devices: tuple[DeviceId, ...]


@dataclass(frozen=True, slots=True)
class MilestoneResult:
    date: date
    target_share: float
    forecast_share: float
    met: bool
    target_sites: int
    forecast_sites: int
    note: str = ""


@dataclass(frozen=True, slots=True)
class Shortfall:
    """What would make an unmet milestone feasible. `kind`: capacity | budget | access | date.

    `minimum` is a proven floor (no smaller extra can meet the milestone, by the capacity or budget
    relaxation); `extra_hours`/`extra_budget` is an amount re-planning showed to be enough when
    `verified`, else the best tried."""

    milestone: date
    kind: str
    reason: str
    region: str | None = None
    fy: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    extra_crews: int = 0
    extra_hours: float = 0.0
    extra_budget: float = 0.0
    minimum: float = 0.0
    verified: bool = False
    later_date: date | None = None  # for access: the earliest date enough sites can be reached


@dataclass(frozen=True, slots=True)
class UnscheduledDevice:
    device: DeviceId
    site: str
    reason: str


@dataclass(frozen=True, slots=True)
class BudgetRow:
    fy: str
    budget: float | None
    spend: float


@dataclass(frozen=True, slots=True)
class SolverStats:
    method: str  # heuristic | cpsat
    lower_bound_method: str
    cpsat_status: str | None
    cpsat_variables: int
    visits: int
    sites: int
    devices: int
    weeks: int
    wall_time: float
    heuristic_objective: float
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    status: str
    objective: float
    lower_bound: float
    gap: float
    exposure: float
    penalty: float
    start: date
    weeks: int
    capacity: tuple[CapacityRow, ...]
    visits: tuple[Visit, ...]
    milestones: tuple[MilestoneResult, ...]
    shortfalls: tuple[Shortfall, ...]
    unscheduled: tuple[UnscheduledDevice, ...]
    budget: tuple[BudgetRow, ...]
    solver: SolverStats
    totals: dict[str, int] = field(default_factory=dict)
    scenario: str | None = None
    milestone_penalty: float = 0.0  # objective cost per site short of a milestone

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract as plain data."""
        return {
            "schema": SCHEMA,
            "scenario": self.scenario,
            "objective": _num(self.objective),
            "lower_bound": _num(self.lower_bound),
            "gap": round(self.gap, 6),
            "status": self.status,
            "exposure": _num(self.exposure),
            "penalty": _num(self.penalty),
            "milestone_penalty": _num(self.milestone_penalty),
            "start": self.start.isoformat(),
            "weeks": self.weeks,
            "totals": dict(self.totals),
            "capacity": [
                {"region": c.region, "week": c.week.isoformat(), "hours": _num(c.hours), "used": _num(c.used)}
                for c in self.capacity
            ],
            "visits": [
                {
                    "site": v.site,
                    "department": v.department,
                    "region": v.region,
                    "week": v.week.isoformat(),
                    "crew": v.crew,
                    "hours": _num(v.hours),
                    "cost": _num(v.cost),
                    "devices": list(v.devices),
                }
                for v in self.visits
            ],
            "milestones": [
                {
                    "date": m.date.isoformat(),
                    "target_share": m.target_share,
                    "forecast_share": round(m.forecast_share, 6),
                    "met": m.met,
                    "target_sites": m.target_sites,
                    "forecast_sites": m.forecast_sites,
                    "note": m.note,
                }
                for m in self.milestones
            ],
            "shortfalls": [
                {
                    "milestone": s.milestone.isoformat(),
                    "kind": s.kind,
                    "reason": s.reason,
                    "region": s.region,
                    "fy": s.fy,
                    "period_start": s.period_start.isoformat() if s.period_start else None,
                    "period_end": s.period_end.isoformat() if s.period_end else None,
                    "extra_crews": s.extra_crews,
                    "extra_hours": _num(s.extra_hours),
                    "extra_budget": _num(s.extra_budget),
                    "minimum": _num(s.minimum),
                    "verified": s.verified,
                    "later_date": s.later_date.isoformat() if s.later_date else None,
                }
                for s in self.shortfalls
            ],
            "unscheduled": [
                {"device": u.device, "site": u.site, "reason": u.reason} for u in self.unscheduled
            ],
            "budget": [{"fy": b.fy, "budget": b.budget, "spend": _num(b.spend)} for b in self.budget],
            "solver": {
                "method": self.solver.method,
                "lower_bound_method": self.solver.lower_bound_method,
                "cpsat_status": self.solver.cpsat_status,
                "cpsat_variables": self.solver.cpsat_variables,
                "visits": self.solver.visits,
                "sites": self.solver.sites,
                "devices": self.solver.devices,
                "weeks": self.solver.weeks,
                "wall_time": round(self.solver.wall_time, 3),
                "heuristic_objective": _num(self.solver.heuristic_objective),
                "notes": list(self.solver.notes),
            },
        }


def _num(x: float) -> float:
    return round(float(x), 6)
