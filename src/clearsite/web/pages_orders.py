"""Pages for proof of removal: /alerts, /orders (work orders and their job sheets), /orders/{id}.

The same services as the API and the CLI, with the caller's site scope. The dashboard shows the
latest alerts through the `_alerts.html` partial, which reads them with `recent_alerts`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clearsite.core.alerts import ALERT_KINDS, ALERT_TITLES
from clearsite.core.errors import ConflictError, InputError, NotFoundError
from clearsite.services import orders as order_service
from clearsite.services.alerts import alert_json, list_alerts
from clearsite.services.auth import Scope
from clearsite.web import cache
from clearsite.web.access import Principal, needs
from clearsite.web.pages import render, templates

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(needs(Scope.READ))]
Writer = Annotated[Principal, Depends(needs(Scope.WRITE))]
Admin = Annotated[Principal, Depends(needs(Scope.ADMIN))]
STATUS_WORDS = {"planned": "Planned", "scheduled": "Scheduled", "in_progress": "In progress",
                "completed": "Completed (claimed)", "verified": "Verified", "cancelled": "Cancelled"}
STATUS_COLOURS = {"planned": "grey", "scheduled": "blue", "in_progress": "yellow", "completed": "purple",
                  "verified": "green", "cancelled": "red"}
REMOVAL_COLOURS = {"claimed": "yellow", "verified": "green", "contradicted": "red", "reappeared": "red"}


def _today(request: Request) -> date:
    today: date = request.app.state.settings.today()
    return today


def recent_alerts(request: Request, principal: Principal | None, count: int = 5) -> list[dict[str, Any]]:
    """The latest alerts the caller may see, newest first (for the dashboard partial)."""
    if principal is None or not principal.can(Scope.READ):
        return []
    return [dict(alert_json(a)) for a in reversed(list_alerts(request.app.state.engine, principal.sites))][:count]


templates.env.globals["recent_alerts"] = recent_alerts
templates.env.globals["alert_titles"] = ALERT_TITLES


@router.get("/alerts")
def alerts_page(request: Request, principal: Reader,
                kind: Annotated[str | None, Query(max_length=40)] = None) -> HTMLResponse:
    chosen = kind if kind in ALERT_KINDS else None
    order_service.check_overdue(request.app.state.engine, _today(request))
    rows = [alert_json(a) for a in reversed(list_alerts(request.app.state.engine, principal.sites, kind=chosen))]
    return render(request, "alerts.html", principal, alerts=rows, kind=chosen, kinds=sorted(ALERT_KINDS),
                  titles=ALERT_TITLES)


@router.get("/orders")
def orders_page(request: Request, principal: Reader,
                status: Annotated[str | None, Query(max_length=20)] = None,
                done: Annotated[str | None, Query(max_length=200)] = None) -> HTMLResponse:
    chosen = status if status in STATUS_WORDS else None
    found = order_service.list_orders(request.app.state.engine, principal.sites, status=chosen, today=_today(request))
    return render(request, "orders.html", principal, orders=found, status=chosen, words=STATUS_WORDS,
                  colours=STATUS_COLOURS, today=_today(request), done=done,
                  can_create=principal.can(Scope.ADMIN))


@router.post("/orders/create", response_model=None)
def orders_create(request: Request, principal: Admin) -> HTMLResponse | RedirectResponse:
    try:
        made = order_service.create_orders(request.app.state.engine, principal.actor)
    except InputError as exc:
        found = order_service.list_orders(request.app.state.engine, principal.sites, today=_today(request))
        return render(request, "orders.html", principal, 422, orders=found, status=None, words=STATUS_WORDS,
                      colours=STATUS_COLOURS, today=_today(request), done=None, error=str(exc), can_create=True)
    cache.forget_all()
    text = f"{made['created']} created, {made['updated']} updated, {made['cancelled']} cancelled"
    return RedirectResponse(f"/orders?done={text.replace(' ', '+')}", status_code=303)


def _order_page(request: Request, principal: Principal, order_id: int, *, error: str | None = None,
                done: str | None = None, http_status: int = 200) -> HTMLResponse:
    engine = request.app.state.engine
    try:
        detail = order_service.order_detail(engine, principal.sites, order_id)
        sheet = order_service.job_sheet(engine, principal.sites, order_id)
    except NotFoundError:
        return render(request, "error.html", principal, 404, message="No such work order, or not one of your "
                      "department's.")
    return render(request, "order.html", principal, http_status, order=detail, sheet=sheet, words=STATUS_WORDS,
                  colours=STATUS_COLOURS, removal_colours=REMOVAL_COLOURS, error=error, done=done,
                  can_write=principal.can(Scope.WRITE), today=_today(request))


@router.get("/orders/{order_id}")
def order_page(request: Request, order_id: int, principal: Reader,
               done: Annotated[str | None, Query(max_length=200)] = None) -> HTMLResponse:
    return _order_page(request, principal, order_id, done=done)


@router.get("/orders/{order_id}/sheet.html")
def order_sheet_html(request: Request, order_id: int, principal: Reader) -> HTMLResponse:
    page = order_service.job_sheet_page(request.app.state.engine, principal.sites, order_id)
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@router.get("/orders/{order_id}/sheet.xlsx")
def order_sheet_xlsx(request: Request, order_id: int, principal: Reader) -> Response:
    data = order_service.job_sheet_workbook(request.app.state.engine, principal.sites, order_id)
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="order-{order_id}.xlsx"',
                             "Cache-Control": "no-store"})


@router.post("/orders/{order_id}/status", response_model=None)
def order_status(request: Request, order_id: int, principal: Writer,
                 status: Annotated[str, Form(pattern="^(scheduled|in_progress|completed|cancelled)$")],
                 reason: Annotated[str, Form(max_length=1000)] = "") -> HTMLResponse | RedirectResponse:
    engine, scope = request.app.state.engine, principal.sites
    try:
        if status == "cancelled":
            order_service.cancel_order(engine, principal.actor, scope, order_id, reason)
        else:
            {"scheduled": order_service.schedule_order, "in_progress": order_service.start_order,
             "completed": order_service.complete_order}[status](engine, principal.actor, scope, order_id)
    except (InputError, ConflictError) as exc:
        return _order_page(request, principal, order_id, error=str(exc), http_status=422)
    cache.forget_all()
    return RedirectResponse(f"/orders/{order_id}?done={STATUS_WORDS[status].replace(' ', '+')}", status_code=303)


@router.post("/orders/{order_id}/extensions", response_model=None)
def order_extension(request: Request, order_id: int, principal: Writer,
                    new_due: Annotated[date, Form()],
                    reason: Annotated[str, Form(max_length=2000)] = "") -> HTMLResponse | RedirectResponse:
    try:
        order_service.request_extension(request.app.state.engine, principal.actor, principal.sites, order_id,
                                        new_due, reason)
    except (InputError, ConflictError) as exc:
        return _order_page(request, principal, order_id, error=str(exc), http_status=422)
    return RedirectResponse(f"/orders/{order_id}?done=Extension+requested", status_code=303)


@router.post("/orders/{order_id}/extensions/{extension_id}", response_model=None)
def order_extension_decision(request: Request, order_id: int, extension_id: int, principal: Writer,
                             decision: Annotated[str, Form(pattern="^(approve|refuse)$")]
                             ) -> HTMLResponse | RedirectResponse:
    try:
        order_service.decide_order_extension(request.app.state.engine, principal.actor, principal.sites,
                                             extension_id, decision == "approve")
    except (InputError, ConflictError) as exc:
        return _order_page(request, principal, order_id, error=str(exc), http_status=422)
    word = "Extension+granted" if decision == "approve" else "Extension+refused"
    return RedirectResponse(f"/orders/{order_id}?done={word}", status_code=303)
