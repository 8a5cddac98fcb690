"""Administering users: the list, disabling and enabling, password resets, and the first administrator.

Disabling or resetting a user ends their sessions at once (their session version is bumped and their
server-side sessions deleted); their API tokens stop working while they are disabled (resolve_token
checks `active`). Every change is audited without secrets. The last active administrator cannot be
disabled, so nobody is locked out of the service.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from clearsite.store.audit import record
from clearsite.store.auth_tables import ApiTokenRow, UserRow
from clearsite.store.sessions import end_user_sessions
from clearsite.store.tables import Department, SiteRow
from clearsite.store.users import Role, UserError, _hasher, add_user

__all__ = ["FirstAdmin", "UserRecord", "ensure_an_admin", "list_users", "reset_password", "set_active"]


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    role: str
    department: str | None
    site: str | None
    active: bool
    must_change_password: bool
    created_at: datetime
    live_tokens: int


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def list_users(conn: Connection) -> list[UserRecord]:
    """Every user by name, with their department or site and how many live tokens they hold."""
    now = _now()
    live = dict(conn.execute(select(ApiTokenRow.user_id, func.count()).where(
        ApiTokenRow.revoked_at.is_(None), ApiTokenRow.expires_at > now).group_by(ApiTokenRow.user_id)).all())
    rows = conn.execute(
        select(UserRow.id, UserRow.username, UserRow.role, Department.name.label("department"),
               SiteRow.name.label("site"), UserRow.active, UserRow.must_change_password, UserRow.created_at)
        .outerjoin(Department, Department.id == UserRow.department_id).outerjoin(SiteRow, SiteRow.id == UserRow.site_id)
        .order_by(UserRow.username)).all()
    return [UserRecord(r.id, r.username, r.role, r.department, r.site, bool(r.active), bool(r.must_change_password),
                       r.created_at, int(live.get(r.id, 0))) for r in rows]


def _row(conn: Connection, username: str) -> Any:
    row = conn.execute(select(UserRow.id, UserRow.username, UserRow.role, UserRow.active, UserRow.session_version)
                       .where(UserRow.username == username)).first()
    if row is None:
        raise UserError(f"unknown user {username!r} (clearsite user list shows who there is)")
    return row


def _active_admins(conn: Connection) -> int:
    return int(conn.scalar(select(func.count()).select_from(UserRow).where(
        UserRow.role == Role.ADMIN.value, UserRow.active.is_(True))) or 0)


def set_active(conn: Connection, username: str, active: bool, actor: str) -> bool:
    """Disable or enable a user; False when they already were. Disabling ends their sessions."""
    row = _row(conn, username)
    if bool(row.active) == active:
        return False
    if not active and row.role == Role.ADMIN.value and _active_admins(conn) <= 1:
        raise UserError(f"{username!r} is the last active administrator: enable or add another first")
    conn.execute(update(UserRow).where(UserRow.id == row.id).values(
        active=active, session_version=row.session_version + (0 if active else 1)))
    if not active:
        end_user_sessions(conn, row.id)
    record(conn, actor, "user.enable" if active else "user.disable", f"user:{row.id}", {"active": not active},
           {"active": active})
    return True


def reset_password(conn: Connection, username: str, actor: str) -> str:
    """Give the user a new one-time password (returned, shown once); their sessions end, and they choose
    their own at next sign-in."""
    row = _row(conn, username)
    password = secrets.token_urlsafe(18)
    conn.execute(update(UserRow).where(UserRow.id == row.id).values(
        password_hash=_hasher.hash(password), must_change_password=True, session_version=row.session_version + 1))
    end_user_sessions(conn, row.id)
    record(conn, actor, "user.reset_password", f"user:{row.id}", {"password": "previous"},
           {"password": "one-time, to be changed at next sign-in"})
    return password


@dataclass(frozen=True, slots=True)
class FirstAdmin:
    created: bool
    password: str | None  # a one-time password made now (None when one was given, or none was made)
    note: str | None  # why nothing was made, when a person should know


def ensure_an_admin(conn: Connection, password: str | None) -> FirstAdmin:
    """Make user 'admin' when no active administrator exists, whatever other users there are.

    With a password given (CLEARSITE_ADMIN_PASSWORD) it is used as given; without, a one-time one is made
    and returned. When an administrator already exists a given password is not applied, and the note
    says so rather than ignoring it silently."""
    if _active_admins(conn):
        if password is None:
            return FirstAdmin(False, None, None)
        names = ", ".join(conn.scalars(select(UserRow.username).where(
            UserRow.role == Role.ADMIN.value, UserRow.active.is_(True)).order_by(UserRow.username)).all()[:5])
        return FirstAdmin(False, None, f"CLEARSITE_ADMIN_PASSWORD not used: an administrator already exists ({names}); "
                                       "to set a new password use 'clearsite user reset-password NAME'")
    taken = conn.execute(select(UserRow.role).where(UserRow.username == "admin")).first()
    if taken is not None:
        raise UserError("no active administrator, and the name 'admin' belongs to a user who is not one (or is "
                        "disabled): run 'clearsite user enable admin' or 'clearsite user add NAME --role admin'")
    generated = password is None
    secret = password if password is not None else secrets.token_urlsafe(18)
    add_user(conn, "admin", secret, Role.ADMIN, actor="first-start", one_time=generated)
    return FirstAdmin(True, secret if generated else None, None)
