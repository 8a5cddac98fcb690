"""The centre on PostgreSQL under load and faults, at CI size (the full-size runs are bench/central_scale.py).

Real processes on loopback only: the test's own PostgreSQL server, `clearsite serve --workers 2`, and
`clearsite agent run --once` subprocesses whose spools hold a known number of observations. Whatever
breaks — the centre killed with kill -9 mid-push, agents killed mid-batch, a link that resets
connections, a token revoked mid-run — the database ends with exactly what was spooled: nothing lost,
nothing doubled. Every wait is on a condition with a deadline.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.central import (
    AgentSite,
    CentreProcess,
    counts_by_site,
    drain,
    fill_spool,
    finish,
    make_sites,
    observation_total,
    spool_pending,
    start_agent,
    wait_until,
)
from tests.support.proxy import ResettingProxy

pytestmark = [pytest.mark.postgres, pytest.mark.network, pytest.mark.slow]

AGENTS = int(os.environ.get("CLEARSITE_CENTRAL_AGENTS", "5"))
PER_AGENT = int(os.environ.get("CLEARSITE_CENTRAL_PER_AGENT", "2000"))
BATCH = 250


@pytest.fixture
def database(postgres_server, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with postgres_server.database(migrated=True) as url:
        yield url


@pytest.fixture
def centre(database: str, tmp_path: Path) -> Iterator[CentreProcess]:
    centre = CentreProcess(database, workers=2, log=tmp_path / "centre.log").start()
    yield centre
    centre.stop()


def _sites(database: str, tmp_path: Path, count: int = AGENTS, per_agent: int = PER_AGENT) -> list[AgentSite]:
    sites = make_sites(database, tmp_path, count)
    for site in sites:
        fill_spool(site, per_agent)
    return sites


def _assert_exactly_spooled(database: str, sites: list[AgentSite]) -> None:
    """Every spooled observation is in the database once, as one device each, and every spool is empty."""
    counts = counts_by_site(database)
    for site in sites:
        got = counts[site.name]
        assert got["observations"] == got["fingerprints"] == site.spooled, (site.name, got)
        assert got["devices"] == got["serials"] == site.spooled, (site.name, got)
        assert spool_pending(site) == 0, site.name


def test_agents_push_everything_once(centre: CentreProcess, database: str, tmp_path: Path) -> None:
    sites = _sites(database, tmp_path)
    agents = [start_agent(site, centre.url, batch=BATCH) for site in sites]
    results = [finish(agent) for agent in agents]
    assert [code for code, _ in results] == [0] * len(sites), [err[-800:] for _, err in results]
    _assert_exactly_spooled(database, sites)
    assert observation_total(database) == AGENTS * PER_AGENT


def test_the_centre_killed_with_kill_9_mid_push_and_restarted_loses_and_doubles_nothing(
        centre: CentreProcess, database: str, tmp_path: Path) -> None:
    sites = _sites(database, tmp_path)
    agents = [start_agent(site, centre.url, batch=BATCH, push_for="60s") for site in sites]
    total = AGENTS * PER_AGENT
    # mid-push: some batches in, many still to come
    wait_until(lambda: observation_total(database) >= total // 5, "the first batches to arrive")
    centre.kill9()
    held_while_down = observation_total(database)
    assert held_while_down < total, "the push finished before the kill: make the spools bigger"
    centre.start()  # same port: the agents, still retrying, find it again
    for agent, site in zip(agents, sites, strict=True):
        code, err = finish(agent)
        if code != 0:  # its retries ran out while the centre was down: the next run takes the rest
            assert code == 1 and "still in the spool" in err, err[-800:]
            drain(site, centre.url, batch=BATCH)
    _assert_exactly_spooled(database, sites)


@pytest.mark.parametrize("fault_point", ["batch-formed", "batch-sent"])
def test_agents_killed_mid_batch_and_restarted_lose_and_double_nothing(
        centre: CentreProcess, database: str, tmp_path: Path, fault_point: str) -> None:
    """batch-formed: killed before the centre heard of the batch; batch-sent: after the centre applied it
    but before the agent marked it accepted, so the restart sends it again under the same key."""
    sites = _sites(database, tmp_path)
    markers = [tmp_path / f"fault-{site.number}" for site in sites]
    # Let a few batches through first, so each agent is killed mid-spool, not at its start.
    agents = [start_agent(site, centre.url, batch=BATCH,
                          env={"CLEARSITE_AGENT_FAULT_AT": fault_point, "CLEARSITE_AGENT_FAULT_FILE": str(marker)})
              for site, marker in zip(sites, markers, strict=True)]
    for agent, marker in zip(agents, markers, strict=True):
        wait_until(marker.exists, f"an agent to reach {fault_point}",
                   also=lambda agent=agent: _still_running(agent))
        agent.send_signal(signal.SIGKILL)
        agent.wait(30)
    before = observation_total(database)
    for site in sites:
        drain(site, centre.url, batch=BATCH)
    _assert_exactly_spooled(database, sites)
    assert before < AGENTS * PER_AGENT


def _still_running(agent) -> None:  # type: ignore[no-untyped-def]
    if agent.poll() is not None:
        raise AssertionError(f"the agent ended ({agent.returncode}) before its fault point: "
                             f"{agent.stderr.read()[-800:]}")


def test_a_link_that_resets_connections_mid_stream_loses_and_doubles_nothing(
        centre: CentreProcess, database: str, tmp_path: Path) -> None:
    proxy = ResettingProxy(centre.port, every=3)
    try:
        sites = _sites(database, tmp_path)
        through = f"http://127.0.0.1:{proxy.port}"
        agents = [start_agent(site, through, batch=BATCH, push_for="60s") for site in sites]
        for agent, site in zip(agents, sites, strict=True):
            code, err = finish(agent)
            if code != 0:
                assert code == 1, err[-800:]
                drain(site, through, batch=BATCH, push_for="60s")
        assert proxy.stats.cut_in_request > 0 and proxy.stats.cut_in_response > 0, proxy.stats
    finally:
        proxy.stop()
    _assert_exactly_spooled(database, sites)


def test_a_token_revoked_mid_run_stops_its_agent_within_one_batch_and_keeps_its_spool(
        centre: CentreProcess, database: str, tmp_path: Path) -> None:
    from clearsite.services.accounts import end_token
    from clearsite.services.database import open_database

    site = _sites(database, tmp_path, count=1, per_agent=PER_AGENT)[0]
    marker = tmp_path / "at-batch"
    # The agent waits before each batch (its fault point), so the test knows how many went in.
    agent = start_agent(site, centre.url, batch=BATCH,
                        env={"CLEARSITE_AGENT_FAULT_AT": "batch-formed", "CLEARSITE_AGENT_FAULT_FILE": str(marker)})
    for _ in range(2):  # two batches through
        wait_until(marker.exists, "the agent to form a batch", also=lambda: _still_running(agent))
        marker.unlink()
        wait_until(lambda: marker.exists() or agent.poll() is not None, "the next batch")
    wait_until(marker.exists, "the agent to form its third batch", also=lambda: _still_running(agent))
    stored_before = observation_total(database)
    engine = open_database(database)
    end_token(engine, site.token_id, "officer")
    engine.dispose()
    marker.unlink()  # the third batch goes to the centre with the revoked token
    code, err = finish(agent)
    assert code == 2, err[-800:]
    assert "token" in err.splitlines()[-1] and site.token not in err  # says why, never shows the token
    assert observation_total(database) == stored_before  # not one more batch
    assert spool_pending(site) == PER_AGENT - stored_before  # what it could not push is kept
