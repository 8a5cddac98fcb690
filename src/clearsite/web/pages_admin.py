"""Administration pages: users (disable, enable, reset a password), API tokens (revoke), and the API's
documentation (Swagger UI, served from the package like everything else: no CDN)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clearsite.core.errors import InputError
from clearsite.services import accounts
from clearsite.services.auth import Scope
from clearsite.web import cache
from clearsite.web.access import Principal, needs
from clearsite.web.pages import render, templates

router = APIRouter(include_in_schema=False)
AdminUser = Annotated[Principal, Depends(needs(Scope.ADMIN))]
Reader = Annotated[Principal, Depends(needs(Scope.READ))]
NAME = r"^[^\s/]{1,100}$"


@router.get("/api/docs")
def api_docs(request: Request, principal: Reader) -> HTMLResponse:
    """Swagger UI over /api/v1/openapi.json; its script and styles come from /static/swagger."""
    return templates.TemplateResponse(request, "api_docs.html", {"principal": principal})


@router.get("/admin")
def admin_home(principal: AdminUser) -> RedirectResponse:
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/admin/users")
def users_page(request: Request, principal: AdminUser, done: str = "") -> HTMLResponse:
    return render(request, "admin_users.html", principal, users=accounts.users(request.app.state.engine),
                  done=done[:200], error=None, password=None, for_user=None)


def _user_action(request: Request, principal: Principal, username: str, action: str) -> Response:
    engine = request.app.state.engine
    try:
        if action == "reset":
            if username == principal.user.username:
                raise InputError("to change your own password, use Change password")
            password = accounts.reset_user_password(engine, username, principal.actor)
            cache.forget_all()
            return render(request, "admin_users.html", principal, users=accounts.users(engine), done="", error=None,
                          password=password, for_user=username)
        if action == "disable" and username == principal.user.username:
            raise InputError("you cannot disable yourself: ask another administrator")
        changed = (accounts.disable_user if action == "disable" else accounts.enable_user)(engine, username,
                                                                                           principal.actor)
    except InputError as exc:
        return render(request, "admin_users.html", principal, http_status=422, users=accounts.users(engine), done="",
                      error=str(exc), password=None, for_user=None)
    cache.forget_all()
    word = {"disable": "disabled", "enable": "enabled"}[action]
    done = f"{username} {word}" if changed else f"{username} was already {word}"
    return RedirectResponse(f"/admin/users?{_q(done)}", status_code=303)


def _q(done: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"done": done})


@router.post("/admin/users/{username}/disable")
def disable(request: Request, username: str, principal: AdminUser) -> Response:
    return _user_action(request, principal, username[:100], "disable")


@router.post("/admin/users/{username}/enable")
def enable(request: Request, username: str, principal: AdminUser) -> Response:
    return _user_action(request, principal, username[:100], "enable")


@router.post("/admin/users/{username}/reset-password")
def reset(request: Request, username: str, principal: AdminUser) -> Response:
    return _user_action(request, principal, username[:100], "reset")


@router.get("/admin/tokens")
def tokens_page(request: Request, principal: AdminUser, done: str = "") -> HTMLResponse:
    return render(request, "admin_tokens.html", principal, tokens=accounts.tokens(request.app.state.engine),
                  done=done[:200], error=None, now=_now())


def _now() -> object:
    from datetime import UTC, datetime

    return datetime.now(UTC).replace(tzinfo=None)


@router.post("/admin/tokens/{token_id}/revoke")
def revoke(request: Request, token_id: int, principal: AdminUser) -> Response:
    engine = request.app.state.engine
    try:
        accounts.end_token(engine, token_id, principal.actor)
    except InputError as exc:
        return render(request, "admin_tokens.html", principal, http_status=422, tokens=accounts.tokens(engine),
                      done="", error=str(exc), now=_now())
    cache.forget_all()
    return RedirectResponse(f"/admin/tokens?{_q(f'token {token_id} revoked')}", status_code=303)
