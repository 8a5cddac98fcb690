"""Alerts: one row per condition that needs a person, stored once however often it is noticed.

`dedupe_key` is unique: raising the same condition again (the same device contradicted by the next
scan too) inserts nothing. Alerts are never edited; delivery keeps its own records of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, DateTime, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from clearsite.store.reads import SiteScope
from clearsite.store.tables import Base, SiteRow

__all__ = ["AlertRow", "StoredAlert", "insert_alert", "read_alerts", "site_department"]


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_at", "at"), Index("ix_alerts_department", "department_id", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    device_id: Mapped[int | None] = mapped_column(Integer)  # no foreign key: an alert outlives what it names
    at: Mapped[datetime] = mapped_column(DateTime)
    detail: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)


@dataclass(frozen=True, slots=True)
class StoredAlert:
    id: int
    kind: str
    department_id: int | None
    site_id: int | None
    site: str | None
    device_id: int | None
    at: datetime
    detail: str


def site_department(conn: Connection, site_id: int) -> int | None:
    return conn.scalar(select(SiteRow.department_id).where(SiteRow.id == site_id))


def insert_alert(conn: Connection, *, kind: str, department_id: int | None, site_id: int | None,
                 device_id: int | None, at: datetime, detail: str, dedupe_key: str) -> int | None:
    """Store an alert; None when one with the same dedupe key is already stored (nothing is written)."""
    values = {"kind": kind, "department_id": department_id, "site_id": site_id, "device_id": device_id, "at": at,
              "detail": detail, "dedupe_key": dedupe_key[:200]}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(AlertRow).values(**values)
                 .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(AlertRow.id))
    found = conn.execute(statement).scalar()
    return int(found) if found is not None else None


def read_alerts(conn: Connection, scope: SiteScope, *, since: datetime | None = None, kind: str | None = None,
                after_id: int = 0, limit: int | None = None) -> list[StoredAlert]:
    """Alerts in the scope, oldest first: a department sees its own, a site scope its site's."""
    if scope.nothing:
        return []
    query = (select(AlertRow.id, AlertRow.kind, AlertRow.department_id, AlertRow.site_id, SiteRow.name,
                    AlertRow.device_id, AlertRow.at, AlertRow.detail)
             .outerjoin(SiteRow, SiteRow.id == AlertRow.site_id).where(AlertRow.id > after_id)
             .order_by(AlertRow.at, AlertRow.id))
    if scope.department_id is not None:
        query = query.where(AlertRow.department_id == scope.department_id)
    if scope.site_id is not None:
        query = query.where(AlertRow.site_id == scope.site_id)
    if since is not None:
        query = query.where(AlertRow.at >= since)
    if kind is not None:
        query = query.where(AlertRow.kind == kind)
    if limit is not None:
        query = query.limit(limit)
    return [StoredAlert(*row) for row in conn.execute(query)]
