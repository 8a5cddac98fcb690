"""Migrations carry stored data across schema changes, up and back down, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, text

from clearsite.services.assessment import stored_findings
from clearsite.store.db import _alembic_config, open_database

WIDE = "id, device_id, policy, obligation, status, due, reasons, as_of, assessed_at"
STAMP = datetime(2026, 11, 29, 8, 0, 0)
# Four findings from the schema before 0005: two devices share one outcome; one outcome has no due date.
FINDINGS = [
    (1, 1, "uk-hcws386", "O3", "overdue", date(2025, 4, 30), '["O3: remove","late"]', date(2026, 11, 29), STAMP),
    (2, 2, "uk-hcws386", "O3", "overdue", date(2025, 4, 30), '["O3: remove","late"]', date(2026, 11, 29), STAMP),
    (3, 1, "uk-hcws386", "O2", "compliant", None, '["O2: core","not core"]', date(2026, 11, 29), STAMP),
    (7, 2, "uk-hcws386", "O2", "breach", None, '["O2: core","on core"]', date(2026, 11, 29), STAMP),
]


def _at_0004(engine: Engine) -> None:
    command.upgrade(_alembic_config(engine), "0004")
    reasons = "CAST(:r AS JSON)" if engine.dialect.name == "postgresql" else ":r"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO departments (id, name, jurisdiction) VALUES (1, 'Dept A', 'GB')"))
        conn.execute(text("INSERT INTO sites (id, name, name_key, department_id, holds_secret, dv_hub, ministerial, "
                          "socpa, created_at) VALUES (1, 'HQ', 'hq', 1, true, false, false, false, :t)"), {"t": STAMP})
        for device in (1, 2):
            conn.execute(text("INSERT INTO devices (id, site_id, natural_key, first_seen, last_seen) "
                              "VALUES (:d, 1, :k, :t, :t)"), {"d": device, "k": f"serial:{device}", "t": STAMP})
        for row in FINDINGS:
            conn.execute(text(f"INSERT INTO findings ({WIDE}) VALUES (:i, :d, :p, :o, :s, :due, {reasons}, "
                              ":a, :at)"), dict(zip(["i", "d", "p", "o", "s", "due", "r", "a", "at"], row,
                                                    strict=True)))


def _wide(engine: Engine) -> list[tuple[Any, ...]]:
    reasons = "CAST(reasons AS TEXT)" if engine.dialect.name == "postgresql" else "reasons"
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, device_id, policy, obligation, status, due, {reasons} FROM findings "
                                 "ORDER BY id")).all()
    return [(r[0], r[1], r[2], r[3], r[4], str(r[5]) if r[5] else None, r[6].replace(", ", ",")) for r in rows]


def _check_round_trip(url: str) -> None:
    engine = create_engine(url)
    _at_0004(engine)
    before = _wide(engine)
    assert len(before) == 4

    upgraded = open_database(url)  # migrates to the head
    with upgraded.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM outcomes")).scalar() == 3
        assert [tuple(r) for r in conn.execute(text("SELECT id, device_id FROM findings ORDER BY id"))] == [
            (1, 1), (2, 2), (3, 1), (7, 2)]
    stored = list(stored_findings(upgraded))
    assert [(f["device_id"], f["obligation"], f["status"], f["due"], f["reasons"]) for f in stored] == [
        (1, "O3", "overdue", "2025-04-30", ["O3: remove", "late"]), (1, "O2", "compliant", None, ["O2: core", "not core"]),
        (2, "O3", "overdue", "2025-04-30", ["O3: remove", "late"]), (2, "O2", "breach", None, ["O2: core", "on core"])]
    with upgraded.begin() as conn:  # new findings take ids after the carried-over ones
        outcome = conn.execute(text("SELECT min(id) FROM outcomes")).scalar()
        conn.execute(text("INSERT INTO findings (device_id, outcome_id) VALUES (1, :o)"), {"o": outcome})
        assert conn.execute(text("SELECT max(id) FROM findings")).scalar() == 8
        conn.execute(text("DELETE FROM findings WHERE id = 8"))
    upgraded.dispose()

    command.downgrade(_alembic_config(engine), "0004")
    assert _wide(engine) == before
    engine.dispose()


def test_0005_carries_findings_over_to_shared_outcomes_and_back(tmp_path: Path) -> None:
    _check_round_trip(f"sqlite:///{tmp_path / 'old.db'}")


@pytest.mark.postgres
@pytest.mark.slow
def test_0005_carries_findings_over_on_postgres(postgres_url: str) -> None:
    _check_round_trip(postgres_url)
