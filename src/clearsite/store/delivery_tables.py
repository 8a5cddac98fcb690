"""Where alerts go and how far each got: destinations per department, the delivery outbox, department keys.

Kept apart from `tables.py` (the equipment schema); they share its `Base`, so one metadata and one
migration chain (0008) cover them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clearsite.store.tables import Base

__all__ = ["AlertDeliveryRow", "AlertDestinationRow", "DepartmentKeyRow"]


class AlertDestinationRow(Base):
    """A webhook or syslog receiver that one department's alerts are delivered to."""

    __tablename__ = "alert_destinations"
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # webhook, syslog
    target: Mapped[str] = mapped_column(String(500))  # https://…, udp://host:port, tcp://host:port
    secret: Mapped[str | None] = mapped_column(String(200))  # webhooks: the HMAC key (never shown again)
    facility: Mapped[int] = mapped_column(Integer, default=13)  # syslog facility number (13: log audit)
    app_name: Mapped[str] = mapped_column(String(48), default="clearsite")
    # Alerts with ids above this are delivered: a new destination is not flooded with history.
    from_alert_id: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime)


class AlertDeliveryRow(Base):
    """The outbox: one row per (alert, destination), holding the exact body sent and how far it got.

    status: pending → delivered, or → dead (a dead letter after the last attempt), or → cancelled
    (its destination was removed). `lease_until` stops two deliverers sending the same row at once.
    """

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("alert_id", "destination_id"),
                      Index("ix_alert_deliveries_due", "status", "next_attempt_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(Integer)
    destination_id: Mapped[int] = mapped_column(ForeignKey("alert_destinations.id"), index=True)
    delivery_key: Mapped[str] = mapped_column(String(36), unique=True)  # receivers de-duplicate on it
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON of the alert, as it was when raised
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)


class DepartmentKeyRow(Base):
    """A department's Ed25519 signing key: the public half here, the private half in a file (mode 0600)."""

    __tablename__ = "department_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the raw public key
    public_pem: Mapped[str] = mapped_column(Text)
    private_key_path: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime)
