"""Account pages: sign in, sign out, change password.

Kept apart from pages.py so the session and login rules (hardening) and the page layout (GOV.UK
styling) can change independently. Form field names (username, password, csrf_token, next,
current, new, repeat) are part of the templates' contract: keep them stable.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clearsite.services import auth
from clearsite.services.auth import UserError
from clearsite.web import cache, session
from clearsite.web.access import LoginRequired, Principal, authenticate, read_session
from clearsite.web.pages import render, templates

router = APIRouter(include_in_schema=False)
LOGIN_TRIES = 5  # failed logins per name in LOGIN_WINDOW seconds before the name is paused
LOGIN_WINDOW = 300.0


def set_session_cookie(request: Request, response: Response, data: session.SessionData) -> None:
    settings = request.app.state.settings
    response.set_cookie(session.COOKIE, session.encode(data, settings.secret_key), httponly=True, samesite="strict",
                        secure=settings.secure_cookies or request.url.scheme == "https", path="/",
                        max_age=int(settings.session_hours * 3600))


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
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(request, response, session.new_session(user.id, user.session_version))  # fresh nonce
    return response


def _login_again(request: Request, data: session.SessionData | None, next: str, error: str, status: int) -> HTMLResponse:
    token = session.csrf_token(data, request.app.state.settings.secret_key) if data else ""
    return templates.TemplateResponse(request, "login.html", {"principal": None, "csrf": token, "path": "/login",
                                                              "next": safe_next(next), "error": error},
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
