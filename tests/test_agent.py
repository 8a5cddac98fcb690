"""The site agent end to end: a real centre (uvicorn on a loopback port), a real emulated fleet, the real
`clearsite agent` in subprocesses. Lose nothing, double nothing: centre down, kill -9 mid-batch, a revoked
token, another site's or out-of-scope addresses, a job asked for on the web, a file dropped in the inbox.

Scans reach only the fleet on 127.72.0.0/24; the site also declares 10.20.30.0/28 so a scanner file from
tests/data can be dropped in its inbox (that file is only read: nothing is ever sent to 10.x).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from clearsite.services.accounts import add_account, end_token, issue_token
from clearsite.services.agents import agent_health, check_silent_sites
from clearsite.services.alerts import list_alerts
from clearsite.services.sites import add_site
from clearsite.sim import BY_KEY, Fleet
from clearsite.store.db import open_database
from clearsite.store.tables import ObservationRow
from clearsite.testing import PASSWORD
from clearsite.web import Settings, create_app

pytestmark = [pytest.mark.network, pytest.mark.slow]

PERSONAS = ["hikvision-camera", "dahua-camera", "axis-camera", "uniview-camera"]
BASE = "127.72.0.1"
FLEET_CIDR = "127.72.0.0/29"  # the four devices, and two addresses that do not answer
NMAP = Path(__file__).parent / "data" / "scans" / "nmap_site_sv_os.xml"
DEADLINE = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    fleet = Fleet(len(PERSONAS), seed=3, base=BASE, personas=[BY_KEY[p] for p in PERSONAS])
    with fleet.in_thread():
        yield fleet


class Centre:
    """The centre: the web app under uvicorn on a real port, its database, and credentials made for a test."""

    def __init__(self, tmp: Path, knowledge: Any, tls: tuple[Path, Path] | None = None) -> None:
        import uvicorn

        self.engine: Engine = open_database(f"sqlite:///{tmp / 'centre.db'}")
        add_site(self.engine, "test", name="Lab", department="Dept A", holds_secret=True,
                 networks=["127.72.0.0/24", "10.20.30.0/28", "2001:db8::/64"])
        add_site(self.engine, "test", name="Other", department="Dept B", networks=["127.73.0.0/24"])
        add_account(self.engine, "officer-a", PASSWORD, "officer", department="Dept A", site=None, actor="test",
                    one_time=False)
        self.officer = issue_token(self.engine, "officer-a", "browser", None, 1, "test").token
        self.port = _free_port()
        self.url = f"http{'s' if tls else ''}://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(self.engine, knowledge, Settings()), host="127.0.0.1", port=self.port,
                                log_level="warning", ssl_certfile=str(tls[0]) if tls else None,
                                ssl_keyfile=str(tls[1]) if tls else None)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the centre did not start"
            time.sleep(0.05)
        self.agents = 0

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def new_agent(self, tmp: Path, site: str = "Lab") -> tuple[str, Path, int]:
        """An agent user for `site` and its push token in a file: (user, token file, token id)."""
        self.agents += 1
        user = f"agent-{self.agents}"
        add_account(self.engine, user, PASSWORD, "agent", department=None, site=site, actor="test", one_time=False)
        issued = issue_token(self.engine, user, f"host-{self.agents}", ["push"], 1, "test")
        token_file = tmp / f"{user}.token"
        token_file.write_text(issued.token + "\n", encoding="utf-8")
        token_file.chmod(0o600)
        return user, token_file, issued.id

    def agent_observations(self) -> list[str]:
        """The agent ids of every observation agents pushed, one per stored observation."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(ObservationRow.data).where(ObservationRow.kind == "agent_host")).scalars()
            return [row["fields"]["client_id"] for row in rows]

    def api(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=30,
                             **kwargs)


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory, packaged_kb: Any) -> Iterator[Centre]:
    centre = Centre(tmp_path_factory.mktemp("centre"), packaged_kb)
    yield centre
    centre.stop()


def agent(*args: str, env: dict[str, str] | None = None, wait: bool = True) -> Any:
    """`clearsite agent …` in a subprocess (its own process, so kill -9 is real)."""
    command = [sys.executable, "-m", "clearsite", "agent", *args]
    full_env = {**os.environ, **(env or {})}
    if not wait:
        return subprocess.Popen(command, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
    return subprocess.run(command, env=full_env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=DEADLINE)


def run_args(centre_url: str, token_file: Path, spool: Path, *extra: str, site: str = "Lab") -> list[str]:
    return ["run", "--server", centre_url, "--token-file", str(token_file), "--site", site, "--spool", str(spool),
            "--timeout", "0.5", "--push-for", "1s", *extra]


def status(spool: Path) -> dict[str, Any]:
    answer = agent("status", "--spool", str(spool), "--format", "json")
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout)


