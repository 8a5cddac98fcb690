"""Users of the web app and API, and their tokens, as the command line makes them."""

from __future__ import annotations

from sqlalchemy import Engine

from clearsite.store.transactions import write_transaction
from clearsite.store.users import (
    IssuedToken,
    TokenRecord,
    User,
    UserError,
    add_user,
    create_token,
    ensure_first_admin,
    find_user,
    list_tokens,
    revoke_token,
)

__all__ = ["IssuedToken", "TokenRecord", "User", "add_account", "end_token", "ensure_admin", "issue_token", "tokens"]


def ensure_admin(engine: Engine, password: str | None) -> str | None:
    """Create user 'admin' on first start; returns its one-time password when one was generated."""
    with write_transaction(engine) as conn:
        return ensure_first_admin(conn, password)


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
