"""Bulk writes for imports of a million rows: the driver's executemany on plain tuples.

SQLAlchemy's per-row parameter processing costs more than the whole insert at this volume, so the
hot paths serialise JSON themselves and hand tuples to the driver. Ids come from the database's
own allocation (PostgreSQL sequences; SQLite's max under the write lock the transaction holds).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, func, select, text


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                json_columns: frozenset[str] = frozenset()) -> None:
    """INSERT many rows of plain values (JSON columns already serialised to text)."""
    if not rows:
        return
    postgres = conn.dialect.name == "postgresql"
    marker = "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"
    placeholders = ", ".join(f"{marker}::json" if postgres and c in json_columns else marker for c in columns)
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})"
    conn.exec_driver_sql(sql, list(rows))


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
