"""Who is asking and what they may see, for the web app and the API: users, passwords, tokens.

The doors never read the users or tokens tables: they call these. `site_scope` is the one rule
that turns a user into the sites they may see (NetBox's restrict-by-user, in one place).
"""

from __future__ import annotations

from sqlalchemy import Engine

from clearsite.services.accounts import add_account, issue_token
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

__all__ = ["ROLE_SCOPES", "IssuedToken", "Role", "Scope", "SiteScope", "TokenGrant", "User", "UserError",
           "active_user", "add_user", "change_password", "check_password", "create_token", "revoke", "site_scope",
           "token_digest", "token_grant"]


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


def change_password(engine: Engine, user: User, current: str, new: str, repeat: str) -> User:
    """Set a new password, ending every other session (UserError says what is wrong)."""
    with write_transaction(engine) as conn:
        return store_change_password(conn, user, current, new, repeat)


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
