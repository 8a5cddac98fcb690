"""The deployment files do what the README says: deploy/postgres-roles.sql and postgres-grants.sql, run on a
real PostgreSQL server, give an owner that migrates and an application role that can run clearsite but
cannot rewrite the audit log; the example settings and units hold what a department needs."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.exc import DBAPIError

DEPLOY = Path(__file__).parent.parent / "deploy"

pytestmark = [pytest.mark.postgres]


def _run_sql_file(path: Path, url: str) -> None:
    """Run a psql script's SQL, following \\connect; \\password is for a person at a terminal (the test
    server trusts loopback)."""
    conn = psycopg.connect(url, autocommit=True)
    try:
        for statement in _statements(path.read_text(encoding="utf-8")):
            if statement.startswith("\\connect "):
                conn.close()
                conn = psycopg.connect(re.sub(r"/[^/]*$", "/" + statement.split()[1], url), autocommit=True)
            elif not statement.startswith("\\password"):
                conn.execute(statement)  # type: ignore[call-overload]
    finally:
        conn.close()


def _statements(script: str) -> list[str]:
    lines = [line.split("--", 1)[0].rstrip() for line in script.splitlines()]
    statements, current = [], ""
    for line in lines:
        if line.startswith("\\"):
            statements.append(line)
            continue
        current += " " + line
        if current.strip().endswith(";"):
            statements.append(current.strip().rstrip(";"))
            current = ""
    return [s for s in statements if s.strip()]


def test_the_roles_the_readme_sets_up_keep_the_audit_log_append_only(postgres_server, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                    packaged_kb) -> None:
    from clearsite.services.database import open_database
    from clearsite.store.audit import record, verify
    from clearsite.store.pg_roles import least_privilege_sql
    from clearsite.testing import build_world

    if getattr(postgres_server, "_existing", None) is not None:
        pytest.skip("makes cluster-wide roles: only on a server the tests started")
    _run_sql_file(DEPLOY / "postgres-roles.sql", postgres_server.url("postgres", driver="postgresql"))
    owner = postgres_server.url("clearsite").replace("clearsite@", "clearsite_owner@", 1)
    app = postgres_server.url("clearsite").replace("clearsite@", "clearsite_app@", 1)
    open_database(owner).dispose()  # the owner migrates
    _run_sql_file(DEPLOY / "postgres-grants.sql", owner.replace("+psycopg", ""))

    engine = open_database(app)  # at the head already: the app role needs no DDL
    build_world(engine, packaged_kb, tmp_path)  # sites, users, tokens, imports, pushes, assessment
    with engine.begin() as conn:
        record(conn, "test", "noop", "nothing", None, {"n": 1})
    with engine.connect() as conn:
        assert verify(conn).ok
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log", "TRUNCATE audit_log",
                      "DROP TRIGGER audit_log_append_only ON audit_log", "CREATE TABLE mine (id int)",
                      "ALTER TABLE devices ADD COLUMN x int"):
        with pytest.raises(DBAPIError, match=r"permission denied|must be owner"), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    engine.dispose()
    # the grants file is the code's own list of statements
    grants = [s for s in _statements((DEPLOY / "postgres-grants.sql").read_text()) if not s.startswith("\\")]
    assert [" ".join(s.split()) for s in grants] == least_privilege_sql()


def test_the_server_unit_is_hardened_and_reads_its_settings_from_the_env_file() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((DEPLOY / "clearsite.service").read_text().replace("\\\n", " "))
    service = unit["Service"]
    assert service["ExecStart"].split()[1:3] == ["serve", "--host"] and "127.0.0.1" in service["ExecStart"]
    for option, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
                          "ProtectHome": "yes", "User": "clearsite"}.items():
        assert service[option] == value, option
    settings = dict(line.split("=", 1) for line in (DEPLOY / "clearsite.env.example").read_text().splitlines()
                    if line and not line.startswith("#"))
    assert settings["CLEARSITE_DATABASE_URL"].startswith("postgresql+psycopg://clearsite_app:")
    assert {"CLEARSITE_SECRET_KEY", "CLEARSITE_WORKERS", "CLEARSITE_DB_POOL_SIZE", "CLEARSITE_SECURE_COOKIES"} <= set(
        settings)
    # evidence files live in the state directory (writable under ProtectSystem=strict), not wherever it starts
    assert "Environment=CLEARSITE_EVIDENCE_DIR=/var/lib/clearsite/" in (DEPLOY / "clearsite.service").read_text()
    assert service["StateDirectory"] == "clearsite"
    agent = (DEPLOY / "clearsite-agent.service").read_text()
    assert "DynamicUser=yes" in agent and "LoadCredential=token:" in agent and "ProtectSystem=strict" in agent
