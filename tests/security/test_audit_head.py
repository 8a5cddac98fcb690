"""The end of the audit log is kept outside the database, so cutting it off or emptying it fails `audit verify`.

Issue 14, finding 4: deleting the last entries, or all of them, verified as OK unless an anchor was
given by hand, and nothing stored one; on PostgreSQL `TRUNCATE audit_log` passed the append-only
triggers.
"""

from __future__ import annotations

import json
import stat

import pytest
import typer
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from clearsite.cli.web_admin import audit_app
from clearsite.services.audit_log import verify_audit_log
from clearsite.services.sites import add_site
from clearsite.store.audit import record
from clearsite.store.audit_anchor import anchor_files
from clearsite.store.db import open_database
from clearsite.store.pg_roles import grant_least_privilege

pytestmark = pytest.mark.security


@pytest.fixture
def engine(store_url: str) -> Engine:
    engine = open_database(store_url)  # on SQLite and on PostgreSQL
    for n in range(1, 4):
        add_site(engine, "alice", name=f"Site {n}", department="Dept A", networks=[f"10.{n}.0.0/24"])
    with engine.begin() as conn:
        for n in range(1, 4):
            record(conn, "alice", "site.update", f"site:{n}", {"socpa": False}, {"socpa": True})
    return engine


def tamper(engine: Engine, *statements: str) -> None:
    """What someone with the database owner's rights could do: switch the guards off, then edit."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        for statement in statements:
            conn.exec_driver_sql(statement)


def cli_verify(engine: Engine) -> tuple[int, dict[str, object]]:
    root = typer.Typer()
    root.add_typer(audit_app, name="audit")
    root.command("noop")(lambda: None)
    result = CliRunner().invoke(root, ["audit", "verify", "--db", engine.url.render_as_string(hide_password=False),
                                       "--format", "json"])
    return result.exit_code, json.loads(result.stdout.strip().splitlines()[-1])


def test_every_append_keeps_a_signed_head_in_private_files(engine: Engine) -> None:
    files = anchor_files(engine.url)
    assert files is not None
    kept = json.loads(files.anchor.read_text())
    assert kept["seq"] == 6 and len(kept["hash"]) == 64 and kept["signature"]
    for path in (files.key, files.anchor):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert verify_audit_log(engine).ok
    assert cli_verify(engine)[0] == 0


def test_cutting_the_last_entries_fails(engine: Engine) -> None:
    tamper(engine, "DELETE FROM audit_log WHERE seq > 4")
    code, answer = cli_verify(engine)
    assert code == 1 and answer["ok"] is False and answer["kind"] == "deleted" and answer["bad_seq"] == 6


def test_emptying_the_log_fails(engine: Engine) -> None:
    tamper(engine, "DELETE FROM audit_log")
    code, answer = cli_verify(engine)
    assert code == 1 and answer["kind"] == "deleted"


def test_an_empty_log_where_sites_exist_fails_even_without_the_kept_head(engine: Engine) -> None:
    tamper(engine, "DELETE FROM audit_log")
    files = anchor_files(engine.url)
    assert files is not None
    files.anchor.unlink()
    result = verify_audit_log(engine)
    assert not result.ok and "empty" in (result.problem or "")


def test_a_log_whose_kept_head_was_removed_fails(engine: Engine) -> None:
    files = anchor_files(engine.url)
    assert files is not None
    files.anchor.unlink()
    result = verify_audit_log(engine)
    assert not result.ok and result.kind == "anchor"


def test_a_kept_head_moved_back_without_the_key_fails(engine: Engine) -> None:
    tamper(engine, "DELETE FROM audit_log WHERE seq > 4")
    files = anchor_files(engine.url)
    assert files is not None
    kept = json.loads(files.anchor.read_text())
    with engine.connect() as conn:
        kept["seq"], kept["hash"] = conn.exec_driver_sql("SELECT seq, hash FROM audit_log WHERE seq = 4").one()
    files.anchor.write_text(json.dumps(kept))  # the old signature over a different head
    result = verify_audit_log(engine)
    assert not result.ok and result.kind == "anchor" and "signature" in (result.problem or "")


# --------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_truncate_is_refused_on_postgres(postgres_url: str) -> None:
    engine = open_database(postgres_url)
    with engine.begin() as conn:
        record(conn, "alice", "site.update", "site:1", None, {"n": 1})
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE audit_log")
    assert verify_audit_log(engine).ok


@pytest.mark.postgres
def test_the_application_role_can_only_add_to_the_log(postgres_url: str) -> None:
    owner = open_database(postgres_url)
    with owner.begin() as conn:
        record(conn, "alice", "site.update", "site:1", None, {"n": 1})
        conn.exec_driver_sql("DROP ROLE IF EXISTS clearsite_app_test")
        conn.exec_driver_sql("CREATE ROLE clearsite_app_test LOGIN")
        grant_least_privilege(conn, "clearsite_app_test", str(make_url(postgres_url).username))
    app = open_database(make_url(postgres_url).set(username="clearsite_app_test").render_as_string(False))
    with app.begin() as conn:  # the app appends as before
        record(conn, "web", "site.update", "site:1", None, {"n": 2})
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log", "TRUNCATE audit_log",
                      "ALTER TABLE audit_log DISABLE TRIGGER USER", "DROP TRIGGER audit_log_append_only ON audit_log"):
        with pytest.raises(DBAPIError, match=r"permission denied|must be owner|append-only"), app.begin() as conn:
            conn.exec_driver_sql(statement)
    assert verify_audit_log(app).ok and verify_audit_log(app).entries == 2
    app.dispose()
    with owner.begin() as conn:
        conn.exec_driver_sql("DROP OWNED BY clearsite_app_test")
        conn.exec_driver_sql("DROP ROLE clearsite_app_test")
