"""/api/v1/agent/… for site agents, and /api/v1/agents/… for the people who watch them.

An agent's token (role `agent`, scope `push`) covers one site. Every agent call re-reads its token
from the database rather than the short-lived cache, so a token revoked from the command line stops
an agent at its next batch. A push for another site, or with an address outside the site's declared
networks, is refused (403 / 422) and raised as an `agent_refused` alert (services.agents).
Pushes go through the one intake (services.imports.push_observations → intake.record_observations),
with the batch's idempotency key recorded in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field, StrictBool, StrictInt, ValidationError, model_validator
from starlette.requests import ClientDisconnect

from clearsite.services import agents
from clearsite.services.auth import Scope, token_grant
from clearsite.web import cache, changes
from clearsite.web.access import Principal, needs
from clearsite.web.schemas import ObservationIn, Problem, _In

__all__ = ["router"]

_PROBLEMS = {400: "body is not valid JSON", 401: "not authenticated, or the token was revoked or expired",
             403: "not this agent's site, or not allowed", 404: "absent, or outside your departments",
             409: "conflicts with what is stored", 413: "body too large",
             422: "invalid, or an address outside the site's networks"}
router = APIRouter(prefix="/api/v1", dependencies=[Depends(HTTPBearer(auto_error=False, description="An API token"))],
                   responses={code: {"model": Problem, "description": text} for code, text in _PROBLEMS.items()},
                   tags=["agents"])
SiteName = Annotated[str, Field(min_length=1, max_length=200)]
PushKey = Annotated[str, Field(min_length=8, max_length=80, pattern=r"^[A-Za-z0-9._:\-]+$")]


async def _fresh_agent(request: Request) -> Principal:
    """The principal of a push-scoped token, its token re-read now (not from the cache)."""
    principal = await needs(Scope.PUSH)(request)
    if principal.via == "token":
        token = request.headers.get("authorization", "").partition(" ")[2].strip()
        grant = token_grant(request.app.state.engine, token)
        if grant is None or not grant.live:
            cache.forget_all()
            raise HTTPException(401, "token unknown, expired or revoked", {"WWW-Authenticate": "Bearer"})
    return principal


Agent = Annotated[Principal, Depends(_fresh_agent)]
Reader = Annotated[Principal, Depends(needs(Scope.READ))]
Writer = Annotated[Principal, Depends(needs(Scope.WRITE))]


# --------------------------------------------------------------------------- bodies and answers


class AgentSiteOut(BaseModel):
    site_id: int
    site: str
    department: str
    networks: list[str]


class BatchIn(_In):
    site: SiteName
    key: PushKey  # the agent's idempotency key: a batch re-sent under it is applied once
    observations: Annotated[list[ObservationIn], Field(default_factory=list, max_length=2000)]
    # What a finished scan looked at in full (CIDR or addresses inside the site's networks) and when it
    # began: recorded as coverage of that time, it verifies removal claims made before the scan.
    covered: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(default_factory=list, max_length=4096)]
    scanned_at: datetime | None = None

    @model_validator(mode="after")
    def _something(self) -> BatchIn:
        if not self.observations and not self.covered:
            raise ValueError("a batch holds observations, coverage (covered), or both")
        return self


class BatchOut(BaseModel):
    key: str
    stored: int
    duplicates: int
    new_devices: int
    identified: int
    replayed: bool  # True: applied before under this key; nothing was written now


class HeartbeatIn(_In):
    site: SiteName | None = None
    host: Annotated[str, Field(max_length=200)] = ""
    version: Annotated[str, Field(max_length=40)] = ""
    spooled: Annotated[StrictInt, Field(ge=0, le=2**40)] = 0
    last_scan: datetime | None = None
    last_push: datetime | None = None


class HeartbeatOut(BaseModel):
    site_id: int
    heard_at: str
    jobs_waiting: int


class JobOut(BaseModel):
    id: int
    site_id: int
    site: str
    kind: str
    targets: list[str]
    status: str
    requested_by: str
    requested_at: str
    claimed_by: str | None
    claimed_at: str | None
    finished_at: str | None
    outcome: dict[str, Any] | None


class JobReportIn(_In):
    ok: StrictBool
    outcome: Annotated[dict[str, Any], Field(default_factory=dict, max_length=50)]


class JobIn(_In):
    site_id: Annotated[StrictInt, Field(ge=0, le=2**62)]
    targets: Annotated[list[Annotated[str, Field(max_length=64)]], Field(default_factory=list, max_length=50)]


class AgentHealthOut(BaseModel):
    site_id: int
    site: str
    department: str
    agent: str | None
    host: str | None
    version: str | None
    spooled: int | None
    state: str  # reporting, silent, no agent
    last_scan: str | None
    last_push: str | None
    heard_at: str | None


# --------------------------------------------------------------------------- the agent's calls


def _engine(request: Request) -> Any:
    return request.app.state.engine


@router.get("/agent/site")
def agent_site(request: Request, principal: Agent,
               site: Annotated[str, Query(min_length=1, max_length=200)]) -> AgentSiteOut:
    """The agent's site and its networks as the centre declares them (what the agent may scan)."""
    agents.check_push(_engine(request), principal.user, principal.actor, site)
    return AgentSiteOut(**agents.agent_site(_engine(request), principal.user))


