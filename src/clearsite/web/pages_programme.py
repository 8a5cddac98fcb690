"""The programme pages: the dashboard, the removal plan and the public statement preview.

Kept apart from web/pages.py (case-work pages) because all three tell the programme's one timeline
(services/timeline.py): the same milestones, actual and forecast months for the reader's scope, and
the same charts (inline SVG with a title, a description and a table of the same figures). The chart
and statement renderers load with the first page that draws one: a server worker that only takes
agents' pushes never does (issue 13, worker memory).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from clearsite.services import estate, inventory
from clearsite.services.timeline import ProgrammeTimeline, programme_timeline
from clearsite.web.pages import Reader, render

router = APIRouter(include_in_schema=False)


def _timeline(request: Request, principal: Reader) -> ProgrammeTimeline:
    state = request.app.state
    # The per-site summary the timeline and the dashboard's counts read (rebuilt behind the page above
    # 200,000 devices; until then they count from the findings, as exactly and more slowly).
    inventory.ensure_index(state.engine, state.knowledge)
    return programme_timeline(state.engine, state.knowledge, principal.sites, state.settings.today())


@router.get("/")
def dashboard(request: Request, principal: Reader) -> HTMLResponse:
    from clearsite.services.plan_outputs import timeline_chart

    state = request.app.state
    timeline = _timeline(request, principal)
    figures = estate.dashboard(state.engine, principal.sites, state.knowledge, state.settings.today(), timeline)
    chart = Markup(timeline_chart(timeline)) if timeline.figures.affected else None  # our SVG, every text escaped
    return render(request, "dashboard.html", principal, figures=figures, statuses=estate.STATUSES,
                  timeline=timeline, chart=chart)


@router.get("/plan")
def plan_page(request: Request, principal: Reader) -> HTMLResponse:
    from clearsite.services.plan_outputs import plan_view, timeline_chart

    timeline = _timeline(request, principal)
    plan = plan_view(request.app.state.engine, principal.sites)
    charts = {}
    if plan is not None:
        charts = {"gantt": Markup(plan["gantt"]), "crew_load": Markup(plan["crew_load"])}
    if timeline.figures.affected:
        charts["burndown"] = Markup(timeline_chart(timeline))
    return render(request, "plan.html", principal, plan=plan, timeline=timeline, charts=charts)


@router.get("/public")
def public_preview(request: Request, principal: Reader) -> HTMLResponse:
    from clearsite.services.publishing import public_preview as preview_statement

    settings = request.app.state.settings
    preview = preview_statement(request.app.state.engine, principal.sites, request.app.state.knowledge,
                                settings.today(), settings.public_min_count)
    return render(request, "public.html", principal, preview=preview)
