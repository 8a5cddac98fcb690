"""Stored removal plans: every run is a new version; the current plan is the newest baseline one.

A plan goes in and comes out typed (`core.plan.Plan`); the `result` column holds its JSON contract.
`plan --compare` stores each what-if beside the baseline, and those never become the current plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from clearsite.core.plan.result import Plan
from clearsite.store.tables import PlanRow

__all__ = ["BASELINE", "StoredPlan", "current_plan", "has_plan", "insert_plan"]

BASELINE = "baseline"
_BASELINE_NAMES = (BASELINE, "base")  # "base": what plans stored by early versions were called


@dataclass(frozen=True, slots=True)
class StoredPlan:
    id: int
    created_at: datetime
    as_of: date
    scenario: str
    plan: Plan


def insert_plan(conn: Connection, plan: Plan, *, as_of: date, created_at: datetime, settings: dict[str, Any]) -> int:
    """Store a plan as a new version; its scenario is "baseline" unless it is a what-if."""
    result = plan.to_dict()
    key = conn.execute(insert(PlanRow).values(
        created_at=created_at, as_of=as_of, scenario=plan.scenario or BASELINE, status=plan.status,
        objective=float(result["objective"]), gap=float(result["gap"]), settings=settings, result=result,
    )).inserted_primary_key
    assert key is not None
    return int(key[0])


def current_plan(conn: Connection) -> StoredPlan | None:
    """The newest baseline plan (never a what-if of `plan --compare`), or None when none is stored."""
    row = conn.execute(select(PlanRow.id, PlanRow.created_at, PlanRow.as_of, PlanRow.scenario, PlanRow.status,
                              PlanRow.objective, PlanRow.gap, PlanRow.result)
                       .where(PlanRow.scenario.in_(_BASELINE_NAMES)).order_by(PlanRow.id.desc()).limit(1)).first()
    if row is None:
        return None
    # The row's own columns fill what a partial result (an old or hand-made row) lacks.
    data = {"status": row.status, "objective": row.objective, "gap": row.gap, "start": row.as_of.isoformat(),
            **(row.result or {})}
    return StoredPlan(row.id, row.created_at, row.as_of, row.scenario, Plan.from_dict(data))


def has_plan(conn: Connection) -> bool:
    """Is any baseline plan stored (so there is a plan page to link to)?"""
    return conn.scalar(select(PlanRow.id).where(PlanRow.scenario.in_(_BASELINE_NAMES)).limit(1)) is not None
