"""The programme's one timeline: months before the as-of month are actual, the as-of month and later
forecast; clear means verified; a department's milestone counts are its own sites'."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from clearsite.core.timeline import MilestoneTarget, SiteClearance, compute_timeline
from clearsite.services.publishing import public_preview, publish_progress
from clearsite.services.timeline import programme_timeline
from clearsite.store.db import open_database
from clearsite.store.reads import EVERYTHING, SiteScope
from clearsite.testing import AS_OF, DEPT_A, build_world
from clearsite.web import Settings, cache, create_app

DEC_3 = date(2026, 12, 3)


def test_the_current_month_is_a_forecast_that_counts_the_plans_visits_in_it() -> None:
    sites = [SiteClearance("a", "D", forecast_on=date(2026, 12, 11)),
             SiteClearance("b", "D", forecast_on=date(2026, 12, 18)),
             SiteClearance("c", "D", forecast_on=date(2027, 4, 9))]
    figures = compute_timeline(sites, [MilestoneTarget(date(2027, 3, 8), 0.7)], DEC_3)
    december = figures.months[0]
    assert december.month_end == date(2026, 12, 31) and december.basis == "forecast" and december.cleared == 2
    assert [m.cleared for m in figures.months] == [2, 2, 2, 2, 3]
    (march,) = figures.milestones
    assert (march.basis, march.sites, march.target_sites, march.status) == ("forecast", 2, 3, "at risk")
    assert figures.forecast_complete == date(2027, 4, 9)


def test_past_months_are_actual_and_only_verified_removals_clear_a_site() -> None:
    sites = [SiteClearance("done", "D", cleared_on=date(2026, 10, 5)),
             SiteClearance("said", "D", claimed_on=date(2026, 11, 20)),
             SiteClearance("late", "D", forecast_on=date(2026, 11, 27)),
             SiteClearance("none", "D")]
    figures = compute_timeline(sites, [MilestoneTarget(date(2026, 11, 1), 0.5)], DEC_3)
    assert [(m.month_end.month, m.basis, m.cleared, m.claimed) for m in figures.months] == [
        (10, "actual", 1, 0), (11, "actual", 1, 1), (12, "forecast", 2, 0)]  # the claim is expected, not counted
    assert (figures.cleared, figures.claimed, figures.late, figures.unplanned) == (1, 1, 1, 1)
    (november,) = figures.milestones
    assert (november.basis, november.sites, november.met, november.status) == ("actual", 1, False, "missed")
    assert figures.forecast_complete is None  # a late site and an unplanned one have no credible date


def test_a_departments_milestone_counts_are_its_own_sites(tmp_path: Path, packaged_kb: Any, store_url: str) -> None:
    engine = open_database(store_url)  # the per-site aggregate on SQLite and PostgreSQL
    world = build_world(engine, packaged_kb, tmp_path)
    everyone = programme_timeline(engine, packaged_kb, EVERYTHING, AS_OF)
    alpha_hq = programme_timeline(engine, packaged_kb, SiteScope(site_id=world.sites["Alpha HQ"]), AS_OF)
    cache.forget_all()
    client = TestClient(create_app(engine, packaged_kb, Settings(as_of=AS_OF)))
    admin = client.get("/api/v1/dashboard", headers={"Authorization": f"Bearer {world.tokens['admin']}"}).json()
    alice = client.get("/api/v1/dashboard", headers={"Authorization": f"Bearer {world.tokens['alice']}"}).json()
    assert everyone.figures.affected == admin["timelines"][0]["affected_sites"] == 2
    assert alice["timelines"][0]["affected_sites"] == 1  # Alpha HQ only, not Bravo House
    first_admin, first_alice = admin["timelines"][0]["milestones"][0], alice["timelines"][0]["milestones"][0]
    assert first_admin["target_sites"] == 2 and first_alice["target_sites"] == 1  # 70% of 2, 70% of 1, rounded up
    assert {s.department for s in everyone.sites} == {DEPT_A, "Ministry of Bravo"}
    assert [s.site for s in alpha_hq.sites] == ["Alpha HQ"] and alpha_hq.figures.milestones[0].target_sites == 1


def test_the_dashboard_preview_and_publish_tell_one_story(tmp_path: Path, packaged_kb: Any) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'story.db'}")
    world = build_world(engine, packaged_kb, tmp_path)
    cache.forget_all()
    client = TestClient(create_app(engine, packaged_kb, Settings(as_of=AS_OF)))
    dashboard = client.get("/api/v1/dashboard", headers={"Authorization": f"Bearer {world.tokens['admin']}"}).json()
    preview = public_preview(engine, EVERYTHING, packaged_kb, AS_OF, 1)
    publish_progress(engine, packaged_kb, AS_OF, public=tmp_path / "public", min_department_sites=1)
    published = json.loads((tmp_path / "public" / "progress.json").read_text())
    assert preview is not None
    timeline = dashboard["timelines"][0]
    for statement in (preview, published):
        assert statement["affected_sites"] == timeline["affected_sites"]
        assert statement["cleared_sites"] == timeline["clear_sites"]
        assert [(m["date"], m["status"]) for m in statement["milestones"]] == \
            [(m["date"], m["status"]) for m in timeline["milestones"]]
    assert published["licence"]["name"] == "Open Government Licence v3.0"
    assert published["series"] == preview["series"]


def test_a_site_counts_as_clear_only_once_its_removals_are_verified(tmp_path: Path, packaged_kb: Any,
                                                                     monkeypatch: Any, store_url: str) -> None:
    from clearsite.services.devices import iter_devices
    from clearsite.services.removal import record_coverage, record_removal

    monkeypatch.setenv("CLEARSITE_EVIDENCE_DIR", str(tmp_path / "evidence"))
    engine = open_database(store_url)
    build_world(engine, packaged_kb, tmp_path)
    (bravo_device,) = [view.id for view, _ in iter_devices(engine, "Bravo House", with_evidence=False)]
    later = date(2024, 9, 20)

    def bravo() -> SiteClearance:
        stored = programme_timeline(engine, packaged_kb, EVERYTHING, later)  # from the stored findings
        live = programme_timeline(engine, packaged_kb, EVERYTHING, later, assess=True)  # as plan and publish read
        assert stored.sites == live.sites  # one rule, in SQL and in Python
        return next(s for s in stored.sites if s.site == "Bravo House")

    assert bravo().state == "outstanding"
    record_removal(engine, packaged_kb, "bob", EVERYTHING, bravo_device, removed_on=date(2024, 9, 10), today=later)
    claimed = bravo()
    assert claimed.state == "claimed" and claimed.claimed_on == date(2024, 9, 10) and claimed.cleared_on is None
    assert programme_timeline(engine, packaged_kb, EVERYTHING, later).figures.claimed == 1
    record_coverage(engine, packaged_kb, "Bravo House", ["10.9.0.5/32"], "scanner")  # looked, not seen
    verified = bravo()
    assert verified.state == "clear" and verified.cleared_on == date(2024, 9, 10)
    figures = programme_timeline(engine, packaged_kb, EVERYTHING, later).figures
    assert (figures.cleared, figures.claimed) == (1, 0)
