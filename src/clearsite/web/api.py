"""The REST API, /api/v1: the same reads and changes as the pages, for scripts and site agents.

Authentication is `Authorization: Bearer <token>` (a session cookie works too, with its CSRF
header on changes). Records outside a caller's departments answer 404, as if absent.

Every route calls one service with the caller's site scope; the errors services raise are mapped to
statuses by class in `app.py` (NotFoundError 404, ConflictError 409, InputError 422), never by text.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBearer
from sqlalchemy import Engine

from clearsite.core import contracts
from clearsite.core.errors import ClearsiteError, InputError, NotFoundError
from clearsite.services import auth, estate
from clearsite.services.audit_log import audit_entries as read_audit
from clearsite.services.audit_log import verify_audit_log
from clearsite.services.auth import Scope
from clearsite.services.devices import device_detail, device_json, devices_in_scope
from clearsite.services.reconciliation import site_reconciliation as reconciliation_of
from clearsite.web import cache, changes, screening
from clearsite.web.access import Principal, needs
from clearsite.web.schemas import (
    AttestationIn,
    Problem,
    PushIn,
    PushOut,
    RemovalIn,
    ScreenIn,
    ScreenOut,
    SiteIn,
    SiteOut,
    SitePatch,
    TokenIn,
    TokenOut,
    UserIn,
)

# Declares the bearer scheme in OpenAPI; authentication itself happens in `needs`.
# Every error answers {"detail": …}: a sentence, or for a malformed body a list saying where (never the value sent).
_PROBLEMS = {400: "body is not valid JSON", 401: "not authenticated", 403: "not allowed (scope, role or CSRF)",
             404: "absent, or outside your departments", 409: "conflicts with what is stored",
             413: "body too large", 422: "invalid: where and why", 503: "screening not in this build"}
def _known_query_only(request: Request) -> None:
    """Refuse query parameters a route does not take: a misspelt filter must not silently widen a listing."""
    route = request.scope.get("route")
    known = {p.alias for p in getattr(getattr(route, "dependant", None), "query_params", [])}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise HTTPException(422, f"unknown query parameter(s): {', '.join(repr(u[:40]) for u in unknown[:5])}")


router = APIRouter(prefix="/api/v1", dependencies=[Depends(HTTPBearer(auto_error=False, description="An API token")),
                                                   Depends(_known_query_only)],
                   responses={code: {"model": Problem, "description": text} for code, text in _PROBLEMS.items()})
Reader = Annotated[Principal, Depends(needs(Scope.READ))]
Writer = Annotated[Principal, Depends(needs(Scope.WRITE))]
Admin = Annotated[Principal, Depends(needs(Scope.ADMIN))]
Id = Annotated[int, Query(ge=0, le=2**62)]
PathId = Annotated[int, Path(ge=0, le=2**62)]
Limit = Annotated[int, Query(ge=1, le=1000)]


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _missing(what: str) -> NotFoundError:
    return NotFoundError(f"{what} not found")


@router.get("/me")
def me(principal: Reader) -> dict[str, Any]:
    user = principal.user
    answer: contracts.Me = {"username": user.username, "role": user.role.value,
                            "scopes": sorted(s.value for s in principal.scopes),
                            "department_id": user.department_id, "via": principal.via}
    return cast("dict[str, Any]", answer)


# --------------------------------------------------------------------------- sites


@router.get("/sites")
def list_sites(request: Request, principal: Reader) -> list[SiteOut]:
    return [SiteOut(**s) for s in estate.sites(_engine(request), principal.sites)]


@router.post("/sites", status_code=201)
def add_site(request: Request, body: SiteIn, principal: Writer) -> SiteOut:
    try:
        created = estate.create_site(
            _engine(request), principal.actor, principal.sites, name=body.name, department=body.department,
            region=body.region, holds_secret=body.holds_secret, dv_hub=body.dv_hub, ministerial=body.ministerial,
            socpa=body.socpa, networks=[(n.cidr, n.core) for n in body.networks])
    except ValueError as exc:  # a value the core refuses (not one of ours: those are ClearsiteErrors)
        if isinstance(exc, ClearsiteError):
            raise
        raise InputError(str(exc)) from exc
    cache.forget_all()
    return SiteOut(**created)


@router.get("/sites/{site_id}")
def get_site(request: Request, site_id: PathId, principal: Reader) -> SiteOut:
    return SiteOut(**estate.site(_engine(request), principal.sites, site_id))


@router.patch("/sites/{site_id}")
def update_site(request: Request, site_id: PathId, body: SitePatch, principal: Writer) -> SiteOut:
    updated = estate.update_site(_engine(request), principal.actor, principal.sites, site_id, body.changes())
    cache.forget_all()
    return SiteOut(**updated)


@router.get("/sites/{site_id}/reconciliation")
def site_reconciliation(request: Request, site_id: PathId, principal: Reader) -> dict[str, list[int]] | None:
    return reconciliation_of(_engine(request), principal.sites, site_id)


@router.post("/sites/{site_id}/observations")
def push_observations(request: Request, site_id: PathId, body: PushIn,
                      principal: Annotated[Principal, Depends(needs(Scope.PUSH))]) -> PushOut:
    """Agents push what they saw at their site; ids already stored are counted as duplicates, not stored twice."""
    try:
        result = changes.push_observations(_engine(request), request.app.state.knowledge, principal, site_id,
                                           body.observations)
    except NotFoundError as exc:
        raise _missing("site") from exc
    except ValueError as exc:  # a push the intake refuses as a whole (ids repeated within it)
        if isinstance(exc, ClearsiteError):
            raise
        raise InputError(str(exc)) from exc
    return PushOut(**result)


# --------------------------------------------------------------------------- devices and findings


@router.get("/devices")
def list_devices(request: Request, principal: Reader, site_id: Id | None = None, after: Id = 0,
                 limit: Limit = 100) -> list[dict[str, Any]]:
    """Devices in id order, `limit` at a time after id `after`; the `clearsite devices --format json` shape."""
    as_of = request.app.state.settings.today()
    knowledge = request.app.state.knowledge
    views = devices_in_scope(_engine(request), principal.sites, site_id=site_id, after=after, limit=limit)
    return [cast("dict[str, Any]", device_json(v, knowledge, as_of)) for v in views]


@router.get("/devices/{device_id}")
def get_device(request: Request, device_id: PathId, principal: Reader) -> dict[str, Any]:
    detail = device_detail(_engine(request), principal.sites, device_id)
    body = device_json(detail.view, request.app.state.knowledge, request.app.state.settings.today())
    return {**body, "removed_on": detail.view.removed_on, "observations": detail.observations,
            "findings": detail.findings}


@router.post("/devices/{device_id}/removal", status_code=204)
def record_removal(request: Request, device_id: PathId, body: RemovalIn, principal: Writer) -> None:
    """A removal claim like any other (POST /devices/{id}/removals takes its evidence); a later scan verifies it."""
    from clearsite.services.removal import record_removal as claim_removal

    claim_removal(_engine(request), request.app.state.knowledge, principal.actor, principal.sites, device_id,
                  removed_on=body.removed_on, today=request.app.state.settings.today())
    cache.forget_all()


@router.get("/findings")
def list_findings(request: Request, principal: Reader, site_id: Id | None = None,
                  status: Annotated[str | None, Query(pattern="^(breach|overdue|due|review|advisory|compliant)$")] = None,
                  after: Id = 0, limit: Limit = 200) -> list[dict[str, Any]]:
    return estate.findings(_engine(request), principal.sites, site_id, status, after, limit)


@router.get("/dashboard")
def dashboard(request: Request, principal: Reader) -> dict[str, Any]:
    return cast("dict[str, Any]", estate.dashboard(_engine(request), principal.sites, request.app.state.knowledge,
                                                   request.app.state.settings.today()))


# --------------------------------------------------------------------------- screening


@router.post("/screen")
async def screen(request: Request, body: ScreenIn,
                 principal: Annotated[Principal, Depends(needs(Scope.SCREEN))]) -> ScreenOut:
    """Screen quote lines before purchase: allow, review or deny each, with the reasons."""
    if len(body.lines) > 50:  # long quotes off the event loop so short ones keep flowing
        result = await run_in_threadpool(_screen, request, body, principal)
    else:
        result = _screen(request, body, principal)
    return ScreenOut(decision=result.decision, lines=result.lines)


def _screen(request: Request, body: ScreenIn, principal: Principal) -> screening.ScreenResult:
    site = screening.site_for(_engine(request), principal, body.site_id)
    held = screening.attestations(_engine(request), principal)
    lines = screening.lines_from_api(body.lines)
    return screening.run(lines, site, request.app.state.knowledge, body.on or request.app.state.settings.today(), held)


@router.post("/attestations", status_code=201)
def add_attestation(request: Request, body: AttestationIn, principal: Writer) -> dict[str, int]:
    attestation_id = estate.add_attestation(_engine(request), principal.actor, principal.user.department_id,
                                            body.model_dump())
    cache.forget_all()
    return {"id": attestation_id}


# --------------------------------------------------------------------------- audit, users, tokens


@router.get("/audit")
def audit_entries(request: Request, principal: Annotated[Principal, Depends(needs(Scope.AUDIT))],
                  after: Id = 0, limit: Limit = 100) -> list[dict[str, Any]]:
    return [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "target": e.target,
             "before": e.before, "after": e.after, "hash": e.hash} for e in read_audit(_engine(request), after, limit)]


@router.get("/audit/verify")
def audit_verify(request: Request, principal: Annotated[Principal, Depends(needs(Scope.AUDIT))]) -> dict[str, Any]:
    result = verify_audit_log(_engine(request))
    answer: contracts.AuditVerification = {
        "ok": result.ok, "entries": result.entries, "head_seq": result.head_seq, "head_hash": result.head_hash,
        "problem": result.problem, "bad_seq": result.bad_seq, "kind": result.kind}
    return cast("dict[str, Any]", answer)


@router.post("/users", status_code=201)
def add_user_route(request: Request, body: UserIn, principal: Admin) -> dict[str, Any]:
    user = auth.add_user(_engine(request), body.username, body.password, body.role, department=body.department,
                         site=body.site, actor=principal.actor)
    cache.forget_all()
    answer: contracts.UserCreated = {"id": user.id, "username": user.username, "role": user.role.value}
    return cast("dict[str, Any]", answer)


@router.post("/tokens", status_code=201)
def create_token_route(request: Request, body: TokenIn, principal: Admin) -> TokenOut:
    issued = auth.create_token(_engine(request), body.username, body.name, body.scopes, body.days, principal.actor)
    cache.forget_all()
    return TokenOut(id=issued.id, token=issued.token, scopes=list(issued.scopes), expires_at=issued.expires_at.isoformat())


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token_route(request: Request, token_id: PathId, principal: Admin) -> None:
    if not auth.revoke(_engine(request), token_id, principal.actor):
        raise _missing("live token")
    cache.forget_all()
