"""Administration an administrator can do: users listed, disabled, enabled and given a new one-time password
(CLI and web), tokens listed and revoked on the web, an administrator made at start whatever other users exist,
and the API's documentation page served from the package."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from clearsite.cli.web_admin import user_app
from clearsite.services.accounts import add_account, ensure_admin, issue_token
from clearsite.store.db import open_database
from clearsite.testing import AS_OF, PASSWORD, World, build_world
from clearsite.web import Settings, create_app


def cli() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(user_app, name="user")
    return app


def test_users_are_listed_disabled_enabled_and_reset_from_the_cli(store_url: str) -> None:
    engine = open_database(store_url)
    add_account(engine, "root", "root-password-long", "admin", department=None, site=None, actor="t", one_time=False)
    add_account(engine, "aud", "auditor-password-long", "auditor", department=None, site=None, actor="t",
                one_time=False)
    runner = CliRunner()
    listed = runner.invoke(cli(), ["user", "list", "--format", "json", "--db", store_url])
    assert listed.exit_code == 0, listed.output
    rows = {r["username"]: r for r in json.loads(listed.stdout)}
    assert set(rows) == {"root", "aud"} and rows["aud"]["active"] and rows["aud"]["role"] == "auditor"
    assert all("password" not in key or key == "must_change_password" for r in rows.values() for key in r)
    assert runner.invoke(cli(), ["user", "disable", "aud", "--db", store_url]).exit_code == 0
    rows = {r["username"]: r for r in json.loads(runner.invoke(cli(), ["user", "list", "--format", "json", "--db",
                                                                       store_url]).stdout)}
    assert rows["aud"]["active"] is False
    last_admin = runner.invoke(cli(), ["user", "disable", "root", "--db", store_url])
    assert last_admin.exit_code == 2 and "last active administrator" in last_admin.output
    unknown = runner.invoke(cli(), ["user", "enable", "nobody", "--db", store_url])
    assert unknown.exit_code == 2 and "unknown user 'nobody'" in unknown.output
    assert runner.invoke(cli(), ["user", "enable", "aud", "--db", store_url]).exit_code == 0
    reset = runner.invoke(cli(), ["user", "reset-password", "aud", "--db", store_url])
    assert reset.exit_code == 0, reset.output
    password = reset.stdout.strip().splitlines()[-1]
    from clearsite.store.users import authenticate

    with engine.connect() as conn:
        user = authenticate(conn, "aud", password)
        assert user is not None and user.must_change_password
        assert authenticate(conn, "aud", "auditor-password-long") is None
    engine.dispose()


def test_an_admin_is_made_at_start_even_when_other_users_came_first(store_url: str) -> None:
    engine = open_database(store_url)
    add_account(engine, "early", "early-password-long", "auditor", department=None, site=None, actor="t",
                one_time=False)
    made = ensure_admin(engine, "the-admin-password-42")
    assert made.created and made.password is None and made.note is None
    again = ensure_admin(engine, "a-different-password")
    assert not again.created and again.note and "CLEARSITE_ADMIN_PASSWORD not used" in again.note
    quiet = ensure_admin(engine, None)
    assert not quiet.created and quiet.note is None
    engine.dispose()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, packaged_kb, store_url_module: str) -> Iterator[tuple[TestClient, World]]:  # type: ignore[no-untyped-def]
    engine = open_database(store_url_module)
    world = build_world(engine, packaged_kb, tmp_path_factory.mktemp("admin"))
    with TestClient(create_app(engine, packaged_kb, Settings(as_of=AS_OF))) as client:
        yield client, world
    engine.dispose()


def login(client: TestClient, user: str, password: str = PASSWORD) -> str:
    client.cookies.clear()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert csrf
    client.post("/login", data={"username": user, "password": password, "csrf_token": csrf.group(1)})
    again = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/users").text)
    return again.group(1) if again else ""


def test_an_admin_disables_and_resets_a_user_on_the_web(env) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    csrf = login(client, "admin")
    page = client.get("/admin/users")
    assert page.status_code == 200 and "audrey" in page.text and "Disable" in page.text
    done = client.post("/admin/users/audrey/disable", data={"csrf_token": csrf}, follow_redirects=True)
    assert done.status_code == 200 and "audrey disabled" in done.text.lower()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {world.tokens['audrey']}"}).status_code == 401
    client.post("/admin/users/audrey/enable", data={"csrf_token": csrf})
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {world.tokens['audrey']}"}).status_code == 200
    reset = client.post("/admin/users/carol-unknown/reset-password", data={"csrf_token": csrf})
    assert reset.status_code == 422 and "unknown user" in reset.text
    reset = client.post("/admin/users/bob/reset-password", data={"csrf_token": csrf})
    shown = re.search(r'data-testid="one-time-password".*?<strong class="clearsite-mono">([^<]+)</strong>', reset.text,
                      re.S)
    assert reset.status_code == 200 and shown
    me = client.post("/admin/users/admin/disable", data={"csrf_token": csrf})
    assert me.status_code == 422 and "cannot disable yourself" in me.text
    unsigned = client.post("/admin/users/alice/disable", data={})
    assert unsigned.status_code == 403  # no CSRF token, no change


def test_an_admin_revokes_a_token_on_the_web(env) -> None:  # type: ignore[no-untyped-def]
    client, _ = env
    engine = client.app.state.engine  # type: ignore[attr-defined]
    issued = issue_token(engine, "alice", "laptop-script", ["read"], 5, actor="t")
    csrf = login(client, "admin")
    page = client.get("/admin/tokens")
    assert page.status_code == 200 and "laptop-script" in page.text and issued.token not in page.text
    client.post(f"/admin/tokens/{issued.id}/revoke", data={"csrf_token": csrf})
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued.token}"}).status_code == 401
    again = client.post(f"/admin/tokens/{issued.id}/revoke", data={"csrf_token": csrf})
    assert again.status_code == 422 and "no live token" in again.text


def test_only_admins_reach_the_admin_pages(env) -> None:  # type: ignore[no-untyped-def]
    client, _ = env
    login(client, "alice")
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/tokens").status_code == 403
    assert 'href="/admin/users"' not in client.get("/devices").text  # no Admin link for an officer


def test_the_api_documentation_is_served_from_the_package(env) -> None:  # type: ignore[no-untyped-def]
    client, _ = env
    login(client, "alice")
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/static/swagger/swagger-ui-bundle.js" in docs.text
    assert "https://" not in docs.text.split("<body>")[0]  # nothing from a CDN
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/devices"]["get"]
