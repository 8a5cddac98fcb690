"""Users of the web app and API, and their tokens, as the command line makes them."""

from __future__ import annotations

from sqlalchemy import Engine

from clearsite.store.transactions import write_transaction
from clearsite.store.users import IssuedToken, User, add_user, create_token, ensure_first_admin, find_user

__all__ = ["IssuedToken", "User", "add_account", "ensure_admin", "issue_token"]


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
