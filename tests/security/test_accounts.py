"""Token scopes and who the audit log names for command-line changes (issue 14, finding 11).

`scopes: []` on token creation granted the role's full scope; CLI user and token changes were
audited as plain `cli`, without the operating-system user who ran them.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from clearsite.services.audit_log import audit_entries
from clearsite.store.db import open_database
from clearsite.testing import AS_OF, build_world
from clearsite.web import Settings, create_app

pytestmark = pytest.mark.security


def test_an_empty_scope_list_is_refused_not_widened(tmp_path, packaged_kb, db_url: str) -> None:  # type: ignore[no-untyped-def]
    engine = open_database(db_url)
    world = build_world(engine, packaged_kb, tmp_path)
    with TestClient(create_app(engine, packaged_kb, Settings(as_of=AS_OF))) as client:
        admin = {"Authorization": f"Bearer {world.tokens['admin']}"}
        empty = client.post("/api/v1/tokens", json={"username": "alice", "name": "x", "scopes": []}, headers=admin)
        assert empty.status_code == 422 and "at least one scope" in empty.json()["detail"]
        default = client.post("/api/v1/tokens", json={"username": "alice", "name": "y"}, headers=admin)
        assert default.status_code in (200, 201) and set(default.json()["scopes"]) == {"read", "write", "screen"}


def test_cli_user_and_token_changes_name_the_operating_system_user(cli: Callable[..., object], db_url: str) -> None:
    cli("site", "add", "Lab", "--department", "Dept A", "--network", "10.5.0.0/24")
    cli("user", "add", "olive", "--role", "officer", "--department", "Dept A")
    cli("token", "create", "olive", "--name", "laptop", "--scope", "read")
    entries = audit_entries(open_database(db_url), 0, 100)
    actors = {e.action: e.actor for e in entries}
    expected = f"cli:{getpass.getuser()}"
    assert actors["user.add"] == expected and actors["token.create"] == expected
    cli("token", "revoke", entries[-1].target.removeprefix("token:"))
    assert audit_entries(open_database(db_url), 0, 100)[-1].actor == expected
