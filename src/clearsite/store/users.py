"""Users, roles and API tokens: adding, checking passwords, issuing and resolving tokens.

Passwords are argon2id hashes (argon2-cffi's current defaults). Tokens are 256 random bits shown
once; only their SHA-256 is kept, so a stolen database does not give working tokens. Every change
here is written to the audit log in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, CursorResult, func, insert, select, update

from clearsite.core.errors import InputError
from clearsite.core.text import clean_text, has_unsafe_characters
from clearsite.store.audit import record
from clearsite.store.auth_tables import ApiTokenRow, UserRow
from clearsite.store.sites import find_site
from clearsite.store.tables import Department

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Checked against when the user does not exist, so a wrong name costs as long as a wrong password. Made on first use,
    not at import: argon2 takes 64 MB while hashing, and every server worker imports this module."""
    return _hasher.hash("not a password anyone has")


TOKEN_PREFIX = "cs_"
MIN_PASSWORD = 12


class Role(StrEnum):
    ADMIN = "admin"
    OFFICER = "officer"  # their own department's sites, devices and findings
    AUDITOR = "auditor"  # reads everything, changes nothing
    AGENT = "agent"  # pushes observations for one site


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    SCREEN = "screen"
    PUSH = "push"
    AUDIT = "audit"  # read the audit log
    ADMIN = "admin"  # users and other people's tokens


# What each role may ever do; a token narrows this further, never widens it.
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.ADMIN: frozenset(Scope),
    Role.OFFICER: frozenset({Scope.READ, Scope.WRITE, Scope.SCREEN}),
    Role.AUDITOR: frozenset({Scope.READ, Scope.AUDIT}),
    Role.AGENT: frozenset({Scope.PUSH}),
}


class UserError(InputError, ValueError):
    """A user or token cannot be made as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    role: Role
    department_id: int | None
    site_id: int | None
    session_version: int
    must_change_password: bool = False  # a one-time password: pages ask for a new one first


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _user(row: Any) -> User:
    return User(row.id, row.username, Role(row.role), row.department_id, row.site_id, row.session_version,
                bool(row.must_change_password))


def add_user(conn: Connection, username: str, password: str, role: Role | str, *, department: str | None = None,
             site: str | None = None, actor: str = "cli", one_time: bool = False) -> User:
    """Add a user; officers need a department (which must exist), agents a site."""
    username = username.strip()
    if not username or len(username) > 100 or any(c.isspace() for c in username) or has_unsafe_characters(username):
        raise UserError(f"user name {username!r}: use 1–100 characters without spaces")
    try:
        role = Role(role)
    except ValueError as exc:
        raise UserError(f"role {role!r}: expected one of {', '.join(r.value for r in Role)}") from exc
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password too short: use at least {MIN_PASSWORD} characters")
    if conn.scalar(select(UserRow.id).where(UserRow.username == username)) is not None:
        raise UserError(f"user {username!r} already exists")
    department_id = site_id = None
    if role == Role.OFFICER:
        if not department:
            raise UserError("an officer needs --department")
        department_id = conn.scalar(select(Department.id).where(Department.name == department))
        if department_id is None:
            known = ", ".join(conn.scalars(select(Department.name).order_by(Department.name))) or "none yet"
            raise UserError(f"unknown department {department!r} (known: {known[:300]})")
    elif department:
        raise UserError("only officers belong to a department")
    if role == Role.AGENT:
        if not site:
            raise UserError("an agent needs --site")
        site_id = find_site(conn, site)
    elif site:
        raise UserError("only agents are tied to a site")
    user_id = _new_id(conn.execute(insert(UserRow).values(
        username=username, password_hash=_hasher.hash(password), role=role.value, department_id=department_id,
        site_id=site_id, active=True, session_version=0, must_change_password=one_time,
        created_at=_now())))
    record(conn, actor, "user.add", f"user:{user_id}", None,
           {"username": username, "role": role.value, "department": department, "site": site})
    return User(int(user_id), username, role, department_id, site_id, 0, one_time)


def ensure_first_admin(conn: Connection, password: str | None = None) -> str | None:
    """On first start make user 'admin'; returns the one-time password made for it (None if not made now).

    A password passed in (from CLEARSITE_ADMIN_PASSWORD) is used as given and not returned.
    """
    if conn.scalar(select(func.count()).select_from(UserRow)):
        return None
    generated = password is None
    secret = password if password is not None else secrets.token_urlsafe(18)
    add_user(conn, "admin", secret, Role.ADMIN, actor="first-start", one_time=generated)
    return secret if generated else None


def authenticate(conn: Connection, username: str, password: str) -> User | None:
    """The user if the password is right and the account active; None otherwise (same time either way)."""
    row = conn.execute(select(UserRow.__table__).where(UserRow.username == username)).first()
    try:
        _hasher.verify(row.password_hash if row else _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or not row.active:
        return None
    return _user(row)


def get_user(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(UserRow.__table__).where(UserRow.id == user_id, UserRow.active.is_(True))).first()
    return _user(row) if row else None


def change_password(conn: Connection, user: User, current: str, new: str, repeat: str) -> User:
    """Set a new password (ending every other session); the current one must be given. Audited, without secrets."""
    if new != repeat:
        raise UserError("the new passwords differ")
    if len(new) < MIN_PASSWORD:
        raise UserError(f"password too short: use at least {MIN_PASSWORD} characters")
    if new == current:
        raise UserError("choose a password different from the current one")
    if authenticate(conn, user.username, current) is None:
        raise UserError("the current password is wrong")
    version = user.session_version + 1
    conn.execute(update(UserRow).where(UserRow.id == user.id).values(
        password_hash=_hasher.hash(new), must_change_password=False, session_version=version))
    record(conn, user.username, "user.password", f"user:{user.id}", {"password": "previous"}, {"password": "changed"})
    return User(user.id, user.username, user.role, user.department_id, user.site_id, version, False)


def find_user(conn: Connection, username: str) -> User:
    row = conn.execute(select(UserRow.__table__).where(UserRow.username == username)).first()
    if row is None:
        raise UserError(f"unknown user {username!r}")
    return _user(row)


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: int
    token: str  # shown once, never stored
    scopes: tuple[str, ...]
    expires_at: datetime


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(conn: Connection, user: User, name: str, scopes: list[str] | None = None, days: float = 90,
                 actor: str = "cli") -> IssuedToken:
    """Issue a token for `user` with some of the scopes the user's role allows (all of them by default)."""
    name = clean_text(name)  # a host name typed or sent by an agent: PostgreSQL refuses a NUL
    allowed = ROLE_SCOPES[user.role]
    if scopes is not None and not scopes:  # an empty list once meant "everything the role allows"
        raise UserError("a token needs at least one scope; leave scopes out for all the role allows")
    try:
        wanted = frozenset(Scope(s) for s in scopes) if scopes is not None else allowed
    except ValueError as exc:
        raise UserError(f"unknown scope in {scopes!r} (known: {', '.join(s.value for s in Scope)})") from exc
    if not wanted <= allowed:
        extra = ", ".join(sorted(s.value for s in wanted - allowed))
        raise UserError(f"a {user.role.value} may not hold scope {extra}")
    if not 0 < days <= 366:
        raise UserError("a token lasts more than 0 and at most 366 days")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    created = _now()
    expires = created + timedelta(days=days)
    ordered = tuple(sorted(s.value for s in wanted))
    token_id = _new_id(conn.execute(insert(ApiTokenRow).values(
        user_id=user.id, name=name[:100], token_hash=token_digest(token), prefix=token[:10], scopes=list(ordered),
        created_at=created, expires_at=expires, revoked_at=None)))
    record(conn, actor, "token.create", f"token:{token_id}", None,
           {"user": user.username, "name": name[:100], "scopes": list(ordered), "expires_at": expires.isoformat()})
    return IssuedToken(int(token_id), token, ordered, expires)


