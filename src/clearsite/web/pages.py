"""The server-rendered pages: Jinja2 with autoescape, htmx for the screening form, no inline script.

Pages read and change through the same services as the API, with the same site scope, so scoping,
CSRF and the audit log hold the same way whichever door a person uses.
"""

from __future__ import annotations

import json
import time
from collections import deque
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader

from clearsite.core.errors import NotFoundError
from clearsite.services import auth, estate
from clearsite.services.audit_log import audit_entries, verify_audit_log
from clearsite.services.auth import Scope, UserError
from clearsite.services.devices import device_detail as read_device_detail
from clearsite.services.devices import device_json, devices_in_scope
from clearsite.services.planning import has_current_plan, plan_for
from clearsite.services.publishing import public_preview as preview_statement
from clearsite.services.reconciliation import site_reconciliation
from clearsite.web import cache, screening, session
from clearsite.web.access import LoginRequired, Principal, authenticate, needs, read_session
from clearsite.web.schemas import SitePatch

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(needs(Scope.READ))]
Writer = Annotated[Principal, Depends(needs(Scope.WRITE))]
PAGE = 200
NO_SUCH_SITE = "No such site, or not one of your department's."
NO_SUCH_DEVICE = "No such device, or not at one of your department's sites."
LOGIN_TRIES = 5  # failed logins per name in LOGIN_WINDOW seconds before the name is paused
LOGIN_WINDOW = 300.0


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("clearsite.web", "templates"), autoescape=True)
    env.filters["pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str)
    env.filters["pct"] = lambda value: f"{100 * value:.0f}%"
    return env


templates = Jinja2Templates(env=_environment())


def _context(request: Request, principal: Principal | None, **values: Any) -> dict[str, Any]:
    data = read_session(request)
    token = session.csrf_token(data, request.app.state.settings.secret_key) if data else ""
    show_plan = False
    if principal is not None and principal.can(Scope.READ):
        engine = request.app.state.engine
        show_plan = cache.remembered(("has_plan", id(engine)), lambda: has_current_plan(engine))
    return {"principal": principal, "csrf": token, "path": request.url.path, "show_plan": show_plan, **values}


def render(request: Request, name: str, principal: Principal | None, http_status: int = 200,
           **values: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, _context(request, principal, **values), status_code=http_status)


def set_session_cookie(request: Request, response: Response, data: session.SessionData) -> None:
    settings = request.app.state.settings
    response.set_cookie(session.COOKIE, session.encode(data, settings.secret_key), httponly=True, samesite="strict",
                        secure=settings.secure_cookies or request.url.scheme == "https", path="/",
                        max_age=int(settings.session_hours * 3600))


def _safe_next(target: str | None) -> str:
    # Only paths on this site: "//evil.example" and "/\evil" would leave it.
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


# --------------------------------------------------------------------------- login


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    found = read_session(request)
    fresh = found is None
    data = session.new_session(None) if found is None else found  # anonymous: the login form needs a CSRF token
    token = session.csrf_token(data, request.app.state.settings.secret_key)
    response = templates.TemplateResponse(request, "login.html", {"principal": None, "csrf": token, "path": "/login",
                                                                  "next": _safe_next(next), "error": None})
    if fresh:
        set_session_cookie(request, response, data)
    return response


@router.post("/login")
def login(request: Request, username: Annotated[str, Form(max_length=100)], password: Annotated[str, Form(max_length=200)],
          csrf_token: Annotated[str, Form(max_length=100)] = "", next: Annotated[str, Form(max_length=500)] = "/") -> Response:
    data = read_session(request)
    settings = request.app.state.settings
    if not session.csrf_ok(data, settings.secret_key, csrf_token):
        raise HTTPException(403, "CSRF token missing or wrong: reload the login page and try again")
    failures: dict[str, deque[float]] = request.app.state.login_failures
    if len(failures) > 10_000:  # bounded: a flood of made-up names must not grow memory
        failures.clear()
    recent = failures[username]
    while recent and recent[0] < time.monotonic() - LOGIN_WINDOW:
        recent.popleft()
    if len(recent) >= LOGIN_TRIES:
        return _login_again(request, data, next, "Too many failed attempts for this name; wait five minutes.", 429)
    user = auth.check_password(request.app.state.engine, username, password)
    if user is None:
        recent.append(time.monotonic())
        return _login_again(request, data, next, "Wrong user name or password.", 401)
    failures.pop(username, None)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(request, response, session.new_session(user.id, user.session_version))  # fresh nonce
    return response


def _login_again(request: Request, data: session.SessionData | None, next: str, error: str, status: int) -> HTMLResponse:
    token = session.csrf_token(data, request.app.state.settings.secret_key) if data else ""
    return templates.TemplateResponse(request, "login.html", {"principal": None, "csrf": token, "path": "/login",
                                                              "next": _safe_next(next), "error": error},
                                      status_code=status)


@router.get("/account/password")
async def password_form(request: Request) -> HTMLResponse:
    principal = await _signed_in(request)
    return render(request, "password.html", principal, error=None, forced=principal.user.must_change_password)


@router.post("/account/password")
async def password_change(request: Request, current: Annotated[str, Form(max_length=200)],
                          new: Annotated[str, Form(max_length=200)], repeat: Annotated[str, Form(max_length=200)]
                          ) -> Response:
    principal = await _signed_in(request)  # checks the CSRF token too
    try:
        user = auth.change_password(request.app.state.engine, principal.user, current, new, repeat)
    except UserError as exc:
        return render(request, "password.html", principal, http_status=422, error=str(exc),
                      forced=principal.user.must_change_password)
    cache.forget_all()
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(request, response, session.new_session(user.id, user.session_version))
    return response


async def _signed_in(request: Request) -> Principal:
    """Any signed-in person, one-time password or not (this page is where they change it)."""
    principal = await authenticate(request)
    if principal is None or principal.via != "session":
        raise LoginRequired()
    return principal


@router.post("/logout")
async def logout(request: Request) -> Response:
    await authenticate(request)  # checks the CSRF token of a logged-in session
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(session.COOKIE, path="/")
    return response


# --------------------------------------------------------------------------- reading


@router.get("/")
def dashboard(request: Request, principal: Reader) -> HTMLResponse:
    figures = estate.dashboard(request.app.state.engine, principal.sites, request.app.state.knowledge,
                               request.app.state.settings.today())
    return render(request, "dashboard.html", principal, figures=figures, statuses=estate.STATUSES)


@router.get("/sites")
def sites(request: Request, principal: Reader) -> HTMLResponse:
    rows = estate.sites(request.app.state.engine, principal.sites)
    return render(request, "sites.html", principal, sites=rows, statuses=estate.STATUSES)


@router.get("/sites/{site_id}")
def site_detail(request: Request, site_id: int, principal: Reader, after: Annotated[int, Query(ge=0)] = 0,
                saved: bool = False) -> HTMLResponse:
    knowledge, as_of, engine = request.app.state.knowledge, request.app.state.settings.today(), request.app.state.engine
    try:
        site = estate.site(engine, principal.sites, site_id)
    except NotFoundError as exc:
        raise HTTPException(404, NO_SUCH_SITE) from exc
    views = devices_in_scope(engine, principal.sites, site_id=site_id, after=after, limit=PAGE, with_evidence=False)
    findings = estate.findings(engine, principal.sites, site_id, None, 0, 5000)
    reconciliation = site_reconciliation(engine, principal.sites, site_id)
    worst: dict[int, str] = {}
    for f in findings:
        if f["device_id"] not in worst or estate.STATUSES.index(f["status"]) < estate.STATUSES.index(worst[f["device_id"]]):
            worst[f["device_id"]] = f["status"]
    devices = [device_json(v, knowledge, as_of) for v in views]
    return render(request, "site.html", principal, site=site, devices=devices, worst=worst,
                  next_after=views[-1].id if len(views) == PAGE else None, reconciliation=reconciliation,
                  can_write=principal.can(Scope.WRITE), saved=saved)


@router.post("/sites/{site_id}")
def site_update(request: Request, site_id: int, principal: Writer,
                region: Annotated[str, Form(max_length=100)] = "", holds_secret: Annotated[bool, Form()] = False,
                dv_hub: Annotated[bool, Form()] = False, ministerial: Annotated[bool, Form()] = False,
                socpa: Annotated[bool, Form()] = False) -> Response:
    patch = SitePatch(region=region.strip() or None, holds_secret=holds_secret, dv_hub=dv_hub,
                      ministerial=ministerial, socpa=socpa)
    try:
        estate.update_site(request.app.state.engine, principal.actor, principal.sites, site_id, patch.changes())
    except NotFoundError as exc:
        raise HTTPException(404, NO_SUCH_SITE) from exc
    cache.forget_all()
    return RedirectResponse(f"/sites/{site_id}?saved=1", status_code=303)


@router.get("/devices/{device_id}")
def device_detail(request: Request, device_id: int, principal: Reader) -> HTMLResponse:
    try:
        detail = read_device_detail(request.app.state.engine, principal.sites, device_id)
    except NotFoundError as exc:
        raise HTTPException(404, NO_SUCH_DEVICE) from exc
    device = device_json(detail.view, request.app.state.knowledge, request.app.state.settings.today())
    return render(request, "device.html", principal, device=device, detail=detail,
                  can_write=principal.can(Scope.WRITE), today=request.app.state.settings.today())


@router.post("/devices/{device_id}/removal")
def device_removal(request: Request, device_id: int, principal: Writer,
                   removed_on: Annotated[date, Form()]) -> Response:
    try:
        estate.record_removal(request.app.state.engine, principal.actor, principal.sites, device_id, removed_on)
    except NotFoundError as exc:
        raise HTTPException(404, NO_SUCH_DEVICE) from exc
    cache.forget_all()
    return RedirectResponse(f"/devices/{device_id}", status_code=303)


@router.get("/findings")
def findings(request: Request, principal: Reader, after: Annotated[int, Query(ge=0)] = 0,
             status: Annotated[str | None, Query(pattern="^(|breach|overdue|due|review|advisory|compliant)$")] = None
             ) -> HTMLResponse:
    rows = estate.findings(request.app.state.engine, principal.sites, None, status or None, after, PAGE)
    return render(request, "findings.html", principal, findings=rows, status=status or "", statuses=estate.STATUSES,
                  next_after=rows[-1]["id"] if len(rows) == PAGE else None)


@router.get("/plan")
def plan_page(request: Request, principal: Reader) -> HTMLResponse:
    plan = plan_for(request.app.state.engine, principal.sites)
    if plan is None:
        raise HTTPException(404, "No removal plan is stored yet.")
    return render(request, "plan.html", principal, plan=plan)


@router.get("/public")
def public_preview(request: Request, principal: Reader) -> HTMLResponse:
    settings = request.app.state.settings
    preview = preview_statement(request.app.state.engine, principal.sites, request.app.state.knowledge,
                                settings.today(), settings.public_min_count)
    return render(request, "public.html", principal, preview=preview)


@router.get("/audit")
def audit_page(request: Request, principal: Annotated[Principal, Depends(needs(Scope.AUDIT))],
               before: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    entries = audit_entries(request.app.state.engine, before, PAGE, newest_first=True)
    check = verify_audit_log(request.app.state.engine)
    return render(request, "audit.html", principal, entries=entries, check=check,
                  next_before=entries[-1].seq if len(entries) == PAGE else None)


# --------------------------------------------------------------------------- screening


@router.get("/screen")
def screen_form(request: Request, principal: Annotated[Principal, Depends(needs(Scope.SCREEN))]) -> HTMLResponse:
    rows = estate.sites(request.app.state.engine, principal.sites)
    return render(request, "screen.html", principal, sites=rows, result=None, error=None, chosen=None)


@router.post("/screen")
async def screen_submit(request: Request, principal: Annotated[Principal, Depends(needs(Scope.SCREEN))],
                        site_id: Annotated[str, Form(max_length=20)] = "",
                        pasted: Annotated[str, Form(max_length=2_000_000)] = "",
                        quote_file: Annotated[UploadFile | None, File()] = None) -> HTMLResponse:
    partial = request.headers.get("hx-request") == "true"
    chosen = int(site_id) if site_id.isdigit() else None
    data, name = pasted.encode(), "pasted.csv"
    if quote_file is not None and quote_file.filename:
        data, name = await quote_file.read(request.app.state.settings.max_body_bytes + 1), quote_file.filename
    result, error = None, None
    try:
        if not data.strip():
            raise ValueError("Paste quote lines or choose a quote file.")
        result = await run_in_threadpool(_screen_file, request, principal, chosen, data, name)
    except NotFoundError:
        error = NO_SUCH_SITE
    except ValueError as exc:  # a quote the reader cannot read says why, in one line
        error = str(exc)
    template = "screen_result.html" if partial else "screen.html"
    rows = [] if partial else estate.sites(request.app.state.engine, principal.sites)
    return render(request, template, principal, sites=rows, result=result, error=error, chosen=chosen,
                  http_status=200 if error is None else 422)


def _screen_file(request: Request, principal: Principal, site_id: int | None, data: bytes,
                 name: str) -> screening.ScreenResult:
    site = screening.site_for(request.app.state.engine, principal, site_id)
    held = screening.attestations(request.app.state.engine, principal)
    lines, problems = screening.lines_from_file(data, name)
    return screening.run(lines, site, request.app.state.knowledge, request.app.state.settings.today(), held, problems)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    principal = getattr(request.state, "principal", None)
    return render(request, "error.html", principal, http_status=status, status=status, message=message)


