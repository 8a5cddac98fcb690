"""The centre's agent records on both databases: a batch key applied once, jobs handed out once to workers
claiming at the same time (SKIP LOCKED on PostgreSQL), heartbeats kept per site, refusals alerted."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from clearsite.core.errors import AccessError, InputError
from clearsite.core.models import Evidence, Signal
from clearsite.services import agents
from clearsite.services.accounts import add_account
from clearsite.services.alerts import list_alerts
from clearsite.services.imports import AgentObservation, PushConflict, content_digest, push_observations
from clearsite.services.sites import add_site
from clearsite.store.db import open_database
from clearsite.store.reads import EVERYTHING, SiteScope
from clearsite.store.tables import ObservationRow
from clearsite.testing import PASSWORD

pytestmark = pytest.mark.usefixtures("store_url")


@pytest.fixture
def centre(store_url: str) -> tuple[Engine, dict[str, Any]]:
    engine = open_database(store_url)
    lab = add_site(engine, "test", name="Lab", department="Dept A", networks=["10.7.0.0/24"]).id
    other = add_site(engine, "test", name="Other", department="Dept B", networks=["10.8.0.0/24"]).id
    agent = add_account(engine, "lab-agent", PASSWORD, "agent", department=None, site="Lab", actor="test",
                        one_time=False)
    return engine, {"lab": lab, "other": other, "agent": agent}


def _observation(n: int) -> AgentObservation:
    body = {"ip": f"10.7.0.{n}", "evidence": [{"signal": "port", "value": "554/tcp", "source": ""}]}
    return AgentObservation(id=f"spool-{n}", content_sha256=content_digest(body), ip=f"10.7.0.{n}",
                            evidence=(Evidence(Signal.PORT, "554/tcp", ""),))


def _stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(ObservationRow)) or 0)


def test_a_batch_key_is_applied_once(centre: tuple[Engine, dict[str, Any]], packaged_kb: Any) -> None:
    engine, ids = centre
    scope = SiteScope(site_id=ids["lab"])
    batch = [_observation(n) for n in range(1, 6)]
    first = push_observations(engine, packaged_kb, scope, ids["lab"], "lab-agent", "lab-agent", batch, "k:1")
    assert first["stored"] == 5 and not first.get("replayed")
    again = push_observations(engine, packaged_kb, scope, ids["lab"], "lab-agent", "lab-agent", batch, "k:1")
    assert again["replayed"] and again["stored"] == 5  # the first answer, given again
    assert _stored(engine) == 5
    # the same observations under a new key (a batch formed again): their ids still keep them single
    reformed = push_observations(engine, packaged_kb, scope, ids["lab"], "lab-agent", "lab-agent", batch, "k:2")
    assert reformed["stored"] == 0 and reformed["duplicates"] == 5 and _stored(engine) == 5
    with pytest.raises(PushConflict, match="another site"):
        push_observations(engine, packaged_kb, EVERYTHING, ids["other"], "x", "x",
                          [AgentObservation(id="o-1", content_sha256="0" * 64, ip="10.8.0.1")], "k:1")


def test_jobs_claimed_at_once_by_several_workers_go_out_once_each(centre: tuple[Engine, dict[str, Any]]) -> None:
    engine, ids = centre
    made = [agents.request_scan(engine, "officer", EVERYTHING, ids["lab"], [])["id"] for _ in range(24)]
    claimed: list[int] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            while taken := agents.claim_jobs(engine, ids["agent"], "lab-agent"):
                with lock:
                    claimed.extend(j["id"] for j in taken)
        except BaseException as exc:  # noqa: BLE001 - reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    assert sorted(claimed) == sorted(made)  # each job once, none lost
    agents.report_job(engine, ids["agent"], "lab-agent", made[0], True, {"responded": 3, "targets": 6})
    with pytest.raises(Exception, match="no running job"):
        agents.report_job(engine, ids["agent"], "lab-agent", made[0], True, {})  # reported already
    done = {j["id"]: j for j in agents.jobs(engine, EVERYTHING)}
    assert done[made[0]]["status"] == "done" and done[made[1]]["status"] == "running"


def test_a_job_outside_the_sites_networks_or_scope_is_refused(centre: tuple[Engine, dict[str, Any]]) -> None:
    engine, ids = centre
    with pytest.raises(InputError, match="outside the site's networks"):
        agents.request_scan(engine, "officer", EVERYTHING, ids["lab"], ["10.8.0.0/24"])
    with pytest.raises(Exception, match="not found"):
        agents.request_scan(engine, "officer", SiteScope(department_id=999), ids["lab"], [])


def test_heartbeats_are_kept_per_site_and_silence_is_alerted_once(centre: tuple[Engine, dict[str, Any]]) -> None:
    engine, ids = centre
    heard = datetime(2026, 12, 1, 2, 0)
    for spooled in (7, 3):
        agents.heartbeat(engine, ids["agent"], host="lab-01", version="0.1.0", spooled=spooled,
                         last_scan=heard, last_push=None, now=heard)
    rows = {r["site"]: r for r in agents.agent_health(engine, EVERYTHING, heard + timedelta(hours=1))}
    assert rows["Lab"]["spooled"] == 3 and rows["Lab"]["state"] == "reporting"
    assert rows["Other"]["state"] == "no agent"
    assert agents.check_silent_sites(engine, heard + timedelta(hours=30)) == ["Lab"]
    assert agents.check_silent_sites(engine, heard + timedelta(hours=31)) == []
    agents.heartbeat(engine, ids["agent"], host="lab-01", version="0.1.0", spooled=0, last_scan=None, last_push=None,
                     now=heard + timedelta(hours=32))  # heard again: a later silence is a new one
    assert agents.check_silent_sites(engine, heard + timedelta(hours=60)) == ["Lab"]
    assert len(list_alerts(engine, kind="site_silent")) == 2


def test_a_push_for_another_site_or_outside_the_networks_is_refused_and_alerted(
        centre: tuple[Engine, dict[str, Any]], packaged_kb: Any) -> None:
    engine, ids = centre
    with pytest.raises(AccessError, match="not 'Other'"):
        agents.check_push(engine, ids["agent"], "lab-agent", "Other", "k1")
    assert agents.check_push(engine, ids["agent"], "lab-agent", "lab", "k3") == ids["lab"]
    # The addresses are checked where they are stored: the whole batch refused, nothing kept, alerted.
    stray = [AgentObservation(id="in-1", content_sha256="0" * 64, ip="10.7.0.5"),
             AgentObservation(id="out-1", content_sha256="1" * 64, ip="10.8.0.5")]
    with pytest.raises(InputError, match="outside the networks"):
        push_observations(engine, packaged_kb, SiteScope(site_id=ids["lab"]), ids["lab"], "lab-agent", "lab-agent",
                          stray, "k2")
    with engine.connect() as conn:
        kept = conn.scalar(select(func.count()).select_from(ObservationRow)
                           .where(ObservationRow.locator.in_(["agent:in-1", "agent:out-1"])))
    assert kept == 0
    refused = list_alerts(engine, kind="agent_refused")
    assert len(refused) == 2 and {a.site for a in refused} == {"Lab"}
    assert any("10.8.0.5" in a.detail for a in refused) and not any("10.7.0.5" in a.detail for a in refused)
    assert list_alerts(engine, SiteScope(department_id=999), kind="agent_refused") == []


def test_migration_0009_makes_exactly_the_agent_tables_the_models_describe(store_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import clearsite.store.agents_tables  # noqa: F401 - registers the tables on Base.metadata
    from clearsite.store.tables import Base

    mine = {"agent_heartbeats", "agent_jobs", "agent_push_keys"}
    engine = open_database(store_url)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if any(f"'{name}'" in repr(d) for name in mine)] == []


def test_migration_0009_goes_down_and_up_again(store_url: str) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from clearsite.store.db import _alembic_config

    engine = open_database(store_url)
    config = _alembic_config(engine)
    command.downgrade(config, "0008")
    assert not {"agent_heartbeats", "agent_jobs", "agent_push_keys"} & set(inspect(engine).get_table_names())
    command.upgrade(config, "head")
    assert {"agent_heartbeats", "agent_jobs", "agent_push_keys"} <= set(inspect(engine).get_table_names())
