"""Review decisions through the web app: POST /api/v1/devices/{id}/decision and /api/v1/decisions, the device
page's "Settle this verdict" form, the decision history and the /review list with bulk settle, by role and
department."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clearsite.store.db import open_database
from clearsite.testing import AS_OF, PASSWORD, World, build_world
from clearsite.web import Settings, create_app


@pytest.fixture
def env(tmp_path: Path, packaged_kb: Any) -> Iterator[tuple[TestClient, World]]:
    engine = open_database(f"sqlite:///{tmp_path / 'review-web.db'}")
    world = build_world(engine, packaged_kb, tmp_path)
    with TestClient(create_app(engine, packaged_kb, Settings(as_of=AS_OF))) as client:
        yield client, world
    engine.dispose()


def bearer(world: World, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[user]}"}


def device_where(client: TestClient, world: World, **wanted: Any) -> dict[str, Any]:
    devices = client.get("/api/v1/devices", headers=bearer(world, "admin")).json()
    return next(d for d in devices if all(d[k] == v for k, v in wanted.items()))


def login(client: TestClient, user: str) -> str:
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    answer = client.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": token, "next": "/"},
                         follow_redirects=False)
    assert answer.status_code == 303
    home = client.get("/review")
    return re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)  # type: ignore[union-attr]


def test_an_officer_settles_a_verdict_through_the_api(env) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    client.cookies.clear()
    unknown = device_where(client, world, site="Alpha HQ", nil_subject="unknown")
    answer = client.post(f"/api/v1/devices/{unknown['id']}/decision", headers=bearer(world, "alice"),
                         json={"nil_subject": "no", "producer": "axis", "device_class": "ip_camera",
                               "reason": "seen on site: Axis P3245"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["devices"][0]["nil_subject"] == "no"
    shown = client.get(f"/api/v1/devices/{unknown['id']}", headers=bearer(world, "alice")).json()
    assert shown["nil_subject"] == "no" and shown["producer"]["id"] == "axis"
    assert shown["decision"]["by"].startswith("alice") and shown["decision"]["reason"] == "seen on site: Axis P3245"
    assert shown["machine_verdict"]["nil_subject"] == "unknown"
    assert {f["status"] for f in shown["findings"]} == {"compliant"}
    history = client.get(f"/api/v1/devices/{unknown['id']}/decisions", headers=bearer(world, "audrey")).json()
    assert [h["reason"] for h in history] == ["seen on site: Axis P3245"]
    undone = client.post(f"/api/v1/devices/{unknown['id']}/decision", headers=bearer(world, "alice"),
                         json={"withdraw": True, "reason": "wrong camera"})
    assert undone.status_code == 200 and undone.json()["devices"][0]["decision"] is None
    assert client.get(f"/api/v1/devices/{unknown['id']}", headers=bearer(world, "alice")).json()["decision"] is None


@pytest.mark.parametrize(("body", "status"), [
    ({"nil_subject": "no", "producer": "nosuch", "reason": "x"}, 422),
    ({"nil_subject": "no", "producer": "axis"}, 422),
    ({"nil_subject": "no", "reason": "   "}, 422),
    ({"nil_subject": "maybe", "reason": "x"}, 422),
    ({"nil_subject": "no", "reason": "x", "colour": "red"}, 422),
])
def test_bad_decisions_answer_422(env, body: dict[str, Any], status: int) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    client.cookies.clear()
    device = device_where(client, world, site="Alpha HQ", nil_subject="unknown")
    answer = client.post(f"/api/v1/devices/{device['id']}/decision", headers=bearer(world, "alice"), json=body)
    assert answer.status_code == status, answer.text
    assert client.get(f"/api/v1/devices/{device['id']}", headers=bearer(world, "admin")).json()["decision"] is None


def test_only_officers_of_the_department_and_admins_decide(env) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    client.cookies.clear()
    alpha = device_where(client, world, site="Alpha HQ", nil_subject="unknown")
    bravo = device_where(client, world, site="Bravo House")
    body = {"nil_subject": "no", "reason": "x"}
    assert client.post(f"/api/v1/devices/{bravo['id']}/decision", headers=bearer(world, "alice"),
                       json=body).status_code == 404  # another department's device: as if absent
    assert client.post(f"/api/v1/devices/{alpha['id']}/decision", headers=bearer(world, "bob"),
                       json=body).status_code == 404
    assert client.post(f"/api/v1/devices/{alpha['id']}/decision", headers=bearer(world, "audrey"),
                       json=body).status_code == 403
    assert client.post(f"/api/v1/devices/{alpha['id']}/decision", headers=bearer(world, "agent-alpha"),
                       json=body).status_code == 403
    assert client.post(f"/api/v1/devices/{alpha['id']}/decision", json=body).status_code == 401
    assert client.post(f"/api/v1/devices/{bravo['id']}/decision", headers=bearer(world, "admin"),
                       json=body).status_code == 200
    # bulk: all or none
    bulk = {"device_ids": [alpha["id"], bravo["id"]], "nil_subject": "review", "reason": "survey"}
    assert client.post("/api/v1/decisions", headers=bearer(world, "alice"), json=bulk).status_code == 404
    assert client.get(f"/api/v1/devices/{alpha['id']}", headers=bearer(world, "admin")).json()["decision"] is None
    done = client.post("/api/v1/decisions", headers=bearer(world, "admin"), json=bulk)
    assert done.status_code == 200 and done.json()["decided"] == 2


def test_the_review_list_holds_what_waits_for_a_person_in_scope(env) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    client.cookies.clear()
    pending = client.get("/api/v1/review", headers=bearer(world, "alice")).json()
    assert pending and all(d["nil_subject"] in ("review", "unknown") or d["review_pending"] for d in pending)
    assert {d["site"] for d in pending} <= {"Alpha HQ", "Alpha Depot"}
    assert client.get("/api/v1/review", headers=bearer(world, "bob")).json() == []
    hq = client.get("/api/v1/review", params={"site_id": world.sites["Alpha HQ"]}, headers=bearer(world, "alice"))
    assert [d["id"] for d in hq.json()] == [d["id"] for d in pending if d["site"] == "Alpha HQ"]


def test_the_device_page_settles_a_verdict_and_shows_the_machines_beside_it(env) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    unknown = device_where(client, world, site="Alpha HQ", nil_subject="unknown")
    csrf = login(client, "alice")
    page = client.get(f"/devices/{unknown['id']}")
    assert "Settle this verdict" in page.text and 'action="/devices/' in page.text
    refused = client.post(f"/devices/{unknown['id']}/decision", data={"csrf_token": csrf, "nil_subject": "no",
                                                                      "reason": ""})
    assert refused.status_code == 422
    assert "There is a problem" in refused.text and 'href="#decide-reason"' in refused.text
    assert 'id="decide-reason-error"' in refused.text
    done = client.post(f"/devices/{unknown['id']}/decision",
                       data={"csrf_token": csrf, "nil_subject": "no", "producer": "axis", "make": "Axis",
                             "model": "P3245", "reason": "seen on site <b>Axis</b>"}, follow_redirects=False)
    assert done.status_code == 303
    page = client.get(done.headers["location"])
    assert 'data-testid="decision"' in page.text and "Decision recorded" in page.text
    assert "seen on site &lt;b&gt;Axis&lt;/b&gt;" in page.text  # escaped
    assert "From the evidence" in page.text  # the machine's verdict beside the decided one
    history = client.get(f"/devices/{unknown['id']}/decisions")
    assert history.status_code == 200 and 'data-testid="decision-history"' in history.text
    assert client.post(f"/devices/{unknown['id']}/decision", data={"nil_subject": "no", "reason": "no csrf"}
                       ).status_code == 403


def test_an_auditor_sees_decisions_but_no_form(env) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    unknown = device_where(client, world, site="Alpha HQ", nil_subject="unknown")
    login(client, "audrey")
    page = client.get(f"/devices/{unknown['id']}")
    assert page.status_code == 200 and "Review decision" in page.text and "Settle this verdict" not in page.text


def test_the_review_page_settles_the_ticked_devices(env) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    csrf = login(client, "alice")
    page = client.get("/review", params={"site_id": world.sites["Alpha HQ"]})
    ticks = re.findall(r'name="device_id" type="checkbox" value="(\d+)"', page.text)
    assert ticks, page.text
    none_ticked = client.post("/review", data={"csrf_token": csrf, "reason": "checked", "nil_subject": "yes"})
    assert none_ticked.status_code == 422 and "tick the devices" in none_ticked.text
    done = client.post("/review", data={"csrf_token": csrf, "device_id": ticks, "nil_subject": "review",
                                        "reason": "site survey booked", "site_id": str(world.sites["Alpha HQ"])},
                       follow_redirects=False)
    assert done.status_code == 303 and f"settled={len(ticks)}" in done.headers["location"]
    for device_id in ticks:
        shown = client.get(f"/api/v1/devices/{device_id}", headers=bearer(world, "admin")).json()
        assert shown["decision"]["reason"] == "site survey booked"
