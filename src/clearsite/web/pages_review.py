"""Review pages: settle a device's verdict from its page (the `_decision.html` form), read its decision
history, and work through the devices waiting for a person (/review), settling many at once.

The same service as `clearsite review` and POST /api/v1/devices/{id}/decision, with the caller's site
scope: a device outside it answers 404, as if absent. Officers and admins only may decide.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clearsite.core.errors import InputError, NotFoundError
from clearsite.core.models import DEVICE_CLASSES
from clearsite.services import estate, review
from clearsite.services.auth import Role, Scope
from clearsite.services.devices import device_json
from clearsite.web import cache
from clearsite.web.access import Principal, needs
from clearsite.web.pages import NO_SUCH_DEVICE, render, templates

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(needs(Scope.READ))]
Writer = Annotated[Principal, Depends(needs(Scope.WRITE))]
PAGE = 50
NIL_CHOICES = (("", "Keep what the evidence says"), ("yes", "Yes: subject to the National Intelligence Law"),
               ("no", "No: not subject"), ("review", "Still needs review"))


def decision_choices(request: Request) -> dict[str, Any]:
    """What the decision form offers: producers from the knowledge base, device classes, NIL verdicts."""
    companies = request.app.state.knowledge.companies.values()
    return {"producers": sorted(((c.id, c.name) for c in companies), key=lambda p: p[1].lower()),
            "classes": sorted(DEVICE_CLASSES), "nil_choices": NIL_CHOICES}


def may_decide(principal: Principal | None) -> bool:
    return principal is not None and principal.can(Scope.WRITE) and principal.user.role in (Role.OFFICER, Role.ADMIN)


templates.env.globals.update(decision_choices=decision_choices, may_decide=may_decide)


def _decider(principal: Principal) -> Principal:
    if not may_decide(principal):
        raise HTTPException(403, "Only officers and admins settle verdicts.")
    return principal


Fields = dict[str, str]


def _request(fields: Fields, withdraw: bool) -> review.DecisionRequest:
    return review.DecisionRequest(fields.get("reason", ""), fields.get("nil_subject") or None,
                                  fields.get("producer") or None, fields.get("device_class") or None,
                                  fields.get("model") or None, fields.get("make") or None, withdraw)


def _error_field(message: str) -> str:
    """Which form field a service message names ("reason: say why" → reason), for the error summary link."""
    head = message.split(":", 1)[0]
    return head if head in ("reason", "nil_subject", "producer", "device_class", "model", "make") else "reason"


@router.post("/devices/{device_id}/decision")
def decide_device(request: Request, device_id: int, principal: Writer,
                  reason: Annotated[str, Form(max_length=4000)] = "",
                  nil_subject: Annotated[str, Form(max_length=20)] = "",
                  producer: Annotated[str, Form(max_length=64)] = "",
                  device_class: Annotated[str, Form(max_length=40)] = "",
                  make: Annotated[str, Form(max_length=200)] = "",
                  model: Annotated[str, Form(max_length=200)] = "",
                  withdraw: Annotated[str, Form(max_length=5)] = "") -> Response:
    """Settle (or withdraw) one device's verdict; on a mistake, the form again with an error summary."""
    _decider(principal)
    fields = {"reason": reason, "nil_subject": nil_subject, "producer": producer, "device_class": device_class,
              "make": make, "model": model}
    engine, knowledge = request.app.state.engine, request.app.state.knowledge
    try:
        review.decide(engine, knowledge, principal.sites, [device_id], _request(fields, withdraw == "yes"),
                      principal.actor, as_of=request.app.state.settings.today())
    except NotFoundError as exc:
        raise HTTPException(404, NO_SUCH_DEVICE) from exc
    except InputError as exc:
        return _form_again(request, principal, device_id, fields, str(exc))
    cache.forget_all()
    return RedirectResponse(f"/devices/{device_id}?decided=1#decision", status_code=303)


