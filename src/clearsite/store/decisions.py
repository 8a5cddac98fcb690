"""Review decisions and flags: the history of what people settled, and each device's state now.

`review_decisions` is append-only history (a withdrawal is one more row). `review_states` holds, per
device that has any, the decision in force (NULL once withdrawn) and the flag that sent it back to a
person; the device reader reads it a page at a time (`review_states_between`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    ForeignKey,
    Row,
    String,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from clearsite.core.models import NilSubject
from clearsite.core.review import Decision, ReviewFlag, ReviewState
from clearsite.store.tables import Base

__all__ = ["NewDecision", "ReviewDecisionRow", "ReviewStateRow", "add_decision", "clear_flag", "decision_history",
           "decisions_in_force", "flagged_device_ids", "raise_flag", "review_states", "review_states_between"]


class ReviewDecisionRow(Base):
    """One review decision: settle (confirm or override) or withdraw. Never edited."""

    __tablename__ = "review_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # settle, withdraw
    nil_subject: Mapped[str | None] = mapped_column(String(16))
    producer_id: Mapped[str | None] = mapped_column(String(64))
    device_class: Mapped[str | None] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(120))  # seen on site
    label_brand: Mapped[str | None] = mapped_column(String(120))  # make seen on site
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(DateTime)
    machine_producer: Mapped[str | None] = mapped_column(String(64))  # the verdict it was made against
    machine_nil: Mapped[str | None] = mapped_column(String(16))


class ReviewStateRow(Base):
    """A device's review state now: the decision in force (NULL: the machine's verdict) and any flag."""

    __tablename__ = "review_states"
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("review_decisions.id"))
    flag_kind: Mapped[str | None] = mapped_column(String(32))
    flag_reason: Mapped[str | None] = mapped_column(Text)
    flag_raised_at: Mapped[datetime | None] = mapped_column(DateTime)


@dataclass(frozen=True, slots=True)
class NewDecision:
    """A decision about to be stored (its fields already resolved and checked by the service)."""

    device_id: int
    action: str
    nil_subject: str | None
    producer_id: str | None
    device_class: str | None
    model: str | None
    label_brand: str | None
    reason: str
    actor: str
    decided_at: datetime
    machine_producer: str | None
    machine_nil: str | None


_DECISION_COLUMNS = (ReviewDecisionRow.id, ReviewDecisionRow.device_id, ReviewDecisionRow.action,
                     ReviewDecisionRow.nil_subject, ReviewDecisionRow.producer_id, ReviewDecisionRow.device_class,
                     ReviewDecisionRow.model, ReviewDecisionRow.label_brand, ReviewDecisionRow.reason,
                     ReviewDecisionRow.actor, ReviewDecisionRow.decided_at, ReviewDecisionRow.machine_producer,
                     ReviewDecisionRow.machine_nil)


def _decision(row: Row[Any] | Sequence[Any]) -> Decision:
    fields: Sequence[Any] = tuple(row)
    (decision_id, device_id, action, nil_subject, producer_id, device_class, model, label_brand, reason, actor,
     decided_at, machine_producer, machine_nil) = fields
    return Decision(decision_id, device_id, action, NilSubject(nil_subject) if nil_subject else None, producer_id,
                    device_class, model, label_brand, reason, actor, _datetime(decided_at), machine_producer,
                    machine_nil)


def _datetime(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def add_decision(conn: Connection, new: NewDecision) -> Decision:
    """Store a decision and make it the device's state (a withdrawal leaves none in force); clears any flag."""
    values = {column.key: getattr(new, column.key) for column in _DECISION_COLUMNS[1:]}
    decision_id = conn.execute(insert(ReviewDecisionRow).values(**values).returning(ReviewDecisionRow.id)).scalar_one()
    in_force = decision_id if new.action == "settle" else None
    state = {"decision_id": in_force, "flag_kind": None, "flag_reason": None, "flag_raised_at": None}
    changed = conn.execute(update(ReviewStateRow).where(ReviewStateRow.device_id == new.device_id).values(**state))
    if changed.rowcount == 0:
        conn.execute(insert(ReviewStateRow).values(device_id=new.device_id, **state))
    return _decision((decision_id, *values.values()))


def raise_flag(conn: Connection, device_id: int, kind: str, reason: str, at: datetime) -> None:
    """Send a device back to a person (the decision in force, if any, stays recorded and in force)."""
    values = {"flag_kind": kind, "flag_reason": reason[:2000], "flag_raised_at": at}
    changed = conn.execute(update(ReviewStateRow).where(ReviewStateRow.device_id == device_id).values(**values))
    if changed.rowcount == 0:
        conn.execute(insert(ReviewStateRow).values(device_id=device_id, decision_id=None, **values))


def clear_flag(conn: Connection, device_id: int) -> None:
    conn.execute(update(ReviewStateRow).where(ReviewStateRow.device_id == device_id)
                 .values(flag_kind=None, flag_reason=None, flag_raised_at=None))
    conn.execute(delete(ReviewStateRow).where((ReviewStateRow.device_id == device_id)
                                              & ReviewStateRow.decision_id.is_(None)))


def _states(conn: Connection, condition: Any) -> dict[int, ReviewState]:
    query = (select(ReviewStateRow.device_id, ReviewStateRow.flag_kind, ReviewStateRow.flag_reason,
                    ReviewStateRow.flag_raised_at, *_DECISION_COLUMNS)
             .outerjoin(ReviewDecisionRow, ReviewDecisionRow.id == ReviewStateRow.decision_id).where(condition))
    found: dict[int, ReviewState] = {}
    for row in conn.execute(query):
        flag = ReviewFlag(row[1], row[2] or "", _datetime(row[3])) if row[1] and row[3] else None
        decision = _decision(row[4:]) if row[4] is not None else None
        if decision is not None or flag is not None:
            found[row[0]] = ReviewState(decision, flag)
    return found


def review_states_between(conn: Connection, low: int, high: int) -> dict[int, ReviewState]:
    """The review states of devices with ids from low to high (one query per page of the device reader)."""
    return _states(conn, ReviewStateRow.device_id.between(low, high))


def review_states(conn: Connection, device_ids: Iterable[int]) -> dict[int, ReviewState]:
    ids = sorted(set(device_ids))
    found: dict[int, ReviewState] = {}
    for start in range(0, len(ids), 5000):
        found.update(_states(conn, ReviewStateRow.device_id.in_(ids[start : start + 5000])))
    return found


def decisions_in_force(conn: Connection) -> set[int]:
    """Devices with a decision in force (few: people make them), so an intake checks only those."""
    return set(conn.execute(select(ReviewStateRow.device_id).where(ReviewStateRow.decision_id.is_not(None))).scalars())


def flagged_device_ids(conn: Connection) -> list[int]:
    return list(conn.execute(select(ReviewStateRow.device_id).where(ReviewStateRow.flag_kind.is_not(None))
                             .order_by(ReviewStateRow.device_id)).scalars())


def decision_history(conn: Connection, device_id: int) -> list[Decision]:
    """Every decision about a device, newest first."""
    rows = conn.execute(select(*_DECISION_COLUMNS).where(ReviewDecisionRow.device_id == device_id)
                        .order_by(ReviewDecisionRow.id.desc()))
    return [_decision(row) for row in rows]
