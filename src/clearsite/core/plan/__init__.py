"""Removal planning: which week and crew takes out each site's affected devices.

    from clearsite.core.plan import PlanInputs, PlanSettings, make_plan
    plan = make_plan(inputs, PlanSettings(start=date(2024, 5, 6), time_limit=30))
    plan.to_dict()  # the JSON contract; Plan.from_dict reads it back (render.plan_export writes it)

A pure function over plain data. Devices (`WorkItem`) are packed into site visits (groups kept
together, hazard cameras waiting for their replacement); a min-cost-flow relaxation with Lagrange
prices on the budgets gives a lower bound and an order for the list-scheduling heuristic; swaps,
budget exchanges across a financial year's end and large-neighbourhood search with CP-SAT improve
the schedule, and when the model is small CP-SAT tightens the bound region by region and solves the
whole model to prove optimality. Every plan reports its gap to the bound; missed
milestones come with the extra crews or money that would meet them (`Plan.shortfalls`).
"""

from typing import TYPE_CHECKING, Any

from clearsite.core.plan.result import (
    BudgetRow,
    CapacityRow,
    MilestoneResult,
    Plan,
    Shortfall,
    SolverStats,
    UnscheduledDevice,
    Visit,
)
from clearsite.core.plan.risk import RiskWeights, device_risk
from clearsite.core.plan.scenario import ExtraCrew, Scenario, apply_scenario, parse_scenario
from clearsite.core.plan.types import (
    Budget,
    ClassRates,
    CostTable,
    Crew,
    DeviceId,
    Milestone,
    Period,
    PlanInputs,
    PlanSettings,
    SiteInfo,
    WorkItem,
)

if TYPE_CHECKING:
    from clearsite.core.plan.planner import compare_scenarios, make_plan

_SOLVER = ("compare_scenarios", "make_plan")


def __getattr__(name: str) -> Any:
    """The solver (OR-Tools, NumPy, pandas: 70 MB and a second to load) only for those who plan.

    Reading a stored plan, a work order or a plan file needs the result types, not the solver.
    """
    if name in _SOLVER:
        from clearsite.core.plan import planner

        return getattr(planner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Budget",
    "BudgetRow",
    "CapacityRow",
    "ClassRates",
    "CostTable",
    "Crew",
    "DeviceId",
    "ExtraCrew",
    "Milestone",
    "MilestoneResult",
    "Period",
    "Plan",
    "PlanInputs",
    "PlanSettings",
    "RiskWeights",
    "Scenario",
    "Shortfall",
    "SiteInfo",
    "SolverStats",
    "UnscheduledDevice",
    "Visit",
    "WorkItem",
    "apply_scenario",
    "compare_scenarios",
    "device_risk",
    "make_plan",
    "parse_scenario",
]
