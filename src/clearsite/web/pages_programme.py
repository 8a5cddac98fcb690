"""The programme pages: the dashboard, the removal plan and the public statement preview.

Kept apart from web/pages.py (case-work pages) because all three tell the programme's one timeline
(services/timeline.py): the same milestones, actual and forecast months for the reader's scope.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from clearsite.services import estate
from clearsite.services.planning import plan_for
from clearsite.services.publishing import public_preview as preview_statement
from clearsite.web.pages import Reader, render

router = APIRouter(include_in_schema=False)


@router.get("/")
def dashboard(request: Request, principal: Reader) -> HTMLResponse:
    figures = estate.dashboard(request.app.state.engine, principal.sites, request.app.state.knowledge,
                               request.app.state.settings.today())
    return render(request, "dashboard.html", principal, figures=figures, statuses=estate.STATUSES)


@router.get("/plan")
def plan_page(request: Request, principal: Reader) -> HTMLResponse:
    plan = plan_for(request.app.state.engine, principal.sites)
    if plan is None:
        raise HTTPException(404, "No removal plan is stored yet.")
    return render(request, "plan.html", principal, plan=plan)


@router.get("/public")
def public_preview(request: Request, principal: Reader) -> HTMLResponse:
    settings = request.app.state.settings
    preview = preview_statement(request.app.state.engine, principal.sites, request.app.state.knowledge,
                                settings.today(), settings.public_min_count)
    return render(request, "public.html", principal, preview=preview)
