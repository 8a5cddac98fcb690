"""`clearsite plan` and `clearsite publish`: the removal schedule, and progress statements."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from clearsite.cli.options import AsOfOption, DbOption, PolicyOption, open_engine, parse_date, say
from clearsite.core.errors import ClearsiteError, UsageError


class PlanFormat(StrEnum):
    json = "json"
    table = "table"
    csv = "csv"


def plan(
    plan_file: Annotated[Path | None, typer.Option("--plan-file", help="YAML: crews, rates, budgets, milestones, "
                                                   "access windows, scenarios (default: one crew per region).")] = None,
    start: Annotated[str | None, typer.Option("--start", help="First planning week (YYYY-MM-DD).")] = None,
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="Seconds for the solver.")] = None,
    scenario: Annotated[list[str] | None, typer.Option("--scenario", help="A named scenario of the plan file, or "
                                                       "a what-if such as 'crews=North+2' (repeatable).")] = None,
    compare: Annotated[bool, typer.Option("--compare", help="Plan every scenario and compare side by side.")] = False,
    export: Annotated[Path | None, typer.Option("--export", help="Write the schedule as XLSX here.")] = None,
    charts: Annotated[Path | None, typer.Option("--charts", help="Write the burn-down and Gantt SVGs here.")] = None,
    as_of: AsOfOption = None,
    policy: PolicyOption = None,
    db: DbOption = None,
    format: Annotated[PlanFormat, typer.Option("--format")] = PlanFormat.table,
) -> None:
    """Plan the removals week by week within crews, access, budgets and milestones; store the plan."""
    from clearsite.services.knowledge import load_knowledge
    from clearsite.services.plan_outputs import export_schedule, load_plan, plans_text, write_charts
    from clearsite.services.planning import plan_removals

    when = parse_date(as_of)
    try:
        loaded = load_plan(plan_file, start=parse_date(start, "--start") if start else None, time_limit=time_limit)
        plans, work, _ = plan_removals(open_engine(db), load_knowledge(), loaded, when, scenario or [], compare, policy)
    except ClearsiteError:
        raise
    except ValueError as exc:  # an unknown scenario or policy, an impossible what-if
        raise UsageError(" ".join(str(exc).split())) from exc
    base = plans[0]
    if export:
        export_schedule(base, export)
        say(f"wrote the schedule to {export}")
    if charts:
        for warning in write_charts(base, charts):
            say(f"warning: {warning}")
        say(f"wrote the burn-down and Gantt charts to {charts}")
    say(f"{len(work.work)} devices to remove at {len(work.sites)} sites; {len(plans)} plan(s) stored")
    text = plans_text(plans, format.value)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def publish(
    public: Annotated[Path | None, typer.Option("--public", help="The redacted public statement (HTML, JSON, SVG).")] = None,
    internal: Annotated[Path | None, typer.Option("--internal", help="The full detail for the programme office.")] = None,
    as_of: AsOfOption = None,
    programme: Annotated[str, typer.Option("--programme", help="Programme name shown on the statement.")] = "",
    db: DbOption = None,
) -> None:
    """Publish progress: a public statement redacted by construction, or the internal full detail."""
    from clearsite.services.knowledge import load_knowledge
    from clearsite.services.publishing import publish_progress

    if not public and not internal:
        raise UsageError("give --public DIR, --internal DIR, or both")
    written = publish_progress(open_engine(db), load_knowledge(), parse_date(as_of), public=public,
                               internal=internal, programme=programme)
    if written.public:
        say(f"public statement: {', '.join(str(p) for p in written.public)}")
    if written.internal:
        say(f"internal report (names sites; do not publish): {', '.join(str(p) for p in written.internal)}")
