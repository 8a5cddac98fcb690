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
    from clearsite.services.plan_outputs import (
        check_plan_outputs,
        export_schedule,
        load_plan,
        plans_text,
        write_charts,
    )
    from clearsite.services.planning import plan_removals
    from clearsite.services.timeline import EVERYTHING, programme_timeline

    when = parse_date(as_of)
    try:
        loaded = load_plan(plan_file, start=parse_date(start, "--start") if start else None, time_limit=time_limit)
        check_plan_outputs(export, charts)  # before the plan is made and stored
        engine, knowledge = open_engine(db), load_knowledge()
        plans, work, _ = plan_removals(engine, knowledge, loaded, when, scenario or [], compare, policy)
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
        say(f"wrote the burn-down, Gantt and crew-load charts to {charts}")
    say(f"{len(work.work)} devices to remove at {len(work.sites)} sites; {len(plans)} plan(s) stored")
    timeline = (programme_timeline(engine, knowledge, EVERYTHING, when, assess=True)
                if format == PlanFormat.table and not (compare or scenario) else None)
    text = plans_text(plans, format.value, timeline)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def publish(
    public: Annotated[Path | None, typer.Option("--public", help="The redacted public statement (HTML, JSON, SVG).")] = None,
    internal: Annotated[Path | None, typer.Option("--internal", help="The full detail for the programme office.")] = None,
    as_of: AsOfOption = None,
    programme: Annotated[str, typer.Option("--programme", help="Programme name shown on the statement.")] = "",
    publisher: Annotated[str, typer.Option("--publisher", help="The publishing department.")] = "",
    contact: Annotated[str, typer.Option("--contact", help="Email address or web page for questions.")] = "",
    licence: Annotated[str, typer.Option("--licence", help="Licence name (default: Open Government Licence "
                                         "v3.0).")] = "",
    licence_url: Annotated[str, typer.Option("--licence-url", help="Where the licence is published.")] = "",
    next_update: Annotated[str, typer.Option("--next-update", help="When the next statement is due, "
                                             "e.g. 'March 2027'.")] = "",
    published: Annotated[str | None, typer.Option("--published", help="Date of publication (YYYY-MM-DD; "
                                                  "default: the --as-of date).")] = None,
    settings: Annotated[Path | None, typer.Option("--settings", help="Settings file whose [publication] table "
                                                  "gives these (default: $CLEARSITE_SETTINGS or "
                                                  "~/.config/clearsite/settings.toml).")] = None,
    db: DbOption = None,
) -> None:
    """Publish progress: a public statement redacted by construction, or the internal full detail."""
    from clearsite.services.knowledge import load_knowledge
    from clearsite.services.publishing import publication_settings, publish_progress

    if not public and not internal:
        raise UsageError("give --public DIR, --internal DIR, or both")
    when = parse_date(as_of)
    publication = publication_settings(settings, programme=programme, publisher=publisher, contact=contact,
                                       licence=licence, licence_url=licence_url, next_update=next_update,
                                       published=parse_date(published, "--published") if published else when)
    written = publish_progress(open_engine(db), load_knowledge(), when, public=public, internal=internal,
                               publication=publication)
    if written.public:
        say(f"public statement: {', '.join(str(p) for p in written.public)}")
    if written.internal:
        say(f"internal report (names sites; do not publish): {', '.join(str(p) for p in written.internal)}")
