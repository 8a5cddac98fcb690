"""Migration 0002 creates exactly what the models in store/auth_tables.py describe, and nothing else."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import clearsite.store.auth_tables
import clearsite.store.sessions_tables  # noqa: F401 - these register the tables on Base.metadata
from clearsite.store.db import open_database
from clearsite.store.tables import Base

MINE = {"users", "api_tokens", "audit_log", "attestations", "sessions", "login_failures"}


def _concerns_mine(diff: object) -> bool:
    # Other people's tables may be mid-change in their own work; only ours are held here.
    text = repr(diff)
    return any(f"'{name}'" in text for name in MINE)


def test_the_migration_matches_the_models(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'schema.db'}")
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    mine = [d for d in diffs if _concerns_mine(d)]
    assert mine == []


def test_the_audit_log_has_its_append_only_triggers(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'schema.db'}")
    with engine.connect() as conn:
        triggers = set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars())
    assert {"audit_log_no_update", "audit_log_no_delete"} <= triggers
