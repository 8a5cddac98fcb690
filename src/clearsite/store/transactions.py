"""A write transaction that holds the write lock from its start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that takes the write lock before it reads.

    On SQLite a deferred transaction that reads (the audit head) before it writes can fail to
    upgrade when another writer got in between; BEGIN IMMEDIATE takes the lock first and waits.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
