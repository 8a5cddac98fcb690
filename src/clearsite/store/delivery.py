"""Alert destinations and the delivery outbox: the only SQL of alert delivery.

The outbox holds one row per (alert, destination) with the exact body to send, so delivery survives
a restart and an alert reaches a destination once: enqueueing the same pair twice adds nothing, and
a deliverer must claim a row (a lease, taken by a conditional UPDATE) before it sends it, so two
deliverers (the CLI and the web server's background thread) never send the same row at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from clearsite.store.alerts import AlertRow
from clearsite.store.bulk import new_id
from clearsite.store.delivery_tables import AlertDeliveryRow, AlertDestinationRow
from clearsite.store.tables import Department, SiteRow

__all__ = [
    "AlertToSend",
    "DeliveryRecord",
    "Destination",
    "add_destination",
    "claim_due",
    "deactivate_destination",
    "deliveries",
    "department_id_by_name",
    "department_names",
    "destination",
    "destinations",
    "enqueue",
    "last_alert_id",
    "next_due",
    "record_attempt",
    "redeliver",
    "undelivered_alerts",
]

PENDING, DELIVERED, DEAD, CANCELLED = "pending", "delivered", "dead", "cancelled"


@dataclass(frozen=True, slots=True)
class Destination:
    id: int
    department_id: int
    department: str
    kind: str
    target: str
    secret: str | None
    facility: int
    app_name: str
    from_alert_id: int
    active: bool
    created_at: datetime
    created_by: str


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: int
    alert_id: int
    destination_id: int
    delivery_key: str
    payload: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def department_id_by_name(conn: Connection, name: str) -> int | None:
    found: int | None = conn.scalar(select(Department.id).where(Department.name == name))
    return found


def department_names(conn: Connection) -> dict[int, str]:
    return {row.id: row.name for row in conn.execute(select(Department.id, Department.name))}


def add_destination(conn: Connection, *, department_id: int, kind: str, target: str, secret: str | None,
                    facility: int, app_name: str, from_alert_id: int, created_by: str, now: datetime) -> int:
    return new_id(conn.execute(insert(AlertDestinationRow).values(
        department_id=department_id, kind=kind, target=target, secret=secret, facility=facility, app_name=app_name,
        from_alert_id=from_alert_id, active=True, created_at=now, created_by=created_by[:200])))


def _destination_query() -> Any:
    return (select(AlertDestinationRow.__table__, Department.name.label("department"))
            .join(Department, Department.id == AlertDestinationRow.department_id))


def _destination(row: Any) -> Destination:
    return Destination(row.id, row.department_id, row.department, row.kind, row.target, row.secret, row.facility,
                       row.app_name, row.from_alert_id, row.active, row.created_at, row.created_by)


def destinations(conn: Connection, department_id: int | None = None, active_only: bool = True) -> list[Destination]:
    """Destinations in id order: every department's, or one department's."""
    query = _destination_query().order_by(AlertDestinationRow.id)
    if department_id is not None:
        query = query.where(AlertDestinationRow.department_id == department_id)
    if active_only:
        query = query.where(AlertDestinationRow.active.is_(True))
    return [_destination(row) for row in conn.execute(query)]


def destination(conn: Connection, destination_id: int) -> Destination | None:
    row = conn.execute(_destination_query().where(AlertDestinationRow.id == destination_id)).first()
    return _destination(row) if row is not None else None


def deactivate_destination(conn: Connection, destination_id: int, now: datetime) -> int:
    """Stop delivering to a destination (kept for the record); its pending deliveries are cancelled. Returns
    how many were cancelled."""
    conn.execute(update(AlertDestinationRow).where(AlertDestinationRow.id == destination_id)
                 .values(active=False, removed_at=now))
    result = conn.execute(update(AlertDeliveryRow)
                          .where(AlertDeliveryRow.destination_id == destination_id, AlertDeliveryRow.status == PENDING)
                          .values(status=CANCELLED, lease_until=None, last_error="destination removed"))
    return result.rowcount


@dataclass(frozen=True, slots=True)
class AlertToSend:
    """An alert one destination has not been given yet."""

    destination_id: int
    id: int
    kind: str
    department: str
    site: str | None
    device_id: int | None
    at: datetime
    detail: str


def last_alert_id(conn: Connection) -> int:
    """The highest alert id so far (0 when there is none): a new destination gets alerts above it."""
    return int(conn.scalar(select(func.max(AlertRow.id))) or 0)


def undelivered_alerts(conn: Connection, limit: int = 10_000) -> list[AlertToSend]:
    """For every active destination, the alerts of its department raised since it was added that are not in
    the outbox for it yet (the unique (alert, destination) index answers the NOT EXISTS)."""
    queued = (select(AlertDeliveryRow.id).where(AlertDeliveryRow.alert_id == AlertRow.id,
                                                AlertDeliveryRow.destination_id == AlertDestinationRow.id).exists())
    query = (select(AlertDestinationRow.id.label("destination_id"), AlertRow.id, AlertRow.kind,
                    Department.name.label("department"), SiteRow.name.label("site"), AlertRow.device_id, AlertRow.at,
                    AlertRow.detail)
             .join(AlertRow, AlertRow.department_id == AlertDestinationRow.department_id)
             .join(Department, Department.id == AlertDestinationRow.department_id)
             .outerjoin(SiteRow, SiteRow.id == AlertRow.site_id)
             .where(AlertDestinationRow.active.is_(True), AlertRow.id > AlertDestinationRow.from_alert_id, ~queued)
             .order_by(AlertRow.id, AlertDestinationRow.id).limit(limit))
    return [AlertToSend(*row) for row in conn.execute(query)]


def enqueue(conn: Connection, rows: Sequence[dict[str, Any]], now: datetime) -> int:
    """Add outbox rows ({alert_id, destination_id, delivery_key, payload}); a pair already queued is left as it
    is. Returns how many were added."""
    if not rows:
        return 0
    values = [{**row, "status": PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now} for row in rows]
    dialect = conn.dialect.name
    if dialect == "postgresql":
        statement: Any = pg_insert(AlertDeliveryRow).on_conflict_do_nothing(
            index_elements=["alert_id", "destination_id"])
    elif dialect == "sqlite":
        statement = sqlite_insert(AlertDeliveryRow).on_conflict_do_nothing(
            index_elements=["alert_id", "destination_id"])
    else:  # pragma: no cover - clearsite runs on SQLite and PostgreSQL
        raise RuntimeError(f"unsupported database {dialect}")
    before = conn.scalar(select(func.count()).select_from(AlertDeliveryRow)) or 0
    conn.execute(statement, values)
    after = conn.scalar(select(func.count()).select_from(AlertDeliveryRow)) or 0
    return int(after - before)


def queued_pairs(conn: Connection, destination_ids: Sequence[int], min_alert_id: int) -> set[tuple[int, int]]:
    """(alert id, destination id) already in the outbox, for alerts above `min_alert_id`."""
    if not destination_ids:
        return set()
    query = select(AlertDeliveryRow.alert_id, AlertDeliveryRow.destination_id).where(
        AlertDeliveryRow.destination_id.in_(destination_ids), AlertDeliveryRow.alert_id > min_alert_id)
    return {(row.alert_id, row.destination_id) for row in conn.execute(query)}


def _record(row: Any) -> DeliveryRecord:
    return DeliveryRecord(row.id, row.alert_id, row.destination_id, row.delivery_key, row.payload, row.status,
                          row.attempts, row.next_attempt_at, row.last_error, row.created_at, row.delivered_at)


def claim_due(conn: Connection, now: datetime, lease: timedelta, limit: int = 100) -> list[DeliveryRecord]:
    """Pending rows due by `now` that no other deliverer holds, each leased to this caller until now + lease."""
    free = or_(AlertDeliveryRow.lease_until.is_(None), AlertDeliveryRow.lease_until < now)
    due = and_(AlertDeliveryRow.status == PENDING, AlertDeliveryRow.next_attempt_at <= now, free)
    candidates = [row.id for row in conn.execute(
        select(AlertDeliveryRow.id).where(due).order_by(AlertDeliveryRow.next_attempt_at, AlertDeliveryRow.id)
        .limit(limit))]
    claimed: list[DeliveryRecord] = []
    for delivery_id in candidates:
        # Conditional on still being free: of two deliverers racing for a row, one updates it and one sees 0 rows.
        taken = conn.execute(update(AlertDeliveryRow).where(AlertDeliveryRow.id == delivery_id, due)
                             .values(lease_until=now + lease))
        if taken.rowcount == 1:
            row = conn.execute(select(AlertDeliveryRow.__table__).where(AlertDeliveryRow.id == delivery_id)).one()
            claimed.append(_record(row))
    return claimed


def record_attempt(conn: Connection, delivery_id: int, *, attempts: int, now: datetime, error: str | None,
                   next_attempt_at: datetime | None) -> None:
    """After one attempt: delivered when `error` is None; otherwise pending again at `next_attempt_at`, or a
    dead letter when that is None (no attempts left)."""
    if error is None:
        values: dict[str, Any] = {"status": DELIVERED, "delivered_at": now, "last_error": None}
    elif next_attempt_at is None:
        values = {"status": DEAD, "last_error": error[:500]}
    else:
        values = {"next_attempt_at": next_attempt_at, "last_error": error[:500]}
    conn.execute(update(AlertDeliveryRow).where(AlertDeliveryRow.id == delivery_id, AlertDeliveryRow.status == PENDING)
                 .values(attempts=attempts, lease_until=None, **values))


def next_due(conn: Connection, destination_ids: Sequence[int] | None = None) -> datetime | None:
    """When the earliest pending row falls due (None when nothing is pending)."""
    query = select(func.min(AlertDeliveryRow.next_attempt_at)).where(AlertDeliveryRow.status == PENDING)
    if destination_ids is not None:
        query = query.where(AlertDeliveryRow.destination_id.in_(destination_ids))
    found: datetime | None = conn.scalar(query)
    return found


def deliveries(conn: Connection, *, status: str | None = None, department_id: int | None = None,
               delivery_id: int | None = None, limit: int = 1000) -> list[DeliveryRecord]:
    query = (select(AlertDeliveryRow.__table__)
             .join(AlertDestinationRow, AlertDestinationRow.id == AlertDeliveryRow.destination_id)
             .order_by(AlertDeliveryRow.id).limit(limit))
    if status is not None:
        query = query.where(AlertDeliveryRow.status == status)
    if department_id is not None:
        query = query.where(AlertDestinationRow.department_id == department_id)
    if delivery_id is not None:
        query = query.where(AlertDeliveryRow.id == delivery_id)
    return [_record(row) for row in conn.execute(query)]


def redeliver(conn: Connection, delivery_id: int, now: datetime) -> bool:
    """Put a dead letter back in the outbox with a fresh set of attempts; False when it is not a dead letter
    (or its destination has been removed)."""
    active = select(AlertDestinationRow.id).where(AlertDestinationRow.id == AlertDeliveryRow.destination_id,
                                                  AlertDestinationRow.active.is_(True)).exists()
    result = conn.execute(update(AlertDeliveryRow)
                          .where(AlertDeliveryRow.id == delivery_id, AlertDeliveryRow.status == DEAD, active)
                          .values(status=PENDING, attempts=0, next_attempt_at=now, lease_until=None))
    return result.rowcount == 1


def counts(conn: Connection, department_id: int | None = None) -> dict[str, int]:
    """How many outbox rows are in each status."""
    query = (select(AlertDeliveryRow.status, func.count())
             .join(AlertDestinationRow, AlertDestinationRow.id == AlertDeliveryRow.destination_id)
             .group_by(AlertDeliveryRow.status))
    if department_id is not None:
        query = query.where(AlertDestinationRow.department_id == department_id)
    return {row[0]: int(row[1]) for row in conn.execute(query)}
