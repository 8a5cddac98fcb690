"""The estate's fast paths (issue 13): the same identities and findings as the per-device paths, on SQLite and
PostgreSQL; and migration 0014 (findings and identities without per-row foreign key checks) up and back down."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Engine, inspect, select

from clearsite.core.knowledge import Knowledge
from clearsite.services import assessment, demo_data, estate, identification, imports
from clearsite.services.devices import iter_devices
from clearsite.services.planning import removal_work
from clearsite.services.review import DecisionRequest, decide
from clearsite.store import audit
from clearsite.store.db import _alembic_config, open_database
from clearsite.store.reads import EVERYTHING
from clearsite.store.sites import add_site
from clearsite.store.tables import IdentityRow
from clearsite.store.transactions import write_transaction

AS_OF = date(2026, 11, 29)


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
    command.downgrade(config, "0011")
    assert _keys(store_url) == {"findings": ["devices", "outcomes"], "identities": ["devices"]}
    command.upgrade(config, "head")
    assert _keys(store_url) == {"findings": [], "identities": []}
    engine = open_database(store_url, migrate=False)
    try:
        indexes = {t: sorted(i["name"] for i in inspect(engine).get_indexes(t)) for t in ("findings", "identities")}
    finally:
        engine.dispose()
    assert indexes == {"findings": ["ix_findings_device"], "identities": ["ix_identities_producer_id"]}


def _identities(engine: Engine) -> list[tuple[Any, ...]]:
    """Every stored identity, all columns but when it was computed."""
    columns = [c for c in IdentityRow.__table__.columns if c.name != "computed_at"]
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(*columns).order_by(IdentityRow.device_id))]


def _findings(engine: Engine) -> list[tuple[Any, ...]]:
    return sorted(tuple((k, str(v)) for k, v in f.items()) for f in assessment.stored_findings(engine))


def test_fast_paths_give_the_same_identities_and_findings_as_the_per_device_paths(
        tmp_path: Path, packaged_kb: Knowledge, new_store_url: Callable[[], str]) -> None:
    """A varied register (known and unknown makes, merged rows, rows without dates) with people's decisions:
    forked whole-estate identification and assessment agree with identifying and assessing device by device."""
    register = tmp_path / "register.csv"
    demo_data.write_demo_register(register)
    lines = register.read_text(encoding="utf-8").splitlines()  # repeated serials: devices with several rows
    register.write_text("\n".join([*lines, *(f"X{line}" for line in lines[1:20])]) + "\n", encoding="utf-8")
    engine = open_database(new_store_url())
    with write_transaction(engine) as conn:
        for site in demo_data.demo_sites():
            add_site(conn, site)
    imports.import_register(engine, register, packaged_kb, today=AS_OF)
    assessment.assess_all(engine, packaged_kb, AS_OF, workers=1)
    views = [view for view, _ in iter_devices(engine, with_evidence=False)]
    subject = next(v.id for v in views if v.identity.producer_id == "hikvision")
    unknown = next(v.id for v in views if v.identity.producer_id is None)
    assert len({v.identity.producer_id for v in views}) > 5
    before = {f["device_id"]: f["status"] for f in assessment.stored_findings(engine) if f["device_id"] == subject}
    decide(engine, packaged_kb, EVERYTHING, [subject], DecisionRequest("seen Axis", "no", "axis"), "tester", as_of=AS_OF)
    decide(engine, packaged_kb, EVERYTHING, [unknown], DecisionRequest("badge read", "yes", "dahua"), "tester",
           as_of=AS_OF)

    imported = _identities(engine)
    with write_transaction(engine) as conn:  # the per-device path: what an intake does for earlier devices
        identification.refresh_identities(conn, [v.id for v in views], packaged_kb)
    per_device = _identities(engine)
    identification.refresh_estate(engine, packaged_kb, parallel_from=0, workers=2)
    forked = _identities(engine)
    identification.refresh_estate(engine, packaged_kb, workers=1)
    assert imported == per_device == forked == _identities(engine)

    with write_transaction(engine) as conn:  # per device: the rule every intake follows
        assessment.reassess_touched(conn, packaged_kb, [v.id for v in views], "tester", "test")
    one_by_one = _findings(engine)
    assessment.assess_all(engine, packaged_kb, AS_OF, parallel_from=0, workers=2)
    assert _findings(engine) == one_by_one
    assessment.assess_all(engine, packaged_kb, AS_OF, workers=1)
    assert _findings(engine) == one_by_one
    decided = {f["status"] for f in assessment.stored_findings(engine) if f["device_id"] == subject}
    assert decided == {"compliant"} != set(before.values())  # the decision overrides the machine's verdict
    assert any(f["status"] != "review" for f in assessment.stored_findings(engine) if f["device_id"] == unknown)
    engine.dispose()


def test_plan_and_publish_reuse_stored_findings_only_while_they_are_what_an_assessment_would_give(
        tmp_path: Path, packaged_kb: Knowledge, new_store_url: Callable[[], str]) -> None:
    register = tmp_path / "register.csv"
    demo_data.write_demo_register(register)
    engine = open_database(new_store_url())
    with write_transaction(engine) as conn:
        for site in demo_data.demo_sites():
            add_site(conn, site)
    imports.import_register(engine, register, packaged_kb, today=AS_OF)

    def stand(knowledge: Knowledge = packaged_kb, as_of: date = AS_OF, policy: str | None = None) -> bool:
        with engine.connect() as conn:
            return assessment._stored_findings_stand(conn, knowledge, as_of, policy)

    def found(reuse: bool, policy: str | None = None) -> list[Any]:
        return list(assessment.iter_findings(engine, packaged_kb, AS_OF, policy, reuse=reuse))

    assert not stand()  # nothing assessed yet
    assessment.assess_all(engine, packaged_kb, AS_OF)
    assert stand() and found(reuse=True) == found(reuse=False)
    assert not stand(as_of=AS_OF + timedelta(days=1))  # another date
    assert not stand(dataclasses.replace(packaged_kb, version="another"))  # another knowledge version
    policy = next(iter(packaged_kb.policies))
    assert not stand(policy=policy)  # assessed under every policy, asked for one (across jurisdictions)
    reused_plan = removal_work(engine, packaged_kb, AS_OF)
    assert reused_plan.work
    with write_transaction(engine) as conn:  # an action not known to leave the inputs alone
        audit.record(conn, "tester", "something.else", "nothing")
    assert not stand() and removal_work(engine, packaged_kb, AS_OF) == reused_plan

    assessment.assess_all(engine, packaged_kb, AS_OF, policy)
    assert stand(policy=policy) and not stand()
    assert found(reuse=True, policy=policy) == found(reuse=False, policy=policy)

    assessment.assess_all(engine, packaged_kb, AS_OF)
    with write_transaction(engine) as conn:  # people's work that changes no input: still reused
        audit.record(conn, "tester", "plan.store", "plan:1")
    assert stand()
    stored = found(reuse=True)
    sites = {s["name"]: s for s in estate.sites(engine, EVERYTHING)}
    changed = next(s for s in sites.values() if not s["holds_secret"] and any(f.site == s["name"] for f in stored))
    estate.update_site(engine, "tester", EVERYTHING, changed["id"], {"holds_secret": True})
    assert not stand()
    assert found(reuse=True) == found(reuse=False) != stored  # the site is sensitive now: assessed afresh
    engine.dispose()


def test_verdicts_memoised_by_date_slot_match_assessing_each_date_afresh(packaged_kb: Knowledge) -> None:
    """Every producer the knowledge names, at every date it names, the days either side and no date, under every
    policy, confident and weak, at a sensitive and an ordinary site: one shared Assessment per policy (whose
    verdicts are memoised by where a date falls among the knowledge's dates) gives what assess_device does."""
    from clearsite.core.assess import Assessment, assess_device
    from clearsite.core.assess.engine import _date_slot
    from clearsite.core.models import DeviceFacts, Identity, Network, Site

    dates: set[date] = set()
    for company in packaged_kb.companies.values():
        for fact in (*company.owners, *company.nil_flags):
            dates.update(d + timedelta(days=step) for d in (fact.valid_from, fact.valid_to) if d for step in (-1, 0, 1))
    assert len({_date_slot(d, packaged_kb) for d in dates}) > 10  # the knowledge has dated facts to tell apart
    installs: list[date | None] = [None, *sorted(dates), date(1990, 1, 1), AS_OF]
    sites = [Site("Ordinary", "Dept A", networks=(Network("10.1.0.0/16"),)),
             Site("Secret", "Dept A", holds_secret=True, networks=(Network("10.2.0.0/16", core=True),))]
    assessments = [Assessment(policy, packaged_kb, AS_OF) for policy in packaged_kb.policies.values()]
    checked = 0
    for producer in sorted(packaged_kb.companies):
        for confidence in (0.9, 0.3):
            identity = Identity(None, producer, None, "camera", confidence, ())
            for site in sites:
                for install in installs:
                    facts = DeviceFacts(1, site, identity, "10.2.0.9", install)
                    for shared in assessments:
                        fresh = assess_device(facts, shared.policy, packaged_kb, AS_OF)
                        memoised = shared.outcomes(facts)
                        assert [(f.obligation, f.status, f.due, f.reasons) for f in fresh] == \
                            [(o.obligation, o.status, o.due, o.reasons) for o in memoised], (producer, install)
                        checked += 1
    assert checked > 1000
