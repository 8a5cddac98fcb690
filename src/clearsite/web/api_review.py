"""/api/v1 review decisions: settle a device's verdict (or many), undo one, read a device's history, and
list the devices waiting for a person. Officers (their own departments) and admins only; a device
outside the caller's departments answers 404, as if absent."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from clearsite.core.errors import AccessError
from clearsite.services import review
from clearsite.services.auth import Role, Scope
from clearsite.services.devices import device_json
from clearsite.web import cache
from clearsite.web.access import Principal, needs
from clearsite.web.api import Id, Limit, PathId
from clearsite.web.api import router as api_router

router = APIRouter(prefix="/api/v1", dependencies=api_router.dependencies, responses=api_router.responses)
Reader = Annotated[Principal, Depends(needs(Scope.READ))]
Writer = Annotated[Principal, Depends(needs(Scope.WRITE))]


class DecisionIn(BaseModel):
    """A decision: omitted fields keep the machine's value; `withdraw` undoes the decision in force."""

    model_config = ConfigDict(extra="forbid")
    nil_subject: Literal["yes", "no", "review"] | None = None
    producer: str | None = Field(None, max_length=64, description="a knowledge-base producer id")
    device_class: str | None = Field(None, max_length=40)
    model: str | None = Field(None, max_length=120, description="the model seen on site")
    make: str | None = Field(None, max_length=120, description="the make (badge) seen on site")
    reason: str = Field(max_length=2000)
    withdraw: bool = False

    def request(self) -> review.DecisionRequest:
        return review.DecisionRequest(self.reason, self.nil_subject, self.producer, self.device_class, self.model,
                                      self.make, self.withdraw)


class BulkDecisionIn(DecisionIn):
    device_ids: list[Annotated[int, Field(ge=0, le=2**62)]] = Field(min_length=1, max_length=review.MAX_BULK)


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _decider(principal: Principal) -> Principal:
    """Officers and admins settle verdicts (a token's write scope alone is not enough for another role)."""
    if principal.user.role not in (Role.OFFICER, Role.ADMIN):
        raise AccessError("only officers and admins settle verdicts")
    return principal


def _decide(request: Request, principal: Principal, device_ids: list[int], body: DecisionIn) -> dict[str, Any]:
    _decider(principal)
    made = review.decide(_engine(request), request.app.state.knowledge, principal.sites, device_ids, body.request(),
                         principal.actor, as_of=request.app.state.settings.today())
    cache.forget_all()
    return cast("dict[str, Any]", review.recorded_json(made, body.withdraw))


@router.post("/devices/{device_id}/decision")
def decide_one(request: Request, device_id: PathId, body: DecisionIn, principal: Writer) -> dict[str, Any]:
    """Settle (or, with `withdraw`, undo) the verdict of one device; the `clearsite review --format json` shape."""
    return _decide(request, principal, [device_id], body)


@router.post("/decisions")
def decide_many(request: Request, body: BulkDecisionIn, principal: Writer) -> dict[str, Any]:
    """The same decision for many devices at once: all are recorded, or none (one outside your departments: 404)."""
    return _decide(request, principal, body.device_ids, body)


@router.get("/devices/{device_id}/decisions")
def decision_history(request: Request, device_id: PathId, principal: Reader) -> list[dict[str, Any]]:
    """Every decision about the device, newest first."""
    return cast("list[dict[str, Any]]", review.history_json(review.history(_engine(request), principal.sites,
                                                                             device_id)))


@router.get("/review")
def review_pending(request: Request, principal: Reader, site_id: Id | None = None, after: Id = 0,
                   limit: Limit = 100) -> list[dict[str, Any]]:
    """Devices waiting for a person (NIL verdict review or unknown, or sent back by new evidence), in id order."""
    as_of = request.app.state.settings.today()
    knowledge = request.app.state.knowledge
    views = review.pending(_engine(request), knowledge, principal.sites, site_id=site_id, as_of=as_of,
                           after=after, limit=limit)
    return [cast("dict[str, Any]", device_json(v, knowledge, as_of)) for v in views]
