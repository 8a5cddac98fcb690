"""Exit statuses scripts and cron jobs rely on, through the real entry point (`python -m clearsite`).

0 done; 1 a failed check (a tampered or truncated audit log); 2 bad input or a usage error, always
as one line on stderr and never a traceback.
"""

from __future__ import annotations

import json
import socket
import sqlite3

import pytest


def one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_version_prints_the_version_and_exits_zero(cli):
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("clearsite ")


@pytest.mark.parametrize(("args", "says"), [
    ((), "Missing command"),
    (("no-such-command",), "No such command 'no-such-command'"),
    (("import", "register"), "Missing argument 'file'"),
    (("site", "list", "--format", "xml"), "'xml' is not one of 'json', 'table'"),
    (("--no-such-option",), "No such option: --no-such-option"),
    (("site",), "Missing command"),
    (("devices", "--as-of", "tomorrow"), "--as-of 'tomorrow': expected a date as YYYY-MM-DD"),
])
def test_usage_errors_are_one_line_and_status_2(cli, args, says):
    result = cli(*args, check=False)
    assert result.returncode == 2, result.stderr
    line = one_line_error(result)
    assert says in line
    assert result.stdout == ""


def _tamper(db_url: str, sql: str) -> None:
    """What someone with write access to the database file could do once past the triggers."""
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute(sql)


@pytest.fixture
def audited(cli, db_url):  # type: ignore[no-untyped-def]
    """A database whose audit log holds three entries."""
    for name in ("Alpha House", "Beta House", "Gamma House"):
        cli("site", "add", name, "--department", "Dept A")
    return db_url


def test_audit_verify_exits_0_on_an_intact_log(cli, audited):
    result = cli("audit", "verify")
    assert result.returncode == 0 and "audit log OK: 3 entries" in result.stdout


def test_audit_verify_exits_1_on_a_tampered_log(cli, audited):
    _tamper(audited, "UPDATE audit_log SET actor = 'someone else' WHERE seq = 2")
    table = cli("audit", "verify", check=False)
    assert table.returncode == 1 and "audit log TAMPERED" in table.stderr
    as_json = cli("audit", "verify", "--format", "json", check=False)
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["bad_seq"] == 2


def test_audit_verify_exits_1_on_a_truncated_log_given_its_anchor(cli, audited):
    head = json.loads(cli("audit", "verify", "--format", "json").stdout)
    anchor = f"{head['head_seq']}:{head['head_hash']}"
    _tamper(audited, "DELETE FROM audit_log WHERE seq = 3")
    result = cli("audit", "verify", "--anchor", anchor, check=False)
    assert result.returncode == 1 and "audit log TAMPERED" in result.stderr


@pytest.mark.parametrize(("args", "env", "says"), [
    (("audit", "verify", "--anchor", "12"), {}, "--anchor '12': expected SEQ:HASH"),
    (("audit", "verify", "--format", "xml"), {}, "--format 'xml': expected table or json"),
    (("user", "add", "olly", "--role", "officer"), {}, "an officer needs --department"),
    (("user", "add", "olly", "--role", "boss"), {}, "expected one of admin, officer, auditor, agent"),
    (("token", "create", "nobody", "--name", "x"), {}, "nobody"),
    (("serve", "--port", "1"), {"CLEARSITE_ADMIN_PASSWORD": "short"}, "CLEARSITE_ADMIN_PASSWORD: password too short"),
])
def test_every_admin_error_exits_2_with_one_line(cli, args, env, says):
    result = cli(*args, check=False, env=env)
    assert result.returncode == 2, result.stderr
    assert says in one_line_error(result)


@pytest.mark.network
@pytest.mark.parametrize("workers", ["1", "2"])  # uvicorn in-process; gunicorn's pre-forking master
def test_serve_exits_nonzero_when_its_port_is_taken(cli, workers):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("serve", "--port", str(port), "--workers", workers, check=False,
                     env={"CLEARSITE_ADMIN_PASSWORD": "a password long enough"})
    assert result.returncode != 0 and "address already in use" in result.stderr
    if workers == "2":  # refused before any worker is forked, in one line
        assert result.returncode == 2 and one_line_error(result).startswith(f"clearsite: error: cannot serve on 127.0.0.1:{port}")


@pytest.mark.network
def test_serve_with_workers_refuses_a_tls_key_that_does_not_load(cli, tmp_path):
    (tmp_path / "cert.pem").write_text("not a certificate\n", encoding="utf-8")
    result = cli("serve", "--port", "0", "--workers", "2", "--ssl-certfile", str(tmp_path / "cert.pem"),
                 "--ssl-keyfile", str(tmp_path / "missing.key"), check=False,
                 env={"CLEARSITE_ADMIN_PASSWORD": "a password long enough"})
    assert result.returncode == 2, result.stderr
    assert one_line_error(result).startswith("clearsite: error: --ssl-certfile/--ssl-keyfile: ")


def test_serve_refuses_a_bad_knowledge_check_period_before_starting(cli):
    result = cli("serve", "--port", "0", "--workers", "2", check=False,
                 env={"CLEARSITE_ADMIN_PASSWORD": "a password long enough", "CLEARSITE_KNOWLEDGE_CHECK_SECONDS": "soon"})
    assert result.returncode == 2, result.stderr
    assert one_line_error(result).startswith("clearsite: error: CLEARSITE_KNOWLEDGE_CHECK_SECONDS: 'soon'")
