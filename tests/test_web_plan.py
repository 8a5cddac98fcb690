"""The plan page appears only when a plan is stored, and shows officers only their own department's visits."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient

from clearsite.store import tables
from clearsite.store.db import open_database
from clearsite.testing import AS_OF, DEPT_A, DEPT_B, PASSWORD, build_world
from clearsite.web import Settings, cache, create_app


def login(client: TestClient, user: str) -> None:
    client.cookies.clear()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": token})


def test_the_plan_page_shows_the_latest_stored_plan_scoped_to_the_department(tmp_path, packaged_kb, store_url) -> None:  # type: ignore[no-untyped-def]
    plan_row = getattr(tables, "PlanRow", None)
    if plan_row is None:
        pytest.skip("stored plans (clearsite.store.tables.PlanRow) are not in this build")
    engine = open_database(store_url)  # on SQLite and on PostgreSQL
    build_world(engine, packaged_kb, tmp_path)
    cache.forget_all()
    client = TestClient(create_app(engine, packaged_kb, Settings(as_of=AS_OF)))
    login(client, "alice")
    assert ">Plan<" not in client.get("/").text
    no_plan = client.get("/plan")  # not a dead end: says how to make one, and shows the policy's milestones
    assert no_plan.status_code == 200 and "No removal plan is stored yet" in no_plan.text
    assert '<time datetime="2024-10-31">31 October 2024</time>' in no_plan.text
    visits = [{"site": "Alpha HQ", "department": DEPT_A, "region": "London", "week": "2024-09-02", "crew": "c1",
               "hours": 3.0, "cost": 400.0, "devices": [1, 2]},
              {"site": "Bravo House", "department": DEPT_B, "region": "Wales", "week": "2024-09-09", "crew": "c2",
               "hours": 2.0, "cost": 300.0, "devices": [5]}]
    result = {"visits": visits, "totals": {}, "milestones": [
        {"date": "2024-10-31", "target_share": 0.7, "forecast_share": 1.0, "met": True, "target_sites": 2,
         "forecast_sites": 2, "note": "70% by October"}]}
    with engine.begin() as conn:
        conn.execute(plan_row.__table__.insert().values(
            created_at=datetime(2024, 9, 1, 9), as_of=date(2024, 9, 1), scenario="baseline", status="optimal",
            objective=12.5, gap=0.0, settings={}, result=result))
    cache.forget_all()
    home = client.get("/").text
    assert 'href="/plan"' in home
    page = client.get("/plan").text
    assert "Alpha HQ" in page and "Bravo House" not in page and "70% by October" in page
    login(client, "audrey")
    assert "Bravo House" in client.get("/plan").text