def _form_again(request: Request, principal: Principal, device_id: int, fields: Fields, message: str
                ) -> HTMLResponse:
    try:
        view = review.history_view(request.app.state.engine, principal.sites, device_id)
    except NotFoundError as exc:
        raise HTTPException(404, NO_SUCH_DEVICE) from exc
    device = device_json(view, request.app.state.knowledge, request.app.state.settings.today())
    return render(request, "review_decide.html", principal, http_status=422, device=device, fields=fields,
                  error={"field": _error_field(message), "message": message})


@router.get("/devices/{device_id}/decisions")
def decision_history(request: Request, device_id: int, principal: Reader) -> HTMLResponse:
    """The device's decisions, newest first, beside the machine's verdict."""
    engine = request.app.state.engine
    try:
        view = review.history_view(engine, principal.sites, device_id)
        decisions = review.history_json(review.history(engine, principal.sites, device_id))
    except NotFoundError as exc:
        raise HTTPException(404, NO_SUCH_DEVICE) from exc
    device = device_json(view, request.app.state.knowledge, request.app.state.settings.today())
    return render(request, "review_history.html", principal, device=device, decisions=decisions)


@router.get("/review")
def review_list(request: Request, principal: Reader, site_id: Annotated[int | None, Query(ge=0)] = None,
                after: Annotated[int, Query(ge=0)] = 0, settled: Annotated[int | None, Query(ge=0)] = None
                ) -> HTMLResponse:
    """Devices waiting for a person, filterable by site, with a form to settle the ticked ones at once."""
    return _review_page(request, principal, site_id, after, settled=settled)


def _review_page(request: Request, principal: Principal, site_id: int | None, after: int, *,
                 settled: int | None = None, fields: Fields | None = None, error: dict[str, str] | None = None,
                 ticked: frozenset[int] = frozenset(), http_status: int = 200) -> HTMLResponse:
    engine, knowledge = request.app.state.engine, request.app.state.knowledge
    as_of = request.app.state.settings.today()
    sites = _sites_in_scope(request, principal)
    views = review.pending(engine, knowledge, principal.sites, site_id=site_id, as_of=as_of, after=after,
                           limit=PAGE + 1)
    more = len(views) > PAGE
    devices = [device_json(v, knowledge, as_of) for v in views[:PAGE]]
    return render(request, "review.html", principal, http_status=http_status, devices=devices, sites=sites,
                  site_id=site_id, after=after, next_after=devices[-1]["id"] if more and devices else None,
                  settled=settled, fields=fields or {}, error=error, ticked=ticked)


def _sites_in_scope(request: Request, principal: Principal) -> list[dict[str, Any]]:
    return [{"id": s["id"], "name": s["name"]} for s in estate.sites(request.app.state.engine, principal.sites)]


@router.post("/review")
async def review_settle(request: Request, principal: Writer) -> Response:
    """Settle the ticked devices with one decision (all or none)."""
    _decider(principal)
    form = await request.form()
    ids = [int(v) for v in form.getlist("device_id") if isinstance(v, str) and v.isdigit() and len(v) < 19]
    fields = {k: str(form.get(k, ""))[:4000] for k in ("reason", "nil_subject", "producer", "device_class", "make",
                                                      "model")}
    site_text = str(form.get("site_id", ""))
    site_id = int(site_text) if site_text.isdigit() and len(site_text) < 19 else None
    engine, knowledge = request.app.state.engine, request.app.state.knowledge
    try:
        if not ids:
            raise review.ReviewError("device_id: tick the devices to settle")
        made = review.decide(engine, knowledge, principal.sites, ids, _request(fields, False), principal.actor,
                             as_of=request.app.state.settings.today())
    except NotFoundError as exc:
        raise HTTPException(404, NO_SUCH_DEVICE) from exc
    except InputError as exc:
        message = str(exc)
        field = "device_id" if message.startswith("device_id") else _error_field(message)
        return _review_page(request, principal, site_id, 0, fields=fields, error={"field": field, "message": message},
                            ticked=frozenset(ids), http_status=422)
    cache.forget_all()
    where = f"&site_id={site_id}" if site_id is not None else ""
    return RedirectResponse(f"/review?settled={len(made)}{where}", status_code=303)


__all__ = ["decision_choices", "may_decide", "router"]
