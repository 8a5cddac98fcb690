"""Bulk writes for imports of a million rows: the driver's executemany on plain tuples.

SQLAlchemy's per-row parameter processing costs more than the whole insert at this volume, so the
hot paths serialise JSON themselves and hand tuples to the driver. Ids come from the database's
own allocation (PostgreSQL sequences; SQLite's max under the write lock the transaction holds).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, cast

import orjson
from sqlalchemy import Connection, CursorResult, Table, func, select, text

# Dates and dataclasses go to `str`, as the standard library's encoder with default=str would send them.
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(value: Any) -> str:
    """Compact JSON text, as json.dumps(separators=(",", ":"), ensure_ascii=False, default=str) writes it,
    about ten times faster: a million-row import serialises a few million values."""
    return orjson.dumps(value, default=str, option=_OPTIONS).decode()


SQLITE_BULK_CACHE_KIB = 262_144


@contextmanager
def bulk_work(conn: Connection) -> Iterator[None]:
    """Settings for writing a million rows in one transaction, restored afterwards.

    The cyclic garbage collector is paused: rows make no reference cycles, and with millions of live
    objects its repeated full passes cost more than the work. SQLite gets a 256 MB page cache: inserts
    into the (random) fingerprint and serial indexes otherwise spill pages to the WAL over and over.
    """
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        previous = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_BULK_CACHE_KIB}")
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
        if sqlite:
            conn.exec_driver_sql(f"PRAGMA cache_size = {int(previous)}")


def new_id(result: CursorResult[Any]) -> int:
    """The primary key an INSERT of one row gave it."""
    key = result.inserted_primary_key
    assert key is not None, "not an INSERT of one row"
    return int(key[0])


def table_of(mapped: type[Any]) -> Table:
    """The Table of a mapped class (`__table__` is declared as a plain FromClause)."""
    return cast(Table, mapped.__table__)


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                json_columns: frozenset[str] = frozenset()) -> None:
    """INSERT many rows of plain values (JSON columns already serialised to text)."""
    if not rows:
        return
    postgres = conn.dialect.name == "postgresql"
    if postgres and len(rows) >= COPY_FROM_ROWS:
        _copy_rows(conn, table, columns, rows)
        return
    marker = "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"
    placeholders = ", ".join(f"{marker}::json" if postgres and c in json_columns else marker for c in columns)
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})"
    conn.exec_driver_sql(sql, list(rows))


# From this many rows PostgreSQL gets them by COPY: one statement streaming every row, several times
# faster than executemany's statement per row (which psycopg pipelines, but still parses and plans).
COPY_FROM_ROWS = 20


def _copy_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """COPY … FROM STDIN through psycopg 3 on this transaction's own connection (JSON columns go as text,
    which PostgreSQL parses as it would a ::json cast)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()


def constant(conn: Connection, value: date | datetime) -> Any:
    """A date or timestamp repeated on every row, as the driver would store it, converted once, not per row.

    SQLite keeps them as ISO text (what sqlite3's own adapters write); other drivers take the object.
    """
    if conn.dialect.name != "sqlite":
        return value
    return value.isoformat(" ") if isinstance(value, datetime) else value.isoformat()


# pg_advisory_xact_lock(class, site id): the class keeps these apart from other advisory locks (the audit log's).
INTAKE_LOCK_CLASS = 0x0C5E


def lock_sites_for_intake(conn: Connection, site_ids: Sequence[int]) -> None:
    """Hold each site's intake lock until this transaction ends (PostgreSQL; a no-op on SQLite).

    SQLite has one writer at a time. PostgreSQL runs intakes at once, and two about the same site (a
    batch retried onto a second server worker while the first still holds it, two agents seeing one
    camera) would both find a device or observation missing, both insert it, and one would fail on
    the unique constraint, or two devices would be made for one camera by different keys. Intakes
    for one site queue; other sites' go on. Sites are locked in id order, so two intakes cannot wait
    on each other from a single call.
    """
    if conn.dialect.name != "postgresql":
        return
    for site_id in sorted(set(site_ids)):
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s, %s)", (INTAKE_LOCK_CLASS, int(site_id)))


def allocate_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """`count` fresh primary keys for `table`, safe against concurrent writers."""
    if count <= 0:
        return []
    if conn.dialect.name == "postgresql":
        sequence = conn.scalar(text("select pg_get_serial_sequence(:t, 'id')"), {"t": table.name})
        return list(conn.scalars(text("select nextval(:s) from generate_series(1, :n)"), {"s": sequence, "n": count}))
    # SQLite: the caller's transaction has already written (the source row), so it holds the database's
    # single write lock and no other writer can take these ids.
    start = (conn.scalar(select(func.max(table.c.id))) or 0) + 1
    return list(range(start, start + count))
