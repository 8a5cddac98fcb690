"""Proof of removal through the web: /api/v1 orders, removal evidence with file upload, alerts and the status
report, scoped by department; the old removal route is a claim like any other; the pages render."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from clearsite.formats.planfile import parse_plan_file
from clearsite.services.planning import plan_removals
from clearsite.store.db import open_database
from clearsite.store.evidence_files import evidence_path
from clearsite.testing import AS_OF, PASSWORD, World, build_world
from clearsite.web import Settings, create_app

PLAN = """\
start: 2024-09-02
time_limit: 5
crews:
  - {id: london-1, region: London, hours_per_week: 30}
  - {id: wales-1, region: Wales, hours_per_week: 30}
rates:
  travel_hours: 1
  default: {hours: 1.0, removal: 80, replacement: 450, disposal: 15}
budgets: {"2024-25": 100000}
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, packaged_kb) -> Iterator[tuple[TestClient, World, object]]:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("orders-web")
    os.environ.pop("CLEARSITE_EVIDENCE_DIR", None)
    engine = open_database(f"sqlite:///{tmp / 'clearsite.db'}")
    world = build_world(engine, packaged_kb, tmp)
    plan_removals(engine, packaged_kb, parse_plan_file(PLAN), AS_OF)
    app = create_app(engine, packaged_kb, Settings(as_of=AS_OF))
    with TestClient(app) as client:
        yield client, world, engine


def bearer(world: World, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[user]}"}


def alpha_device(client: TestClient, world: World, ip: str) -> dict:
    devices = client.get("/api/v1/devices", headers=bearer(world, "alice")).json()
    return next(d for d in devices if d["ip"] == ip)


def test_removal_evidence_is_uploaded_content_addressed_and_private(env) -> None:  # type: ignore[no-untyped-def]
    client, world, engine = env
    device = alpha_device(client, world, "10.1.0.12")  # the Dahua camera at Alpha HQ (holds SECRET)
    photo = b"\x89PNG\r\n\x1a\n not really a photo"
    answer = client.post(f"/api/v1/devices/{device['id']}/removals", headers=bearer(world, "alice"),
                         data={"removed_on": "2024-08-30", "removed_by": "Crew 7", "disposal_ref": "WEEE-2024-001",
                               "cost": "140.50", "replacement_brand": "Axis", "replacement_model": "P3245-V",
                               "replacement_mac": "AC:CC:8E:00:11:22"},
                         files=[("files", ("cabinet.png", photo, "image/png")),
                                ("files", ("../../etc/cert.pdf", b"%PDF-1.4 certificate", "application/pdf"))])
    assert answer.status_code == 201, answer.text
    removal = answer.json()["removal"]
    assert removal["status"] == "claimed" and removal["by"] == "Crew 7" and removal["claimed_on"] == "2024-08-30"
    assert removal["replacement"]["cleared"] is True and removal["replacement"]["producer"] == "axis"
    files = {f["name"]: f for f in removal["evidence"]["files"]}
    assert set(files) == {"cabinet.png", "cert.pdf"}, "a path in an upload's name is dropped"
    stored = evidence_path(engine, files["cabinet.png"]["sha256"])
    assert stored.read_bytes() == photo and files["cabinet.png"]["size"] == len(photo)
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.parent.stat().st_mode) == 0o700
    shown = client.get(f"/api/v1/devices/{device['id']}", headers=bearer(world, "alice")).json()
    assert shown["removal"]["evidence"]["disposal_ref"] == "WEEE-2024-001"


