"""Site names and networks: no cross-department oracle, no unbounded or special networks, no mapped back door.

Issue 14, findings 6 and 7: an officer creating a site got 409 "already exists" for another
department's site name, so names of sensitive premises could be guessed; an officer could declare
0.0.0.0/0 or ::/0 (or IPv4-mapped ranges over another department's networks), after which scans
accepted any address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from clearsite.discover.scope import ScopeError, check_scope, require_in_scope
from clearsite.store.db import open_database
from clearsite.store.sites import LOOPBACK_ENV
from clearsite.testing import AS_OF, DEPT_A, World, build_world
from clearsite.web import Settings, create_app

pytestmark = pytest.mark.security


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, packaged_kb, store_url_module: str) -> Iterator[tuple[TestClient, World]]:  # type: ignore[no-untyped-def]
    engine = open_database(store_url_module)
    world = build_world(engine, packaged_kb, tmp_path_factory.mktemp("sites"))
    with TestClient(create_app(engine, packaged_kb, Settings(as_of=AS_OF))) as client:
        yield client, world


def add(env, user: str, name: str, *cidrs: str) -> tuple[int, object]:  # type: ignore[no-untyped-def]
    client, world = env
    answer = client.post("/api/v1/sites", json={"name": name, "networks": [{"cidr": c} for c in cidrs]},
                         headers={"Authorization": f"Bearer {world.tokens[user]}"})
    return answer.status_code, answer.json()


def test_another_departments_site_name_answers_like_a_new_name(env) -> None:  # type: ignore[no-untyped-def]
    taken_elsewhere = add(env, "bob", "Alpha HQ")  # Department of Alpha's sensitive site
    spaced_elsewhere = add(env, "bob", "  alpha   HQ ")
    fresh = add(env, "bob", "Bravo Annex")
    assert taken_elsewhere[0] == fresh[0] == 201
    assert spaced_elsewhere[0] == 409  # bob's own department now has that name: his to know
    assert set(taken_elsewhere[1]) == set(fresh[1])  # type: ignore[arg-type]
    assert add(env, "alice", "alpha hq")[0] == 409  # within a department names stay unique


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0", "10.0.0.0/8", "10.0.0.0/15", "2001:db8::/32"])
def test_networks_wider_than_a_16_or_48_are_refused(env, cidr: str) -> None:  # type: ignore[no-untyped-def]
    code, body = add(env, "bob", f"Wide {cidr}", cidr)
    assert code == 422 and "wider than" in str(body)


@pytest.mark.parametrize("cidr", ["169.254.0.0/16", "224.0.0.0/24", "0.0.0.0/16", "240.1.0.0/16", "::/128",
                                  "::ffff:10.1.0.0/112", "::ffff:0:0/96", "fe80::/64", "ff02::/64", "127.5.0.0/16",
                                  "::1/128"])
def test_special_ranges_are_refused(env, cidr: str, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv(LOOPBACK_ENV, raising=False)  # as on a real server: nobody allowed loopback
    code, body = add(env, "bob", f"Special {cidr}", cidr)
    assert code == 422 and "addresses" in str(body)


def test_a_network_overlapping_another_department_is_refused_without_naming_it(env) -> None:  # type: ignore[no-untyped-def]
    code, body = add(env, "bob", "Bravo Overlap", "10.1.5.0/24")  # inside Alpha HQ's 10.1.0.0/16
    assert code == 422 and "another department" in str(body)
    assert "Alpha" not in str(body) and DEPT_A not in str(body)
    assert add(env, "alice", "Alpha Overlap", "10.1.5.0/24")[0] == 201  # the same department may


def test_an_administrator_allows_wide_and_special_networks_explicitly(cli: Callable[..., object]) -> None:
    refused = cli("site", "add", "Estate", "--department", "D", "--network", "10.0.0.0/8", check=False)
    assert refused.returncode == 2 and "wider than /16" in refused.stderr  # type: ignore[attr-defined]
    cli("site", "add", "Estate", "--department", "D", "--network", "10.0.0.0/8", "--allow-wide")
    clash = cli("site", "add", "Other", "--department", "E", "--network", "10.3.0.0/16", check=False)
    assert clash.returncode == 2 and "Estate" not in clash.stderr  # type: ignore[attr-defined]
    cli("site", "add", "Lab", "--department", "D", "--network", "169.254.0.0/16", "--allow-special")


def test_ipv4_mapped_targets_only_where_the_ipv4_network_is_declared() -> None:
    assert [str(a) for a in check_scope(["::ffff:10.1.0.5"], ["10.1.0.0/16"])] == ["::ffff:a01:5"]
    for declared in (["::/0"], ["::ffff:0:0/96"], ["2001:db8::/48"], ["10.2.0.0/16"]):
        with pytest.raises(ScopeError):
            check_scope(["::ffff:10.1.0.5"], declared)
        with pytest.raises(ScopeError):
            require_in_scope([ipaddress.ip_address("::ffff:10.1.0.5")], declared)
    with pytest.raises(ScopeError):
        check_scope(["::/64"], ["::/0"])  # spans mapped addresses and more
