"""The plan page: the latest stored removal plan, when the planner has stored one.

Plans are stored by `clearsite.services.planning` (table `plans`); until that exists in this build, or
while no plan is stored, there is no plan page and no link to it. A plan's visits name sites, so
officers see only their own department's visits; milestones and totals are programme-wide counts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError

from clearsite.store.tables import Department
from clearsite.store.users import Role
from clearsite.web import cache
from clearsite.web.access import Principal


def _table() -> Any:
    from clearsite.store import tables

    return getattr(tables, "PlanRow", None)


def has_plan(conn: Connection) -> bool:
    def look() -> bool:
        table = _table()
        if table is None:
            return False
        try:
            return conn.scalar(select(table.id).limit(1)) is not None
        except SQLAlchemyError:  # the table's migration not applied to this database
            return False

    return cache.remembered(("has_plan", id(conn.engine)), look)


def latest_plan(conn: Connection, principal: Principal) -> dict[str, Any] | None:
    table = _table()
    if table is None or not has_plan(conn):
        return None
    row = conn.execute(select(table.id, table.created_at, table.as_of, table.scenario, table.status, table.objective,
                              table.gap, table.result).order_by(table.id.desc()).limit(1)).first()
    if row is None:
        return None
    result: dict[str, Any] = row.result or {}
    visits = list(result.get("visits", []))
    if principal.user.role not in (Role.ADMIN, Role.AUDITOR):
        own = conn.scalar(select(Department.name).where(Department.id == principal.user.department_id))
        visits = [v for v in visits if v.get("department") == own]
    return {"id": row.id, "created_at": row.created_at, "as_of": row.as_of, "scenario": row.scenario,
            "status": row.status, "objective": row.objective, "gap": row.gap,
            "milestones": list(result.get("milestones", [])), "totals": dict(result.get("totals", {})),
            "visits": visits[:2000], "visits_total": len(visits)}
