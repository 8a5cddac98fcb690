"""Removal claims and their evidence, and what observations covered (so absence can be proved).

A removal row is the device's current claim: who says it went, when, with what evidence, and what
later observations made of it (status claimed / verified / contradicted / reappeared). Files are
stored content-addressed beside the database; the rows here hold their hashes. Coverage rows say
which addresses (or, for a switch table, which site's MACs) an intake looked at, and when.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
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
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from clearsite.store.tables import Base, DeviceRow, IdentityRow, SiteRow

if TYPE_CHECKING:
    from clearsite.store.reads import SiteScope

__all__ = ["CHUNK", "CoverageRow", "DeviceRemoval", "RemovalFileRow", "RemovalRow", "StoredCoverage", "StoredFile", "StoredRemoval",
           "add_coverage", "add_removal_file", "claim_identities", "coverage_since", "device_keys", "identity_rows",
           "insert_removal", "read_removals", "removal_files", "removals_between", "set_removed_on", "update_removal",
           "update_removals"]

CHUNK = 5000


class RemovalRow(Base):
    __tablename__ = "removals"
    __table_args__ = (Index("ix_removals_site_status", "site_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))
    status: Mapped[str] = mapped_column(String(16))
    removed_on: Mapped[date] = mapped_column(Date)
    claimed_at: Mapped[datetime] = mapped_column(DateTime)
    claimed_by: Mapped[str] = mapped_column(String(200))  # the account that recorded it
    removed_by: Mapped[str | None] = mapped_column(String(200))  # who did the work, as they said
    disposal_ref: Mapped[str | None] = mapped_column(Text)
    cost: Mapped[float | None] = mapped_column(Float)
    last_ip: Mapped[str | None] = mapped_column(String(45))
    last_mac: Mapped[str | None] = mapped_column(String(17))
    last_serial: Mapped[str | None] = mapped_column(String(120))
    identity: Mapped[dict[str, Any]] = mapped_column(JSON)  # label brand, producer, model when claimed
    replacement: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status_at: Mapped[datetime] = mapped_column(DateTime)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    proof: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the observation that verified or contradicted it


class RemovalFileRow(Base):
    __tablename__ = "removal_files"
    __table_args__ = (UniqueConstraint("removal_id", "sha256"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    removal_id: Mapped[int] = mapped_column(ForeignKey("removals.id"))
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(DateTime)
    added_by: Mapped[str] = mapped_column(String(200))


class CoverageRow(Base):
    """What one intake looked at: these targets (addresses, networks) at this site, at this time."""

    __tablename__ = "observation_coverage"
    __table_args__ = (Index("ix_observation_coverage_site", "site_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    kind: Mapped[str] = mapped_column(String(32))  # scan, agent, switch
    at: Mapped[datetime] = mapped_column(DateTime)
    targets: Mapped[list[Any]] = mapped_column(JSON)  # CIDR text
    by_mac: Mapped[bool] = mapped_column(Boolean, default=False)  # a switch table: every MAC at the site


@dataclass(frozen=True, slots=True)
class StoredRemoval:
    id: int
    device_id: int
    site_id: int
    order_id: int | None
    status: str
    removed_on: date
    claimed_at: datetime
    claimed_by: str
    removed_by: str | None
    disposal_ref: str | None
    cost: float | None
    last_ip: str | None
    last_mac: str | None
    last_serial: str | None
    identity: dict[str, Any]
    replacement: dict[str, Any] | None
    status_at: datetime
    verified_at: datetime | None
    proof: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class StoredFile:
    id: int
    removal_id: int
    name: str
    sha256: str
    size: int
    added_at: datetime
    added_by: str


@dataclass(frozen=True, slots=True)
class StoredCoverage:
    id: int
    source_id: int
    site_id: int
    kind: str
    at: datetime
    targets: list[str]
    by_mac: bool


_REMOVAL_COLUMNS = [getattr(RemovalRow, name) for name in StoredRemoval.__slots__]


def read_removals(conn: Connection, scope: SiteScope | None = None, *, device_ids: Sequence[int] | None = None,
                  site_ids: Iterable[int] | None = None, statuses: Sequence[str] | None = None,
                  order_id: int | None = None) -> list[StoredRemoval]:
    """Removal claims, by device id; within a scope when one is given."""
    query = select(*_REMOVAL_COLUMNS).order_by(RemovalRow.device_id)
    if scope is not None:
        from clearsite.store.reads import site_clause  # the device reader imports this module

        query = query.join(SiteRow, SiteRow.id == RemovalRow.site_id).where(site_clause(scope))
    if statuses is not None:
        query = query.where(RemovalRow.status.in_(list(statuses)))
    if order_id is not None:
        query = query.where(RemovalRow.order_id == order_id)
    if site_ids is not None:
        query = query.where(RemovalRow.site_id.in_(sorted(set(site_ids))))
    if device_ids is None:
        return [StoredRemoval(*row) for row in conn.execute(query)]
    ids = sorted(set(device_ids))
    found: list[StoredRemoval] = []
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        found.extend(StoredRemoval(*row) for row in conn.execute(query.where(RemovalRow.device_id.in_(part))))
    return found


def insert_removal(conn: Connection, values: dict[str, Any]) -> int:
    key = conn.execute(insert(RemovalRow).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def update_removal(conn: Connection, removal_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(RemovalRow).where(RemovalRow.id == removal_id).values(**values))


def update_removals(conn: Connection, changes: Sequence[dict[str, Any]]) -> None:
    """Many claims' status moves at once: each dict holds id, status, status_at, verified_at, proof."""
    if changes:
        conn.execute(update(RemovalRow).where(RemovalRow.id == bindparam("b_id")).values(
            status=bindparam("b_status"), status_at=bindparam("b_status_at"),
            verified_at=bindparam("b_verified_at"), proof=bindparam("b_proof")),
            [{f"b_{key}": value for key, value in change.items()} for change in changes])


