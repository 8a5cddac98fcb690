"""Migration 0006 creates exactly what store/decisions.py declares, on SQLite and PostgreSQL, and its
downgrade removes the tables (keeping what came before)."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import clearsite.store.decisions  # noqa: F401 - registers the tables on Base.metadata
from clearsite.store.db import _alembic_config, open_database
from clearsite.store.tables import Base

MINE = {"review_decisions", "review_states"}


def _concerns_mine(diff: object) -> bool:
    return any(f"'{name}'" in repr(diff) for name in MINE)


def test_the_migration_matches_the_models(store_url: str) -> None:
    engine = open_database(store_url)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert [d for d in diffs if _concerns_mine(d)] == []


def test_downgrade_removes_the_tables_and_upgrade_brings_them_back(store_url: str) -> None:
    engine = open_database(store_url)
    command.downgrade(_alembic_config(engine), "0005")
    names = set(inspect(engine).get_table_names())
    assert MINE.isdisjoint(names) and {"devices", "identities", "findings"} <= names
    command.upgrade(_alembic_config(engine), "head")
    assert set(inspect(engine).get_table_names()) >= MINE
    engine.dispose()