def test_a_nil_subject_replacement_is_refused_and_nothing_is_stored(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    device = alpha_device(client, world, "10.1.0.13")
    answer = client.post(f"/api/v1/devices/{device['id']}/removals", headers=bearer(world, "alice"),
                         data={"removed_on": "2024-08-30", "replacement_brand": "Hikvision",
                               "replacement_model": "DS-2CD2143G2-I"})
    assert answer.status_code == 422 and "National Intelligence Law" in answer.json()["detail"]
    assert alpha_device(client, world, "10.1.0.13")["removal"] is None


def test_a_removal_in_the_future_is_refused(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    device = alpha_device(client, world, "10.1.0.13")
    answer = client.post(f"/api/v1/devices/{device['id']}/removals", headers=bearer(world, "alice"),
                         data={"removed_on": "2024-09-02"})
    assert answer.status_code == 422 and "before it happens" in answer.json()["detail"]


def test_another_department_cannot_see_or_claim_a_device(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    device = alpha_device(client, world, "10.1.0.11")
    answer = client.post(f"/api/v1/devices/{device['id']}/removals", headers=bearer(world, "bob"),
                         data={"removed_on": "2024-08-30"})
    assert answer.status_code == 404
    old = client.post(f"/api/v1/devices/{device['id']}/removal", headers=bearer(world, "bob"),
                      json={"removed_on": "2024-08-30"})
    assert old.status_code == 404


def test_the_old_removal_route_is_a_claim_and_a_later_sighting_contradicts_it(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    device = alpha_device(client, world, "10.1.0.11")  # the Hikvision camera the agent saw by its MAC
    answer = client.post(f"/api/v1/devices/{device['id']}/removal", headers=bearer(world, "alice"),
                         json={"removed_on": "2024-08-31"})
    assert answer.status_code == 204
    assert alpha_device(client, world, "10.1.0.11")["removal"]["status"] == "claimed"
    site_id = world.sites["Alpha HQ"]
    push = client.post(f"/api/v1/sites/{site_id}/observations", headers=bearer(world, "agent-alpha"), json={
        "observations": [{"id": "probe-again-1", "ip": "10.1.0.11", "mac": "4C:BD:8F:00:3D:44",
                          "evidence": [{"signal": "http_server", "value": "App-webs/", "source": "http://10.1.0.11/"}]}]})
    assert push.status_code in (200, 201), push.text
    assert alpha_device(client, world, "10.1.0.11")["removal"]["status"] == "contradicted"
    alerts = client.get("/api/v1/alerts", headers=bearer(world, "alice")).json()
    assert [a for a in alerts if a["kind"] == "contradicted" and a["device_id"] == device["id"]]
    assert set(alerts[0]) == {"id", "kind", "site", "device_id", "at", "detail"}
    bravo = client.get("/api/v1/alerts", headers=bearer(world, "bob")).json()
    assert not [a for a in bravo if a["site"] == "Alpha HQ"], "alerts are scoped by department"
    assert client.get("/api/v1/alerts?kind=nonsense", headers=bearer(world, "alice")).status_code == 422


def test_orders_from_the_plan_move_through_their_life_with_an_extension(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    assert client.post("/api/v1/orders", headers=bearer(world, "alice")).status_code == 403  # administrators only
    made = client.post("/api/v1/orders", headers=bearer(world, "admin"))
    assert made.status_code == 201 and made.json()["created"] >= 1
    again = client.post("/api/v1/orders", headers=bearer(world, "admin")).json()
    assert again["created"] == 0 and again["updated"] == 0, "the same plan twice changes nothing"
    mine = client.get("/api/v1/orders", headers=bearer(world, "alice")).json()
    assert mine and {o["site"] for o in mine} <= {"Alpha HQ", "Alpha Depot"}
    order = mine[0]
    assert set(order) == {"id", "site", "week", "crew", "status", "devices", "due"}
    assert client.get(f"/api/v1/orders/{order['id']}", headers=bearer(world, "bob")).status_code == 404
    moved = client.post(f"/api/v1/orders/{order['id']}/status", headers=bearer(world, "alice"),
                        json={"status": "scheduled"})
    assert moved.status_code == 200 and moved.json()["status"] == "scheduled"
    early = client.post(f"/api/v1/orders/{order['id']}/status", headers=bearer(world, "alice"),
                        json={"status": "completed"})
    assert early.status_code == 409 and "no removal recorded" in early.json()["detail"]
    asked = client.post(f"/api/v1/orders/{order['id']}/extensions", headers=bearer(world, "alice"),
                        json={"new_due": "2024-12-20", "reason": "replacement cameras back-ordered"})
    assert asked.status_code == 201
    extension = asked.json()["extensions"][-1]
    assert extension["status"] == "requested" and asked.json()["due"] == order["due"]
    granted = client.post(f"/api/v1/extensions/{extension['id']}/decision", headers=bearer(world, "alice"),
                          json={"approve": True})
    assert granted.status_code == 200 and granted.json()["due"] == "2024-12-20"
    twice = client.post(f"/api/v1/extensions/{extension['id']}/decision", headers=bearer(world, "alice"),
                        json={"approve": False})
    assert twice.status_code == 409
    report = client.get("/api/v1/status-report", headers=bearer(world, "alice")).json()
    assert report["extensions"]["approved"] == 1
    assert {s["site"] for s in report["sites"]} <= {"Alpha HQ", "Alpha Depot"}


def _login(client: TestClient, user: str) -> str:
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": token, "next": "/"},
                follow_redirects=False)
    home = client.get("/")
    return re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)  # type: ignore[union-attr]


def test_the_pages_show_orders_alerts_and_job_sheets(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    client.post("/api/v1/orders", headers=bearer(world, "admin"))
    _login(client, "alice")
    home = client.get("/")
    assert home.status_code == 200 and 'id="alerts-heading"' in home.text
    alerts = client.get("/alerts")
    assert alerts.status_code == 200 and "contradicted" in alerts.text
    listing = client.get("/orders")
    assert listing.status_code == 200
    order_ids = re.findall(r'href="/orders/(\d+)"', listing.text)
    assert order_ids
    for order_id in order_ids:
        page = client.get(f"/orders/{order_id}")
        assert page.status_code == 200 and "<script>window.__pwned" not in page.text
        sheet = client.get(f"/orders/{order_id}/sheet.html")
        assert sheet.status_code == 200 and "<script>window.__pwned" not in sheet.text
        xlsx = client.get(f"/orders/{order_id}/sheet.xlsx")
        assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client.get("/orders/999999").status_code == 404


def test_the_device_page_shows_its_removal_claim_and_evidence(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    device = alpha_device(client, world, "10.1.0.12")
    client.post(f"/api/v1/devices/{device['id']}/removals", headers=bearer(world, "alice"),
                data={"removed_on": "2024-08-30", "disposal_ref": "WEEE-<b>9</b>"},
                files=[("files", ("photo.jpg", b"jpeg bytes", "image/jpeg"))])
    _login(client, "alice")
    page = client.get(f"/devices/{device['id']}")
    assert page.status_code == 200 and 'id="removal"' in page.text
    assert "WEEE-&lt;b&gt;9&lt;/b&gt;" in page.text and "photo.jpg" in page.text
