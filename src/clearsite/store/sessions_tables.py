"""Server-side sessions and failed-login counters (tables of migration 0010)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from clearsite.store.tables import Base


class SessionRow(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's secret is kept, like tokens."""

    __tablename__ = "sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    client: Mapped[str] = mapped_column(String(100))  # the address it signed in from, for the account page


class LoginFailureRow(Base):
    """Failed logins for one (name, client address), keyed by hashes: a password typed into the name
    field is never stored."""

    __tablename__ = "login_failures"
    pair_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64), index=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
