"""A server worker stays lean: what it imports to start and to take an agent's batch, not everything.

Issue 13 bounds the peak memory of `clearsite serve` workers while agents push (bench/central_scale.py
measures it). Most of a worker's memory is what it imports, so the libraries only other requests need
load inside the code that uses them: Alembic when a database needs migrating, httpx (which brings rich
and pygments for its own command line) and tenacity when an alert is delivered, XlsxWriter when a
workbook is written, the SVG charts and the public statement when a page draws them, the screening
rules when a quote is screened. Memory is not measured here (it depends on the machine); what is
imported is, deterministically, so a later top-level import cannot quietly bring them back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from clearsite.services.database import open_database
from tests.support.central import SECRET_KEY, host_ip, make_sites

# Loaded lazily; none is needed to start a worker on a current database or to record a push.
LAZY = ("alembic", "mako", "httpx", "tenacity", "rich", "pygments", "xlsxwriter",
        "clearsite.render.charts", "clearsite.services.plan_outputs", "clearsite.services.publishing",
        "clearsite.services.screening", "clearsite.core.screen")

# In a child process, as a uvicorn worker runs it: build the app from the environment, then send one
# batch through the ASGI app itself (the test client would import httpx), and list what is loaded.
WORKER = """
import asyncio, json, sys
from clearsite.web.server import app_from_environment

app = app_from_environment()
token, site, ips, lazy = json.loads(sys.argv[1])
body = json.dumps({"site": site, "key": "startup-probe-1", "observations": [
    {"id": f"probe-{n}", "ip": ip, "mac": f"C0:56:E3:00:00:{n:02X}",
     "evidence": [{"signal": "http_server", "value": "Hikvision web", "source": f"http://{ip}/"}]}
    for n, ip in enumerate(ips)]}).encode()

async def push():
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/api/v1/agent/batches", "raw_path": b"/api/v1/agent/batches",
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
             "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode()),
                         (b"authorization", f"Bearer {token}".encode())]}
    sent, answer = False, {"body": b""}

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer

answer = asyncio.run(push())
loaded = sorted(name for name in lazy if name in sys.modules)
print(json.dumps({"status": answer["status"], "answer": json.loads(answer["body"]), "loaded": loaded}))
"""


def test_a_worker_starts_and_records_a_push_without_the_libraries_other_requests_need(store_url: str,
                                                                                        tmp_path: Path) -> None:
    open_database(store_url).dispose()  # migrated here, as `clearsite serve` does before its workers start
    site = make_sites(store_url, tmp_path, 1)[0]
    ips = [host_ip(site.number, n) for n in range(3)]
    env = {**os.environ, "CLEARSITE_DATABASE_URL": store_url, "CLEARSITE_SECRET_KEY": SECRET_KEY,
           "CLEARSITE_ALERT_DELIVERY": "0"}
    result = subprocess.run([sys.executable, "-c", WORKER, json.dumps([site.token, site.name, ips, LAZY])],
                            capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["status"] == 200, outcome
    assert outcome["answer"]["stored"] == 3  # the batch really went through the intake
    assert outcome["loaded"] == []


def test_the_head_revision_read_without_alembic_is_alembics() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from clearsite.store.db import _MIGRATIONS, head_revision

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


# A console script like `clearsite` (its __main__ has no module spec) that starts a worker by spawn.
CONSOLE_SCRIPT = """
import json, multiprocessing, sys
from clearsite.cli import main  # what the installed `clearsite` script imports
from clearsite.cli.web_admin import _workers_skip_the_command_line

# The child's work is a builtin, as uvicorn's is a function of its own: nothing of this script's is needed.
REPORT = ("import json, sys; open(sys.argv[2], 'w').write(json.dumps(sorted("
          "name for name in ('clearsite.cli', 'typer', 'click') if name in sys.modules)))")

if __name__ == "__main__":
    if sys.argv[1] == "skip":
        _workers_skip_the_command_line()
    child = multiprocessing.get_context("spawn").Process(target=exec, args=(REPORT,))  # as uvicorn starts workers
    child.start()
    child.join(120)
    sys.exit(child.exitcode)
"""


def test_workers_spawned_by_the_console_script_do_not_import_the_command_line(tmp_path: Path) -> None:
    script = tmp_path / "clearsite"
    script.write_text(CONSOLE_SCRIPT, encoding="utf-8")

    def worker_loads(mode: str) -> list[str]:
        report = tmp_path / f"{mode}.json"
        result = subprocess.run([sys.executable, str(script), mode, str(report)], capture_output=True, text=True,
                                timeout=180, cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
        loaded: list[str] = json.loads(report.read_text(encoding="utf-8"))
        return loaded

    assert worker_loads("plain") == ["clearsite.cli", "typer"]  # what spawn does by itself
    assert worker_loads("skip") == []


def test_start_up_objects_are_set_aside_from_the_cyclic_collector(tmp_path: Path) -> None:
    """The knowledge base, routes and schemas built at start-up are frozen (gc.freeze), so a full collection
    triggered by a request walks only what requests made, not the worker's whole start-up heap."""
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    open_database(url).dispose()  # migrated, as `clearsite serve` finds it
    probe = ("import gc, json; from clearsite.web.server import app_from_environment; app = app_from_environment(); "
             "print(json.dumps({'frozen': gc.get_freeze_count(), 'tracked': len(gc.get_objects())}))")
    env = {**os.environ, "CLEARSITE_DATABASE_URL": url, "CLEARSITE_ALERT_DELIVERY": "0"}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True,
                          stdin=subprocess.DEVNULL)
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts["frozen"] > 10 * max(1, counts["tracked"]), counts  # nearly everything start-up made