def dead_url() -> str:
    return f"http://127.0.0.1:{_free_port()}"  # nothing listens there: the centre is down


def spool_offline(centre: Centre, token_file: Path, spool: Path) -> int:
    """Scan the fleet while the centre is down (networks from the cache an earlier run left); returns what
    the spool holds then."""
    down = agent(*run_args(dead_url(), token_file, spool, "--once", "--target", FLEET_CIDR))
    assert down.returncode == 1, down.stderr
    assert "observations still in the spool" in down.stderr
    held = status(spool)["spooled"]
    assert held >= len(PERSONAS)
    return held


def wait_for(condition: Any, what: str, process: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what}: the agent ended first ({process.returncode}): {process.stderr.read()}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# --------------------------------------------------------------------------- the tests


def test_once_scans_the_fleet_and_the_centre_has_its_devices(centre: Centre, fleet: Fleet, tmp_path: Path) -> None:
    user, token_file, _ = centre.new_agent(tmp_path)
    spool = tmp_path / "spool"
    before = len(centre.agent_observations())
    result = agent(*run_args(centre.url, token_file, spool, "--once", "--target", FLEET_CIDR))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # quiet for cron: `agent status` says what the run left
    answer = status(spool)
    assert answer["spooled"] == 0 and answer["site"] == "Lab" and answer["server"] == centre.url
    assert answer["last_push"] and answer["last_scan"]
    pushed = centre.agent_observations()[before:]
    assert len(pushed) == len(set(pushed)) >= len(PERSONAS)
    devices = centre.api("GET", "/api/v1/devices", centre.officer, params={"limit": 1000}).json()
    assert {d.ip for d in fleet.devices} <= {d["ip"] for d in devices}
    health = {r["site"]: r for r in centre.api("GET", "/api/v1/agents", centre.officer).json()}
    assert health["Lab"]["agent"] == user and health["Lab"]["state"] == "reporting" and health["Lab"]["spooled"] == 0
    assert "Other" not in health  # another department's site is not the officer's to see
    assert token_file.read_text().strip() not in result.stderr + result.stdout


def test_a_down_centre_keeps_the_spool_and_a_later_run_drains_it_once(centre: Centre, fleet: Fleet,
                                                                    tmp_path: Path) -> None:
    _, token_file, _ = centre.new_agent(tmp_path)
    spool = tmp_path / "spool"
    first = agent(*run_args(centre.url, token_file, spool, "--once", "--target", "127.72.0.1/32"))
    assert first.returncode == 0, first.stderr  # learns (and caches) the site's networks
    before = centre.agent_observations()
    once = spool_offline(centre, token_file, spool)
    held = spool_offline(centre, token_file, spool)  # two outages' worth, one spool
    assert held == 2 * once
    assert status(spool)["coverage_waiting"] == 2  # both finished scans: what they covered waits with them
    again = agent(*run_args(centre.url, token_file, spool, "--once", "--target", "127.72.0.7/32", "--batch", "3"))
    assert again.returncode == 0, again.stderr
    assert status(spool)["spooled"] == 0 and status(spool)["coverage_waiting"] == 0
    after = centre.agent_observations()
    assert len(after) - len(before) == held  # every spooled observation arrived, none twice
    assert len(after) == len(set(after))


@pytest.mark.parametrize("fault", ["batch-sent", "batch-formed"])
def test_kill_9_mid_batch_then_restart_loses_and_doubles_nothing(centre: Centre, fleet: Fleet, tmp_path: Path,
                                                                 fault: str) -> None:
    _, token_file, _ = centre.new_agent(tmp_path)
    spool = tmp_path / "spool"
    assert agent(*run_args(centre.url, token_file, spool, "--once", "--target", "127.72.0.1/32")).returncode == 0
    held = spool_offline(centre, token_file, spool)
    before = centre.agent_observations()
    marker = tmp_path / "at-fault"
    # batch-sent: the centre has applied the batch, the agent has not yet marked it; batch-formed: not yet sent.
    running = agent(*run_args(centre.url, token_file, spool, "--once", "--batch", "2", "--target", "127.72.0.7/32"),
                    env={"CLEARSITE_AGENT_FAULT_AT": fault, "CLEARSITE_AGENT_FAULT_FILE": str(marker)}, wait=False)
    try:
        wait_for(marker.exists, f"the agent to reach {fault}", running)
        os.kill(running.pid, signal.SIGKILL)
        running.wait(30)
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode == -signal.SIGKILL
    assert status(spool)["spooled"] == held  # the batch in flight is still spooled
    restarted = agent(*run_args(centre.url, token_file, spool, "--once", "--target", "127.72.0.7/32", "--batch", "2"))
    assert restarted.returncode == 0, restarted.stderr
    after = centre.agent_observations()
    assert len(after) - len(before) == held and len(after) == len(set(after))


