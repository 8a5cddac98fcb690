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
from typing import Any, cast

from clearsite.core import contracts
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

    def to_dict(self) -> contracts.Plan:
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
            "totals": cast(contracts.PlanTotals, dict(self.totals)),
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


    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        """A plan back from its JSON contract (as `to_dict` wrote it; plans stored by older versions
        may lack keys added since, which take their defaults). Numbers come back as rounded there."""
        solver = data.get("solver") or {}
        return cls(
            status=data["status"],
            objective=float(data["objective"]),
            lower_bound=float(data.get("lower_bound", data["objective"])),
            gap=float(data["gap"]),
            exposure=float(data.get("exposure", 0.0)),
            penalty=float(data.get("penalty", 0.0)),
            start=date.fromisoformat(data["start"]),
            weeks=int(data.get("weeks", 0)),
            capacity=tuple(CapacityRow(c["region"], date.fromisoformat(c["week"]), float(c["hours"]),
                                       float(c.get("used", 0.0))) for c in data.get("capacity", [])),
            visits=tuple(Visit(v["site"], v.get("department", ""), v["region"], date.fromisoformat(v["week"]),
                               v["crew"], float(v["hours"]), float(v["cost"]), tuple(v["devices"]))
                         for v in data.get("visits", [])),
            milestones=tuple(MilestoneResult(date.fromisoformat(m["date"]), float(m["target_share"]),
                                             float(m.get("forecast_share", 0.0)), bool(m.get("met", False)),
                                             int(m.get("target_sites", 0)), int(m.get("forecast_sites", 0)),
                                             m.get("note", "")) for m in data.get("milestones", [])),
            shortfalls=tuple(Shortfall(
                date.fromisoformat(s["milestone"]), s["kind"], s["reason"], s.get("region"), s.get("fy"),
                _day(s.get("period_start")), _day(s.get("period_end")), int(s.get("extra_crews", 0)),
                float(s.get("extra_hours", 0.0)), float(s.get("extra_budget", 0.0)), float(s.get("minimum", 0.0)),
                bool(s.get("verified", False)), _day(s.get("later_date"))) for s in data.get("shortfalls", [])),
            unscheduled=tuple(UnscheduledDevice(u["device"], u["site"], u["reason"])
                              for u in data.get("unscheduled", [])),
            budget=tuple(BudgetRow(b["fy"], b.get("budget"), float(b.get("spend", 0.0)))
                         for b in data.get("budget", [])),
            solver=SolverStats(
                solver.get("method", ""), solver.get("lower_bound_method", ""), solver.get("cpsat_status"),
                int(solver.get("cpsat_variables", 0)), int(solver.get("visits", 0)), int(solver.get("sites", 0)),
                int(solver.get("devices", 0)), int(solver.get("weeks", 0)), float(solver.get("wall_time", 0.0)),
                float(solver.get("heuristic_objective", 0.0)), tuple(solver.get("notes", ()))),
            totals={k: int(v) for k, v in (data.get("totals") or {}).items()},
            scenario=data.get("scenario"),
            milestone_penalty=float(data.get("milestone_penalty", 0.0)),
        )


def _num(x: float) -> float:
    return round(float(x), 6)


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None
