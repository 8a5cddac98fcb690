"""/api/v1/alert-destinations and /api/v1/alert-deliveries: where departments' alerts are delivered, and the
dead letters. Administrators only: a destination receives site names and device details, so adding one
is as sensitive as granting read access. Every change is audited by the service."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Path, Request
from pydantic import Field

from clearsite.services import delivery
from clearsite.services.auth import Scope
from clearsite.web.access import Principal, needs
from clearsite.web.api import router as api_router
from clearsite.web.schemas import Problem, _In

__all__ = ["router"]

_PROBLEMS = {400: "body is not valid JSON", 401: "not authenticated", 403: "not an administrator", 404: "absent, or already removed",
             422: "invalid: where and why"}
# The bearer scheme and the refusal of unknown query parameters, as on every /api/v1 route.
router = APIRouter(prefix="/api/v1", dependencies=api_router.dependencies,
                   responses={code: {"model": Problem, "description": text} for code, text in _PROBLEMS.items()},
                   tags=["alert delivery"])
Admin = Annotated[Principal, Depends(needs(Scope.ADMIN))]
PathId = Annotated[int, Path(ge=0, le=2**62)]


class DestinationIn(_In):
    """A webhook (url and secret) or a syslog collector (udp://HOST:PORT or tcp://HOST:PORT)."""

    department: Annotated[str, Field(min_length=1, max_length=200)]
    webhook: Annotated[str | None, Field(max_length=500)] = None
    secret: Annotated[str | None, Field(min_length=16, max_length=200)] = None
    syslog: Annotated[str | None, Field(max_length=300)] = None
    facility: Annotated[str, Field(max_length=16)] = "audit"
    app_name: Annotated[str, Field(max_length=48)] = "clearsite"


def _engine(request: Request) -> Any:
    return request.app.state.engine


@router.get("/alert-destinations")
def list_destinations(request: Request, principal: Admin) -> list[dict[str, Any]]:
    """Active destinations (their secrets are never returned)."""
    return cast("list[dict[str, Any]]", delivery.list_destinations(_engine(request), principal.sites))


@router.post("/alert-destinations", status_code=201)
def add_destination(request: Request, body: DestinationIn, principal: Admin) -> dict[str, Any]:
    added = delivery.add_destination(_engine(request), principal.actor, body.department, webhook=body.webhook,
                                     secret=body.secret, syslog_url=body.syslog, facility=body.facility,
                                     app_name=body.app_name)
    return cast("dict[str, Any]", added)


@router.delete("/alert-destinations/{destination_id}", status_code=204)
def remove_destination(request: Request, destination_id: PathId, principal: Admin) -> None:
    delivery.remove_destination(_engine(request), principal.actor, destination_id, principal.sites)


@router.get("/alert-deliveries/dead")
def dead_letters(request: Request, principal: Admin) -> list[dict[str, Any]]:
    """Alerts that ran out of delivery attempts."""
    return cast("list[dict[str, Any]]", delivery.dead_letters(_engine(request), principal.sites))


@router.post("/alert-deliveries/{delivery_id}/redeliver")
def redeliver(request: Request, delivery_id: PathId, principal: Admin) -> dict[str, Any]:
    """Put a dead letter back in the outbox with fresh attempts (the server's background delivery sends it)."""
    return cast("dict[str, Any]", delivery.redeliver(_engine(request), principal.actor, delivery_id, principal.sites))
