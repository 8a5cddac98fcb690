"""Users of the web app and API, and their tokens, as the command line makes them."""

from __future__ import annotations

from sqlalchemy import Engine

from clearsite.store.transactions import write_transaction
from clearsite.store.user_admin import (
    FirstAdmin,
    UserRecord,
    ensure_an_admin,
    list_users,
    reset_password,
    set_active,
)
from clearsite.store.users import (
    IssuedToken,
    TokenRecord,
    User,
    UserError,
    add_user,
    create_token,
    find_user,
    list_tokens,
    revoke_token,
)

__all__ = ["FirstAdmin", "IssuedToken", "TokenRecord", "User", "UserRecord", "add_account", "disable_user", "enable_user",
           "end_token", "ensure_admin", "issue_token", "reset_user_password", "tokens", "users"]


def ensure_admin(engine: Engine, password: str | None) -> FirstAdmin:
    """Create user 'admin' at start when no active administrator exists, whatever other users there are:
    `password` when given (CLEARSITE_ADMIN_PASSWORD), else a one-time one in the answer. When an administrator
    exists, a given password is not applied and the answer's note says so."""
    with write_transaction(engine) as conn:
        return ensure_an_admin(conn, password)


def add_account(engine: Engine, username: str, password: str, role: str, *, department: str | None,
                site: str | None, actor: str, one_time: bool) -> User:
    """Add a user with an argon2-hashed password (UserError or SiteError say what is wrong)."""
    with write_transaction(engine) as conn:
        return add_user(conn, username, password, role, department=department, site=site, actor=actor,
                        one_time=one_time)


def issue_token(engine: Engine, username: str, name: str, scopes: list[str] | None, days: float,
                actor: str) -> IssuedToken:
    """Issue an API token for a user; only its hash is stored."""
    with write_transaction(engine) as conn:
        return create_token(conn, find_user(conn, username), name, scopes, days, actor=actor)


def tokens(engine: Engine, username: str | None = None) -> list[TokenRecord]:
    """Every API token (or one user's): id, user, name, scopes, expiry and revocation; never the secret."""
    with engine.connect() as conn:
        return list_tokens(conn, username)


def end_token(engine: Engine, token_id: int, actor: str) -> None:
    """Revoke a live token, audited; UserError when there is no live token with that id."""
    with write_transaction(engine) as conn:
        if not revoke_token(conn, token_id, actor):
            raise UserError(f"no live token {token_id} (unknown, or already revoked)")


# --------------------------------------------------------------------------- administering users


def users(engine: Engine) -> list[UserRecord]:
    """Every user: role, department or site, whether active, whether a one-time password is pending, live tokens."""
    with engine.connect() as conn:
        return list_users(conn)


def disable_user(engine: Engine, username: str, actor: str) -> bool:
    """Disable a user now: their sessions end and their tokens stop working (audited). False if already disabled."""
    with write_transaction(engine) as conn:
        return set_active(conn, username, False, actor)


def enable_user(engine: Engine, username: str, actor: str) -> bool:
    """Enable a disabled user again (audited). False if already active."""
    with write_transaction(engine) as conn:
        return set_active(conn, username, True, actor)


def reset_user_password(engine: Engine, username: str, actor: str) -> str:
    """A new one-time password for the user, shown once; they choose their own at next sign-in (audited)."""
    with write_transaction(engine) as conn:
        return reset_password(conn, username, actor)