def revoke_token(conn: Connection, token_id: int, actor: str) -> bool:
    row = conn.execute(select(ApiTokenRow.revoked_at).where(ApiTokenRow.id == token_id)).first()
    if row is None or row.revoked_at is not None:
        return False
    stamp = _now()
    conn.execute(update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(revoked_at=stamp))
    record(conn, actor, "token.revoke", f"token:{token_id}", {"revoked_at": None}, {"revoked_at": stamp.isoformat()})
    return True


@dataclass(frozen=True, slots=True)
class TokenGrant:
    user: User
    scopes: frozenset[Scope]  # the token's, narrowed to what the role allows now
    token_id: int
    expires_at: datetime  # naive UTC

    @property
    def live(self) -> bool:
        return self.expires_at > _now()


def resolve_token(conn: Connection, token: str) -> TokenGrant | None:
    """What a live token grants: its user and scopes; None if unknown, revoked, expired or its user disabled."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    row = conn.execute(
        select(ApiTokenRow.id.label("token_id"), ApiTokenRow.scopes, ApiTokenRow.expires_at, ApiTokenRow.revoked_at,
               UserRow.id, UserRow.username, UserRow.role, UserRow.department_id, UserRow.site_id,
               UserRow.session_version, UserRow.must_change_password, UserRow.active)
        .join(UserRow, UserRow.id == ApiTokenRow.user_id).where(ApiTokenRow.token_hash == token_digest(token))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= _now() or not row.active:
        return None
    user = _user(row)
    scopes = frozenset(Scope(s) for s in row.scopes if s in _SCOPE_NAMES) & ROLE_SCOPES[user.role]
    return TokenGrant(user, scopes, row.token_id, row.expires_at)


_SCOPE_NAMES = frozenset(s.value for s in Scope)


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A token as a list shows it: never the token, never its hash."""

    id: int
    user: str
    name: str
    scopes: tuple[str, ...]
    expires_at: datetime
    revoked_at: datetime | None


def list_tokens(conn: Connection, username: str | None = None) -> list[TokenRecord]:
    """Every token (or one user's), in the order they were issued."""
    query = (select(ApiTokenRow.id, UserRow.username, ApiTokenRow.name, ApiTokenRow.scopes, ApiTokenRow.expires_at,
                    ApiTokenRow.revoked_at).join(UserRow, UserRow.id == ApiTokenRow.user_id).order_by(ApiTokenRow.id))
    if username is not None:
        query = query.where(UserRow.username == find_user(conn, username).username)
    return [TokenRecord(int(r.id), r.username, r.name, tuple(r.scopes or ()), r.expires_at, r.revoked_at)
            for r in conn.execute(query)]
