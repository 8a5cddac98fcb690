"""What `clearsite plan` reads and writes around the planner: the plan file, the printed schedule,
the XLSX export and the charts. The planning itself is `services.planning.plan_removals`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from clearsite.core.plan.result import Plan
from clearsite.formats.planfile import PlanFile, load_plan_file
from clearsite.render.charts import gantt_svg, plan_burndown_svg, svg_to_png
from clearsite.render.plan_export import (
    comparison_to_json,
    comparison_to_table,
    plan_to_csv,
    plan_to_json,
    plan_to_table,
    plan_to_xlsx,
)
from clearsite.services.planning import write_files

__all__ = ["export_schedule", "load_plan", "plans_text", "write_charts"]


def load_plan(path: Path | None, *, start: date | None = None, time_limit: float | None = None) -> PlanFile | None:
    """The plan file (PlanFileError names each mistake), with --start and --time-limit laid over it."""
    loaded = load_plan_file(path) if path else None
    if loaded is not None and (start or time_limit):
        loaded = loaded.with_settings(start=start, time_limit=time_limit)
    return loaded


def plans_text(plans: Sequence[Plan], format: str) -> str:
    """One plan as json, csv or a table; several (a comparison) as json or a table."""
    if len(plans) > 1:
        return comparison_to_json(plans) if format == "json" else comparison_to_table(plans)
    return {"json": plan_to_json, "csv": plan_to_csv, "table": plan_to_table}[format](plans[0])


def export_schedule(plan: Plan, path: Path) -> None:
    plan_to_xlsx(plan, path)


def write_charts(plan: Plan, folder: Path) -> list[str]:
    """The burn-down and Gantt charts as SVG, and PNG where a renderer is installed; returns warnings."""
    svgs = {"burndown": plan_burndown_svg(plan), "gantt": gantt_svg(plan)}
    write_files(folder, {f"{name}.svg": svg for name, svg in svgs.items()})
    try:
        for name, svg in svgs.items():
            (folder / f"{name}.png").write_bytes(svg_to_png(svg))
    except RuntimeError as exc:
        return [str(exc)]
    return []
