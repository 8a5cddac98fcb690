"""Publishing progress: the public statement (redacted by construction) and the internal report.

`clearsite publish` calls `publish_progress`; the milestones are the programme's
(`services.timeline.programme_milestones`), the same the dashboard and the web preview show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from clearsite.core.knowledge import Knowledge
from clearsite.render.public import (
    SiteProgress,
    build_internal_report,
    build_public_statement,
    internal_files,
    public_files,
    statement_to_dict,
)
from clearsite.services.planning import current_plan, progress_records, removal_work, write_files
from clearsite.services.timeline import programme_milestones, removal_timelines
from clearsite.store.reads import SiteScope

__all__ = ["Published", "public_preview", "publish_progress"]


@dataclass
class Published:
    public: list[Path] = field(default_factory=list)
    internal: list[Path] = field(default_factory=list)


def publish_progress(engine: Engine, knowledge: Knowledge, as_of: date, *, public: Path | None = None,
                     internal: Path | None = None, programme: str = "") -> Published:
    """Write the public statement into `public` and the internal report into `internal` (either or both)."""
    work = removal_work(engine, knowledge, as_of)
    stored = current_plan(engine)
    with engine.connect() as conn:
        targets, _ = programme_milestones(conn, knowledge)
    milestones = [(m.date, m.target_share) for m in targets]
    forecast: dict[str, date] = {}
    if stored is not None:
        for visit in stored.plan.visits:  # a site visited in a week is clear by that week's Friday
            forecast[visit.site] = visit.week + timedelta(days=4)
    records = [SiteProgress(r["site"], r["department"], r["cleared_on"], forecast.get(r["site"]), r["region"],
                            r["devices"]) for r in progress_records(work, None)]
    written = Published()
    if public:
        statement = build_public_statement(records, as_of=as_of, milestones=milestones, programme=programme)
        written.public = write_files(public, public_files(statement))
    if internal:
        report = build_internal_report(records, as_of=as_of, milestones=milestones,
                                       plan=stored.plan if stored is not None else None)
        written.internal = write_files(internal, internal_files(report))
    return written


def public_preview(engine: Engine, scope: SiteScope, knowledge: Knowledge, as_of: date,
                   min_department_sites: int) -> dict[str, Any] | None:
    """What the published statement would say for the sites in the scope (the open-data JSON form),
    for the first removal timeline with affected sites; None when there is none.

    Only department and cleared date reach the statement, so the preview is redacted by the same
    construction as the published report; its milestones are the timeline's, as the dashboard's.
    """
    with engine.connect() as conn:
        timelines = removal_timelines(conn, knowledge, scope)
    if not timelines:
        return None
    timeline = timelines[0]
    records = [SiteProgress(site="", department=s.department, cleared_on=s.cleared_on) for s in timeline.sites]
    statement = build_public_statement(records, as_of=as_of,
                                       milestones=[(m.date, m.target_share) for m in timeline.milestones],
                                       programme=timeline.programme, min_department_sites=min_department_sites)
    return statement_to_dict(statement)
