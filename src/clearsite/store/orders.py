"""Work orders (one per planned visit) and their extension requests.

An order is keyed by its site and its visit's number at that site in the plan (`seq`), so that
re-planning finds the order a visit already has and updates it while it has not started.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from clearsite.store.ordering import byte_order
from clearsite.store.reads import SiteScope, site_clause
from clearsite.store.tables import Base, SiteRow

__all__ = ["ExtensionRow", "OrderExtension", "StoredOrder", "WorkOrderRow", "add_extension", "decide_extension",
           "insert_order", "order_extensions", "read_orders", "update_order"]


class WorkOrderRow(Base):
    __tablename__ = "work_orders"
    __table_args__ = (UniqueConstraint("site_id", "seq"), Index("ix_work_orders_status", "status", "due"))
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    seq: Mapped[int] = mapped_column(Integer)  # the visit's number at its site in the plan, from 1
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    week: Mapped[date] = mapped_column(Date)
    crew: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16))
    devices: Mapped[list[Any]] = mapped_column(JSON)
    est_hours: Mapped[float] = mapped_column(Float)
    est_cost: Mapped[float] = mapped_column(Float)
    due: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class ExtensionRow(Base):
    __tablename__ = "order_extensions"
    __table_args__ = (Index("ix_order_extensions_order", "order_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    requested_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    previous_due: Mapped[date] = mapped_column(Date)
    new_due: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # requested, approved, refused
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)


@dataclass(frozen=True, slots=True)
class StoredOrder:
    id: int
    site_id: int
    site: str
    department_id: int
    seq: int
    plan_id: int | None
    week: date
    crew: str
    status: str
    devices: list[int]
    est_hours: float
    est_cost: float
    due: date
    note: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OrderExtension:
    id: int
    order_id: int
    requested_at: datetime
    requested_by: str
    reason: str
    previous_due: date
    new_due: date
    status: str
    decided_by: str | None
    decided_at: datetime | None


def read_orders(conn: Connection, scope: SiteScope, *, order_id: int | None = None, site_id: int | None = None,
                statuses: Sequence[str] | None = None) -> list[StoredOrder]:
    """Orders in the scope by week, site and visit number."""
    query = (select(WorkOrderRow.id, WorkOrderRow.site_id, SiteRow.name, SiteRow.department_id, WorkOrderRow.seq,
                    WorkOrderRow.plan_id, WorkOrderRow.week, WorkOrderRow.crew, WorkOrderRow.status,
                    WorkOrderRow.devices, WorkOrderRow.est_hours, WorkOrderRow.est_cost, WorkOrderRow.due,
                    WorkOrderRow.note, WorkOrderRow.created_at, WorkOrderRow.updated_at)
             .join(SiteRow, SiteRow.id == WorkOrderRow.site_id).where(site_clause(scope))
             .order_by(WorkOrderRow.week, byte_order(SiteRow.name), WorkOrderRow.seq))
    if order_id is not None:
        query = query.where(WorkOrderRow.id == order_id)
    if site_id is not None:
        query = query.where(WorkOrderRow.site_id == site_id)
    if statuses is not None:
        query = query.where(WorkOrderRow.status.in_(list(statuses)))
    return [StoredOrder(*[*row[:9], [int(d) for d in row[9] or []], *row[10:]]) for row in conn.execute(query)]


def insert_order(conn: Connection, values: dict[str, Any]) -> int:
    key = conn.execute(insert(WorkOrderRow).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def update_order(conn: Connection, order_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(WorkOrderRow).where(WorkOrderRow.id == order_id).values(**values))


def add_extension(conn: Connection, values: dict[str, Any]) -> int:
    key = conn.execute(insert(ExtensionRow).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def decide_extension(conn: Connection, extension_id: int, status: str, by: str, at: datetime) -> None:
    conn.execute(update(ExtensionRow).where(ExtensionRow.id == extension_id)
                 .values(status=status, decided_by=by, decided_at=at))


def order_extensions(conn: Connection, order_ids: Sequence[int] | None = None,
                     extension_id: int | None = None) -> list[OrderExtension]:
    """Extension requests, oldest first: of those orders, or the one asked for."""
    query = select(ExtensionRow.id, ExtensionRow.order_id, ExtensionRow.requested_at, ExtensionRow.requested_by,
                   ExtensionRow.reason, ExtensionRow.previous_due, ExtensionRow.new_due, ExtensionRow.status,
                   ExtensionRow.decided_by, ExtensionRow.decided_at).order_by(ExtensionRow.id)
    if order_ids is not None:
        query = query.where(ExtensionRow.order_id.in_(list(order_ids)))
    if extension_id is not None:
        query = query.where(ExtensionRow.id == extension_id)
    return [OrderExtension(*list(row)) for row in conn.execute(query)]
