"""A register import is all or nothing, and what it stores holds together, on both databases.

A row refused deep in the file, after many batches were written (and, on PostgreSQL, copied in the
background), leaves the database as it was. Observations have no foreign keys (migration 0016): every
one an import stores names a device, source and site that exist, and a device of that very site."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from clearsite.core.knowledge import Knowledge
from clearsite.formats.register import RegisterRow, open_register
from clearsite.services import demo_data, imports
from clearsite.store.db import open_database
from clearsite.store.sites import add_site

AS_OF = date(2026, 11, 29)
TABLES = ("observations", "devices", "identities", "sources")


@pytest.fixture
def database(new_store_url: Callable[[], str]) -> Callable[[], Engine]:
    def made() -> Engine:
        engine = open_database(new_store_url())
        with engine.begin() as conn:
            for site in demo_data.demo_sites():
                add_site(conn, site)
        return engine
    return made


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        counts = {t: int(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()) for t in TABLES}
        counts["register.import"] = int(conn.exec_driver_sql(
            "SELECT count(*) FROM audit_log WHERE action = 'register.import'").scalar_one())
    return counts


@pytest.mark.parametrize("workers", [1, 2])
def test_a_row_refused_deep_in_the_file_leaves_nothing(tmp_path: Path, packaged_kb: Knowledge, monkeypatch,
                                                       database: Callable[[], Engine], workers: int):
    register = tmp_path / "register.csv"
    demo_data.write_demo_register(register)
    lines = register.read_text(encoding="utf-8").splitlines()
    clean = [item.row_number for item in open_register(register.read_bytes(), register.name, today=AS_OF)
             if isinstance(item, RegisterRow) and not item.warnings]
    good = [lines[number - 1] for number in clean][:120]  # rows as a person numbers them: the header is row 1
    assert len(good) == 120
    register.write_text("\n".join([lines[0], *good, "junk", *good[:10]]) + "\n", encoding="utf-8")
    monkeypatch.setattr(imports, "_CHUNK_ROWS", 7)
    engine = database()
    before = _counts(engine)
    with pytest.raises(imports.ImportRefused, match=f"row {len(good) + 2}"):
        imports.import_register(engine, register, packaged_kb, today=AS_OF, strict=True, batch=20,
                                parallel_from=0 if workers > 1 else 10**9, workers=workers)
    assert _counts(engine) == before == {**{t: 0 for t in TABLES}, "register.import": 0}
    engine.dispose()


def test_every_observation_names_a_device_of_its_own_site_and_its_source(tmp_path: Path, packaged_kb: Knowledge,
                                                                        monkeypatch, database: Callable[[], Engine]):
    register = tmp_path / "register.csv"
    demo_data.write_demo_register(register)
    monkeypatch.setattr(imports, "_CHUNK_ROWS", 7)
    engine = database()
    for _ in range(2):  # the second import of the same file stores nothing new
        imports.import_register(engine, register, packaged_kb, today=AS_OF, batch=30, parallel_from=0, workers=2)
    with engine.connect() as conn:
        stored = int(conn.exec_driver_sql("SELECT count(*) FROM observations").scalar_one())
        dangling = conn.exec_driver_sql(
            "SELECT count(*) FROM observations o LEFT JOIN devices d ON d.id = o.device_id "
            "LEFT JOIN sources s ON s.id = o.source_id LEFT JOIN sites t ON t.id = o.site_id "
            "WHERE d.id IS NULL OR s.id IS NULL OR t.id IS NULL OR d.site_id <> o.site_id").scalar_one()
    assert stored > 0 and dangling == 0
    engine.dispose()
