"""The web app through its front doors (pages and /api/v1), in process: what each role sees and may change."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from clearsite.core import contracts
from clearsite.store.audit import entries, verify
from clearsite.store.db import open_database
from clearsite.testing import AS_OF, DEPT_A, HOSTILE, PASSWORD, World, build_world
from clearsite.web import Settings, create_app


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, packaged_kb, store_url_module: str) -> Iterator[tuple[TestClient, World, object]]:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("web")
    engine = open_database(store_url_module)  # on SQLite and on PostgreSQL
    world = build_world(engine, packaged_kb, tmp)
    app = create_app(engine, packaged_kb, Settings(as_of=AS_OF))
    with TestClient(app) as client:
        yield client, world, engine


def bearer(world: World, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[user]}"}


def login(client: TestClient, user: str, password: str = PASSWORD) -> str:
    """Log in through the form as a person would; returns the CSRF token the pages carry."""
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    answer = client.post("/login", data={"username": user, "password": password, "csrf_token": token, "next": "/"},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    home = client.get("/")
    return re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)  # type: ignore[union-attr]


def test_pages_need_a_login_and_send_people_to_it(env) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = env
    client.cookies.clear()
    answer = client.get("/sites", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=%2Fsites")


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(env) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = env
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    answer = client.post("/login", data={"username": "alice", "password": "wrong wrong wrong", "csrf_token": token})
    assert answer.status_code == 401 and "Wrong user name or password" in answer.text


def test_the_dashboard_shows_progress_counts_by_status_department_and_sensitivity(env) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = env
    login(client, "admin")
    page = client.get("/")
    assert page.status_code == 200
    assert "Progress against the timeline" in page.text and "2024-10-31" in page.text
    assert DEPT_A in page.text and "Ministry of Bravo" in page.text and "Sensitive" in page.text


def test_the_device_api_gives_the_cli_json_shape(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    client.cookies.clear()
    devices = client.get("/api/v1/devices", headers=bearer(world, "admin")).json()
    keys = set(contracts.Device.__annotations__)  # the `clearsite devices --format json` shape
    assert len(devices) == 5 and all(set(d) == keys for d in devices)
    hik = next(d for d in devices if d["label_brand"] == "Hikvision")
    assert hik["producer"]["id"] == "hikvision" and hik["nil_subject"] == "yes" and hik["evidence"]


def test_device_detail_shows_the_evidence_chain(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    login(client, "alice")
    page = client.get("/devices/1")
    assert page.status_code == 200 and "Evidence chain" in page.text and "DS-2CD2143G2-I" in page.text
    detail = client.get("/api/v1/devices/1", headers=bearer(world, "alice")).json()
    assert {o["kind"] for o in detail["observations"]} == {"register_row", "agent_host"}
    assert {f["obligation"] for f in detail["findings"]} == {"O1", "O2", "O3"}


def test_site_detail_shows_reconciliation_when_something_was_seen(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    site = world.sites["Alpha HQ"]
    result = client.get(f"/api/v1/sites/{site}/reconciliation", headers=bearer(world, "alice")).json()
    assert result == {"matched": [1], "seen_not_registered": [world.hostile_device], "registered_not_seen": [2, 3]}
    login(client, "alice")
    assert "Seen, not registered" in client.get(f"/sites/{site}").text
    assert client.get(f"/api/v1/sites/{world.sites['Alpha Depot']}/reconciliation",
                      headers=bearer(world, "alice")).json() is None


def test_findings_filter_by_status(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    rows = client.get("/api/v1/findings?status=breach", headers=bearer(world, "admin")).json()
    assert rows and {r["status"] for r in rows} == {"breach"}
    login(client, "audrey")
    assert "breach" in client.get("/findings?status=breach").text


def test_agents_push_for_their_own_site_idempotently(env) -> None:  # type: ignore[no-untyped-def]
    client, world, engine = env
    client.cookies.clear()
    site = world.sites["Alpha Depot"]
    body = {"observations": [{"id": "depot-1", "ip": "10.1.0.7", "evidence": [
        {"signal": "rtsp_server", "value": "Dahua Rtsp Server/3.0", "source": "rtsp://10.2.0.7/"}]}]}
    # agent-alpha is tied to Alpha HQ, not the depot
    assert client.post(f"/api/v1/sites/{site}/observations", json=body, headers=bearer(world, "agent-alpha")).status_code == 404
    hq = world.sites["Alpha HQ"]
    first = client.post(f"/api/v1/sites/{hq}/observations", json=body, headers=bearer(world, "agent-alpha")).json()
    again = client.post(f"/api/v1/sites/{hq}/observations", json=body, headers=bearer(world, "agent-alpha")).json()
    assert first["stored"] == 1 and first["new_devices"] == 1
    assert again == {"stored": 0, "duplicates": 1, "new_devices": 0, "identified": 0, "out_of_scope": []}
    changed = {"observations": [{**body["observations"][0], "ip": "10.1.0.8"}]}
    conflict = client.post(f"/api/v1/sites/{hq}/observations", json=changed, headers=bearer(world, "agent-alpha"))
    assert conflict.status_code == 409
    with engine.connect() as conn:
        pushes = [e for e in entries(conn, 0, 1000) if e.action == "observations.push"]
    assert sum(1 for e in pushes if "depot-1" in e.after["ids"]) == 1  # the retry changed nothing, so no entry
    outside = {"observations": [{"id": "stray-1", "ip": "192.0.2.7"}]}
    stray = client.post(f"/api/v1/sites/{hq}/observations", json=outside, headers=bearer(world, "agent-alpha"))
    assert stray.status_code == 422 and "outside the networks" in stray.text  # refused whole, as an agent batch is
    with engine.connect() as conn:
        refused = [e for e in entries(conn, 0, 1000) if e.action == "agent.refused"]
        alerts = conn.exec_driver_sql("SELECT detail FROM alerts WHERE kind = 'agent_refused'").scalars().all()
    assert refused and refused[-1].after["ids"] == ["stray-1"] and any("192.0.2.7" in a for a in alerts)
    # agents cannot read
    assert client.get("/api/v1/devices", headers=bearer(world, "agent-alpha")).status_code == 403


def test_every_change_is_audited_with_before_and_after(env) -> None:  # type: ignore[no-untyped-def]
    client, world, engine = env
    client.cookies.clear()
    site = world.sites["Alpha Depot"]
    answer = client.patch(f"/api/v1/sites/{site}", json={"dv_hub": True}, headers=bearer(world, "alice"))
    assert answer.status_code == 200 and answer.json()["sensitive"] is True
    removal = client.post("/api/v1/devices/2/removal", json={"removed_on": "2024-08-30"}, headers=bearer(world, "alice"))
    assert removal.status_code == 204
    with engine.connect() as conn:
        log = entries(conn, 0, 1000)
        assert verify(conn).ok
    update = next(e for e in log if e.action == "site.update" and e.target == f"site:{site}")
    assert update.before == {"dv_hub": False} and update.after == {"dv_hub": True}
    assert update.actor.startswith("alice (token ")
    removed = next(e for e in log if e.action == "removal.claim" and e.target == "device:2")  # a claim like any other
    assert removed.before is None and removed.after["removed_on"] == "2024-08-30" and removed.after["status"] == "claimed"
    audit = client.get("/api/v1/audit?limit=1000", headers=bearer(world, "audrey")).json()
    assert [e["seq"] for e in audit] == list(range(1, len(audit) + 1))
    assert client.get("/api/v1/audit/verify", headers=bearer(world, "audrey")).json()["ok"] is True


def test_pages_change_through_forms_with_the_csrf_token(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    csrf = login(client, "alice")
    site = world.sites["Alpha Depot"]
    answer = client.post(f"/sites/{site}", data={"csrf_token": csrf, "region": "North East", "socpa": "true"},
                         follow_redirects=False)
    assert answer.status_code == 303
    page = client.get(f"/sites/{site}")
    assert "North East" in page.text and "socpa" in page.text


def test_officers_create_sites_only_in_their_own_department(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    client.cookies.clear()
    made = client.post("/api/v1/sites", json={"name": "Alpha Annex", "department": "Ministry of Bravo"},
                       headers=bearer(world, "alice"))
    assert made.status_code == 201 and made.json()["department"] == DEPT_A
    assert client.post("/api/v1/sites", json={"name": "alpha annex"}, headers=bearer(world, "alice")).status_code == 409


def test_admins_issue_users_and_tokens_and_revoked_tokens_stop_working(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    client.cookies.clear()
    made = client.post("/api/v1/users", json={"username": "carol", "password": "another long password",
                                              "role": "officer", "department": DEPT_A}, headers=bearer(world, "admin"))
    assert made.status_code == 201
    issued = client.post("/api/v1/tokens", json={"username": "carol", "name": "script", "scopes": ["read"], "days": 1},
                         headers=bearer(world, "admin")).json()
    carol = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get("/api/v1/me", headers=carol).json()["scopes"] == ["read"]
    assert client.patch(f"/api/v1/sites/{world.sites['Alpha HQ']}", json={"socpa": True}, headers=carol).status_code == 403
    assert client.post("/api/v1/tokens", json={"username": "carol", "name": "x", "scopes": ["push"]},
                       headers=bearer(world, "admin")).status_code == 422  # an officer may not hold push
    assert client.delete(f"/api/v1/tokens/{issued['id']}", headers=bearer(world, "admin")).status_code == 204
    assert client.get("/api/v1/me", headers=carol).status_code == 401


def test_the_public_preview_holds_no_site_or_device_detail(env) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = env
    login(client, "admin")
    page = client.get("/public")
    assert page.status_code == 200 and "affected sites cleared" in page.text
    main = page.text.split('<main class="govuk-main-wrapper"', 1)[1]
    for secret in ("Alpha HQ", "Bravo House", "10.1.0.11", "DS-2CD2143G2-I", "BRAVO-SECRET-SERIAL", "Reception"):
        assert secret not in main


def test_logout_ends_the_session(env) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = env
    csrf = login(client, "audrey")
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_hostile_text_is_escaped_in_the_api_too(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    client.cookies.clear()
    detail = client.get(f"/api/v1/devices/{world.hostile_device}", headers=bearer(world, "admin"))
    assert detail.headers["content-type"].startswith("application/json")
    assert HOSTILE in detail.json()["location"]  # data kept as given; JSON is not HTML


def test_openapi_is_served_locally_and_has_no_docs_page_from_a_cdn(env) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = env
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "clearsite" and "/api/v1/screen" in spec["paths"]
    assert client.get("/docs").status_code in (303, 404)
    for path in ("dashboard.html", "base.html"):
        text = (Path(__file__).parents[1] / "src/clearsite/web/templates" / path).read_text()
        assert "http://" not in text and "https://" not in text


def test_a_one_time_password_must_be_replaced_before_anything_else(env) -> None:  # type: ignore[no-untyped-def]
    from clearsite.store.transactions import write_transaction
    from clearsite.store.users import Role, add_user

    client, _, engine = env
    with write_transaction(engine) as conn:
        add_user(conn, "newbie", "one time secret 123", Role.AUDITOR, actor="test", one_time=True)
    client.cookies.clear()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"username": "newbie", "password": "one time secret 123", "csrf_token": token},
                follow_redirects=False)
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/account/password"
    assert client.get("/api/v1/sites").status_code == 403
    form = client.get("/account/password").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    refused = client.post("/account/password", data={"csrf_token": csrf, "current": "one time secret 123",
                                                      "new": "my own passphrase", "repeat": "my own passphrase!"})
    assert refused.status_code == 422 and "differ" in refused.text
    changed = client.post("/account/password", data={"csrf_token": csrf, "current": "one time secret 123",
                                                      "new": "my own passphrase", "repeat": "my own passphrase"},
                          follow_redirects=False)
    assert changed.status_code == 303
    assert client.get("/").status_code == 200
    with engine.connect() as conn:
        entry = [e for e in entries(conn, 0, 1000) if e.action == "user.password"][-1]
    assert "one time" not in str(entry) and "passphrase" not in str(entry)
