"""Account pages: sign in, sign out, sign out everywhere, change password.

Kept apart from pages.py so the session and login rules (hardening) and the page layout (GOV.UK
styling) can change independently. Form field names (username, password, csrf_token, next,
current, new, repeat) are part of the templates' contract: keep them stable.

A signed-in browser holds a server-side session (services.auth.start_session); its cookie only
points at it. Signing out deletes the row, so a saved copy of the cookie stops working at once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPBearer

from clearsite.core import contracts
from clearsite.services import auth
from clearsite.services.auth import LoginBusy, LoginThrottled, UserError
from clearsite.web import cache, session
from clearsite.web.access import LoginRequired, Principal, authenticate, read_session, signed_in
from clearsite.web.pages import render, templates
from clearsite.web.schemas import Problem

router = APIRouter(include_in_schema=False)
# Declares the bearer scheme in OpenAPI like the rest of /api/v1; authentication happens in `signed_in`.
api_router = APIRouter(prefix="/api/v1", dependencies=[Depends(HTTPBearer(auto_error=False, description="An API token"))],
                       responses={401: {"model": Problem, "description": "not authenticated"},
                                  403: {"model": Problem, "description": "CSRF token missing or wrong"},
                                  503: {"model": Problem, "description": "the database is busy"}})


def client_address(request: Request) -> str:
    # What uvicorn reports: the peer, or with --proxy-headers and a trusted proxy, X-Forwarded-For.
    return request.client.host if request.client else "unknown"


def set_session_cookie(request: Request, response: Response, data: session.SessionData) -> None:
    settings = request.app.state.settings
    response.set_cookie(session.COOKIE, session.encode(data, settings.secret_key), httponly=True, samesite="strict",
                        secure=settings.secure_cookies or request.url.scheme == "https", path="/",
                        max_age=int(settings.session_hours * 3600))


def _signed_in_cookie(request: Request, response: Response, user: auth.User) -> None:
    """Start a server-side session for `user` and hand its cookie to the browser (a fresh secret each time)."""
    secret = auth.start_session(request.app.state.engine, user, client_address(request),
                                request.app.state.settings.session_hours)
    set_session_cookie(request, response, session.new_session(user.id, user.session_version, secret))


def safe_next(target: str | None) -> str:
    # Only paths on this site: "//evil.example" and "/\evil" would leave it.
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    found = read_session(request)
    fresh = found is None
    data = session.new_session(None) if found is None else found  # anonymous: the login form needs a CSRF token
    token = session.csrf_token(data, request.app.state.settings.secret_key)
    response = templates.TemplateResponse(request, "login.html", {"principal": None, "csrf": token, "path": "/login",
                                                                  "next": safe_next(next), "error": None})
    if fresh:
        set_session_cookie(request, response, data)
    return response


@router.post("/login")
async def login(request: Request, username: Annotated[str, Form(max_length=100)],
                password: Annotated[str, Form(max_length=200)], csrf_token: Annotated[str, Form(max_length=100)] = "",
                next: Annotated[str, Form(max_length=500)] = "/") -> Response:
    data = read_session(request)
    state = request.app.state
    if not session.csrf_ok(data, state.settings.secret_key, csrf_token):
        raise HTTPException(403, "CSRF token missing or wrong: reload the login page and try again")
    try:
        # In the thread pool, but never more hashes at once than the gate's slots: the rest wait briefly, then 503.
        user = await run_in_threadpool(auth.log_in, state.engine, state.login_gate, username, password,
                                       client_address(request))
    except LoginThrottled as exc:
        return _login_again(request, data, next, f"Too many failed attempts: {exc}.", 429, exc.retry_after)
    except LoginBusy as exc:
        return _login_again(request, data, next, "The service is busy; try again in a moment.", 503,
                            exc.retry_after)
    if user is None:
        return _login_again(request, data, next, "Wrong user name or password.", 401)
    response = RedirectResponse(safe_next(next), status_code=303)
    await run_in_threadpool(_signed_in_cookie, request, response, user)
    return response


def _login_again(request: Request, data: session.SessionData | None, next: str, error: str, status: int,
                 retry_after: int | None = None) -> HTMLResponse:
    token = session.csrf_token(data, request.app.state.settings.secret_key) if data else ""
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return templates.TemplateResponse(request, "login.html", {"principal": None, "csrf": token, "path": "/login",
                                                              "next": safe_next(next), "error": error},
                                      status_code=status, headers=headers)


@router.get("/account/password")
async def password_form(request: Request) -> HTMLResponse:
    principal = await _signed_in_page(request)
    return render(request, "password.html", principal, error=None, forced=principal.user.must_change_password)


@router.post("/account/password")
async def password_change(request: Request, current: Annotated[str, Form(max_length=200)],
                          new: Annotated[str, Form(max_length=200)], repeat: Annotated[str, Form(max_length=200)]
                          ) -> Response:
    principal = await _signed_in_page(request)  # checks the CSRF token too
    state = request.app.state
    try:
        user = await run_in_threadpool(auth.change_password, state.engine, principal.user, current, new, repeat,
                                       state.login_gate)
    except UserError as exc:
        return render(request, "password.html", principal, http_status=422, error=str(exc),
                      forced=principal.user.must_change_password)
    cache.forget_all()
    response = RedirectResponse("/", status_code=303)
    await run_in_threadpool(_signed_in_cookie, request, response, user)  # every other session has ended
    return response


async def _signed_in_page(request: Request) -> Principal:
    """Any signed-in person, one-time password or not (this page is where they change it)."""
    principal = await authenticate(request)
    if principal is None or principal.via != "session":
        raise LoginRequired()
    return principal


@router.post("/account/sign-out-everywhere")
async def sign_out_everywhere_page(request: Request) -> Response:
    """End every session of this person, this browser's too (a lost laptop, a shared computer)."""
    principal = await _signed_in_page(request)  # checks the CSRF token too
    await run_in_threadpool(auth.sign_out_everywhere, request.app.state.engine, principal.user, principal.actor)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(session.COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    principal = await authenticate(request)  # checks the CSRF token of a logged-in session
    data = read_session(request)
    if principal is not None and principal.via == "session" and data is not None:
        await run_in_threadpool(auth.end_session, request.app.state.engine, data.nonce)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(session.COOKIE, path="/")
    return response


@api_router.post("/me/sign-out-everywhere")
def sign_out_everywhere_api(request: Request,
                            principal: Annotated[Principal, Depends(signed_in)]) -> dict[str, Any]:
    """End every browser session of the calling user (API tokens are revoked separately)."""
    answer: contracts.SessionsEnded = {
        "sessions_ended": auth.sign_out_everywhere(request.app.state.engine, principal.user, principal.actor)}
    return dict(answer)
