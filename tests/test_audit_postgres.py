"""The web app, its migration and the audit log on a real PostgreSQL server (the central-server setup)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_the_web_app_and_audit_log_on_postgres(postgres_url: str, tmp_path: Path, packaged_kb) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from clearsite.store.audit import record, verify
    from clearsite.store.db import open_database
    from clearsite.testing import AS_OF, build_world
    from clearsite.web import Settings, create_app

    engine = open_database(postgres_url)
    world = build_world(engine, packaged_kb, tmp_path)
    with TestClient(create_app(engine, packaged_kb, Settings(as_of=AS_OF))) as client:
        bob = {"Authorization": f"Bearer {world.tokens['bob']}"}
        assert {s["name"] for s in client.get("/api/v1/sites", headers=bob).json()} == {"Bravo House"}
        assert client.get("/api/v1/devices/1", headers=bob).status_code == 404
        alice = {"Authorization": f"Bearer {world.tokens['alice']}"}
        assert client.patch(f"/api/v1/sites/{world.sites['Alpha Depot']}", json={"socpa": True},
                            headers=alice).status_code == 200
        dashboard = client.get("/api/v1/dashboard", headers=alice).json()
        assert list(dashboard["by_department"]) == ["Department of Alpha"]
        body = {"site_id": world.sites["Alpha HQ"], "lines": [{"brand": "Hikvision", "model": "DS-2CD2143G2-I"}]}
        assert client.post("/api/v1/screen", json=body, headers=alice).json()["decision"] == "deny"
    with engine.begin() as conn:
        record(conn, "test", "noop", "nothing", None, {"n": 1})
    with engine.connect() as conn:
        assert verify(conn).ok
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_log SET actor = 'mallory'")
    with engine.begin() as conn:  # someone with the database owner's rights removes the guard …
        conn.exec_driver_sql("DROP TRIGGER audit_log_append_only ON audit_log")
        conn.exec_driver_sql("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
    with engine.connect() as conn:
        result = verify(conn)
    assert not result.ok and result.bad_seq == 3 and result.kind == "modified"  # … and is still caught