def set_removed_on(conn: Connection, device_ids: Sequence[int], removed_on: date | None) -> None:
    """The date assessment reads as the device's removal (None: it is there after all)."""
    ids = sorted(set(device_ids))
    for start in range(0, len(ids), CHUNK):
        conn.execute(update(DeviceRow).where(DeviceRow.id.in_(ids[start : start + CHUNK])).values(removed_on=removed_on))


def device_keys(conn: Connection, device_ids: Sequence[int]) -> dict[int, tuple[int, str | None, str | None, str | None]]:
    """Each device's site, IP, MAC and serial."""
    found: dict[int, tuple[int, str | None, str | None, str | None]] = {}
    ids = sorted(set(device_ids))
    for start in range(0, len(ids), CHUNK):
        query = select(DeviceRow.id, DeviceRow.site_id, DeviceRow.ip, DeviceRow.mac, DeviceRow.serial) \
            .where(DeviceRow.id.in_(ids[start : start + CHUNK]))
        found.update((row.id, (row.site_id, row.ip, row.mac, row.serial)) for row in conn.execute(query))
    return found


def identity_rows(conn: Connection, device_ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
    """Each identified device's label brand, producer id, model, device class and confidence."""
    found: dict[int, tuple[Any, ...]] = {}
    ids = sorted(set(device_ids))
    for start in range(0, len(ids), CHUNK):
        query = select(IdentityRow.device_id, IdentityRow.label_brand, IdentityRow.producer_id, IdentityRow.model,
                       IdentityRow.device_class, IdentityRow.confidence) \
            .where(IdentityRow.device_id.in_(ids[start : start + CHUNK]))
        found.update((row[0], tuple(row[1:])) for row in conn.execute(query))
    return found


def claim_identities(conn: Connection, device_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The identity each device had, as a claim stores it."""
    return {device_id: {"label_brand": row[0], "producer_id": row[1], "model": row[2]}
            for device_id, row in identity_rows(conn, device_ids).items()}


def add_removal_file(conn: Connection, values: dict[str, Any]) -> int | None:
    """Attach a stored file to a claim; None when the claim already holds a file with that hash."""
    known = conn.scalar(select(RemovalFileRow.id).where(RemovalFileRow.removal_id == values["removal_id"],
                                                        RemovalFileRow.sha256 == values["sha256"]))
    if known is not None:
        return None
    key = conn.execute(insert(RemovalFileRow).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def removal_files(conn: Connection, removal_ids: Sequence[int]) -> dict[int, list[StoredFile]]:
    found: dict[int, list[StoredFile]] = {}
    ids = sorted(set(removal_ids))
    for start in range(0, len(ids), CHUNK):
        query = select(RemovalFileRow.id, RemovalFileRow.removal_id, RemovalFileRow.name, RemovalFileRow.sha256,
                       RemovalFileRow.size, RemovalFileRow.added_at, RemovalFileRow.added_by) \
            .where(RemovalFileRow.removal_id.in_(ids[start : start + CHUNK])).order_by(RemovalFileRow.id)
        for row in conn.execute(query):
            found.setdefault(row.removal_id, []).append(StoredFile(*row))
    return found


def add_coverage(conn: Connection, *, source_id: int, site_id: int, kind: str, at: datetime, targets: Sequence[str],
                 by_mac: bool = False) -> int:
    key = conn.execute(insert(CoverageRow).values(source_id=source_id, site_id=site_id, kind=kind, at=at,
                                                  targets=list(targets), by_mac=by_mac)).inserted_primary_key
    assert key is not None
    return int(key[0])


def coverage_since(conn: Connection, site_ids: Iterable[int], since: datetime) -> list[StoredCoverage]:
    """Coverage at those sites at or after `since`, oldest first."""
    ids = sorted(set(site_ids))
    found: list[StoredCoverage] = []
    for start in range(0, len(ids), CHUNK):
        query = select(CoverageRow.id, CoverageRow.source_id, CoverageRow.site_id, CoverageRow.kind, CoverageRow.at,
                       CoverageRow.targets, CoverageRow.by_mac) \
            .where(CoverageRow.site_id.in_(ids[start : start + CHUNK]), CoverageRow.at >= since) \
            .order_by(CoverageRow.at, CoverageRow.id)
        found.extend(StoredCoverage(*row) for row in conn.execute(query))
    return found


@dataclass(frozen=True, slots=True)
class DeviceRemoval:
    """A device's claim with its files, as the device reader hands it on."""

    claim: StoredRemoval
    files: list[StoredFile]


def removals_between(conn: Connection, first_device: int, last_device: int) -> dict[int, DeviceRemoval]:
    """The claims of devices with ids in [first, last], with their files (one query when there are none)."""
    claims = [StoredRemoval(*row) for row in conn.execute(
        select(*_REMOVAL_COLUMNS).where(RemovalRow.device_id >= first_device, RemovalRow.device_id <= last_device))]
    if not claims:
        return {}
    files = removal_files(conn, [c.id for c in claims])
    return {c.device_id: DeviceRemoval(c, files.get(c.id, [])) for c in claims}
