"""Forty concurrent wrong logins against a real server: argon2 checks are capped, so memory stays small.

Issue 14, finding 3: 40 concurrent wrong logins pushed the server to 1 GB (argon2 at 64 MiB each in a
40-thread pool). Now at most Settings.login_slots checks run at once; the rest wait briefly, then get
503 with Retry-After. The server runs in a subprocess whose peak resident memory is measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.security.measure import ADDRESS_SPACE_CAP, DEADLINE_S, MEASURED

pytestmark = pytest.mark.security
FLOOD = 40
PEAK_LIMIT_KB = 500 * 1024  # was 1,009 MB with one argon2 check per pool thread; 359 MB with 2 slots

_FLOOD = """
import json, re, socket, sys, threading, time
from pathlib import Path
import httpx, uvicorn
from clearsite.services.knowledge import load_knowledge
from clearsite.store.db import open_database
from clearsite.testing import AS_OF, build_world
from clearsite.web import Settings, create_app

tmp, flood = Path(sys.argv[1]), int(sys.argv[2])
knowledge = load_knowledge()
engine = open_database(f"sqlite:///{tmp / 'web.db'}")
build_world(engine, knowledge, tmp)
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
server = uvicorn.Server(uvicorn.Config(create_app(engine, knowledge, Settings(as_of=AS_OF)), host="127.0.0.1",
                                       port=port, log_level="warning"))
thread = threading.Thread(target=server.run, daemon=True)
thread.start()
deadline = time.monotonic() + 60
while not server.started:
    assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
    time.sleep(0.05)
base = f"http://127.0.0.1:{port}"
clients = []
for i in range(flood):  # each with its own login form and CSRF token, ready before the flood starts
    client = httpx.Client(base_url=base, timeout=120)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    clients.append((client, token))
statuses, retry_after = [], []
start = threading.Barrier(flood)

def attempt(i):
    client, token = clients[i]
    start.wait()
    answer = client.post("/login", data={"username": f"someone-{i}", "password": f"wrong password {i}",
                                         "csrf_token": token})
    statuses.append(answer.status_code)
    if answer.status_code in (429, 503):
        retry_after.append(answer.headers.get("retry-after"))

workers = [threading.Thread(target=attempt, args=(i,)) for i in range(flood)]
for w in workers:
    w.start()
for w in workers:
    w.join()
server.should_exit = True
thread.join(timeout=30)
print(json.dumps({"statuses": statuses, "retry_after": retry_after}))
"""


def test_forty_concurrent_wrong_logins_stay_small(tmp_path: Path) -> None:
    peak_file = tmp_path / "peak_kb"
    command = [sys.executable, "-c", MEASURED, str(ADDRESS_SPACE_CAP), str(peak_file),
               sys.executable, "-c", _FLOOD, str(tmp_path), str(FLOOD)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=DEADLINE_S * 2, env=dict(os.environ),
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    statuses = answer["statuses"]
    peak_kb = int(peak_file.read_text())
    print(f"peak {peak_kb // 1024} MB; statuses {sorted(statuses)}")
    assert len(statuses) == FLOOD and set(statuses) <= {401, 429, 503}
    assert 401 in statuses  # passwords were checked, a few at a time
    assert all(value and int(value) > 0 for value in answer["retry_after"])
    assert peak_kb <= PEAK_LIMIT_KB, f"peak {peak_kb // 1024} MB"
