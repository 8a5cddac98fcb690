"""`clearsite serve --workers N` forks its workers from a master that has already loaded the app's code
and the knowledge base, so they share those pages instead of each holding a copy (issue 13 bounds a
worker's memory); a worker that dies is replaced, and the server still answers.

Real processes on loopback: the server and its workers, on SQLite and on the test's PostgreSQL server.
Every wait is on a condition with a deadline.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import httpx
import pytest

from tests.support.central import PASSWORD, CentreProcess, shared_memory_mb, wait_until

pytestmark = [pytest.mark.network]


def _status(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("PPid", "VmRSS"):
            fields[name] = int(value.split()[0])
    return fields


def _signs_in(centre: CentreProcess) -> bool:
    """Sign in, then use the session on fresh connections: whichever worker answers accepts the cookie."""
    with httpx.Client(base_url=centre.url, timeout=10) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None, page.text[:500]
        answer = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                             "csrf_token": token.group(1), "next": "/"})
        assert answer.status_code == 303 and not answer.headers["location"].startswith("/login"), answer.text[:500]
        cookies = client.cookies
    for _ in range(4):
        with httpx.Client(base_url=centre.url, timeout=10, cookies=cookies) as fresh:
            if fresh.get("/sites").status_code != 200:
                return False
    return True


def test_workers_are_forked_from_a_master_that_loaded_the_app_and_a_dead_one_is_replaced(
        store_url: str, tmp_path: Path) -> None:
    centre = CentreProcess(store_url, workers=2, log=tmp_path / "centre.log").start()
    try:
        assert centre.process is not None
        master = centre.process.pid
        workers = centre.worker_pids()
        assert len(workers) == 2
        master_command = Path(f"/proc/{master}/cmdline").read_bytes()
        for pid in workers:
            assert _status(pid)["PPid"] == master
            assert Path(f"/proc/{pid}/cmdline").read_bytes() == master_command  # forked, not spawned anew
            # Most of what a worker maps it shares with the master: the app's code and the knowledge base.
            _pss, own = shared_memory_mb(pid)
            assert own < _status(pid)["VmRSS"] / 1024 / 2, (own, _status(pid))
        assert _signs_in(centre)

        os.kill(workers[0], signal.SIGKILL)  # a worker crashes
        wait_until(lambda: workers[0] not in centre.worker_pids() and len(centre.worker_pids()) == 2,
                   "the master to fork a replacement", 60)
        assert centre.alive()
        assert _signs_in(centre)
    finally:
        centre.stop()
    assert not centre.pids()
