"""Who is asking and what they may see, for the web app and the API: users, passwords, tokens.

The doors never read the users or tokens tables: they call these. `site_scope` is the one rule
that turns a user into the sites they may see (NetBox's restrict-by-user, in one place).
"""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from clearsite.core.errors import AccessError, UnavailableError
from clearsite.services.accounts import add_account, issue_token
from clearsite.store import login_throttle, sessions
from clearsite.store.audit import record
from clearsite.store.reads import EVERYTHING, NOTHING, SiteScope
from clearsite.store.transactions import write_transaction
from clearsite.store.users import (
    ROLE_SCOPES,
    IssuedToken,
    Role,
    Scope,
    TokenGrant,
    User,
    UserError,
    authenticate,
    get_user,
    resolve_token,
    revoke_token,
    token_digest,
)
from clearsite.store.users import change_password as store_change_password

__all__ = ["ROLE_SCOPES", "HashingGate", "IssuedToken", "LoginBusy", "LoginThrottled", "Role", "Scope", "SiteScope",
           "TokenGrant", "User", "UserError", "active_user", "add_user", "change_password", "check_password",
           "create_token", "end_session", "log_in", "revoke", "session_user", "sign_out_everywhere", "site_scope",
           "start_session", "token_digest", "token_grant"]


class LoginThrottled(AccessError):
    """Too many failed logins for this name from this address, or for many names from it (HTTP 429)."""

    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LoginBusy(UnavailableError):
    """Every password-checking slot is taken (HTTP 503): argon2 costs 64 MiB a check, so checks are capped."""

    def __init__(self, message: str, retry_after: int = 2) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HashingGate:
    """At most `slots` password hashes at once in this process; a caller waits up to `wait` seconds for one."""

    def __init__(self, slots: int, wait: float = 2.0) -> None:
        self.slots = slots
        self.wait = wait
        self._semaphore = threading.BoundedSemaphore(slots)

    def __enter__(self) -> HashingGate:
        if not self._semaphore.acquire(timeout=self.wait):
            raise LoginBusy("the server is busy checking other sign-ins; try again in a moment")
        return self

    def __exit__(self, *_exc: object) -> None:
        self._semaphore.release()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def site_scope(user: User) -> SiteScope:
    """The sites a user may see: admins and auditors every site, officers their department's, agents their one site."""
    if user.role in (Role.ADMIN, Role.AUDITOR):
        return EVERYTHING
    if user.role == Role.OFFICER and user.department_id is not None:
        return SiteScope(department_id=user.department_id)
    if user.role == Role.AGENT and user.site_id is not None:
        return SiteScope(site_id=user.site_id)
    return NOTHING


def active_user(engine: Engine, user_id: int) -> User | None:
    with engine.connect() as conn:
        return get_user(conn, user_id)


def check_password(engine: Engine, username: str, password: str) -> User | None:
    """The user if the password is right and the account active; None otherwise (same time either way)."""
    with engine.connect() as conn:
        return authenticate(conn, username, password)


def token_grant(engine: Engine, token: str) -> TokenGrant | None:
    """What a live token grants, or None when it is unknown, revoked, expired or its user disabled."""
    with engine.connect() as conn:
        return resolve_token(conn, token)


def log_in(engine: Engine, gate: HashingGate, username: str, password: str, address: str,
           now: datetime | None = None) -> User | None:
    """The user when the password is right; None when wrong. LoginThrottled (429) while this name is
    paused for this address or the address is paused for spraying; LoginBusy (503) when every hashing
    slot is taken. Failures are counted in the database, so every web worker sees them."""
    now = now or _now()
    with engine.connect() as conn:
        refused = login_throttle.refusal(conn, username, address, now)
    if refused is not None:
        raise LoginThrottled(f"{refused.reason}; try again in {refused.retry_after} s", refused.retry_after)
    with gate:
        user = check_password(engine, username, password)
    with write_transaction(engine) as conn:
        if user is None:
            login_throttle.record_failure(conn, username, address, now)
        else:
            login_throttle.record_success(conn, username, address)
    return user


def start_session(engine: Engine, user: User, client: str, hours: float, now: datetime | None = None) -> str:
    """A new server-side session for `user`; returns the secret its cookie carries."""
    secret = secrets.token_urlsafe(32)
    with write_transaction(engine) as conn:
        sessions.start_session(conn, user.id, secret, now or _now(), timedelta(hours=hours), client)
    return secret


def session_user(engine: Engine, secret: str, user_id: int, version: int, now: datetime | None = None) -> User | None:
    """The user of a live session: its row exists and is unexpired, the account is active, and its
    password has not changed since (version); None otherwise."""
    with engine.connect() as conn:
        found = sessions.find_session(conn, secret, now or _now())
        if found is None or found.user_id != user_id:
            return None
        user = get_user(conn, user_id) if found.live else None
    if user is None or user.session_version != version:
        end_session(engine, secret)  # expired, disabled or password changed: over for good, even if re-enabled
        return None
    return user


def end_session(engine: Engine, secret: str) -> None:
    with write_transaction(engine) as conn:
        sessions.end_session(conn, secret)


def sign_out_everywhere(engine: Engine, user: User, actor: str) -> int:
    """End every session of `user` (audited); how many were live."""
    with write_transaction(engine) as conn:
        ended = sessions.end_user_sessions(conn, user.id)
        record(conn, actor, "user.sign_out_everywhere", f"user:{user.id}", None, {"sessions_ended": ended})
    return ended


def change_password(engine: Engine, user: User, current: str, new: str, repeat: str,
                    gate: HashingGate | None = None) -> User:
    """Set a new password, ending every session of the user (UserError says what is wrong); the
    caller starts a fresh one for the browser that made the change."""
    if gate is None:
        gate = HashingGate(1)
    with gate, write_transaction(engine) as conn:
        changed = store_change_password(conn, user, current, new, repeat)
        sessions.end_user_sessions(conn, user.id)
        return changed


def add_user(engine: Engine, username: str, password: str, role: str, *, department: str | None,
             site: str | None, actor: str) -> User:
    return add_account(engine, username, password, role, department=department, site=site, actor=actor,
                       one_time=False)


def create_token(engine: Engine, username: str, name: str, scopes: list[str] | None, days: float,
                 actor: str) -> IssuedToken:
    return issue_token(engine, username, name, scopes, days, actor)


def revoke(engine: Engine, token_id: int, actor: str) -> bool:
    """Revoke a live token; False when there is no live token with that id."""
    with write_transaction(engine) as conn:
        return revoke_token(conn, token_id, actor)
