"""/api/v1 for proof of removal: work orders, removal evidence (with file upload), alerts, the status report.

Everything is scoped by the caller's departments (a record outside them answers 404, as if absent).
Making orders from the plan is for administrators: the plan covers every department. Errors are
mapped by class in app.py (InputError 422, NotFoundError 404, ConflictError 409).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from pydantic import Field

from clearsite.core.alerts import ALERT_KINDS
from clearsite.core.errors import InputError
from clearsite.services import orders as order_service
from clearsite.services.alerts import alert_json, list_alerts
from clearsite.services.auth import Scope
from clearsite.services.removal import (
    MAX_ATTACHMENTS,
    MAX_FILE_BYTES,
    Attachment,
    ReplacementIn,
    record_removal,
)
from clearsite.services.status_report import build_status_report
from clearsite.web import cache
from clearsite.web.access import Principal, needs
from clearsite.web.api import Day, _day
from clearsite.web.api import router as api_router
from clearsite.web.schemas import Problem, _In

__all__ = ["router"]

_PROBLEMS = {400: "body is not valid JSON", 401: "not authenticated", 403: "not allowed (scope, role or CSRF)",
             404: "absent, or outside your departments", 409: "conflicts with what is stored",
             413: "body too large", 422: "invalid: where and why"}
# The bearer scheme and the refusal of unknown query parameters, as on every /api/v1 route.
router = APIRouter(prefix="/api/v1", dependencies=api_router.dependencies,
                   responses={code: {"model": Problem, "description": text} for code, text in _PROBLEMS.items()},
                   tags=["proof of removal"])
Reader = Annotated[Principal, Depends(needs(Scope.READ))]
Writer = Annotated[Principal, Depends(needs(Scope.WRITE))]
Admin = Annotated[Principal, Depends(needs(Scope.ADMIN))]
PathId = Annotated[int, Path(ge=1, le=2**62)]
ShortText = Annotated[str, Field(max_length=500)]


def _today(request: Request) -> date:
    return cast("date", request.app.state.settings.today())


# --------------------------------------------------------------------------- orders


@router.get("/orders")
def orders(request: Request, principal: Reader, site: Annotated[str | None, Query(max_length=200)] = None,
           status: Annotated[str | None, Query(pattern="^(planned|scheduled|in_progress|completed|verified|cancelled)$")]
           = None) -> list[dict[str, Any]]:
    """Work orders in your departments, by week (`clearsite orders list --format json`); past-due ones raise alerts."""
    found = order_service.list_orders(request.app.state.engine, principal.sites, site=site, status=status,
                                      today=_today(request))
    return [cast("dict[str, Any]", order_service.order_json(o)) for o in found]


@router.post("/orders", status_code=201)
def create_orders(request: Request, principal: Admin) -> dict[str, Any]:
    """Make or update orders from the current plan (`clearsite orders create`); the same plan twice changes nothing."""
    return cast("dict[str, Any]", order_service.create_orders(request.app.state.engine, principal.actor))


@router.get("/orders/{order_id}")
def order(request: Request, order_id: PathId, principal: Reader) -> dict[str, Any]:
    return cast("dict[str, Any]", order_service.order_detail(request.app.state.engine, principal.sites, order_id))


class OrderStatusIn(_In):
    status: Literal["scheduled", "in_progress", "completed", "cancelled"]
    reason: ShortText | None = None


@router.post("/orders/{order_id}/status")
def move_order(request: Request, order_id: PathId, body: OrderStatusIn, principal: Writer) -> dict[str, Any]:
    """Move an order on: scheduled, in progress, completed (every device claimed), or cancelled (with a reason)."""
    engine, scope = request.app.state.engine, principal.sites
    if body.status == "cancelled":
        result = order_service.cancel_order(engine, principal.actor, scope, order_id, body.reason or "")
    else:
        move = {"scheduled": order_service.schedule_order, "in_progress": order_service.start_order,
                "completed": order_service.complete_order}[body.status]
        result = move(engine, principal.actor, scope, order_id)
    return cast("dict[str, Any]", result)


class ExtensionIn(_In):
    new_due: date
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


@router.post("/orders/{order_id}/extensions", status_code=201)
def request_extension(request: Request, order_id: PathId, body: ExtensionIn, principal: Writer) -> dict[str, Any]:
    return cast("dict[str, Any]", order_service.request_extension(
        request.app.state.engine, principal.actor, principal.sites, order_id, body.new_due, body.reason))


class ExtensionDecisionIn(_In):
    approve: bool


@router.post("/extensions/{extension_id}/decision")
def decide_extension(request: Request, extension_id: PathId, body: ExtensionDecisionIn,
                     principal: Writer) -> dict[str, Any]:
    """Grant or refuse an extension request; the caller is recorded as the approver."""
    return cast("dict[str, Any]", order_service.decide_order_extension(
        request.app.state.engine, principal.actor, principal.sites, extension_id, body.approve))


# --------------------------------------------------------------------------- removal evidence


@router.post("/devices/{device_id}/removals", status_code=201)
async def record_removal_evidence(
    request: Request, device_id: PathId, principal: Writer,
    removed_on: Annotated[date, Form()],
    order_id: Annotated[int | None, Form(ge=1, le=2**62)] = None,
    removed_by: Annotated[str | None, Form(max_length=200)] = None,
    disposal_ref: Annotated[str | None, Form(max_length=500)] = None,
    cost: Annotated[float | None, Form(ge=0, le=1e9)] = None,
    replacement_brand: Annotated[str | None, Form(max_length=120)] = None,
    replacement_model: Annotated[str | None, Form(max_length=120)] = None,
    replacement_serial: Annotated[str | None, Form(max_length=120)] = None,
    replacement_mac: Annotated[str | None, Form(max_length=32)] = None,
    files: Annotated[list[UploadFile] | None, File(description="Photos or certificates")] = None,
) -> dict[str, Any]:
    """Record a removal claim with its evidence (multipart form; `clearsite removal record`). A NIL-subject
    replacement is refused (422); a later scan verifies the claim."""
    attachments = []
    for upload in (files or [])[:MAX_ATTACHMENTS + 1]:
        data = await upload.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise InputError(f"{upload.filename}: more than the {MAX_FILE_BYTES:,} bytes an evidence file may have")
        attachments.append(Attachment(upload.filename or "file", data))
    named = (replacement_brand, replacement_model, replacement_serial, replacement_mac)
    replacement = ReplacementIn(*named) if any(named) else None
    from fastapi.concurrency import run_in_threadpool

    result = await run_in_threadpool(
        record_removal, request.app.state.engine, request.app.state.knowledge, principal.actor, principal.sites,
        device_id, removed_on=removed_on, today=_today(request), order_id=order_id, removed_by=removed_by,
        disposal_ref=disposal_ref, cost=cost, replacement=replacement, attachments=attachments)
    cache.forget_all()
    return cast("dict[str, Any]", result)


# --------------------------------------------------------------------------- alerts and the report


@router.get("/alerts")
def alerts(request: Request, principal: Reader, since: Day = None,
           kind: Annotated[str | None, Query(max_length=40)] = None,
           after: Annotated[int, Query(ge=0, le=2**62)] = 0,
           limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    """Alerts in your departments, oldest first, `limit` at a time after id `after` (`clearsite alerts`)."""
    if kind is not None and kind not in ALERT_KINDS:
        raise InputError(f"kind {kind!r}: not an alert kind ({', '.join(sorted(ALERT_KINDS))})")
    order_service.check_overdue(request.app.state.engine, _today(request))
    found = list_alerts(request.app.state.engine, principal.sites, since=_day("since", since), kind=kind, after_id=after,
                        limit=limit)
    return [cast("dict[str, Any]", alert_json(a)) for a in found]


@router.get("/status-report")
def status_report(request: Request, principal: Reader) -> dict[str, Any]:
    """Per site not started / in progress / claimed / verified, share removed, spend, extensions (`status-report`)."""
    return cast("dict[str, Any]", build_status_report(request.app.state.engine, principal.sites, _today(request)))
