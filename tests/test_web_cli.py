"""The web app's commands: `serve` (first start makes an admin), `user add`, `token create`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from clearsite.cli.web_admin import audit_app, token_app, user_app
from clearsite.store.auth_tables import ApiTokenRow, UserRow
from clearsite.store.db import open_database
from clearsite.store.users import authenticate, ensure_first_admin, resolve_token, token_digest


def root() -> typer.Typer:
    app = typer.Typer()  # mounted as the main CLI mounts them
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
    app.add_typer(audit_app, name="audit")
    return app


@pytest.fixture
def url(store_url: str) -> str:
    url = store_url  # on SQLite and on PostgreSQL
    from clearsite.core.models import Site
    from clearsite.store.sites import add_site

    with open_database(url).begin() as conn:
        add_site(conn, Site("Gamma Hall", "Department of Gamma"))
    return url


def test_user_add_prints_a_generated_password_once_and_stores_only_its_hash(url: str) -> None:
    result = CliRunner().invoke(root(), ["user", "add", "gina", "--role", "officer", "--department",
                                         "Department of Gamma", "--db", url], env={"CLEARSITE_USER_PASSWORD": ""})
    assert result.exit_code == 0, result.output
    password = result.stdout.strip().splitlines()[-1]
    engine = open_database(url)
    with engine.connect() as conn:
        stored = conn.scalar(select(UserRow.password_hash).where(UserRow.username == "gina"))
        assert stored.startswith("$argon2id$") and password not in stored
        assert authenticate(conn, "gina", password) is not None
        assert authenticate(conn, "gina", password + "x") is None


def test_user_add_explains_what_is_wrong(url: str) -> None:
    runner = CliRunner()
    no_dept = runner.invoke(root(), ["user", "add", "olly", "--role", "officer", "--db", url])
    assert no_dept.exit_code == 2 and "needs --department" in no_dept.output
    bad_role = runner.invoke(root(), ["user", "add", "olly", "--role", "boss", "--db", url])
    assert bad_role.exit_code == 2 and "expected one of admin, officer, auditor, agent" in bad_role.output
    short = runner.invoke(root(), ["user", "add", "olly", "--role", "auditor", "--db", url],
                          env={"CLEARSITE_USER_PASSWORD": "short"})
    assert short.exit_code == 2 and "at least 12" in short.output


def test_token_create_prints_the_token_once_scoped_and_expiring(url: str) -> None:
    runner = CliRunner()
    runner.invoke(root(), ["user", "add", "agent-g", "--role", "agent", "--site", "Gamma Hall", "--db", url],
                  env={"CLEARSITE_USER_PASSWORD": "a long agent password"})
    made = runner.invoke(root(), ["token", "create", "agent-g", "--name", "gamma-scanner", "--days", "30", "--db", url])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    engine = open_database(url)
    with engine.connect() as conn:
        grant = resolve_token(conn, token)
        assert grant is not None and {s.value for s in grant.scopes} == {"push"}
        assert conn.scalar(select(ApiTokenRow.token_hash)) == token_digest(token)
        assert token not in str(conn.execute(select(ApiTokenRow.__table__)).all())
    too_much = runner.invoke(root(), ["token", "create", "agent-g", "--name", "x", "--scope", "read", "--db", url])
    assert too_much.exit_code == 2 and "may not hold scope read" in too_much.output


def test_first_start_makes_one_admin_with_a_one_time_password(url: str) -> None:
    engine = open_database(url)
    with engine.begin() as conn:
        first = ensure_first_admin(conn)
    with engine.begin() as conn:
        assert ensure_first_admin(conn) is None  # never again
        admin = authenticate(conn, "admin", first or "")
        assert admin is not None and admin.must_change_password  # one-time: replaced at first sign-in


def test_first_start_takes_the_admin_password_from_the_environment(url: str) -> None:
    with open_database(url).begin() as conn:
        assert ensure_first_admin(conn, "from the environment 42") is None
        admin = authenticate(conn, "admin", "from the environment 42")
        assert admin is not None and not admin.must_change_password


@pytest.mark.slow
@pytest.mark.network
def test_serve_starts_on_loopback_prints_the_password_once_and_stops(url: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-c", "import typer; from clearsite.cli.web_admin import serve; typer.run(serve)",
               "--host", "127.0.0.1", "--port", str(port), "--db", url]
    env = {k: v for k, v in os.environ.items() if k != "CLEARSITE_ADMIN_PASSWORD"}
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        password = server.stdout.readline().strip()  # type: ignore[union-attr]
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, server.stderr.read()  # type: ignore[union-attr]
                time.sleep(0.1)
        assert answer.status_code == 200 and "Sign in" in answer.text
        assert "server" not in answer.headers  # no version banner
    finally:
        server.terminate()
        server.wait(10)
    with open_database(url).connect() as conn:
        assert authenticate(conn, "admin", password) is not None
