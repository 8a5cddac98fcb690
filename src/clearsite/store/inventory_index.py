"""The inventory's search index: one narrow row per device with what the device list filters, counts and
searches on, so a search or a filter over a million devices reads one table instead of joining five.

It is derived data, rebuilt whole when the estate changed since it was built: the `fingerprint` (newest
device, observation, finding, assessment, review decision, review flag count and audit entry) is compared on
every listing, at the cost of a few primary-key lookups. Nothing else writes it, so no import, assessment or
review has to remember it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, DateTime, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from clearsite.store.tables import Base

__all__ = ["FACETS", "SEVERITY", "WORST_NONE", "DeviceFacetRow", "DeviceIndexRow", "DeviceIndexState", "fingerprint", "has_trigram_search", "is_fresh",
           "rebuild",
           "refresh_if_stale"]

SEVERITY = ("breach", "overdue", "due", "review", "advisory", "compliant")
WORST_NONE = 9  # a device with no finding


class DeviceIndexRow(Base):
    __tablename__ = "device_index"
    __table_args__ = (Index("ix_device_index_department", "department_id"), Index("ix_device_index_site", "site_id"),
                      Index("ix_device_index_producer", "producer_id"), Index("ix_device_index_class", "device_class"),
                      Index("ix_device_index_worst", "worst"), Index("ix_device_index_pending", "pending"),
                      # the NIL verdict filter's arms: a decision's value, and a contested badge
                      Index("ix_device_index_decided_nil", "decided_nil"), Index("ix_device_index_brand", "brand"),
                      # a first/last seen range few devices fall in, found without reading them all
                      Index("ix_device_index_first_seen", "first_seen"), Index("ix_device_index_last_seen", "last_seen"))
    device_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    site_id: Mapped[int] = mapped_column(Integer)
    department_id: Mapped[int] = mapped_column(Integer)
    producer_id: Mapped[str | None] = mapped_column(String(64))
    brand: Mapped[str | None] = mapped_column(String(120))  # the badge, lower case
    device_class: Mapped[str] = mapped_column(String(40))
    worst: Mapped[int] = mapped_column(SmallInteger)  # index into SEVERITY, or WORST_NONE
    pending: Mapped[int] = mapped_column(SmallInteger)  # 1: a finding in review that no decision settles
    decided_nil: Mapped[str | None] = mapped_column(String(16))  # the NIL subject a decision in force settled
    first_seen: Mapped[datetime] = mapped_column(DateTime)
    last_seen: Mapped[datetime] = mapped_column(DateTime)
    search: Mapped[str] = mapped_column(Text)  # ip, MAC, serial, model, badge, site, location; lower case


class DeviceFacetRow(Base):
    """How many devices share each combination of the filters' facets (site, department, producer, badge,
    class, worst status, review pending, decided NIL subject): a few tens of thousands of rows for a million
    devices, so a total for filters alone is a sum over them rather than a count of every matching device."""
    __tablename__ = "device_facets"
    __table_args__ = (Index("ix_device_facets_site", "site_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(Integer)
    department_id: Mapped[int] = mapped_column(Integer)
    producer_id: Mapped[str | None] = mapped_column(String(64))
    brand: Mapped[str | None] = mapped_column(String(120))
    device_class: Mapped[str] = mapped_column(String(40))
    worst: Mapped[int] = mapped_column(SmallInteger)
    pending: Mapped[int] = mapped_column(SmallInteger)
    decided_nil: Mapped[str | None] = mapped_column(String(16))
    devices: Mapped[int] = mapped_column(Integer)


FACETS = "site_id, department_id, producer_id, brand, device_class, worst, pending, decided_nil"
# What the index's rows and tables hold: a change of it makes every stored index stale (rebuilt on next use).
_FORMAT = "facets-1"


class DeviceIndexState(Base):
    __tablename__ = "device_index_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    fingerprint: Mapped[str] = mapped_column(String(400))


def fingerprint(conn: Connection) -> str:
    """What the index was built from, in a few indexed lookups: any import, assessment or decision changes it."""
    parts = [conn.exec_driver_sql(sql).scalar() for sql in (
        # No count of devices: nothing deletes a device without an audit entry, and counting a million rows
        # on every listing and dashboard cost PostgreSQL ~100 ms each time.
        "SELECT max(id) FROM devices", "SELECT max(id) FROM observations",
        "SELECT max(id) FROM findings", "SELECT count(*) FROM outcomes", "SELECT max(assessed_at) FROM outcomes",
        "SELECT max(id) FROM review_decisions", "SELECT count(flag_kind) FROM review_states",
        "SELECT max(seq) FROM audit_log")]
    return "|".join([_FORMAT, *("" if p is None else str(p) for p in parts)])


def _concat(conn: Connection, parts: list[str]) -> str:
    return " || ' ' || ".join(f"COALESCE({p}, '')" for p in parts)


def rebuild(conn: Connection) -> None:
    """Rebuild the whole index in the caller's transaction."""
    worst_case = "CASE o.status " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(SEVERITY)) + \
        f" ELSE {WORST_NONE} END"
    search = _concat(conn, ["d.ip", "d.mac", "d.serial", "i.model", "i.label_brand", "s.name", "d.location"])
    trigram_index = _postgres_trigram_index(conn)
    if trigram_index:  # built once after the rows are in, rather than updated a million times as they go in
        conn.exec_driver_sql(f"DROP INDEX {_PG_TRIGRAM}")
    conn.exec_driver_sql("DELETE FROM device_index")
    conn.exec_driver_sql(
        "INSERT INTO device_index (device_id, site_id, department_id, producer_id, brand, device_class, worst, "
        "pending, decided_nil, first_seen, last_seen, search) "
        "SELECT d.id, d.site_id, s.department_id, i.producer_id, lower(i.label_brand), "
        "COALESCE(i.device_class, 'unknown'), "
        f"COALESCE(w.worst, {WORST_NONE}), "
        "CASE WHEN w.in_review = 1 AND rs.decision_id IS NULL THEN 1 ELSE 0 END, rd.nil_subject, d.first_seen, "
        "d.last_seen, "
        f"lower({search}) "
        "FROM devices d JOIN sites s ON s.id = d.site_id LEFT JOIN identities i ON i.device_id = d.id "
        f"LEFT JOIN (SELECT f.device_id, min({worst_case}) AS worst, "
        "max(CASE WHEN o.status = 'review' THEN 1 ELSE 0 END) AS in_review "
        "FROM findings f JOIN outcomes o ON o.id = f.outcome_id GROUP BY f.device_id) w ON w.device_id = d.id "
        "LEFT JOIN review_states rs ON rs.device_id = d.id LEFT JOIN review_decisions rd ON rd.id = rs.decision_id")
    conn.exec_driver_sql("DELETE FROM device_facets")
    conn.exec_driver_sql(f"INSERT INTO device_facets ({FACETS}, devices) SELECT {FACETS}, count(*) FROM device_index "
                         f"GROUP BY {FACETS}")
    _rebuild_search(conn)
    if trigram_index:
        conn.exec_driver_sql(f"CREATE INDEX {_PG_TRIGRAM} ON device_index USING gin (search gin_trgm_ops)")
    # So the planner knows a site is narrow and a department is not (SQLite: from a sample, in milliseconds).
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
    conn.exec_driver_sql("ANALYZE device_index")
    conn.exec_driver_sql("ANALYZE device_facets")


