"""Bulk writes for imports of a million rows: the driver's executemany on plain tuples.

SQLAlchemy's per-row parameter processing costs more than the whole insert at this volume, so the
hot paths serialise JSON themselves and hand tuples to the driver. Ids come from the database's
own allocation (PostgreSQL sequences; SQLite's max under the write lock the transaction holds).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, datetime
from functools import lru_cache
from typing import Any, cast

import orjson
from sqlalchemy import Connection, CursorResult, Table, event, func, select, text
from sqlalchemy import types as sa_types
from sqlalchemy.types import TypeEngine

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
    PostgreSQL's COPYs run in the background (_BackgroundCopies): the caller prepares the next rows while
    the server stores the last ones. Leaving the block waits for the last COPY (and raises its error).
    """
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        previous = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_BULK_CACHE_KIB}")
    copies = _BackgroundCopies.start(conn) if conn.dialect.name == "postgresql" else None
    collecting = gc.isenabled()
    gc.disable()
    failed = True
    try:
        yield
        failed = False
    finally:
        if collecting:
            gc.enable()
        if copies is not None:
            copies.stop(raising=not failed)  # after a failure: its own error is the one to raise
        if sqlite:
            conn.exec_driver_sql(f"PRAGMA cache_size = {int(previous)}")


_RUNNING: dict[int, _BackgroundCopies] = {}  # id(Connection) -> its runner, while the connection is in bulk_work


class _BackgroundCopies:
    """PostgreSQL COPYs sent from a thread while the caller goes on (inside bulk_work only).

    One COPY at a time, in the order asked: the next COPY, and any statement the connection executes,
    first waits for the one in flight (a `before_cursor_execute` listener), and raises its error there. So
    statements run in the order they were issued, as if every COPY had been waited for, and the server
    stores a batch's observations while Python makes the next batch. Psycopg holds its connection's lock
    for the whole COPY; only the raw DBAPI connection is used from the thread, never SQLAlchemy's.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clearsite-copy")
        self.in_flight: Future[None] | None = None

    @classmethod
    def start(cls, conn: Connection) -> _BackgroundCopies | None:
        if id(conn) in _RUNNING:  # nested bulk_work on one connection: the outer one runs them
            return None
        runner = _RUNNING[id(conn)] = cls(conn)
        event.listen(conn, "before_cursor_execute", runner._before_statement)
        event.listen(conn, "commit", runner._before_statement)  # a COPY's error must never be committed over
        event.listen(conn, "rollback", runner._before_rollback)
        return runner

    @classmethod
    def of(cls, conn: Connection) -> _BackgroundCopies | None:
        return _RUNNING.get(id(conn))

    def _before_statement(self, *_: object) -> None:  # the listener's arguments: the statement and more
        self.wait()

    def _before_rollback(self, *_: object) -> None:
        if self.in_flight is not None:
            self.in_flight.exception()  # waited for: the connection is free again; its error no longer matters
            self.in_flight = None

    def wait(self) -> None:
        """Wait for the COPY in flight, raising its error."""
        done, self.in_flight = self.in_flight, None
        if done is not None:
            done.result()

    def copy(self, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """COPY these rows in the background (they must not change afterwards)."""
        self.wait()
        dbapi = self.conn.connection.dbapi_connection
        self.in_flight = self.pool.submit(_copy_on, dbapi, table, columns, rows)

    def stop(self, raising: bool) -> None:
        try:
            if raising:
                self.wait()
            elif self.in_flight is not None:
                self.in_flight.exception()  # waited for, not raised: another error is on its way
        finally:
            self.in_flight = None
            event.remove(self.conn, "before_cursor_execute", self._before_statement)
            event.remove(self.conn, "commit", self._before_statement)
            event.remove(self.conn, "rollback", self._before_rollback)
            del _RUNNING[id(self.conn)]
            self.pool.shutdown(wait=True)


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
    which PostgreSQL parses as it would a ::json cast); in the background inside bulk_work."""
    background = _BackgroundCopies.of(conn)
    if background is not None:
        background.copy(table, columns, rows)
    else:
        _copy_on(conn.connection.dbapi_connection, table, columns, rows)


def _copy_on(dbapi: Any, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    types = _binary_types(table, tuple(columns))
    cursor = dbapi.cursor()
    try:
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
                         + (" (FORMAT BINARY)" if types else "")) as copy:
            if types:
                copy.set_types(types)
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()


# PostgreSQL's binary COPY format for each column type the bulk tables use: values go as they are in memory,
# which costs psycopg a third and the server two thirds of what text costs them (100,000 observations:
# 0.14 -> 0.05 s and 0.20 -> 0.14 s). JSON goes as its text either way, and the server still checks it.
_BINARY_TYPES: dict[type[TypeEngine[Any]], str] = {
    sa_types.SmallInteger: "int2", sa_types.BigInteger: "int8", sa_types.Integer: "int4",
    sa_types.Text: "text", sa_types.String: "text", sa_types.JSON: "text",
    sa_types.Float: "float8", sa_types.Date: "date", sa_types.Boolean: "bool",
}


@lru_cache(maxsize=64)
def _binary_types(table: Table, columns: tuple[str, ...]) -> list[str] | None:
    """The binary COPY type of each column, or None to send text (a type not known here)."""
    found: list[str] = []
    for name in columns:
        column_type = table.c[name].type
        if isinstance(column_type, sa_types.DateTime):
            found.append("timestamptz" if column_type.timezone else "timestamp")
            continue
        kind = next((t for base, t in _BINARY_TYPES.items() if isinstance(column_type, base)), None)
        if kind is None or (kind == "float8" and getattr(column_type, "asdecimal", False)):
            return None
        found.append(kind)
    return found


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
