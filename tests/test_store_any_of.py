"""`column IN (values)` as the store writes it for long lists: on PostgreSQL one array parameter, written
as a quoted array literal when no value needs escaping; every text must match itself and nothing else."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine

from clearsite.services.database import open_database
from clearsite.store.devices import _any_of

TRICKY = ["plain", "", " spaced ", "NULL", "null", "a,b", "{brace}", "x}y{", "Ünïcödé", "line\nbreak", "tab\there",
          "'single'", 'say "hi"', "back\\slash", "C0:56:E3:00:00:01", "10.0.0.1", "ends with \\", '"']


def _matching(url: str, stored: list[str], wanted: list[Any]) -> set[str]:
    open_database(url).dispose()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            marker = "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"
            rows = " UNION ALL ".join([f"SELECT CAST({marker} AS VARCHAR(200)) AS v"] * len(stored))
            params: list[Any] = list(stored)
            where = _any_of(conn, "v", wanted, params)
            found = conn.exec_driver_sql(f"SELECT v FROM ({rows}) AS t WHERE {where}", tuple(params))
            return {row[0] for row in found}
    finally:
        engine.dispose()


def test_every_text_matches_itself_and_nothing_else(store_url: str) -> None:
    for value in TRICKY:
        assert _matching(store_url, TRICKY, [value]) == {value}, value
    safe = [v for v in TRICKY if '"' not in v and "\\" not in v]  # the literal's path, all at once
    assert _matching(store_url, TRICKY, safe) == set(safe)
    assert _matching(store_url, TRICKY, TRICKY) == set(TRICKY)  # the driver's own path
    assert _matching(store_url, TRICKY, []) == set()
