"""One question, one answer, whichever door asks: reconciliation, the current plan, the programme's
milestones, and which devices a caller may see."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clearsite.core.plan.result import Plan
from clearsite.services.auth import site_scope
from clearsite.services.devices import devices_page, iter_devices
from clearsite.services.planning import current_plan
from clearsite.services.publishing import public_preview, publish_progress
from clearsite.services.reconciliation import reconcile_site, reconciliation_json
from clearsite.store.db import open_database
from clearsite.store.plans import insert_plan
from clearsite.store.reads import EVERYTHING, NOTHING, SiteScope
from clearsite.testing import AS_OF, World, build_world, find_user_engine
from clearsite.web import Settings, cache, create_app
from tests.test_web import login

BASELINE_MILESTONES = [{"date": "2024-12-20", "target_share": 0.6}, {"date": "2025-03-28", "target_share": 1.0}]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, packaged_kb: Any, store_url_module: str) -> Iterator[tuple[TestClient, World, Any]]:
    tmp = tmp_path_factory.mktemp("one-answer")
    engine = open_database(store_url_module)  # on SQLite and on PostgreSQL
    world = build_world(engine, packaged_kb, tmp)
    cache.forget_all()
    with TestClient(create_app(engine, packaged_kb, Settings(as_of=AS_OF))) as client:
        yield client, world, engine
    engine.dispose()


def bearer(world: World, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[user]}"}


def store(engine: Any, scenario: str | None, milestones: list[dict[str, Any]], made: datetime) -> int:
    plan = Plan.from_dict({"status": "optimal", "objective": 10.0, "gap": 0.0, "start": "2024-09-02",
                           "scenario": scenario, "milestones": milestones})
    with engine.begin() as conn:
        return insert_plan(conn, plan, as_of=AS_OF, created_at=made, settings={})


def test_the_site_page_and_clearsite_reconcile_give_one_answer(env: tuple[TestClient, World, Any]) -> None:
    client, world, engine = env
    from_the_api = client.get(f"/api/v1/sites/{world.sites['Alpha HQ']}/reconciliation",
                              headers=bearer(world, "alice")).json()
    from_the_cli = reconciliation_json(reconcile_site(engine, "Alpha HQ"))
    matched = {m[side]["device_id"] for m in from_the_cli["matched"] for side in ("registered", "seen")}
    assert from_the_api == {
        "matched": sorted(matched),
        "seen_not_registered": sorted(i["device_id"] for i in from_the_cli["seen_not_registered"]),
        "registered_not_seen": sorted(i["device_id"] for i in from_the_cli["registered_not_seen"]),
    }
    assert from_the_api["registered_not_seen"], "the world must have something registered and not seen"


def test_a_what_if_stored_after_the_baseline_never_becomes_the_current_plan(
        env: tuple[TestClient, World, Any], tmp_path: Path, packaged_kb: Any) -> None:
    client, world, engine = env
    baseline = store(engine, None, BASELINE_MILESTONES, datetime(2024, 9, 1, 9))
    store(engine, "crews=London+2", [{"date": "2024-10-04", "target_share": 0.9}], datetime(2024, 9, 1, 10))
    cache.forget_all()
    found = current_plan(engine)
    assert found is not None and found.id == baseline and found.scenario == "baseline"
    login(client, "audrey")
    page = client.get("/plan").text
    assert "2024-12-20" in page and "2024-10-04" not in page

    # The dashboard, the web preview and `publish --public` show the programme's milestones: the current plan's.
    wanted = [m["date"] for m in BASELINE_MILESTONES]
    dashboard = client.get("/api/v1/dashboard", headers=bearer(world, "admin")).json()
    assert [m["date"] for m in dashboard["timelines"][0]["milestones"]] == wanted
    preview = public_preview(engine, EVERYTHING, packaged_kb, AS_OF, 1)
    assert preview is not None and [m["date"] for m in preview["milestones"]] == wanted
    publish_progress(engine, packaged_kb, AS_OF, public=tmp_path)
    published = json.loads((tmp_path / "progress.json").read_text())
    assert [m["date"] for m in published["milestones"]] == wanted
    assert date.fromisoformat(wanted[0]) > AS_OF


def test_the_device_reader_applies_each_scope_itself(env: tuple[TestClient, World, Any]) -> None:
    _, world, engine = env
    everything = {view.id: site.name for view, site in iter_devices(engine, with_evidence=False)}
    alice = find_user_engine(engine, "alice")
    alpha = {view.id for view, _ in iter_devices(engine, with_evidence=False, scope=site_scope(alice))}
    assert alpha == {i for i, name in everything.items() if name.startswith("Alpha")} and alpha != set(everything)
    hq = SiteScope(site_id=world.sites["Alpha HQ"])
    assert {view.id for view, _ in iter_devices(engine, scope=hq)} == \
        {i for i, name in everything.items() if name == "Alpha HQ"}
    assert list(iter_devices(engine, scope=NOTHING)) == []
    with engine.connect() as conn:  # a page of a listing: after an id, at most `limit`
        first, second = sorted(alpha)[:2]
        assert [v.id for v in devices_page(conn, site_scope(alice), after=first, limit=1)] == [second]
