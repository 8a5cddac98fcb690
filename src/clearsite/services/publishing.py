"""Publishing progress: the public statement (redacted by construction) and the internal report, both
drawn from the programme's one timeline (`services.timeline.programme_timeline`), the same the
dashboard, /plan and the web preview show.

Who publishes, under which licence and with what contact comes from the `[publication]` table of the
settings file (`publication_settings`), with `clearsite publish` options laid over it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlalchemy import Engine

from clearsite.core.errors import InputError
from clearsite.core.knowledge import Knowledge
from clearsite.core.text import clean_text
from clearsite.render.public import (
    Publication,
    PublicStatement,
    SiteProgress,
    build_internal_report,
    build_public_statement,
    internal_files,
    public_files,
    render_public_body,
    statement_to_dict,
)
from clearsite.services.planning import write_files
from clearsite.services.timeline import ProgrammeTimeline, programme_timeline
from clearsite.store.reads import EVERYTHING, SiteScope

__all__ = ["Published", "public_preview", "public_statement", "publication_settings", "publish_progress",
           "settings_path"]

SETTINGS_KEYS = {f.name for f in fields(Publication)} - {"published"}


@dataclass
class Published:
    public: list[Path] = field(default_factory=list)
    internal: list[Path] = field(default_factory=list)


def settings_path() -> Path:
    """$CLEARSITE_SETTINGS, else $XDG_CONFIG_HOME/clearsite/settings.toml (~/.config/clearsite/settings.toml)."""
    given = os.environ.get("CLEARSITE_SETTINGS")
    if given:
        return Path(given)
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "clearsite" / "settings.toml"


def publication_settings(path: Path | None = None, **overrides: Any) -> Publication:
    """The `[publication]` table of the settings file (absent: the defaults, with the Open Government
    Licence), with non-empty `overrides` (the command's options) on top. A bad file or an unknown key
    is refused naming it."""
    source = path or settings_path()
    values: dict[str, Any] = {}
    if path is not None or source.is_file():
        try:
            with source.open("rb") as handle:
                table = tomllib.load(handle).get("publication", {})
        except OSError as exc:
            raise InputError(f"{source}: cannot read the settings file ({exc.strerror})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{source}: not valid TOML ({exc})") from exc
        if not isinstance(table, dict):
            raise InputError(f"{source}: [publication] must be a table")
        for key, value in table.items():
            if key not in SETTINGS_KEYS:
                raise InputError(f"{source}: [publication] {key}: unknown setting (known: {', '.join(sorted(SETTINGS_KEYS))})")
            if not isinstance(value, str):
                raise InputError(f"{source}: [publication] {key}: expected text")
            values[key] = clean_text(value)
    values.update({k: v for k, v in overrides.items() if v not in (None, "")})
    return replace(Publication(), **values)


def _records(timeline: ProgrammeTimeline) -> list[SiteProgress]:
    return [SiteProgress(s.site, s.department, s.cleared_on, s.forecast_on, s.region, s.devices,
                         claimed_on=s.claimed_on) for s in timeline.sites]


def public_statement(timeline: ProgrammeTimeline, publication: Publication, min_department_sites: int
                     ) -> PublicStatement:
    """The public statement of a timeline (only department and dates of each site reach it)."""
    return build_public_statement(timeline.sites, as_of=timeline.as_of,
                                  milestones=[(m.date, m.target_share) for m in timeline.figures.milestones],
                                  programme=publication.programme or timeline.programme,
                                  min_department_sites=min_department_sites, publication=publication)


def publish_progress(engine: Engine, knowledge: Knowledge, as_of: date, *, public: Path | None = None,
                     internal: Path | None = None, programme: str = "", publication: Publication | None = None,
                     min_department_sites: int = 5) -> Published:
    """Write the public statement into `public` and the internal report into `internal` (either or both)."""
    timeline = programme_timeline(engine, knowledge, EVERYTHING, as_of, assess=True)
    publication = publication or publication_settings()
    if programme:
        publication = replace(publication, programme=programme)
    written = Published()
    if public:
        written.public = write_files(public, public_files(public_statement(timeline, publication,
                                                                          min_department_sites)))
    if internal:
        report = build_internal_report(_records(timeline), as_of=as_of,
                                       milestones=[(m.date, m.target_share) for m in timeline.figures.milestones],
                                       plan=timeline.plan, problems=timeline.problems, publication=publication)
        written.internal = write_files(internal, internal_files(report))
    return written


def public_preview(engine: Engine, scope: SiteScope, knowledge: Knowledge, as_of: date,
                   min_department_sites: int) -> dict[str, Any] | None:
    """What the published statement would say for the sites in the scope (the open-data JSON form, and
    under "html" the statement's body exactly as `publish --public` writes it); None when no site is affected.

    Only department and dates reach the statement, so the preview is redacted by the same
    construction as the published report; its figures are the timeline's, as the dashboard's."""
    timeline = programme_timeline(engine, knowledge, scope, as_of)
    if not timeline.figures.affected:
        return None
    statement = public_statement(timeline, publication_settings(), min_department_sites)
    return {**statement_to_dict(statement), "html": Markup(render_public_body(statement))}