# SQLite keeps a trigram index of the search text, so a search for part of a serial, an IP or a site name
# reads a few index pages rather than every row (PostgreSQL: a GIN trigram index, below).
_FTS = ("CREATE VIRTUAL TABLE IF NOT EXISTS device_search USING fts5(search, tokenize='trigram', detail='none')")


# PostgreSQL: a GIN trigram index on the search text (migration 0015, where pg_trgm is available) serves the
# same LIKE '%text%' on the narrow table itself.
_PG_TRIGRAM = "ix_device_index_search_trgm"


def _postgres_trigram_index(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    return conn.exec_driver_sql(f"SELECT to_regclass('{_PG_TRIGRAM}') IS NOT NULL").scalar() is True


def has_trigram_search(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def _rebuild_search(conn: Connection) -> None:
    if not has_trigram_search(conn):
        return
    conn.exec_driver_sql("DROP TABLE IF EXISTS device_search")
    conn.exec_driver_sql(_FTS)
    conn.exec_driver_sql("INSERT INTO device_search (rowid, search) SELECT device_id, search FROM device_index")


def refresh_if_stale(conn: Connection) -> bool:
    """Rebuild the index when the estate changed since it was built; True when it did."""
    now = fingerprint(conn)
    stored = conn.exec_driver_sql("SELECT fingerprint FROM device_index_state WHERE id = 1").scalar()
    if stored == now:
        return False
    rebuild(conn)
    if stored is None:
        conn.exec_driver_sql("INSERT INTO device_index_state (id, fingerprint) VALUES (1, '')")
    marker = "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"
    conn.exec_driver_sql(f"UPDATE device_index_state SET fingerprint = {marker} WHERE id = 1", (now,))
    return True


def is_fresh(conn: Connection) -> bool:
    stored = conn.exec_driver_sql("SELECT fingerprint FROM device_index_state WHERE id = 1").scalar()
    return stored == fingerprint(conn)


def device_count(conn: Connection) -> int:
    """Devices in the estate: decides whether a stale index is rebuilt before answering or behind it."""
    return int(conn.exec_driver_sql("SELECT count(*) FROM devices").scalar_one())


def ever_built(conn: Connection) -> bool:
    return bool(conn.exec_driver_sql("SELECT count(*) FROM device_index_state").scalar_one())