def test_a_revoked_token_stops_the_agent_in_one_line_and_keeps_its_spool(centre: Centre, fleet: Fleet,
                                                                        tmp_path: Path) -> None:
    _, token_file, token_id = centre.new_agent(tmp_path)
    spool = tmp_path / "spool"
    assert agent(*run_args(centre.url, token_file, spool, "--once", "--target", "127.72.0.1/32")).returncode == 0
    held = spool_offline(centre, token_file, spool)
    end_token(centre.engine, token_id, "test")
    refused = agent(*run_args(centre.url, token_file, spool, "--once", "--target", "127.72.0.1/32"))
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused the token" in lines[0] and "kept in the spool" in lines[0], lines
    assert token_file.read_text().strip() not in refused.stderr
    assert status(spool)["spooled"] >= held  # kept (the refused run scanned into it first, from the cache)


def test_another_sites_push_or_addresses_outside_its_networks_are_refused_and_alerted(
        centre: Centre, fleet: Fleet, tmp_path: Path) -> None:
    _, token_file, _ = centre.new_agent(tmp_path)
    spool = tmp_path / "spool"
    wrong = agent(*run_args(centre.url, token_file, spool, "--once", site="Other"))
    assert wrong.returncode == 2
    assert len(wrong.stderr.strip().splitlines()) == 1 and "not 'Other'" in wrong.stderr
    token = token_file.read_text().strip()
    outside = centre.api("POST", "/api/v1/agent/batches", token, json={
        "site": "Lab", "key": "test-outside-1",
        "observations": [{"id": "x-1", "ip": "127.72.0.9"}, {"id": "x-2", "ip": "127.73.0.9"}]})
    assert outside.status_code == 422 and "outside the networks" in outside.json()["detail"]
    assert "x-1" not in centre.agent_observations()  # refused whole
    elsewhere = centre.api("POST", "/api/v1/agent/batches", token, json={
        "site": "Other", "key": "test-elsewhere-1", "observations": [{"id": "y-1", "ip": "127.73.0.9"}]})
    assert elsewhere.status_code == 403
    refused = list_alerts(centre.engine, kind="agent_refused")
    assert any("Other" in a.detail for a in refused) and any("127.73.0.9" in a.detail for a in refused)
    assert all(a.site == "Lab" for a in refused)  # raised for the agent's own site's department


def test_a_scan_asked_for_on_the_web_is_picked_up_and_reported(centre: Centre, fleet: Fleet, tmp_path: Path) -> None:
    _, token_file, _ = centre.new_agent(tmp_path)
    spool = tmp_path / "spool"
    sites = {s["name"]: s["id"] for s in centre.api("GET", "/api/v1/sites", centre.officer).json()}
    outside = centre.api("POST", "/agents/jobs", centre.officer, data={"site_id": sites["Lab"],
                                                                       "targets": "127.99.0.0/24"})
    assert outside.status_code == 422 and "outside the site" in outside.text  # the form again, saying why
    asked = centre.api("POST", "/agents/jobs", centre.officer, data={"site_id": sites["Lab"], "targets": FLEET_CIDR},
                       follow_redirects=False)
    assert asked.status_code == 303
    job_id = int(asked.headers["location"].rsplit("=", 1)[1])
    page = centre.api("GET", f"/agents?requested={job_id}", centre.officer)
    assert f"Scan {job_id} requested" in page.text and "Queued" in page.text
    before = len(centre.agent_observations())
    ran = agent(*run_args(centre.url, token_file, spool, "--once", "--target", "127.72.0.7/32"))
    assert ran.returncode == 0, ran.stderr
    jobs = {j["id"]: j for j in _jobs(centre)}
    assert jobs[job_id]["status"] == "done" and jobs[job_id]["outcome"]["responded"] >= len(PERSONAS)
    assert len(centre.agent_observations()) - before >= len(PERSONAS)
    assert "Done" in centre.api("GET", "/agents", centre.officer).text


def _jobs(centre: Centre) -> list[dict[str, Any]]:
    from clearsite.services.agents import jobs
    from clearsite.store.reads import EVERYTHING

    return jobs(centre.engine, EVERYTHING)


