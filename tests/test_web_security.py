"""Security of the web app: hostile text stays inert, CSRF is refused, departments cannot see each other,
and unauthenticated or wrongly-scoped requests are refused — through pages and API alike."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from clearsite.store.auth_tables import ApiTokenRow
from clearsite.store.db import open_database
from clearsite.testing import AS_OF, PASSWORD, World, build_world
from clearsite.web import Settings, create_app


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, packaged_kb, store_url_module: str) -> Iterator[tuple[TestClient, World, object]]:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("websec")
    engine = open_database(store_url_module)  # on SQLite and on PostgreSQL
    world = build_world(engine, packaged_kb, tmp)
    app = create_app(engine, packaged_kb, Settings(as_of=AS_OF, max_body_bytes=200_000))
    with TestClient(app) as client:
        yield client, world, engine


def bearer(world: World, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[user]}"}


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def login(client: TestClient, user: str) -> str:
    client.cookies.clear()
    token = csrf_of(client.get("/login").text)
    assert client.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": token},
                       follow_redirects=False).status_code == 303
    return csrf_of(client.get("/").text)


# --------------------------------------------------------------------------- hostile data


def test_a_script_in_a_banner_is_shown_as_text_not_run(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    login(client, "alice")
    page = client.get(f"/devices/{world.hostile_device}").text
    assert "<script>window.__pwned" not in page and "onerror=\"window" not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page  # visible, as text
    site_page = client.get(f"/sites/{world.sites['Alpha HQ']}").text
    assert "<script>window.__pwned" not in site_page and "&lt;script&gt;" in site_page
    # the only scripts on any page are our own, from /static
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/htmx.min.js" defer>',
                                                  '<script src="/static/clearsite.js" type="module">',
                                                  '<script src="/static/js-enabled.js">']


def test_pages_forbid_inline_script_framing_and_referrers(env) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = env
    login(client, "alice")
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff" and headers["cache-control"] == "no-store"


def test_the_session_cookie_is_httponly_and_samesite(env) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = env
    client.cookies.clear()
    cookie = client.get("/login").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie  # plain http in tests


def test_the_session_cookie_is_secure_behind_tls(env, packaged_kb) -> None:  # type: ignore[no-untyped-def]
    _, _, engine = env
    with TestClient(create_app(engine, packaged_kb, Settings()), base_url="https://testserver") as tls:
        cookie = tls.get("/login").headers["set-cookie"].lower()
        assert "secure" in cookie
        assert "max-age=31536000" in tls.get("/login").headers["strict-transport-security"]


def test_a_forged_session_cookie_is_ignored(env) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = env
    client.cookies.clear()
    client.cookies.set("clearsite_session", "eyJ1IjoxLCJ2IjowLCJuIjoieCIsInQiOjF9.AAAA")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_oversized_bodies_are_refused(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    client.cookies.clear()
    answer = client.post("/api/v1/screen", content=b"x" * 300_000, headers={**bearer(world, "alice"),
                                                                           "content-type": "application/json"})
    assert answer.status_code == 413


def test_login_sends_nobody_to_another_site(env) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = env
    client.cookies.clear()
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token,
                                         "next": "//evil.example/"}, follow_redirects=False)
    assert answer.headers["location"] == "/"


# --------------------------------------------------------------------------- CSRF


def test_a_form_post_without_the_csrf_token_is_refused(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    login(client, "alice")
    site = world.sites["Alpha HQ"]
    assert client.post(f"/sites/{site}", data={"region": "Hijacked"}).status_code == 403
    assert client.post(f"/sites/{site}", data={"region": "Hijacked", "csrf_token": "0" * 64}).status_code == 403
    assert client.patch(f"/api/v1/sites/{site}", json={"region": "Hijacked"}).status_code == 403
    assert client.post("/logout").status_code == 403
    assert "Hijacked" not in client.get(f"/sites/{site}").text


def test_another_sessions_csrf_token_does_not_work(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    old = login(client, "alice")
    login(client, "alice")  # a new login: a new nonce, so a new token
    answer = client.post(f"/sites/{world.sites['Alpha HQ']}", data={"region": "Replay", "csrf_token": old})
    assert answer.status_code == 403


def test_the_htmx_header_carries_the_csrf_token(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    csrf = login(client, "alice")
    answer = client.patch(f"/api/v1/sites/{world.sites['Alpha Depot']}", json={"region": "Via header"},
                          headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200 and answer.json()["region"] == "Via header"


def test_login_itself_needs_the_csrf_token(env) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = env
    client.cookies.clear()
    client.get("/login")
    assert client.post("/login", data={"username": "alice", "password": PASSWORD}).status_code == 403


# --------------------------------------------------------------------------- departments


def test_an_officer_cannot_read_another_departments_sites_devices_or_findings(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    client.cookies.clear()
    alpha = world.sites["Alpha HQ"]
    bob = bearer(world, "bob")
    assert {s["name"] for s in client.get("/api/v1/sites", headers=bob).json()} == {"Bravo House"}
    assert client.get(f"/api/v1/sites/{alpha}", headers=bob).status_code == 404
    assert {d["site"] for d in client.get("/api/v1/devices", headers=bob).json()} == {"Bravo House"}
    assert client.get(f"/api/v1/devices?site_id={alpha}", headers=bob).json() == []
    assert client.get("/api/v1/devices/1", headers=bob).status_code == 404
    assert {f["site"] for f in client.get("/api/v1/findings", headers=bob).json()} == {"Bravo House"}
    assert client.get(f"/api/v1/sites/{alpha}/reconciliation", headers=bob).status_code == 404
    dashboard = client.get("/api/v1/dashboard", headers=bob).json()
    assert list(dashboard["by_department"]) == ["Ministry of Bravo"]
    login(client, "bob")
    assert client.get(f"/sites/{alpha}").status_code == 404
    assert client.get("/devices/1").status_code == 404
    pages = client.get("/sites").text + client.get("/findings").text + client.get("/").text
    assert "Alpha HQ" not in pages and "Department of Alpha" not in pages


def test_an_officer_cannot_change_another_departments_sites_or_devices(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    client.cookies.clear()
    alpha = world.sites["Alpha HQ"]
    bob = bearer(world, "bob")
    assert client.patch(f"/api/v1/sites/{alpha}", json={"holds_secret": False}, headers=bob).status_code == 404
    assert client.post("/api/v1/devices/1/removal", json={"removed_on": "2024-01-01"}, headers=bob).status_code == 404
    csrf = login(client, "bob")
    assert client.post(f"/sites/{alpha}", data={"csrf_token": csrf}).status_code == 404
    assert client.post("/devices/1/removal", data={"csrf_token": csrf, "removed_on": "2024-01-01"}).status_code == 404
    alice = bearer(world, "alice")
    assert client.get(f"/api/v1/sites/{alpha}", headers=alice).json()["holds_secret"] is True
    assert client.get("/api/v1/devices/1", headers=alice).json()["removed_on"] is None


def test_an_officer_cannot_screen_for_another_departments_site(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    client.cookies.clear()
    body = {"lines": [{"brand": "Axis", "model": "P3245-V"}], "site_id": world.sites["Alpha HQ"]}
    assert client.post("/api/v1/screen", json=body, headers=bearer(world, "bob")).status_code == 404


# --------------------------------------------------------------------------- authentication and scope

READS = ["/api/v1/me", "/api/v1/sites", "/api/v1/sites/1", "/api/v1/devices", "/api/v1/devices/1", "/api/v1/findings",
         "/api/v1/dashboard", "/api/v1/audit", "/api/v1/audit/verify", "/api/v1/sites/1/reconciliation"]
WRITES = [("post", "/api/v1/sites", {"name": "X", "department": "Y"}), ("patch", "/api/v1/sites/1", {"socpa": True}),
          ("post", "/api/v1/devices/1/removal", {"removed_on": "2024-01-01"}),
          ("post", "/api/v1/sites/1/observations", {"observations": [{"id": "a"}]}),
          ("post", "/api/v1/screen", {"lines": [{"brand": "Axis"}]}),
          ("post", "/api/v1/users", {"username": "m", "password": "x" * 12, "role": "auditor"}),
          ("post", "/api/v1/tokens", {"username": "admin", "name": "x"}), ("delete", "/api/v1/tokens/1", None)]


@pytest.mark.parametrize("path", READS)
def test_unauthenticated_reads_are_refused(env, path: str) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = env
    client.cookies.clear()
    answer = client.get(path)
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_unauthenticated_changes_are_refused(env, method: str, path: str, body) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = env
    client.cookies.clear()
    assert client.request(method, path, json=body).status_code == 401


def test_a_bad_or_garbled_token_is_refused(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    client.cookies.clear()
    for header in ("Bearer cs_not-a-real-token", "Basic YWRtaW46YWRtaW4=", "Bearer ", world.tokens["admin"]):
        assert client.get("/api/v1/sites", headers={"Authorization": header}).status_code == 401


class FakeClock:
    """A clock the test moves by hand, so nothing depends on how fast a loaded machine runs."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def test_an_expired_token_is_refused(env, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from clearsite.store import users
    from clearsite.web import cache

    client, world, _ = env
    client.cookies.clear()
    wall = datetime(2024, 9, 1, 12, 0)
    monkeypatch.setattr(users, "_now", lambda: wall)  # the clock tokens are issued and checked by
    monkeypatch.setattr(cache, "clock", FakeClock(0.0))  # and a memory that never forgets on its own
    created = client.post("/api/v1/tokens", json={"username": "audrey", "name": "short", "days": 1},
                          headers=bearer(world, "admin")).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/v1/sites", headers=headers).status_code == 200
    wall += timedelta(days=1)  # the grant remembered from the first call must not outlive the token
    assert client.get("/api/v1/sites", headers=headers).status_code == 401


