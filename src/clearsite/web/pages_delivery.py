"""/admin/delivery: where each department's alerts go (webhooks, syslog), and the dead letters.

Administrators only, as the API. Adding, removing and redelivering go through services.delivery
(audited); the server's background delivery does the sending, so no page waits on a receiver.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from clearsite.core.errors import InputError, NotFoundError
from clearsite.services import delivery
from clearsite.services.auth import Scope
from clearsite.web.access import Principal, needs
from clearsite.web.pages import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Admin = Annotated[Principal, Depends(needs(Scope.ADMIN))]
FormId = Annotated[int, Form(ge=0, le=2**62)]


def _page(request: Request, principal: Principal, *, done: str | None = None, error: str | None = None,
          form: dict[str, Any] | None = None, http_status: int = 200) -> HTMLResponse:
    engine = request.app.state.engine
    return render(request, "delivery.html", principal, http_status,
                  destinations=delivery.list_destinations(engine, principal.sites),
                  dead=delivery.dead_letters(engine, principal.sites),
                  counts=delivery.outbox_counts(engine, principal.sites),
                  departments=delivery.department_names(engine), done=done, error=error, form=form or {})


@router.get("/admin/delivery")
def delivery_page(request: Request, principal: Admin,
                  done: Annotated[str | None, Query(max_length=200)] = None) -> HTMLResponse:
    return _page(request, principal, done=done)


@router.post("/admin/delivery/destinations", response_model=None)
def add_destination(request: Request, principal: Admin,
                    department: Annotated[str, Form(max_length=200)],
                    kind: Annotated[str, Form(pattern="^(webhook|syslog)$")],
                    target: Annotated[str, Form(max_length=500)],
                    secret: Annotated[str, Form(max_length=200)] = "",
                    facility: Annotated[str, Form(max_length=16)] = "audit",
                    app_name: Annotated[str, Form(max_length=48)] = "clearsite") -> HTMLResponse | RedirectResponse:
    try:
        added = delivery.add_destination(
            request.app.state.engine, principal.actor, department,
            webhook=target if kind == "webhook" else None, secret=secret or None,
            syslog_url=target if kind == "syslog" else None, facility=facility, app_name=app_name)
    except (InputError, NotFoundError) as exc:  # the form again, saying what to fix; the secret is not echoed
        return _page(request, principal, error=str(exc), http_status=422,
                     form={"department": department, "kind": kind, "target": target, "facility": facility,
                           "app_name": app_name})
    return RedirectResponse(f"/admin/delivery?done=Added+destination+{added['id']}", status_code=303)


@router.post("/admin/delivery/destinations/{destination_id}/remove")
def remove_destination(request: Request, destination_id: int, principal: Admin) -> RedirectResponse:
    delivery.remove_destination(request.app.state.engine, principal.actor, destination_id, principal.sites)
    return RedirectResponse(f"/admin/delivery?done=Removed+destination+{destination_id}", status_code=303)


@router.post("/admin/delivery/dead-letters/{delivery_id}/redeliver")
def redeliver(request: Request, delivery_id: int, principal: Admin) -> RedirectResponse:
    delivery.redeliver(request.app.state.engine, principal.actor, delivery_id, principal.sites)
    return RedirectResponse(f"/admin/delivery?done=Alert+delivery+{delivery_id}+queued+again", status_code=303)
