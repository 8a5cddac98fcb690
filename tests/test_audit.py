"""The audit log: append-only in the database, and `verify` names the first modified, inserted or deleted entry."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DatabaseError

from clearsite.store.audit import GENESIS, entry_hash, record, verify
from clearsite.store.db import open_database


@pytest.fixture
def engine(store_url: str) -> Engine:
    engine = open_database(store_url)  # on SQLite and on PostgreSQL
    with engine.begin() as conn:
        for n in range(1, 7):
            record(conn, "alice", "site.update", f"site:{n}", {"socpa": False}, {"socpa": True, "note": "<b>é</b>"})
    return engine


def tamper(engine: Engine, *statements: str) -> None:
    """What someone with write access to the database file could do once past the triggers."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        for statement in statements:
            conn.exec_driver_sql(statement)


def check(engine: Engine, anchor: tuple[int, str] | None = None):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return verify(conn, anchor)


def test_an_untouched_log_verifies_and_reports_its_head(engine: Engine) -> None:
    result = check(engine)
    assert result.ok and result.entries == 6 and result.head_seq == 6 and len(result.head_hash) == 64


def test_the_database_refuses_updates_and_deletes(engine: Engine) -> None:
    for statement in ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 2"):
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    assert check(engine).ok


def test_a_modified_entry_is_named(engine: Engine) -> None:
    tamper(engine, "UPDATE audit_log SET after = '{\"socpa\":false}' WHERE seq = 3")
    result = check(engine)
    assert not result.ok and result.bad_seq == 3 and result.kind == "modified"
    assert "entry 3" in result.describe() and "modified" in result.describe()


def test_a_modified_actor_is_named(engine: Engine) -> None:
    tamper(engine, "UPDATE audit_log SET actor = 'bob' WHERE seq = 5")
    assert (check(engine).bad_seq, check(engine).kind) == (5, "modified")


def test_a_deleted_entry_is_named(engine: Engine) -> None:
    tamper(engine, "DELETE FROM audit_log WHERE seq = 4")
    result = check(engine)
    assert not result.ok and result.bad_seq == 4 and result.kind == "deleted"
    assert "entry 4 deleted" in result.describe()


def test_an_inserted_entry_is_named(engine: Engine) -> None:
    # A forged entry that chains correctly onto entry 2 and reuses number 3 (the constraint dropped first).
    with engine.connect() as conn:
        prev = conn.scalar(text("SELECT hash FROM audit_log WHERE seq = 2"))
    at, before, after = "2024-01-01T00:00:00.000000+00:00", "null", '{"forged":true}'
    digest = entry_hash(3, at, "mallory", "site.update", "site:9", before, after, prev)
    tamper(engine, "CREATE TABLE audit_copy AS SELECT * FROM audit_log", "DROP TABLE audit_log",
           "CREATE TABLE audit_log AS SELECT * FROM audit_copy",
           f"INSERT INTO audit_log (id, seq, at, actor, action, target, before, after, prev_hash, hash) VALUES "
           f"(100, 3, '{at}', 'mallory', 'site.update', 'site:9', '{before}', '{after}', '{prev}', '{digest}')")
    result = check(engine)
    assert not result.ok and result.bad_seq == 3 and result.kind == "inserted"
    assert "id 100" in result.describe()


def test_an_entry_rewritten_with_a_fresh_hash_is_caught_by_the_next_link(engine: Engine) -> None:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT seq, at, actor, action, target, before, after, prev_hash FROM audit_log "
                                "WHERE seq = 2")).one()
    forged_after = '{"socpa":false}'
    digest = entry_hash(row.seq, row.at, "mallory", row.action, row.target, row.before, forged_after, row.prev_hash)
    tamper(engine, f"UPDATE audit_log SET actor = 'mallory', after = '{forged_after}', hash = '{digest}' WHERE seq = 2")
    result = check(engine)
    assert not result.ok and result.bad_seq == 2 and result.kind == "rewritten"


def test_a_cut_tail_is_caught_against_an_anchor(engine: Engine) -> None:
    head = check(engine)
    tamper(engine, "DELETE FROM audit_log WHERE seq >= 5")
    assert check(engine).ok  # a shorter chain is self-consistent …
    result = check(engine, (head.head_seq, head.head_hash))
    assert not result.ok and result.bad_seq == 6  # … but not with the head kept elsewhere


def test_the_first_entry_starts_from_genesis(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT prev_hash FROM audit_log WHERE seq = 1")) == GENESIS


def test_the_cli_verify_exits_nonzero_naming_the_entry(engine: Engine) -> None:
    import typer
    from typer.testing import CliRunner

    from clearsite.cli.web_admin import audit_app

    root = typer.Typer()  # mounted as the main CLI will mount it
    root.add_typer(audit_app, name="audit")
    root.command("noop")(lambda: None)
    url = str(engine.url)
    runner = CliRunner()
    ok = runner.invoke(root, ["audit", "verify", "--db", url])
    assert ok.exit_code == 0 and "audit log OK: 6 entries" in ok.output
    tamper(engine, "DELETE FROM audit_log WHERE seq = 2")
    bad = runner.invoke(root, ["audit", "verify", "--db", url, "--format", "json"])
    assert bad.exit_code == 1 and '"bad_seq": 2' in bad.output and '"kind": "deleted"' in bad.output
