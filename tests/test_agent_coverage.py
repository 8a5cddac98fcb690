"""An agent's scans carry coverage, so they verify removals as a central scan does, and only as old as they are.

The spool holds a finished scan's coverage behind that scan's observations (pushed only once every one
of them was accepted); the centre takes `covered` and `scanned_at` in a batch, refuses coverage outside
the site's networks (naming the field), and records it at the scan's start, so an agent that scanned
before a claim never verifies it. End to end: a real `clearsite serve`, a real emulated fleet, the real
`clearsite agent run --once` in subprocesses.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from clearsite.core.errors import InputError
from clearsite.core.models import ScannedHost
from clearsite.services.agent_spool import collapse, host_body, open_agent_spool
from clearsite.services.imports import push_observations
from clearsite.sim import BY_KEY, Fleet
from clearsite.sim.device import SimDevice
from clearsite.store.reads import EVERYTHING
from clearsite.store.removals import read_removals
from tests.removal_support import DAHUA, HIK, claim, device_ids, make_site, removal_status, scan
from tests.support.central import PASSWORD, CentreProcess, free_port

# --------------------------------------------------------------------------- the spool


def _body(ip: str) -> dict[str, Any]:
    return host_body(ScannedHost(ip=ip, mac=None, open_ports=[80], evidence=[]), "2026-01-01T00:00:00+00:00", "t")


def test_coverage_leaves_the_spool_only_after_every_observation_before_it_was_accepted(tmp_path: Path) -> None:
    spool = open_agent_spool(tmp_path / "spool", 100)
    try:
        spool.add([_body("10.0.0.1"), _body("10.0.0.2"), _body("10.0.0.3")])
        spool.add_coverage("2026-01-01T00:00:00+00:00", ["10.0.0.0/30"])
        spool.add([_body("10.0.0.9")])  # a later scan's observation does not hold the earlier coverage back
        assert spool.next_coverage() is None, "its observations are still spooled"
        first = spool.next_batch(2)
        assert first is not None
        spool.accepted(first)
        assert spool.next_coverage() is None, "one observation of the scan is still spooled"
        second = spool.next_batch(1)
        assert second is not None and [o["ip"] for o in second.observations] == ["10.0.0.3"]
        spool.accepted(second)
        coverage = spool.next_coverage()
        assert coverage is not None and coverage.targets == ["10.0.0.0/30"]
        assert coverage.scanned_at == "2026-01-01T00:00:00+00:00"
        assert coverage.key.endswith(f"-c{coverage.id}") and spool.pending() == 1
        spool.coverage_accepted(coverage)
        assert spool.next_coverage() is None and spool.pending_coverage() == 0
    finally:
        spool.close()


def test_a_refused_batch_holds_the_coverage_after_it_and_a_retry_releases_both(tmp_path: Path) -> None:
    spool = open_agent_spool(tmp_path / "spool", 100)
    try:
        spool.add([_body("10.0.0.1")])
        spool.add_coverage("2026-01-01T00:00:00+00:00", ["10.0.0.1/32"])
        batch = spool.next_batch(10)
        assert batch is not None
        spool.refused(batch, "outside the networks")
        assert spool.next_coverage() is None, "never a coverage without the observations before it"
        spool.retry_refused()
        again = spool.next_batch(10)
        assert again is not None and again.key == batch.key
        spool.accepted(again)
        assert spool.next_coverage() is not None
    finally:
        spool.close()


def test_coverage_spooled_survives_a_restart_and_none_is_made_for_a_scan_that_never_finished(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    spool = open_agent_spool(folder, 100)
    spool.add([_body("10.0.0.1")])  # a scan killed here: its observations are spooled, no coverage
    spool.close()
    spool = open_agent_spool(folder, 100)
    try:
        batch = spool.next_batch(10)
        assert batch is not None
        spool.accepted(batch)
        assert spool.next_coverage() is None and spool.pending_coverage() == 0
        spool.add_coverage("2026-01-02T00:00:00+00:00", [f"10.0.{i}.1/32" for i in range(5)], piece=2)
    finally:
        spool.close()
    spool = open_agent_spool(folder, 100)
    try:
        sent = []
        while (coverage := spool.next_coverage()) is not None:
            sent += coverage.targets
            spool.coverage_accepted(coverage)
        assert sent == [f"10.0.{i}.1/32" for i in range(5)], "in pieces, each under its own key, in order"
    finally:
        spool.close()


def test_addresses_are_collapsed_to_the_fewest_networks_that_hold_exactly_them() -> None:
    assert collapse(["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.5", "2001:db8::1"]) == [
        "10.0.0.0/30", "10.0.0.5/32", "2001:db8::1/128"]
    assert collapse([]) == []


# --------------------------------------------------------------------------- the centre's service


def _push(engine: Any, knowledge: Any, site_id: int, key: str, covered: list[str], scanned_at: datetime | None
          ) -> dict[str, Any]:
    return push_observations(engine, knowledge, EVERYTHING, site_id, "agent-x", "test", [], key=key,
                             covered=covered, scanned_at=scanned_at)


def test_an_agent_coverage_verifies_only_claims_made_before_its_scan_began(store_url: str, kb: Any) -> None:
    from clearsite.services.database import open_database

    engine = open_database(store_url)
    site_id = make_site(engine)
    scan(engine, kb, [HIK, DAHUA])
    ids = device_ids(engine)
    before_claims = datetime.now(UTC) - timedelta(seconds=5)
    claim(engine, kb, ids[HIK[0]])
    claim(engine, kb, ids[DAHUA[0]])
    # Scanned before the claims (an agent offline for a while), pushed after: verifies nothing.
    _push(engine, kb, site_id, "spool-c1", ["10.1.0.0/24"], before_claims)
    assert removal_status(engine, ids[HIK[0]]) == "claimed"
    # A scan begun after the claims that covered only the Hikvision camera's address.
    began = datetime.now(UTC)
    answer = _push(engine, kb, site_id, "spool-c2", [f"{HIK[0]}/32"], began)
    assert answer["stored"] == 0 and not answer.get("replayed")
    assert removal_status(engine, ids[HIK[0]]) == "verified"
    assert removal_status(engine, ids[DAHUA[0]]) == "claimed", "its address was not covered"
    with engine.connect() as conn:
        proof = next(c for c in read_removals(conn, site_ids=[site_id]) if c.device_id == ids[HIK[0]]).proof
    assert proof is not None and proof["kind"] == "agent" and proof["target"] == f"{HIK[0]}/32"
    assert proof["at"] == began.replace(tzinfo=None).isoformat(timespec="seconds"), "the scan's start, not the push"
    again = _push(engine, kb, site_id, "spool-c2", [f"{HIK[0]}/32"], began)
    assert again["replayed"] is True


def test_coverage_outside_the_sites_networks_or_without_its_time_is_refused_naming_the_field(
        store_url: str, kb: Any) -> None:
    from clearsite.services.database import open_database

    engine = open_database(store_url)
    site_id = make_site(engine, cidr="10.1.0.0/16")
    now = datetime.now(UTC)
    with pytest.raises(InputError, match=r"covered\[1\]: 10\.2\.0\.0/24 is not within the networks of HQ"):
        _push(engine, kb, site_id, "spool-c1", ["10.1.0.0/24", "10.2.0.0/24"], now)
    with pytest.raises(InputError, match=r"covered\[0\]: 10\.0\.0\.0/8 is not within"):
        _push(engine, kb, site_id, "spool-c1", ["10.0.0.0/8"], now)  # wider than the site: not within it
    with pytest.raises(InputError, match=r"covered\[0\]: 'ten' is not an address"):
        _push(engine, kb, site_id, "spool-c1", ["ten"], now)
    with pytest.raises(InputError, match="covered: needs scanned_at"):
        _push(engine, kb, site_id, "spool-c1", ["10.1.0.0/24"], None)
    with pytest.raises(InputError, match=r"scanned_at: .* is in the future"):
        _push(engine, kb, site_id, "spool-c1", ["10.1.0.0/24"], now + timedelta(hours=1))
    assert not _push(engine, kb, site_id, "spool-c1", ["10.1.0.0/24"], now).get("replayed"), \
        "the refused pushes used the key for nothing"


# --------------------------------------------------------------------------- end to end


PERSONAS = ["hikvision-camera", "dahua-camera", "axis-camera"]
BASE = "127.76.0.1"
FLEET_CIDR = "127.76.0.0/29"


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return Fleet(len(PERSONAS), seed=11, base=BASE, personas=[BY_KEY[p] for p in PERSONAS])


@contextmanager
def serving(fleet: Fleet, devices: list[SimDevice]) -> Iterator[None]:
    """Only these devices of the fleet answer (the others are switched off)."""
    part = copy.copy(fleet)
    part.devices = devices
    with part.in_thread():
        yield


def _setup(url: str, folder: Path) -> Path:
    from clearsite.services.accounts import add_account, issue_token
    from clearsite.services.database import open_database
    from clearsite.services.sites import add_site

    engine = open_database(url)
    try:
        add_site(engine, "setup", name="Lab", department="Dept A", holds_secret=True, networks=["127.76.0.0/24"])
        add_account(engine, "agent-lab", PASSWORD, "agent", department=None, site="Lab", actor="setup",
                    one_time=False)
        token = issue_token(engine, "agent-lab", "lab-host", ["push"], 30, "setup").token
    finally:
        engine.dispose()
    token_file = folder / "agent.token"
    token_file.write_text(token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    return token_file


def _agent(server: str, token_file: Path, spool: Path, target: str = FLEET_CIDR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearsite", "agent", "run", "--once", "--server", server, "--token-file",
         str(token_file), "--site", "Lab", "--spool", str(spool), "--target", target, "--timeout", "0.5",
         "--push-for", "1s"], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)


def _devices(url: str) -> dict[str, dict[str, Any]]:
    answer = subprocess.run([sys.executable, "-m", "clearsite", "devices", "--format", "json"],
                            env={**os.environ, "CLEARSITE_DATABASE_URL": url}, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=120, check=True)
    return {d["ip"]: d for d in json.loads(answer.stdout)}


def _claim(url: str, knowledge: Any, device_id: int) -> None:
    from clearsite.services.database import open_database
    from clearsite.services.removal import record_removal

    engine = open_database(url)
    try:
        record_removal(engine, knowledge, "officer", EVERYTHING, device_id, removed_on=date.today())
    finally:
        engine.dispose()


def test_agent_scans_verify_stopped_devices_contradict_running_ones_and_never_verify_a_later_claim(
        store_url: str, packaged_kb: Any, fleet: Fleet, tmp_path: Path) -> None:
    hik, dahua, axis = fleet.devices
    token_file = _setup(store_url, tmp_path)
    spool = tmp_path / "spool"
    centre = CentreProcess(store_url, workers=1, log=tmp_path / "centre.log").start()
    try:
        with serving(fleet, [hik, dahua, axis]):
            first = _agent(centre.url, token_file, spool)
        assert first.returncode == 0, first.stderr
        seen = _devices(store_url)
        assert {hik.ip, dahua.ip, axis.ip} <= seen.keys()
        hik_id, dahua_id, axis_id = (seen[d.ip]["id"] for d in (hik, dahua, axis))

        _claim(store_url, packaged_kb, hik_id)
        _claim(store_url, packaged_kb, dahua_id)
        # The Hikvision camera is taken out; the Dahua camera is still there.
        with serving(fleet, [dahua, axis]):
            second = _agent(centre.url, token_file, spool)
        assert second.returncode == 0, second.stderr
        after = _devices(store_url)
        assert after[hik.ip]["removal"]["status"] == "verified"
        assert after[dahua.ip]["removal"]["status"] == "contradicted"
        assert after[axis.ip]["removal"] is None

        # Offline: the agent scans (the Axis camera is gone already) while the centre is down, and only
        # then is the Axis removal claimed. Pushed later, that scan is older than the claim: no proof.
        with serving(fleet, [dahua]):
            offline = _agent(f"http://127.0.0.1:{free_port()}", token_file, spool)
        assert offline.returncode == 1 and "still in the spool" in offline.stderr, offline.stderr
        _claim(store_url, packaged_kb, axis_id)
        elsewhere = "127.76.0.7/32"  # this run's own scan looks only at an address that holds nothing
        with serving(fleet, [dahua]):
            pushed_late = _agent(centre.url, token_file, spool, elsewhere)
        assert pushed_late.returncode == 0, pushed_late.stderr
        assert _devices(store_url)[axis.ip]["removal"]["status"] == "claimed", "the offline scan is older"
        with serving(fleet, [dahua]):
            rescanned = _agent(centre.url, token_file, spool)
        assert rescanned.returncode == 0, rescanned.stderr
        assert _devices(store_url)[axis.ip]["removal"]["status"] == "verified", "a scan begun after the claim"
        assert _devices(store_url)[dahua.ip]["removal"]["status"] == "contradicted"
    finally:
        centre.stop()


def test_the_batch_endpoint_refuses_coverage_outside_the_site_naming_the_field(store_url: str, packaged_kb: Any,
                                                                               tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from clearsite.services.database import open_database
    from clearsite.testing import build_world
    from clearsite.web import Settings, create_app

    engine = open_database(store_url)
    world = build_world(engine, packaged_kb, tmp_path)
    agent = {"Authorization": f"Bearer {world.tokens['agent-alpha']}"}
    began = datetime.now(UTC).isoformat()
    with TestClient(create_app(engine, packaged_kb, Settings())) as client:
        outside = client.post("/api/v1/agent/batches", headers=agent, json={
            "site": "Alpha HQ", "key": "spool-c00001", "covered": ["10.1.0.0/24", "10.9.0.0/24"], "scanned_at": began})
        assert outside.status_code == 422 and "covered[1]" in outside.text and "10.9.0.0/24" in outside.text
        empty = client.post("/api/v1/agent/batches", headers=agent, json={"site": "Alpha HQ", "key": "spool-c00002"})
        assert empty.status_code == 422
        taken = client.post("/api/v1/agent/batches", headers=agent, json={
            "site": "Alpha HQ", "key": "spool-c00001", "covered": ["10.1.0.0/24"], "scanned_at": began})
        assert taken.status_code == 200, taken.text
        assert taken.json()["stored"] == 0 and taken.json()["replayed"] is False
        again = client.post("/api/v1/agent/batches", headers=agent, json={
            "site": "Alpha HQ", "key": "spool-c00001", "covered": ["10.1.0.0/24"], "scanned_at": began})
        assert again.json()["replayed"] is True
    engine.dispose()


def _wait_for_file(path: Path, process: subprocess.Popen[str], deadline_s: float = 180) -> None:
    import time

    deadline = time.monotonic() + deadline_s
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"the agent ended before its fault point ({process.returncode}): "
                                 f"{process.stderr.read() if process.stderr else ''}")
        assert time.monotonic() < deadline, f"the agent never reached {path.name}"
        time.sleep(0.05)


def test_kill_9_before_the_observations_or_the_coverage_are_pushed_never_leaves_coverage_alone(
        store_url: str, packaged_kb: Any, fleet: Fleet, tmp_path: Path) -> None:
    hik, dahua, axis = fleet.devices
    token_file = _setup(store_url, tmp_path)
    spool = tmp_path / "spool"
    centre = CentreProcess(store_url, workers=1, log=tmp_path / "centre.log").start()

    def killed_at(point: str) -> None:
        marker = tmp_path / f"{point}.reached"
        command = [sys.executable, "-m", "clearsite", "agent", "run", "--once", "--server", centre.url,
                   "--token-file", str(token_file), "--site", "Lab", "--spool", str(spool), "--target", FLEET_CIDR,
                   "--timeout", "0.5", "--push-for", "1s"]
        process = subprocess.Popen(command, env={**os.environ, "CLEARSITE_AGENT_FAULT_AT": point,
                                                 "CLEARSITE_AGENT_FAULT_FILE": str(marker)},
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _wait_for_file(marker, process)
        finally:
            process.kill()  # SIGKILL: nothing is tidied up
            process.wait(60)

    try:
        with serving(fleet, [hik, dahua, axis]):
            assert _agent(centre.url, token_file, spool).returncode == 0
        ids = {ip: d["id"] for ip, d in _devices(store_url).items()}
        _claim(store_url, packaged_kb, ids[hik.ip])
        _claim(store_url, packaged_kb, ids[dahua.ip])
        with serving(fleet, [dahua, axis]):
            killed_at("batch-formed")  # scanned and spooled (coverage too); killed before any batch was sent
            assert _devices(store_url)[hik.ip]["removal"]["status"] == "claimed"
            assert _devices(store_url)[dahua.ip]["removal"]["status"] == "claimed", "its sighting is not sent yet"
            killed_at("coverage-formed")  # every observation accepted; killed before the coverage was sent
            after = _devices(store_url)
            assert after[hik.ip]["removal"]["status"] == "claimed", "no coverage reached the centre"
            assert after[dahua.ip]["removal"]["status"] == "contradicted"
            finished = _agent(centre.url, token_file, spool)
        assert finished.returncode == 0, finished.stderr
        assert _devices(store_url)[hik.ip]["removal"]["status"] == "verified"
        left = open_agent_spool(spool, 1_000_000, exclusive=False)
        try:
            assert left.pending() == 0 and left.pending_coverage() == 0, "everything sent, once"
        finally:
            left.close()
    finally:
        centre.stop()


def test_an_nmap_file_dropped_in_the_inbox_spools_its_proven_coverage_behind_its_hosts(tmp_path: Path) -> None:
    from clearsite.services.agent_spool import spool_inbox
    from tests.test_scan_file_coverage import nmap_xml

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    start = int(datetime(2026, 3, 1, 9, 30, tzinfo=UTC).timestamp())
    (inbox / "a-finished.xml").write_text(nmap_xml(start=start, args="nmap -sn 10.20.30.0/28",
                                                   up=[("10.20.30.3", [80])], total=16))
    (inbox / "b-interrupted.xml").write_text(nmap_xml(start=start, args="nmap -sn 10.20.30.0/28",
                                                      up=[("10.20.30.4", [80])], finished=None))
    (inbox / "c-no-discovery.xml").write_text(nmap_xml(
        start=start, args="nmap -Pn 10.20.30.0/28", up=[("10.20.30.5", [80])], total=16, reason="user-set",
        scaninfo='<scaninfo type="syn" protocol="tcp" services="80"/>'))
    spool = open_agent_spool(tmp_path / "spool", 100)
    try:
        results = spool_inbox(spool, inbox, ["10.20.30.0/28"])
        assert [r.moved_to.split("/")[-2] for r in results] == ["done", "done", "done"]
        assert spool.pending() == 3
        assert spool.pending_coverage() == 1, "only the finished run with host discovery proves coverage"
        while (batch := spool.next_batch(10)) is not None:
            assert spool.next_coverage() is None
            spool.accepted(batch)
        coverage = spool.next_coverage()
        assert coverage is not None and coverage.targets == ["10.20.30.0/28"]
        assert coverage.scanned_at == "2026-03-01T09:30:00+00:00", "the run's start, not the file's arrival"
    finally:
        spool.close()


def test_a_finished_scan_spools_what_it_probed_and_one_stopped_by_a_full_spool_spools_no_coverage(
        fleet: Fleet, tmp_path: Path) -> None:
    from dataclasses import replace

    from clearsite.services.agent_spool import ScanOptions, scan_into_spool

    options = replace(ScanOptions(), connect_timeout=0.5)
    networks = ["127.76.0.0/24"]
    with serving(fleet, fleet.devices):
        done = open_agent_spool(tmp_path / "done", 100)
        try:
            result = scan_into_spool(done, networks, [FLEET_CIDR], ["127.76.0.6"], options)
            # a /29 is six hosts (its network and broadcast addresses are not scanned); one excluded
            assert not result.full and result.responded == 3 and result.covered == 5
            for_coverage = done.next_batch(100)
            assert for_coverage is not None
            done.accepted(for_coverage)
            coverage = done.next_coverage()
            assert coverage is not None and coverage.targets == ["127.76.0.1/32", "127.76.0.2/31", "127.76.0.4/31"]
        finally:
            done.close()
        full = open_agent_spool(tmp_path / "full", 2)  # three devices answer: the spool fills mid-scan
        try:
            stopped = scan_into_spool(full, networks, [FLEET_CIDR], [], options)
            assert stopped.full and full.pending_coverage() == 0
        finally:
            full.close()