def test_a_token_disabled_in_the_database_by_another_process_stops_within_the_cache_ttl(  # type: ignore[no-untyped-def]
        env, monkeypatch: pytest.MonkeyPatch) -> None:
    from clearsite.web import cache

    client, world, engine = env
    client.cookies.clear()
    clock = FakeClock(1000.0)
    monkeypatch.setattr(cache, "clock", clock)
    created = client.post("/api/v1/tokens", json={"username": "audrey", "name": "elsewhere"},
                          headers=bearer(world, "admin")).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/v1/sites", headers=headers).status_code == 200
    with engine.begin() as conn:  # as the CLI or a second worker would
        conn.execute(update(ApiTokenRow).where(ApiTokenRow.id == created["id"]).values(revoked_at=datetime(2024, 1, 1)))
    clock.now += cache.TTL
    assert client.get("/api/v1/sites", headers=headers).status_code == 401


def test_the_memory_of_hot_reads_answers_from_memory_until_its_ttl_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    from clearsite.web import cache

    clock = FakeClock(50.0)
    monkeypatch.setattr(cache, "clock", clock)
    computed: list[int] = []

    def compute() -> int:
        computed.append(len(computed))
        return len(computed)

    key = ("test", "ttl")
    assert cache.remembered(key, compute) == 1
    clock.now += cache.TTL - 0.01
    assert cache.remembered(key, compute) == 1 and len(computed) == 1
    clock.now += 0.01
    assert cache.remembered(key, compute) == 2 and len(computed) == 2


