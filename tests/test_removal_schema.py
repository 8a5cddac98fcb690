"""Migration 0007 creates exactly what the models in store/orders.py, store/removals.py and store/alerts.py
describe, and its downgrade removes them."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import clearsite.store.alerts
import clearsite.store.orders
import clearsite.store.removals  # noqa: F401 - registers the tables on Base.metadata
from clearsite.store.db import _alembic_config, open_database
from clearsite.store.tables import Base

MINE = {"work_orders", "order_extensions", "removals", "removal_files", "observation_coverage", "alerts"}


def _concerns_mine(diff: object) -> bool:
    text = repr(diff)
    return any(f"'{name}'" in text for name in MINE)


def test_the_migration_matches_the_models(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'schema.db'}")
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if _concerns_mine(d)] == []


def test_downgrade_removes_the_tables_and_upgrade_brings_them_back(store_url: str) -> None:
    engine = open_database(store_url)  # on SQLite and on PostgreSQL
    command.downgrade(_alembic_config(engine), "0006")
    assert MINE.isdisjoint(inspect(engine).get_table_names())
    command.upgrade(_alembic_config(engine), "head")
    assert set(inspect(engine).get_table_names()) >= MINE
