"""What the server runs beside its requests, for as long as it serves: alert delivery, a look for a newly
installed knowledge base, and a look for sites whose agent has gone quiet, which must be alerted even
when no other agent calls in and nobody opens the agents page."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clearsite.services import agents
from clearsite.services.alerts import list_alerts
from clearsite.store.db import open_database
from clearsite.store.users import find_user
from clearsite.testing import build_world

PASSES = {"clearsite-alert-delivery", "knowledge-watch", "site-silence"}


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, packaged_kb: Any) -> Any:
    url = f"sqlite:///{tmp_path / 'clearsite.db'}"
    engine = open_database(url)
    build_world(engine, packaged_kb, tmp_path)
    monkeypatch.setenv("CLEARSITE_DATABASE_URL", url)
    monkeypatch.setenv("CLEARSITE_KNOWLEDGE_DIR", str(tmp_path / "knowledge"))
    return engine


def test_each_pass_runs_on_its_own_thread_while_the_app_is_served(served: Any) -> None:
    from clearsite.web.server import app_from_environment

    before = {t.name for t in threading.enumerate()}
    with TestClient(app_from_environment()):
        assert {t.name for t in threading.enumerate()} - before >= PASSES
    assert not PASSES & {t.name for t in threading.enumerate()}


def test_a_quiet_site_is_alerted_by_the_servers_own_pass(served: Any) -> None:
    from clearsite.web.server import app_from_environment

    with served.connect() as conn:
        agent = find_user(conn, "agent-alpha")
    assert agent is not None
    long_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=3)
    agents.heartbeat(served, agent, host="alpha-01", version="0.1.0", spooled=0, last_scan=long_ago,
                     last_push=long_ago, now=long_ago)
    app = app_from_environment()
    assert list_alerts(served, kind="site_silent") == []  # nothing has looked yet
    app.state.background["site-silence"]()
    quiet = list_alerts(served, kind="site_silent")
    assert [a.site for a in quiet] == ["Alpha HQ"] and "last heard" in quiet[0].detail
    app.state.background["site-silence"]()  # another worker's pass, or the next one: raised once
    assert len(list_alerts(served, kind="site_silent")) == 1


def test_a_pass_that_fails_is_reported_and_the_next_one_runs(served: Any, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from clearsite.web import server

    calls: list[int] = []
    done = threading.Event()

    def flaky(engine: Any, silent_after: Any) -> list[str]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        done.set()
        return []

    monkeypatch.setattr(server, "SILENCE_CHECK_SECONDS", 0.01)
    monkeypatch.setattr(agents, "check_silent_sites", flaky)
    with TestClient(server.app_from_environment()):
        assert done.wait(30), "the pass after the failed one did not run"
    assert "clearsite: site-silence: RuntimeError: database went away" in capsys.readouterr().err