def test_an_inbox_file_is_spooled_pushed_and_moved_with_its_reason(centre: Centre, fleet: Fleet,
                                                                   tmp_path: Path) -> None:
    _, token_file, _ = centre.new_agent(tmp_path)
    spool, inbox = tmp_path / "spool", tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(NMAP, inbox / "site.xml")
    (inbox / "elsewhere.csv").write_text("Internet Address,Physical Address,Type\n"
                                         "192.0.2.7,00-1b-21-aa-bb-cc,dynamic\n", encoding="utf-8")
    ran = agent(*run_args(centre.url, token_file, spool, "--once", "--target", "127.72.0.7/32", "--inbox", str(inbox)))
    assert ran.returncode == 0, ran.stderr
    assert sorted(p.name for p in inbox.iterdir()) == ["done", "failed"]
    done = sorted(p.name for p in (inbox / "done").iterdir())
    failed = sorted(p.name for p in (inbox / "failed").iterdir())
    assert any(n.endswith("-site.xml") for n in done) and any(n.endswith("-elsewhere.csv") for n in failed)
    reason = next(p for p in (inbox / "failed").iterdir() if p.name.endswith(".reason.txt")).read_text()
    assert "192.0.2.7" in reason and "outside the site's networks" in reason
    devices = {d["ip"] for d in centre.api("GET", "/api/v1/devices", centre.officer, params={"limit": 1000}).json()}
    assert "10.20.30.11" in devices and "192.0.2.7" not in devices


def test_a_site_gone_quiet_is_listed_as_silent_and_alerted_once(centre: Centre, fleet: Fleet, tmp_path: Path) -> None:
    _, token_file, _ = centre.new_agent(tmp_path)
    assert agent(*run_args(centre.url, token_file, tmp_path / "spool", "--once", "--target",
                           "127.72.0.1/32")).returncode == 0
    from clearsite.store.reads import EVERYTHING

    heard = next(r for r in agent_health(centre.engine, EVERYTHING) if r["site"] == "Lab")["heard_at"]
    from datetime import datetime

    later = datetime.fromisoformat(heard) + timedelta(hours=27)  # the service's clock, moved on
    assert check_silent_sites(centre.engine, later) == ["Lab"]
    assert check_silent_sites(centre.engine, later + timedelta(hours=1)) == []  # raised once
    rows = {r["site"]: r for r in agent_health(centre.engine, EVERYTHING, later)}
    assert rows["Lab"]["state"] == "silent" and rows["Other"]["state"] == "no agent"
    assert [a.site for a in list_alerts(centre.engine, kind="site_silent")] == ["Lab"]


def test_an_agent_left_running_heartbeats_takes_a_job_and_stops_on_sigterm(centre: Centre, fleet: Fleet,
                                                                          tmp_path: Path) -> None:
    user, token_file, _ = centre.new_agent(tmp_path)
    running = agent(*run_args(centre.url, token_file, tmp_path / "spool", "--poll", "1s", "--every", "24h",
                              "--target", "127.72.0.7/32"), wait=False)
    try:
        def heard() -> bool:
            rows = centre.api("GET", "/api/v1/agents", centre.officer).json()
            return any(r["agent"] == user and r["heard_at"] for r in rows)

        wait_for(heard, "a heartbeat", running)
        sites = {s["name"]: s["id"] for s in centre.api("GET", "/api/v1/sites", centre.officer).json()}
        asked = centre.api("POST", "/api/v1/agents/jobs", centre.officer, json={"site_id": sites["Lab"],
                                                                                "targets": [FLEET_CIDR]})
        assert asked.status_code == 201, asked.text
        job_id = asked.json()["id"]
        wait_for(lambda: next(j for j in _jobs(centre) if j["id"] == job_id)["status"] == "done", "the job", running)
        running.send_signal(signal.SIGTERM)
        running.wait(60)
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode == 0, running.stderr.read() if running.stderr else ""
    job = next(j for j in _jobs(centre) if j["id"] == job_id)
    assert job["claimed_by"].startswith(user) and job["outcome"]["responded"] >= len(PERSONAS)


def test_a_token_revoked_while_the_agent_runs_stops_it_at_its_next_call(centre: Centre, fleet: Fleet,
                                                                       tmp_path: Path) -> None:
    user, token_file, token_id = centre.new_agent(tmp_path)
    running = agent(*run_args(centre.url, token_file, tmp_path / "spool", "--poll", "1s", "--target",
                              "127.72.0.7/32"), wait=False)
    try:
        wait_for(lambda: any(r["agent"] == user for r in centre.api("GET", "/api/v1/agents", centre.officer).json()),
                 "a heartbeat", running)
        end_token(centre.engine, token_id, "test")  # from another process's point of view: the database only
        running.wait(DEADLINE)
    finally:
        if running.poll() is None:
            running.kill()
    stderr = running.stderr.read() if running.stderr else ""
    assert running.returncode == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "refused the token" in lines[0] and "kept in the spool" in lines[0], lines
