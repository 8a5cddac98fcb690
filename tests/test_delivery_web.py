"""Alert delivery through the web door: the admin API and page, scoped to administrators, and the
background delivery `clearsite serve` runs, against a real webhook receiver on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from clearsite.formats import webhooks
from clearsite.services.alerts import raise_alert
from clearsite.services.delivery import DeliverySettings, DeliveryWorker
from clearsite.store.audit import entries
from clearsite.store.db import open_database
from clearsite.store.transactions import write_transaction
from clearsite.testing import AS_OF, DEPT_A, World, build_world
from clearsite.web import Settings, create_app

SECRET = "a shared secret of some length"


class Hook:
    def __init__(self) -> None:
        self.bodies: list[tuple[dict[str, str], bytes]] = []
        self.failing = False
        self.arrived = threading.Condition()


@pytest.fixture
def hook() -> Iterator[tuple[str, Hook]]:
    seen = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if seen.failing:
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            with seen.arrived:
                seen.bodies.append(({k.lower(): v for k, v in self.headers.items()}, body))
                seen.arrived.notify_all()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def web(store_url: str, packaged_kb: Any, tmp_path: Path) -> Iterator[tuple[TestClient, World, Engine]]:
    engine = open_database(store_url)
    world = build_world(engine, packaged_kb, tmp_path)
    with TestClient(create_app(engine, packaged_kb, Settings(as_of=AS_OF))) as client:
        yield client, world, engine
    engine.dispose()


def bearer(world: World, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[user]}"}


def alert(engine: Engine, world: World, device_id: int, detail: str) -> None:
    with write_transaction(engine) as conn:
        raise_alert(conn, kind="contradicted", site_id=world.sites["Alpha HQ"], device_id=device_id, detail=detail)


def test_administrators_manage_destinations_through_the_api_and_officers_cannot(
        web: tuple[TestClient, World, Engine], hook: tuple[str, Hook]) -> None:
    client, world, engine = web
    url, _ = hook
    body = {"department": DEPT_A, "webhook": url, "secret": SECRET}
    assert client.post("/api/v1/alert-destinations", json=body, headers=bearer(world, "alice")).status_code == 403
    assert client.get("/api/v1/alert-destinations", headers=bearer(world, "audrey")).status_code == 403
    added = client.post("/api/v1/alert-destinations", json=body, headers=bearer(world, "admin"))
    assert added.status_code == 201, added.text
    syslog = client.post("/api/v1/alert-destinations", json={"department": DEPT_A, "syslog": "tcp://127.0.0.1:6514",
                                                              "facility": "local3"}, headers=bearer(world, "admin"))
    assert syslog.status_code == 201 and syslog.json()["facility"] == 19
    listed = client.get("/api/v1/alert-destinations", headers=bearer(world, "admin")).json()
    assert [d["kind"] for d in listed] == ["webhook", "syslog"]
    assert SECRET not in json.dumps(listed) and all("secret" not in d for d in listed)
    bad = client.post("/api/v1/alert-destinations", json={"department": DEPT_A, "syslog": "udp://nowhere"},
                      headers=bearer(world, "admin"))
    assert bad.status_code == 422 and "udp://HOST:PORT" in bad.json()["detail"]
    assert client.post("/api/v1/alert-destinations", json={"department": "Nope", "syslog": "udp://127.0.0.1:1"},
                       headers=bearer(world, "admin")).status_code == 404
    gone = client.delete(f"/api/v1/alert-destinations/{syslog.json()['id']}", headers=bearer(world, "admin"))
    assert gone.status_code == 204
    assert client.delete(f"/api/v1/alert-destinations/{syslog.json()['id']}",
                         headers=bearer(world, "admin")).status_code == 404
    with engine.connect() as conn:
        actions = [e.action for e in entries(conn, limit=10_000)]
    assert actions.count("alert_destination.add") == 2 and actions.count("alert_destination.remove") == 1
    with engine.connect() as conn:
        assert all(SECRET not in json.dumps(e.after) for e in entries(conn, limit=10_000))


def test_the_background_worker_delivers_as_alerts_are_raised_and_the_page_shows_dead_letters(
        web: tuple[TestClient, World, Engine], hook: tuple[str, Hook]) -> None:
    client, world, engine = web
    url, seen = hook
    client.post("/api/v1/alert-destinations", json={"department": DEPT_A, "webhook": url, "secret": SECRET},
                headers=bearer(world, "admin"))
    worker = DeliveryWorker(engine, interval=0.05, settings=DeliverySettings(timeout=5, max_attempts=1))
    worker.start()
    try:
        alert(engine, world, 1, "seen again at 10.1.0.11")
        deadline = time.monotonic() + 30
        with seen.arrived:
            while not seen.bodies and time.monotonic() < deadline:
                seen.arrived.wait(0.5)
        assert seen.bodies, "the background worker delivered nothing within 30 s"
        headers, body = seen.bodies[0]
        assert json.loads(body)["detail"] == "seen again at 10.1.0.11"
        assert webhooks.verify_signature(SECRET, body, headers["x-clearsite-timestamp"],
                                         headers["x-clearsite-signature"], now=time.time()) is None
        seen.failing = True
        alert(engine, world, 2, "another one")
        deadline = time.monotonic() + 30
        while not client.get("/api/v1/alert-deliveries/dead", headers=bearer(world, "admin")).json():
            assert time.monotonic() < deadline, "no dead letter within 30 s"
            time.sleep(0.05)
    finally:
        worker.stop()
    dead = client.get("/api/v1/alert-deliveries/dead", headers=bearer(world, "admin")).json()
    assert [(d["status"], d["attempts"], d["last_error"]) for d in dead] == [("dead", 1, "HTTP 503")]

    page = client.get("/admin/delivery", headers=bearer(world, "admin"))
    assert page.status_code == 200 and url in page.text and "HTTP 503" in page.text and "Send again" in page.text
    assert client.get("/admin/delivery", headers=bearer(world, "alice")).status_code == 403
    again = client.post(f"/admin/delivery/dead-letters/{dead[0]['id']}/redeliver", headers=bearer(world, "admin"),
                        follow_redirects=False)
    assert again.status_code == 303
    assert client.get("/api/v1/alert-deliveries/dead", headers=bearer(world, "admin")).json() == []
    refused = client.post("/admin/delivery/destinations", headers=bearer(world, "admin"),
                          data={"department": DEPT_A, "kind": "webhook", "target": "ftp://x", "secret": SECRET})
    assert refused.status_code == 422 and "http:// or https://" in refused.text and SECRET not in refused.text


def test_an_intake_that_raises_an_alert_delivers_it_before_it_answers(web: tuple[TestClient, World, Engine],
                                                                      hook: tuple[str, Hook]) -> None:
    """No background worker here: the push itself sends the new-deployment alert it raised, after committing."""
    client, world, _ = web
    url, seen = hook
    added = client.post("/api/v1/alert-destinations", json={"department": DEPT_A, "webhook": url, "secret": SECRET},
                        headers=bearer(world, "admin"))
    assert added.status_code == 201
    pushed = client.post(f"/api/v1/sites/{world.sites['Alpha HQ']}/observations", headers=bearer(world, "agent-alpha"),
                         json={"observations": [{"id": "new-kit-1", "ip": "10.1.0.77", "mac": "C0:56:E3:77:77:77",
                                                 "evidence": [{"signal": "brand", "value": "Hikvision"},
                                                              {"signal": "model", "value": "DS-2CD2143G2-I"}]}]})
    assert pushed.status_code == 200, pushed.text
    kinds = [json.loads(body)["kind"] for _, body in seen.bodies]
    assert kinds == ["new_deployment"], kinds


def test_the_app_clearsite_serve_runs_delivers_in_the_background(store_url: str, packaged_kb: Any, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 hook: tuple[str, Hook]) -> None:
    """The server factory starts delivery with the app and stops it with the app (its lifespan)."""
    from clearsite.services.delivery import add_destination
    from clearsite.web.server import app_from_environment

    url, seen = hook
    engine = open_database(store_url)
    world = build_world(engine, packaged_kb, tmp_path)
    add_destination(engine, "test", DEPT_A, webhook=url, secret=SECRET)
    monkeypatch.setenv("CLEARSITE_DATABASE_URL", store_url)
    threads_before = {t.name for t in threading.enumerate()}
    with TestClient(app_from_environment()):
        assert "clearsite-alert-delivery" in {t.name for t in threading.enumerate()} - threads_before
        alert(engine, world, 5, "raised while the server runs")
        deadline = time.monotonic() + 30
        with seen.arrived:
            while not seen.bodies and time.monotonic() < deadline:
                seen.arrived.wait(0.5)
    assert [json.loads(body)["detail"] for _, body in seen.bodies] == ["raised while the server runs"]
    assert "clearsite-alert-delivery" not in {t.name for t in threading.enumerate()}
    engine.dispose()
