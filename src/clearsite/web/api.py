"""The REST API, /api/v1: the same reads and changes as the pages, for scripts and site agents.

Authentication is `Authorization: Bearer <token>` (a session cookie works too, with its CSRF
header on changes). Records outside a caller's departments answer 404, as if absent.

Every route calls one service with the caller's site scope; the errors services raise are mapped to
statuses by class in `app.py` (NotFoundError 404, ConflictError 409, InputError 422), never by text.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPBearer
from sqlalchemy import Engine

from clearsite.core import contracts
from clearsite.core.errors import ClearsiteError, InputError, NotFoundError
from clearsite.services import auth, estate, finding_list, inventory
from clearsite.services.audit_log import audit_entries as read_audit
from clearsite.services.audit_log import verify_audit_log
from clearsite.services.auth import Scope
from clearsite.services.devices import device_detail, device_json
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


# Dates in queries as people and scripts write them; a number (which pydantic would read as a timestamp) is refused.
Day = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="a date, YYYY-MM-DD")]


def _day(name: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{name}: {text!r} is not a date (YYYY-MM-DD)") from None


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


@router.get("/devices", response_model=None)
def list_devices(request: Request, principal: Reader, response: Response,
                 q: Annotated[str | None, Query(max_length=200, description="Search: IP, MAC, serial, model, badge, "
                                                 "producer, site or asset location (any part of them)")] = None,
                 site_id: Id | None = None, department_id: Id | None = None,
                 sensitivity: Annotated[str | None, Query(max_length=20, description="sensitive, other, or one "
                                                          "criterion: holds_secret, dv_hub, ministerial, socpa")] = None,
                 producer: Annotated[str | None, Query(max_length=64, description="a producer's knowledge-base id, "
                                                       "or none")] = None,
                 nil_subject: Annotated[str | None, Query(max_length=10, description="yes, no, review, unknown")] = None,
                 device_class: Annotated[str | None, Query(max_length=40)] = None,
                 status: Annotated[str | None, Query(max_length=12, description="the device's worst finding status, "
                                                     "or none")] = None,
                 review_pending: bool = False,
                 first_seen_from: Day = None, first_seen_to: Day = None,
                 last_seen_from: Day = None, last_seen_to: Day = None,
                 sort: Annotated[str, Query(max_length=20, description="id, site, ip, mac, serial, model, brand, "
                                            "producer, class, first_seen, last_seen, location; -name for descending")]
                 = "id",
                 after: Annotated[str | None, Query(max_length=400, description="X-Next-After of the previous page "
                                                   "(in id order, a device id)")] = None,
                 limit: Limit = 100,
                 format: Annotated[str | None, Query(pattern="^(json|csv|xlsx)$", description="csv or xlsx: the "
                                                    "whole filtered list as a file (json: as a JSON array file)")]
                 = None) -> Any:
    """Devices in the caller's scope matching a search and filters, `limit` at a time in `sort` order; the
    `clearsite devices --format json` shape. The total that match is in `X-Total-Count` (with a search or a date
    range, counted up to 10,000: more than that answers 10000 and `X-Total-Count-Capped: true`); the next page starts
    `after` the `X-Next-After` header (absent on the last page). `format=csv|xlsx` exports the same view whole."""
    knowledge, as_of = request.app.state.knowledge, request.app.state.settings.today()
    devices = inventory.device_filter(
        knowledge, as_of, q=q, site_id=site_id, department_id=department_id, sensitivity=sensitivity,
        producer=producer, nil_subject=nil_subject, device_class=device_class, status=status,
        review_pending=review_pending, first_seen_from=_day("first_seen_from", first_seen_from),
        first_seen_to=_day("first_seen_to", first_seen_to), last_seen_from=_day("last_seen_from", last_seen_from),
        last_seen_to=_day("last_seen_to", last_seen_to))
    key, descending = inventory.parse_sort(sort)
    if format is not None:
        chunks = inventory.export_devices(_engine(request), principal.sites, knowledge, as_of, devices, sort=key,
                                          descending=descending, file_type=format)
        return StreamingResponse(chunks, media_type=inventory.EXPORT_TYPES[format], headers={
            "Content-Disposition": f'attachment; filename="devices-{as_of.isoformat()}.{format}"'})
    page = inventory.device_inventory(_engine(request), principal.sites, knowledge, as_of, devices, sort=key,
                                      descending=descending, cursor=after, limit=limit, with_evidence=True)
    response.headers["X-Total-Count"] = str(page.total)
    if page.total_capped:  # a search or date range matching more than 10,000: X-Total-Count is a lower bound
        response.headers["X-Total-Count-Capped"] = "true"
    if page.next_cursor is not None:
        response.headers["X-Next-After"] = page.next_cursor
    if page.refreshing:
        response.headers["X-Index-Refreshing"] = "true"
    return [cast("dict[str, Any]", device_json(v, knowledge, as_of)) for v in page.views]


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


@router.get("/findings", response_model=list[dict[str, Any]],
            responses={200: {"content": {"text/csv": {}}, "description": "the findings (format=csv: as a CSV file)"}})
def list_findings(request: Request, response: Response, principal: Reader, site_id: Id | None = None,
                  status: Annotated[str | None, Query(pattern="^(breach|overdue|due|review|advisory|compliant)$")] = None,
                  policy: Annotated[str | None, Query(max_length=64, description="a policy id of the knowledge "
                                                      "base, e.g. uk-hcws386")] = None,
                  obligation: Annotated[str | None, Query(max_length=64, description="an obligation id, e.g. O1")]
                  = None,
                  after: Id = 0, limit: Limit = 200,
                  format: Annotated[str | None, Query(pattern="^csv$", description="csv: the whole filtered list "
                                                      "as a file")] = None) -> Any:
    """Findings in the caller's scope matching the filters, `limit` at a time in id order after id `after`. The
    exact total that match is in `X-Total-Count`; `format=csv` exports the same view whole."""
    finding_list.check_finding_filter(request.app.state.knowledge, policy, obligation)
    wanted: dict[str, Any] = {"site_id": site_id, "status": status, "policy": policy, "obligation": obligation}
    if format is not None:
        as_of = request.app.state.settings.today()
        return StreamingResponse(finding_list.findings_export(_engine(request), principal.sites, **wanted),
                                 media_type="text/csv; charset=utf-8", headers={
                                     "Content-Disposition": f'attachment; filename="findings-{as_of.isoformat()}.csv"'})
    response.headers["X-Total-Count"] = str(finding_list.finding_total(_engine(request), principal.sites, **wanted))
    return estate.findings(_engine(request), principal.sites, after=after, limit=limit, **wanted)


@router.get("/dashboard")
def dashboard(request: Request, principal: Reader) -> dict[str, Any]:
    inventory.ensure_index(_engine(request), request.app.state.knowledge)  # the per-site summary it counts from
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
