"""The estate's fast paths (issue 13): the same identities and findings as the per-device paths, on SQLite and
PostgreSQL; and migration 0014 (findings and identities without per-row foreign key checks) up and back down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from clearsite.store.db import _alembic_config, open_database


def _keys(url: str) -> dict[str, list[str]]:
    engine = open_database(url, migrate=False)
    try:
        inspector = inspect(engine)
        return {table: sorted(k["referred_table"] for k in inspector.get_foreign_keys(table))
                for table in ("findings", "identities")}
    finally:
        engine.dispose()


def test_0014_drops_the_foreign_keys_of_findings_and_identities_and_back(store_url: str) -> None:
    engine = open_database(store_url)
    config = _alembic_config(engine)
    engine.dispose()
    assert _keys(store_url) == {"findings": [], "identities": []}
    command.downgrade(config, "0013")
    assert _keys(store_url) == {"findings": ["devices", "outcomes"], "identities": ["devices"]}
    command.upgrade(config, "head")
    assert _keys(store_url) == {"findings": [], "identities": []}
    engine = open_database(store_url, migrate=False)
    try:
        indexes = {t: sorted(i["name"] for i in inspect(engine).get_indexes(t)) for t in ("findings", "identities")}
    finally:
        engine.dispose()
    assert indexes == {"findings": ["ix_findings_device"], "identities": ["ix_identities_producer_id"]}
