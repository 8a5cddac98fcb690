"""Who may do what, and the record of what they did: users, API tokens, the audit log, supplier attestations.

Kept apart from `tables.py` so the core schema stays about equipment; the tables share one `Base`
so one metadata and one set of migrations cover both.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from clearsite.store.tables import Base


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, parameters in the hash
    role: Mapped[str] = mapped_column(String(16))  # admin, officer, auditor, agent
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))  # officers only
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))  # agents only
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_version: Mapped[int] = mapped_column(Integer, default=0)  # bumping it ends every session
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)  # set for a one-time password
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ApiTokenRow(Base):
    """A bearer token: only its SHA-256 is stored (the token is 256 random bits, so no slow hash is needed)."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists so a person can tell tokens apart
    scopes: Mapped[list[Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditRow(Base):
    """One change, hash-chained to the one before. Rows are only ever inserted (triggers refuse the rest)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)  # 1, 2, 3 …: a gap is a deletion
    at: Mapped[str] = mapped_column(String(32))  # ISO 8601 UTC text: hashed exactly as stored
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    before: Mapped[str] = mapped_column(Text)  # canonical JSON text, hashed exactly as stored
    after: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AttestationRow(Base):
    """A supplier's signed representation (e.g. FAR 52.204-24(d)), which procurement screening weighs."""

    __tablename__ = "attestations"
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))  # None: for every department
    supplier: Mapped[str] = mapped_column(String(200))
    statement: Mapped[str] = mapped_column(String(200))  # a clearsite.core.screen Statement value
    signed: Mapped[date] = mapped_column(Date)
    expires: Mapped[date] = mapped_column(Date)  # valid until the day before
    source: Mapped[str] = mapped_column(String(500))  # the document or system it was read from
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)
