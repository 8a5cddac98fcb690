"""/agents: the health of every site's agent (last heard, spool depth, last scan, version, silent sites)
and a form for an officer to ask a site's agent for an ad-hoc scan.

The page reads through services.agents with the person's site scope, as /api/v1/agents does; loading
it raises `site_silent` for any site newly quiet (the service does, with its clock).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from clearsite.core.errors import InputError
from clearsite.services import agents, estate
from clearsite.services.auth import Scope
from clearsite.web import cache
from clearsite.web.pages import Reader, Writer, render

router = APIRouter(include_in_schema=False)


def _page(request: Request, principal: Reader, *, requested: int | None = None, error: str | None = None,
          targets: str = "", site_id: int | None = None, http_status: int = 200) -> HTMLResponse:
    engine = request.app.state.engine
    silent_after = agents.silent_after_from_environment()
    rows = agents.agent_health(engine, principal.sites, silent_after=silent_after)
    return render(request, "agents.html", principal, http_status, rows=rows, jobs=agents.jobs(engine, principal.sites),
                  silent=[r for r in rows if r["state"] == "silent"], silent_after=_hours(silent_after.total_seconds()),
                  sites=estate.sites(engine, principal.sites) if principal.can(Scope.WRITE) else [],
                  requested=requested, error=error, targets=targets, chosen_site=site_id)


def _hours(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:g} hour{'' if hours == 1 else 's'}" if hours >= 1 else f"{seconds / 60:g} minutes"


@router.get("/agents")
def agents_page(request: Request, principal: Reader,
                requested: Annotated[int | None, Query(ge=0, le=2**62)] = None) -> HTMLResponse:
    return _page(request, principal, requested=requested)


@router.post("/agents/jobs", response_model=None)
def request_scan(request: Request, principal: Writer, site_id: Annotated[int, Form(ge=0, le=2**62)],
                 targets: Annotated[str, Form(max_length=2000)] = "") -> HTMLResponse | RedirectResponse:
    wanted = [t for t in targets.replace(",", " ").split() if t]
    try:
        job = agents.request_scan(request.app.state.engine, principal.actor, principal.sites, site_id, wanted)
    except InputError as exc:  # a target outside the site's networks: the form again, saying which
        return _page(request, principal, error=str(exc), targets=targets, site_id=site_id, http_status=422)
    cache.forget_all()
    return RedirectResponse(f"/agents?requested={job['id']}", status_code=303)