@pytest.mark.parametrize(("user", "method", "path", "body"), [
    ("audrey", "patch", "/api/v1/sites/1", {"socpa": True}),  # auditors read only
    ("audrey", "post", "/api/v1/devices/1/removal", {"removed_on": "2024-01-01"}),
    ("audrey", "post", "/api/v1/screen", {"lines": [{"brand": "Axis"}]}),
    ("alice", "get", "/api/v1/audit", None),  # officers do not read the audit log
    ("alice", "post", "/api/v1/sites/1/observations", {"observations": [{"id": "a"}]}),  # nor push
    ("alice", "post", "/api/v1/users", {"username": "m", "password": "x" * 12, "role": "admin"}),
    ("agent-alpha", "get", "/api/v1/sites", None),  # agents only push
    ("agent-alpha", "patch", "/api/v1/sites/1", {"socpa": True}),
    ("bob", "post", "/api/v1/tokens", {"username": "bob", "name": "more", "scopes": ["admin"]}),
])
def test_wrongly_scoped_requests_are_refused(env, user: str, method: str, path: str, body) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    client.cookies.clear()
    assert client.request(method, path, json=body, headers=bearer(world, user)).status_code == 403


def test_pages_refuse_roles_without_the_scope(env) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = env
    login(client, "alice")
    assert client.get("/audit").status_code == 403
    login(client, "audrey")
    assert client.get("/screen").status_code == 403
    assert client.get("/audit").status_code == 200
