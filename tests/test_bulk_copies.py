"""Bulk writes inside bulk_work: PostgreSQL's COPYs run in the background, yet every statement after one sees
its rows, and a COPY that fails fails the transaction (raised at the next statement, or on leaving bulk_work):
nothing is kept. On SQLite the same calls run in place. Both databases."""

from __future__ import annotations

from datetime import datetime

import psycopg
import pytest
from sqlalchemy import Engine, exc

from clearsite.store.bulk import bulk_work
from clearsite.store.db import open_database
from clearsite.store.identities import add_identities
from clearsite.store.transactions import write_transaction

STAMP = datetime(2026, 11, 29, 8, 0, 0)
FAILED = (exc.IntegrityError, psycopg.errors.UniqueViolation)


def _identities(first: int, count: int) -> list[tuple[object, ...]]:
    return [(device, "Hikvision", "hikvision", "DS-2CD2143G0-I", "camera", 0.9, "[]", "[]", "[]", "test", STAMP)
            for device in range(first, first + count)]  # enough rows for a COPY (store.bulk.COPY_FROM_ROWS)


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM identities").scalar_one())


def test_each_statement_sees_the_rows_copied_before_it(store_url: str):
    engine = open_database(store_url)
    with write_transaction(engine) as conn, bulk_work(conn):
        for batch in range(5):
            add_identities(conn, _identities(1 + batch * 100, 100))
            seen = conn.exec_driver_sql("SELECT count(*), max(device_id) FROM identities").one()
            assert tuple(seen) == (100 * (batch + 1), 100 * (batch + 1))
    assert _count(engine) == 500
    engine.dispose()


def test_a_copy_that_fails_is_raised_at_the_next_statement_and_nothing_is_kept(store_url: str):
    engine = open_database(store_url)
    with pytest.raises(FAILED), write_transaction(engine) as conn, bulk_work(conn):
        add_identities(conn, _identities(1, 50))
        add_identities(conn, _identities(25, 50))  # device ids 25..49 again: the primary key refuses them
        conn.exec_driver_sql("SELECT 1")
    assert _count(engine) == 0
    engine.dispose()


def test_the_last_copy_failing_fails_the_transaction_on_leaving_bulk_work(store_url: str):
    engine = open_database(store_url)
    with pytest.raises(FAILED), write_transaction(engine) as conn, bulk_work(conn):
        add_identities(conn, _identities(1, 50))
        add_identities(conn, _identities(50, 50))  # nothing after it asks the database anything
    assert _count(engine) == 0
    engine.dispose()
