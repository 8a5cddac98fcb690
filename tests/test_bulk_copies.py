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


def test_rows_copied_in_bulk_read_back_as_rows_inserted_one_statement_each(store_url: str):
    """Many rows go by COPY (binary on PostgreSQL), a few by INSERT: the same values either way."""
    from datetime import date

    from clearsite.store.bulk import COPY_FROM_ROWS
    from clearsite.store.findings import add_outcomes

    def outcomes(first: int, count: int) -> list[tuple[object, ...]]:
        return [(n, "uk-hcws386", f"O{n % 1000 % 3}", "overdue" if n % 2 else "compliant",
                 date(2025, 4, n % 1000 % 28 + 1) if n % 2 else None, '["O3: remove", "late \\u00e9\\\\"]',
                 date(2026, 11, 29), STAMP) for n in range(first, first + count)]

    def identities(first: int, count: int) -> list[tuple[object, ...]]:
        return [(n, None if n % 1000 % 3 else "Dahua", "dahua" if n % 2 else None, "IPC-HDW\t2431T", "camera",
                 0.1 * (n % 1000) + 1, '[[0, "dahua", 0.85, "badge"]]', "[]", '[["hikvision", 0.2]]', "v1", STAMP)
                for n in range(first, first + count)]

    engine = open_database(store_url)
    few = COPY_FROM_ROWS - 1
    with write_transaction(engine) as conn, bulk_work(conn):
        add_outcomes(conn, outcomes(1, 40))  # by COPY
        for start in range(1001, 1041, few):  # the same values by INSERT
            add_outcomes(conn, outcomes(start, min(few, 1041 - start)))
        add_identities(conn, identities(1, 40))
        for start in range(1001, 1041, few):
            add_identities(conn, identities(start, min(few, 1041 - start)))
    with engine.connect() as conn:
        as_text = "CAST(reasons AS TEXT)" if engine.dialect.name == "postgresql" else "reasons"
        read = [tuple(r)[1:] for r in conn.exec_driver_sql(
            f"SELECT id, policy, obligation, status, due, {as_text}, as_of, assessed_at FROM outcomes ORDER BY id")]
        assert read[:40] == read[40:] and len(read) == 80
        columns = "label_brand, producer_id, model, device_class, confidence, knowledge_version, computed_at"
        json_columns = ("evidence", "contradictions", "alternatives")
        texts = ", ".join(f"CAST({c} AS TEXT)" if engine.dialect.name == "postgresql" else c for c in json_columns)
        read = [tuple(r) for r in conn.exec_driver_sql(f"SELECT {columns}, {texts} FROM identities ORDER BY device_id")]
        assert read[:40] == read[40:] and len(read) == 80
        assert read[2][0] == "Dahua" and read[2][3:5] == ("camera", 0.1 * 3 + 1) and str(read[2][6]) == str(STAMP)
    engine.dispose()
