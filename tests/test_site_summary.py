"""The per-site summary (store.site_summary) the dashboard and the timeline read at scale: it gives the very
numbers the findings give, in every scope, and is not used once the estate has changed since it was counted."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from clearsite.services.devices import iter_devices
from clearsite.services.inventory import ensure_index
from clearsite.services.removal import record_coverage, record_removal
from clearsite.services.timeline import OUTSTANDING, programme_timeline, removal_obligations
from clearsite.store import site_reads, timeline_reads
from clearsite.store.db import open_database
from clearsite.store.reads import EVERYTHING, SiteScope
from clearsite.store.site_summary import is_fresh, obligations_key
from clearsite.testing import build_world

LATER = date(2024, 9, 20)


def _figures(engine: Engine, knowledge: Any, scope: SiteScope, summary: bool) -> tuple[Any, ...]:
    obligations = removal_obligations(knowledge)
    with engine.connect() as conn:
        devices = site_reads.device_counts_by_site(conn, scope, summary=summary)
        findings = {site: dict(c) for site, c in site_reads.finding_counts_by_site(conn, scope, summary=summary).items()}
        removals = sorted(timeline_reads.site_removals(conn, scope, obligations, OUTSTANDING, summary=summary),
                          key=lambda r: r.site_id)
    return devices, findings, removals


def _same_either_way(engine: Engine, knowledge: Any, scopes: list[SiteScope]) -> None:
    key = obligations_key(removal_obligations(knowledge), OUTSTANDING)
    with engine.connect() as conn:
        assert is_fresh(conn, key)
    for scope in scopes:
        assert _figures(engine, knowledge, scope, True) == _figures(engine, knowledge, scope, False), scope


def test_the_summary_counts_as_the_findings_do_and_is_dropped_when_the_estate_changes(
        tmp_path: Path, packaged_kb: Any, monkeypatch: Any, store_url: str) -> None:
    monkeypatch.setenv("CLEARSITE_EVIDENCE_DIR", str(tmp_path / "evidence"))
    engine = open_database(store_url)
    world = build_world(engine, packaged_kb, tmp_path)
    scopes = [EVERYTHING, *(SiteScope(site_id=i) for i in world.sites.values()), SiteScope(department_id=1),
              SiteScope(department_id=2)]
    key = obligations_key(removal_obligations(packaged_kb), OUTSTANDING)
    with engine.connect() as conn:
        assert not is_fresh(conn, key)  # never counted
    ensure_index(engine, packaged_kb)
    _same_either_way(engine, packaged_kb, scopes)
    devices, findings, removals = _figures(engine, packaged_kb, EVERYTHING, True)
    assert sum(devices.values()) > 0 and any(findings.values()) and [r.open for r in removals if r.open]

    (bravo_device,) = [view.id for view, _ in iter_devices(engine, "Bravo House", with_evidence=False)]
    record_removal(engine, packaged_kb, "bob", EVERYTHING, bravo_device, removed_on=date(2024, 9, 10), today=LATER)
    with engine.connect() as conn:
        assert not is_fresh(conn, key) and not is_fresh(conn)  # a claim changes the estate: read the findings
    stale = programme_timeline(engine, packaged_kb, EVERYTHING, LATER)
    assert next(s for s in stale.sites if s.site == "Bravo House").state == "claimed"
    ensure_index(engine, packaged_kb)
    _same_either_way(engine, packaged_kb, scopes)
    assert programme_timeline(engine, packaged_kb, EVERYTHING, LATER).sites == stale.sites

    record_coverage(engine, packaged_kb, "Bravo House", ["10.9.0.5/32"], "scanner")  # looked, not seen: verified
    ensure_index(engine, packaged_kb)
    _same_either_way(engine, packaged_kb, scopes)
    summarised = programme_timeline(engine, packaged_kb, EVERYTHING, LATER)
    live = programme_timeline(engine, packaged_kb, EVERYTHING, LATER, assess=True)
    assert summarised.sites == live.sites
    assert next(s for s in summarised.sites if s.site == "Bravo House").state == "clear"
    assert world.sites  # the world's three sites were all compared above


def test_a_summary_counted_for_other_obligations_is_not_used(tmp_path: Path, packaged_kb: Any, store_url: str) -> None:
    engine = open_database(store_url)
    build_world(engine, packaged_kb, tmp_path)
    ensure_index(engine, packaged_kb)
    with engine.connect() as conn:
        assert is_fresh(conn, obligations_key(removal_obligations(packaged_kb), OUTSTANDING))
        assert not is_fresh(conn, obligations_key([("some-policy", "another-obligation")], OUTSTANDING))
        assert timeline_reads.site_removals(conn, EVERYTHING, [("no-such", "obligation")], OUTSTANDING) == []
