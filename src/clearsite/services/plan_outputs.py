"""What `clearsite plan` reads and writes around the planner: the plan file, the printed schedule,
the XLSX export and the charts. The planning itself is `services.planning.plan_removals`."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from clearsite.core.plan.result import Plan
from clearsite.formats.outputs import check_outputs, output_file, output_set
from clearsite.formats.planfile import PlanFile, load_plan_file
from clearsite.render.charts import (
    crew_colours,
    crew_load_svg,
    gantt_svg,
    plan_burndown_svg,
    svg_to_png,
    timeline_burndown_svg,
)
from clearsite.render.plan_export import (
    comparison_to_json,
    comparison_to_table,
    plan_to_csv,
    plan_to_json,
    plan_to_table,
    plan_to_xlsx,
)
from clearsite.render.wording import plan_headline
from clearsite.services.planning import current_plan, plan_for
from clearsite.services.timeline import EVERYTHING, ProgrammeTimeline, SiteScope

__all__ = ["check_plan_outputs", "export_schedule", "load_plan", "plan_view", "plans_text", "timeline_chart", "write_charts"]


def load_plan(path: Path | None, *, start: date | None = None, time_limit: float | None = None) -> PlanFile | None:
    """The plan file (PlanFileError names each mistake), with --start and --time-limit laid over it."""
    loaded = load_plan_file(path) if path else None
    if loaded is not None and (start or time_limit):
        loaded = loaded.with_settings(start=start, time_limit=time_limit)
    return loaded


def plans_text(plans: Sequence[Plan], format: str, timeline: ProgrammeTimeline | None = None) -> str:
    """One plan as json, csv or a table; several (a comparison) as json or a table. The table shows
    the programme timeline's milestones when given (the figures every page and statement shows)."""
    if len(plans) > 1:
        return comparison_to_json(plans) if format == "json" else comparison_to_table(plans)
    if format == "table" and timeline is not None:
        return plan_to_table(plans[0], milestones=timeline.figures.milestones, problems=timeline.problems)
    return {"json": plan_to_json, "csv": plan_to_csv, "table": plan_to_table}[format](plans[0])


_CHARTS = ("burndown", "gantt", "crew-load")


def check_plan_outputs(export: Path | None, charts: Path | None) -> None:
    """Refuse unsafe --export and --charts targets before planning, so no plan is stored for outputs that
    could not be written (a planted link, a folder that is a file)."""
    if export is not None:
        check_outputs(export.parent, [export.name])
    if charts is not None:
        check_outputs(charts, [f"{name}.{kind}" for name in _CHARTS for kind in ("svg", "png")])


def export_schedule(plan: Plan, path: Path) -> None:
    """The schedule as XLSX at `path`, written whole or not at all."""
    book = io.BytesIO()
    plan_to_xlsx(plan, book)
    with output_file(path) as outputs:
        outputs.write_bytes(path.name, book.getvalue())


def write_charts(plan: Plan, folder: Path) -> list[str]:
    """The burn-down, the Gantt (sites by week, by crew) and the crew load as SVG, and PNG where a
    renderer is installed, placed together; returns warnings."""
    svgs = {"burndown": plan_burndown_svg(plan), "gantt": gantt_svg(plan), "crew-load": crew_load_svg(plan)}
    files = {f"{name}.svg": svg.encode("utf-8") for name, svg in svgs.items()}
    warnings = []
    try:
        files |= {f"{name}.png": svg_to_png(svg) for name, svg in svgs.items()}
    except RuntimeError as exc:
        warnings.append(str(exc))
    with output_set(folder, files) as outputs:
        for name, data in files.items():
            outputs.write_bytes(name, data)
    return warnings


def timeline_chart(timeline: ProgrammeTimeline) -> str:
    """The timeline's burn-down (a step chart, actual then forecast, against the milestones) as inline SVG."""
    f = timeline.figures
    return timeline_burndown_svg([(p.month_end, p.cleared, p.basis) for p in f.months], f.milestones, f.affected,
                                 f.cleared, f.as_of)


def plan_view(engine: Engine, scope: SiteScope) -> dict[str, Any] | None:
    """The current plan as the caller sees it (`planning.plan_for`: only visits to their sites), with
    its Gantt chart (sites by week, coloured by crew), the crew load of those visits and the crews'
    colours; None when no plan is stored."""
    view = plan_for(engine, scope)
    stored = current_plan(engine)
    if view is None or stored is None:
        return None
    visible = {v.site for v in view["visits"]}
    plan = replace(stored.plan, visits=tuple(v for v in stored.plan.visits if v.site in visible))
    if scope != EVERYTHING:
        regions = {v.region for v in plan.visits}
        plan = replace(plan, capacity=tuple(c for c in plan.capacity if c.region in regions))
    return {**view, "gantt": gantt_svg(plan), "crew_load": crew_load_svg(plan), "crews": crew_colours(plan),
            "headline": plan_headline(stored.plan)}
