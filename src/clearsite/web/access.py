"""Who is asking, and may they: sessions or bearer tokens, role ∩ token scopes, CSRF on unsafe methods.

`authenticate` runs once per request (API tokens take precedence over cookies); `needs(scope)` is
the dependency every route declares. Cookie-authenticated unsafe requests must carry the session's
CSRF token (form field or X-CSRF-Token header); bearer-token requests carry no ambient authority,
so they need none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request
from sqlalchemy import Engine

from clearsite.core.errors import AccessError
from clearsite.services.auth import (
    ROLE_SCOPES,
    Role,
    Scope,
    SiteScope,
    User,
    session_user,
    site_scope,
    token_digest,
    token_grant,
)
from clearsite.web import cache, session
from clearsite.web.settings import Settings

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    scopes: frozenset[Scope]
    via: str  # "session" or "token"
    token_id: int | None = None

    @property
    def actor(self) -> str:
        """How the audit log names who did it."""
        return self.user.username + (f" (token {self.token_id})" if self.token_id else "")

    def can(self, scope: Scope) -> bool:
        return scope in self.scopes

    @property
    def sites(self) -> SiteScope:
        """The sites this principal may see or change (every read and change is limited to them)."""
        return site_scope(self.user)


class LoginRequired(AccessError):
    """A page was asked for without a session: send the person to the login page."""

    http_status = 401


class PasswordChangeRequired(AccessError):
    """Signed in with a one-time password: the person must choose their own before anything else."""


class NotAllowed(AccessError):
    """A page the principal may not use (shown as a 403 page; the API answers 403 JSON)."""


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def read_session(request: Request) -> session.SessionData | None:
    settings = _settings(request)
    return session.decode(request.cookies.get(session.COOKIE), settings.secret_key, settings.session_hours * 3600)


async def authenticate(request: Request) -> Principal | None:
    """The principal of this request, or None; cached on the request."""
    if hasattr(request.state, "principal"):
        return request.state.principal
    principal: Principal | None = None
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(401, "use 'Authorization: Bearer <token>'", {"WWW-Authenticate": "Bearer"})
        token = token.strip()
        key = ("token", id(_engine(request)), token_digest(token))
        # A change (an agent's push above all) checks the token afresh: one revoked is refused at its next
        # batch, not up to cache.TTL later; reads may use the remembered grant.
        found = (token_grant(_engine(request), token) if request.method in UNSAFE
                 else cache.remembered(key, lambda: token_grant(_engine(request), token)))
        if found is None or not found.live:  # expiry is checked at use, so a remembered grant still expires
            raise HTTPException(401, "token unknown, expired or revoked", {"WWW-Authenticate": "Bearer"})
        principal = Principal(found.user, found.scopes, "token", found.token_id)
    else:
        data = read_session(request)
        if data is not None and data.user_id is not None:
            # The cookie is only a pointer: the session row must exist (logout, sign out everywhere and
            # a password change delete it), be unexpired, and its user active (disabling ends it).
            user = session_user(_engine(request), data.nonce, data.user_id, data.version)
            if user is not None:
                principal = Principal(user, ROLE_SCOPES[user.role], "session")
                if request.method in UNSAFE:
                    await _check_csrf(request, data)
    request.state.principal = principal
    return principal


async def _check_csrf(request: Request, data: session.SessionData) -> None:
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not session.csrf_ok(data, _settings(request).secret_key, given):
        raise HTTPException(403, "CSRF token missing or wrong: reload the page and try again")


def _wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def needs(scope: Scope) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the principal, if authenticated and holding `scope`."""

    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if principal is None:
            if _wants_page(request):
                raise LoginRequired()
            raise HTTPException(401, "authentication required", {"WWW-Authenticate": "Bearer"})
        if principal.via == "session" and principal.user.must_change_password:
            raise PasswordChangeRequired()  # pages and cookie-borne API calls alike
        if not principal.can(scope):
            if _wants_page(request):
                raise NotAllowed(f"your role ({principal.user.role.value}) cannot do this")
            raise HTTPException(403, f"needs scope {scope.value!r}")
        return principal

    dependency.__name__ = f"needs_{scope.value}"
    return dependency


async def signed_in(request: Request) -> Principal:
    """A dependency: any authenticated principal, whatever its scopes (signing out needs no scope)."""
    principal = await authenticate(request)
    if principal is None:
        if _wants_page(request):
            raise LoginRequired()
        raise HTTPException(401, "authentication required", {"WWW-Authenticate": "Bearer"})
    return principal


def is_role(principal: Principal, *roles: Role) -> bool:
    return principal.user.role in roles