class _ReadRequest(Request):
    """A request whose body has been read already, and perhaps validated (FastAPI's custom request pattern)."""

    def __init__(self, request: Request, raw: bytes, batch: BatchIn | None) -> None:
        super().__init__(request.scope, request.receive)
        self._raw, self._batch = raw, batch

    async def body(self) -> bytes:
        return self._raw

    async def json(self) -> Any:
        return self._batch if self._batch is not None else await super().json()


class _BatchRoute(APIRoute):
    """Reads an agent's batch straight from the request's bytes (BatchIn.model_validate_json): FastAPI would
    parse the JSON with the standard library, then validate the objects made, about twice the CPU (a batch
    holds up to 2,000 observations). A body that does not validate this way goes through FastAPI's own
    reading, as every other route's does, so what is refused, and how, is unchanged."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def read_then_handle(request: Request) -> Response:
            kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
            if kind != "application/json":
                return await handle(request)
            try:
                raw = await request.body()
            except ClientDisconnect as exc:
                raise HTTPException(400, "There was an error parsing the body") from exc  # as FastAPI answers
            try:
                batch: BatchIn | None = BatchIn.model_validate_json(raw)
            except ValidationError:
                batch = None
            return await handle(_ReadRequest(request, raw, batch))

        return read_then_handle


def push_batch(request: Request, body: BatchIn, principal: Agent) -> BatchOut:
    """A batch of what the agent observed, applied once under its key (a re-send answers `replayed`)."""
    engine = _engine(request)
    site_id = agents.check_push(engine, principal.user, principal.actor, body.site, body.key)
    result = changes.push_observations(engine, request.app.state.knowledge, principal, site_id, body.observations,
                                       key=f"{site_id}:{body.key}", covered=body.covered,
                                       scanned_at=body.scanned_at)
    return BatchOut(key=body.key, stored=result["stored"], duplicates=result["duplicates"],
                    new_devices=result["new_devices"], identified=result["identified"],
                    replayed=bool(result.get("replayed")))


router.add_api_route("/agent/batches", push_batch, methods=["POST"], route_class_override=_BatchRoute)


@router.post("/agent/heartbeat")
def heartbeat(request: Request, body: HeartbeatIn, principal: Agent) -> HeartbeatOut:
    engine = _engine(request)
    if body.site is not None:
        agents.check_push(engine, principal.user, principal.actor, body.site)
    answer = agents.heartbeat(engine, principal.user, host=body.host, version=body.version, spooled=body.spooled,
                              last_scan=body.last_scan, last_push=body.last_push)
    agents.check_silent_sites(engine, silent_after=agents.silent_after_from_environment())
    return HeartbeatOut(**answer)


@router.post("/agent/jobs/claim")
def claim_jobs(request: Request, principal: Agent) -> list[JobOut]:
    """The site's queued jobs, now running and this agent's."""
    return [JobOut(**j) for j in agents.claim_jobs(_engine(request), principal.user, principal.actor)]


@router.post("/agent/jobs/{job_id}/report", status_code=204)
def report_job(request: Request, job_id: Annotated[int, Path(ge=0, le=2**62)], body: JobReportIn,
               principal: Agent) -> None:
    agents.report_job(_engine(request), principal.user, principal.actor, job_id, body.ok, body.outcome)
    cache.forget_all()


# --------------------------------------------------------------------------- people's calls


@router.get("/agents")
def agent_health(request: Request, principal: Reader) -> list[AgentHealthOut]:
    """Each site in your scope: its agent's last heartbeat, spool depth, last scan, version; silent ones."""
    rows = agents.agent_health(_engine(request), principal.sites, silent_after=agents.silent_after_from_environment())
    return [AgentHealthOut(**r) for r in rows]


@router.post("/agents/jobs", status_code=201)
def request_scan(request: Request, body: JobIn, principal: Writer) -> JobOut:
    """Ask a site's agent for an ad-hoc scan (targets inside the site's networks; none: all of them)."""
    job = agents.request_scan(_engine(request), principal.actor, principal.sites, body.site_id, body.targets)
    cache.forget_all()
    return JobOut(**job)
