"""Issue 14, finding 11: a scan stopped by Ctrl-C or SIGTERM keeps what it found and does not exit 0.

Before the fix an interrupted scan exited 0, so a cron job or service manager took it for a complete
one; SIGTERM killed it without storing the hosts found since the last flush.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clearsite.sim.fleet import Fleet
from clearsite.sim.personas import BY_KEY

pytestmark = [pytest.mark.security, pytest.mark.network]

BASE = "127.66.0.1"


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    fleet = Fleet(2, seed=5, base=BASE, personas=[BY_KEY["hikvision-camera"], BY_KEY["axis-camera"]])
    with fleet.in_thread():
        yield fleet


def _devices_stored(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT count(*) FROM devices").fetchone()[0])
    except sqlite3.OperationalError:  # not created or migrated yet
        return 0


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stopped_scan_keeps_what_it_found_and_says_it_stopped(
        tmp_path: Path, fleet: Fleet, signum: int, status: int) -> None:
    db = tmp_path / "estate.db"
    env = {**os.environ, "CLEARSITE_DATABASE_URL": f"sqlite:///{db}"}
    added = subprocess.run([sys.executable, "-m", "clearsite", "site", "add", "Lab", "--department", "D",
                            "--network", "127.66.0.0/20", "--allow-special"], env=env, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=120)
    assert added.returncode == 0, added.stderr
    # The fleet answers at the start of a /20 that takes minutes at this rate: stopped long before the end.
    scanning = subprocess.Popen([sys.executable, "-m", "clearsite", "scan", "127.66.0.0/20", "--site", "Lab",
                                 "--rate", "40", "--timeout", "0.3", "--no-udp", "--format", "json"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while _devices_stored(db) < 1 and time.monotonic() < deadline and scanning.poll() is None:
            time.sleep(0.1)  # waiting on a condition: the scan has stored its first find
        assert _devices_stored(db) >= 1, "the scan never stored the fleet"
        assert scanning.poll() is None, "the scan finished before it could be stopped"
        scanning.send_signal(signum)
        out, err = scanning.communicate(timeout=120)
    finally:
        if scanning.poll() is None:
            scanning.kill()
    assert scanning.returncode == status, err
    summary = json.loads(out)
    assert summary["interrupted"] is True and summary["targets"] == 4094 and summary["responded"] >= 1
    assert "what was already stored is kept" in err
    # Every host that answered before the stop is stored, including those not yet flushed at the signal.
    assert _devices_stored(db) == summary["responded"] == summary["stored"]
