"""The REST API, /api/v1: the same reads and changes as the pages, for scripts and site agents.

Authentication is `Authorization: Bearer <token>` (a session cookie works too, with its CSRF
header on changes). Records outside a caller's departments answer 404, as if absent.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBearer

from clearsite.services.pipeline import device_json
from clearsite.store.sites import SiteError
from clearsite.store.users import Scope, UserError, add_user, create_token, find_user, revoke_token
from clearsite.store import audit
from clearsite.web import changes, queries, screening
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


def _engine(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.engine


def _missing(what: str) -> HTTPException:
    return HTTPException(404, f"{what} not found")


@router.get("/me")
def me(principal: Reader) -> dict[str, Any]:
    user = principal.user
    return {"username": user.username, "role": user.role.value, "scopes": sorted(s.value for s in principal.scopes),
            "department_id": user.department_id, "via": principal.via}


# --------------------------------------------------------------------------- sites


@router.get("/sites")
def list_sites(request: Request, principal: Reader) -> list[SiteOut]:
    with _engine(request).connect() as conn:
        return [SiteOut(**s) for s in queries.list_sites(conn, principal)]


@router.post("/sites", status_code=201)
def add_site(request: Request, body: SiteIn, principal: Writer) -> SiteOut:
    try:
        return SiteOut(**changes.create_site(_engine(request), principal, body))
    except SiteError as exc:
        raise HTTPException(409 if "already exists" in str(exc) else 422, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc


@router.get("/sites/{site_id}")
def get_site(request: Request, site_id: PathId, principal: Reader) -> SiteOut:
    with _engine(request).connect() as conn:
        site = queries.get_site(conn, principal, site_id)
    if site is None:
        raise _missing("site")
    return SiteOut(**site)


@router.patch("/sites/{site_id}")
def update_site(request: Request, site_id: PathId, body: SitePatch, principal: Writer) -> SiteOut:
    try:
        return SiteOut(**changes.update_site(_engine(request), principal, site_id, body))
    except changes.NotFound as exc:
        raise _missing("site") from exc


@router.get("/sites/{site_id}/reconciliation")
def site_reconciliation(request: Request, site_id: PathId, principal: Reader) -> dict[str, list[int]] | None:
    with _engine(request).connect() as conn:
        if queries.get_site(conn, principal, site_id) is None:
            raise _missing("site")
        return queries.reconciliation(conn, site_id)


@router.post("/sites/{site_id}/observations")
def push_observations(request: Request, site_id: PathId, body: PushIn,
                      principal: Annotated[Principal, Depends(needs(Scope.PUSH))]) -> PushOut:
    """Agents push what they saw at their site; ids already stored are counted as duplicates, not stored twice."""
    try:
        result = changes.push_observations(_engine(request), request.app.state.knowledge, principal, site_id,
                                           body.observations)
    except changes.NotFound as exc:
        raise _missing("site") from exc
    except changes.Conflict as exc:
        raise HTTPException(409, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return PushOut(**result)


# --------------------------------------------------------------------------- devices and findings


@router.get("/devices")
def list_devices(request: Request, principal: Reader, site_id: Id | None = None, after: Id = 0,
                 limit: Limit = 100) -> list[dict[str, Any]]:
    """Devices in id order, `limit` at a time after id `after`; the `clearsite devices --format json` shape."""
    as_of = request.app.state.settings.today()
    knowledge = request.app.state.knowledge
    with _engine(request).connect() as conn:
        views = queries.list_devices(conn, principal, site_id, after, limit)
    return [device_json(v, knowledge, as_of) for v in views]


@router.get("/devices/{device_id}")
def get_device(request: Request, device_id: PathId, principal: Reader) -> dict[str, Any]:
    with _engine(request).connect() as conn:
        detail = queries.get_device(conn, principal, device_id)
    if detail is None:
        raise _missing("device")
    body = device_json(detail.view, request.app.state.knowledge, request.app.state.settings.today())
    return {**body, "removed_on": detail.view.removed_on, "observations": detail.observations,
            "findings": detail.findings}


@router.post("/devices/{device_id}/removal", status_code=204)
def record_removal(request: Request, device_id: PathId, body: RemovalIn, principal: Writer) -> None:
    try:
        changes.record_removal(_engine(request), principal, device_id, body.removed_on)
    except changes.NotFound as exc:
        raise _missing("device") from exc


@router.get("/findings")
def list_findings(request: Request, principal: Reader, site_id: Id | None = None,
                  status: Annotated[str | None, Query(pattern="^(breach|overdue|due|review|advisory|compliant)$")] = None,
                  after: Id = 0, limit: Limit = 200) -> list[dict[str, Any]]:
    with _engine(request).connect() as conn:
        return queries.list_findings(conn, principal, site_id, status, after, limit)


@router.get("/dashboard")
def dashboard(request: Request, principal: Reader) -> dict[str, Any]:
    with _engine(request).connect() as conn:
        return queries.dashboard(conn, principal, request.app.state.knowledge, request.app.state.settings.today())


# --------------------------------------------------------------------------- screening


@router.post("/screen")
async def screen(request: Request, body: ScreenIn,
                 principal: Annotated[Principal, Depends(needs(Scope.SCREEN))]) -> ScreenOut:
    """Screen quote lines before purchase: allow, review or deny each, with the reasons."""
    try:
        if len(body.lines) > 50:  # long quotes off the event loop so short ones keep flowing
            result = await run_in_threadpool(_screen, request, body, principal)
        else:
            result = _screen(request, body, principal)
    except screening.ScreeningUnavailable as exc:
        raise HTTPException(503, str(exc)) from exc
    return ScreenOut(decision=result.decision, lines=result.lines)


def _screen(request: Request, body: ScreenIn, principal: Principal) -> screening.ScreenResult:
    with _engine(request).connect() as conn:
        site = screening.site_for(conn, principal, body.site_id)
        if site is None:
            raise _missing("site")
        held = screening.attestations(conn, principal)
    lines = screening.lines_from_api(body.lines)
    return screening.run(lines, site, request.app.state.knowledge, body.on or request.app.state.settings.today(), held)


@router.post("/attestations", status_code=201)
def add_attestation(request: Request, body: AttestationIn, principal: Writer) -> dict[str, int]:
    try:
        return {"id": changes.add_attestation(_engine(request), principal, body)}
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc


# --------------------------------------------------------------------------- audit, users, tokens


@router.get("/audit")
def audit_entries(request: Request, principal: Annotated[Principal, Depends(needs(Scope.AUDIT))],
                  after: Id = 0, limit: Limit = 100) -> list[dict[str, Any]]:
    with _engine(request).connect() as conn:
        return [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "target": e.target,
                 "before": e.before, "after": e.after, "hash": e.hash} for e in audit.entries(conn, after, limit)]


@router.get("/audit/verify")
def audit_verify(request: Request, principal: Annotated[Principal, Depends(needs(Scope.AUDIT))]) -> dict[str, Any]:
    with _engine(request).connect() as conn:
        result = audit.verify(conn)
    return {"ok": result.ok, "entries": result.entries, "head_seq": result.head_seq, "head_hash": result.head_hash,
            "problem": result.problem, "bad_seq": result.bad_seq, "kind": result.kind}


@router.post("/users", status_code=201)
def add_user_route(request: Request, body: UserIn, principal: Admin) -> dict[str, Any]:
    try:
        with changes.write_transaction(_engine(request)) as conn:
            user = add_user(conn, body.username, body.password, body.role, department=body.department, site=body.site,
                            actor=principal.actor)
    except (UserError, SiteError) as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"id": user.id, "username": user.username, "role": user.role.value}


@router.post("/tokens", status_code=201)
def create_token_route(request: Request, body: TokenIn, principal: Admin) -> TokenOut:
    try:
        with changes.write_transaction(_engine(request)) as conn:
            issued = create_token(conn, find_user(conn, body.username), body.name, body.scopes, body.days,
                                  actor=principal.actor)
    except UserError as exc:
        raise HTTPException(422, str(exc)) from exc
    return TokenOut(id=issued.id, token=issued.token, scopes=list(issued.scopes), expires_at=issued.expires_at.isoformat())


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token_route(request: Request, token_id: PathId, principal: Admin) -> None:
    with changes.write_transaction(_engine(request)) as conn:
        if not revoke_token(conn, token_id, principal.actor):
            raise _missing("live token")
