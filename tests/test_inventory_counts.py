"""The inventory's totals at scale: filters alone are counted from the facet counts (store.inventory_index) and
must equal the devices the list shows; the NIL verdict filter (written as indexable arms) must pick exactly the
devices whose shown verdict it names, decisions included; a search past the cap says "more than" and still
pages through every match. On a small estate of the large register (the bench's data), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clearsite.services.accounts import add_account, issue_token
from clearsite.services.assessment import assess_all
from clearsite.services.demo_data import large_sites, write_large_register
from clearsite.services.imports import import_register
from clearsite.services.review import DecisionRequest, decide
from clearsite.store import reads
from clearsite.store.db import open_database
from clearsite.store.reads import EVERYTHING
from clearsite.store.sites import add_site, find_site, load_sites
from clearsite.store.transactions import write_transaction
from clearsite.web import Settings, create_app

AS_OF = date(2026, 11, 29)
PASSWORD = "counts-password-long-enough"
SITES = 12


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory, packaged_kb, store_url_module: str) -> Iterator[tuple[TestClient, dict[str, str], list[dict[str, Any]]]]:  # type: ignore[no-untyped-def]
    work = tmp_path_factory.mktemp("counts")
    engine = open_database(store_url_module)
    register = work / "register.csv"
    write_large_register(register, 900, seed=3, sites=SITES)
    with write_transaction(engine) as conn:
        for site in large_sites(SITES):
            add_site(conn, site)
    # Kit of a contested badge's maker (its verdict is review), and a badge nobody knows (no producer: unknown).
    with register.open("a") as rows:
        rows.write("Z1,Site 00002,Gate,Luminys,LUM-X1,LUMSER1,,10.0.1.200,camera,2020-01-01,\n"
                   "Z2,Site 00002,Gate,Luminys Systems,LUM-X2,LUMSER2,,10.0.1.201,camera,2020-01-01,\n"
                   "Z3,Site 00004,Yard,Nobody Knows Ltd,NK-1,NKSER1,,10.0.3.200,camera,2020-01-01,\n"
                   "Z4,Site 00004,Yard,Nobody Knows Ltd,NK-2,NKSER2,,10.0.3.201,camera,2020-01-01,\n")
    import_register(engine, register, packaged_kb, today=AS_OF)
    assess_all(engine, packaged_kb, AS_OF)
    add_account(engine, "counter", PASSWORD, "admin", department=None, site=None, actor="test", one_time=False)
    client = TestClient(create_app(engine, packaged_kb, Settings(as_of=AS_OF)))
    with client:
        token = issue_token(engine, "counter", "counts", None, 30, actor="test").token
        headers = {"Authorization": f"Bearer {token}"}
        # People's decisions: a Hikvision device settled as not NIL-subject, an unknown one settled as subject.
        shown = _all(client, headers, {})
        hikvision = next(d["id"] for d in shown if d["producer"] and d["producer"]["id"] == "hikvision")
        unknown = next(d["id"] for d in shown if d["nil_subject"] == "unknown")
        decide(engine, packaged_kb, EVERYTHING, [hikvision], DecisionRequest("seen on site: an Axis", nil_subject="no"),
               "test", as_of=AS_OF)
        decide(engine, packaged_kb, EVERYTHING, [unknown], DecisionRequest("badge says Hikvision", nil_subject="yes"),
               "test", as_of=AS_OF)
        yield client, headers, _all(client, headers, {})
    engine.dispose()


def _all(client: TestClient, headers: dict[str, str], params: dict[str, str], limit: int = 200) -> list[dict[str, Any]]:
    """Every device the filter matches, page by page through the keyset cursor."""
    found: list[dict[str, Any]] = []
    after = None
    while True:
        answer = client.get("/api/v1/devices", params={**params, "limit": str(limit), **({"after": after} if after else {})},
                            headers=headers)
        assert answer.status_code == 200, answer.text
        found += answer.json()
        after = answer.headers.get("X-Next-After")
        if after is None:
            return found


def _total(client: TestClient, headers: dict[str, str], params: dict[str, str]) -> tuple[int, bool]:
    answer = client.get("/api/v1/devices", params={**params, "limit": "1"}, headers=headers)
    assert answer.status_code == 200, answer.text
    return int(answer.headers["X-Total-Count"]), answer.headers.get("X-Total-Count-Capped") == "true"


def test_every_nil_verdict_filter_picks_exactly_the_devices_showing_it(estate) -> None:  # type: ignore[no-untyped-def]
    client, headers, everything = estate
    assert {d["nil_subject"] for d in everything} >= {"yes", "no", "review", "unknown"}
    assert any(d["nil_subject"] == "unknown" and not d["producer"] for d in everything)  # no producer found
    assert sum(1 for d in everything if d["decision"]) == 2
    for subject in ("yes", "no", "review", "unknown"):
        expected = {d["id"] for d in everything if d["nil_subject"] == subject}
        assert {d["id"] for d in _all(client, headers, {"nil_subject": subject})} == expected, subject
        assert _total(client, headers, {"nil_subject": subject}) == (len(expected), False), subject


def test_totals_of_filters_alone_equal_the_devices_listed(estate) -> None:  # type: ignore[no-untyped-def]
    client, headers, everything = estate
    with client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        site_id = str(find_site(conn, everything[0]["site"]))
    for params in ({}, {"producer": "dahua"}, {"producer": "hikvision", "status": "breach"}, {"status": "compliant"},
                   {"status": "none"}, {"device_class": "nvr"}, {"sensitivity": "sensitive"}, {"sensitivity": "other"},
                   {"review_pending": "true"}, {"site_id": site_id}, {"site_id": site_id, "nil_subject": "yes"},
                   {"producer": "none"}, {"department_id": "1", "producer": "axis"}):
        listed = _all(client, headers, params)
        assert _total(client, headers, params) == (len(listed), False), params
    assert _total(client, headers, {})[0] == len(everything)


def test_a_search_past_the_cap_says_more_than_and_still_pages_through_every_match(estate, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client, headers, _everything = estate
    for params in ({"q": "hikvision"}, {"q": "10."}, {"last_seen_from": "2000-01-01"}):
        exact = _all(client, headers, params)
        assert len(exact) > 5 and _total(client, headers, params) == (len(exact), False), params
        monkeypatch.setattr(reads, "TOTAL_CAP", 5)  # past it, SQLite also reads rows rather than the trigram table
        assert _total(client, headers, params) == (5, True), params
        assert [d["id"] for d in _all(client, headers, params)] == [d["id"] for d in exact], params
        monkeypatch.setattr(reads, "TOTAL_CAP", 10_000)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert csrf
    client.post("/login", data={"username": "counter", "password": PASSWORD, "csrf_token": csrf.group(1)})
    monkeypatch.setattr(reads, "TOTAL_CAP", 5)
    assert "More than 5 devices match" in client.get("/devices", params={"q": "hikvision"}).text
    monkeypatch.setattr(reads, "TOTAL_CAP", 10_000)
    shown = client.get("/devices", params={"q": "hikvision"}).text
    assert "More than" not in shown and f"{len(_all(client, headers, {'q': 'hikvision'}))} devices match" in shown
    client.cookies.clear()


def test_one_devices_page_reads_only_its_site(estate) -> None:  # type: ignore[no-untyped-def]
    client, _headers, everything = estate
    engine = client.app.state.engine  # type: ignore[attr-defined]
    device = everything[-1]
    with engine.connect() as conn:
        site_id = find_site(conn, device["site"])
        everywhere = load_sites(conn)
        only = load_sites(conn, {site_id})
        assert set(only) == {site_id} and only[site_id] == everywhere[site_id] and len(everywhere) > 1
        assert load_sites(conn, set()) == {}
        [(view, site)] = list(reads.read_devices(conn, EVERYTHING, with_evidence=False, device_id=device["id"]))
    assert view.site == device["site"] == site.name and site == everywhere[site_id]



def test_a_common_search_within_common_filters_walks_in_id_order_and_finds_the_same(estate, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client, headers, everything = estate
    params = {"q": "site 000", "sensitivity": "other"}  # every site's name, and nine sites in ten
    exact = _all(client, headers, params)
    assert len(exact) > 500 and _total(client, headers, params) == (len(exact), False)
    # A cap the search passes but the pair does not make SQLite read rows in id order (NOT INDEXED).
    monkeypatch.setattr(reads, "TOTAL_CAP", 500)
    walked: list[bool] = []
    decide_walk = reads._walk_in_id_order

    def spy(*args: Any) -> bool:
        walked.append(decide_walk(*args))
        return walked[-1]

    monkeypatch.setattr(reads, "_walk_in_id_order", spy)
    assert [d["id"] for d in _all(client, headers, params)] == [d["id"] for d in exact]
    engine = client.app.state.engine  # type: ignore[attr-defined]
    assert any(walked) == (engine.dialect.name == "sqlite")  # PostgreSQL's planner chooses by itself
    assert _total(client, headers, params) == (500, True)
    assert len(exact) < len(everything)


def test_a_common_filter_alone_walks_in_id_order_and_finds_what_its_index_finds(estate, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client, headers, everything = estate
    engine = client.app.state.engine  # type: ignore[attr-defined]
    decide_walk = reads._walk_in_id_order
    for params in ({"nil_subject": "yes"}, {"sensitivity": "other"}, {"status": "compliant"}):
        walked: list[bool] = []

        def spy(*args: Any, seen: list[bool] = walked) -> bool:
            seen.append(decide_walk(*args))
            return seen[-1]

        monkeypatch.setattr(reads, "_walk_in_id_order", spy)
        by_walk = [d["id"] for d in _all(client, headers, params, limit=20)]
        assert any(walked) == (engine.dialect.name == "sqlite"), params  # a third or more of the estate: walk
        monkeypatch.setattr(reads, "_walk_in_id_order", lambda *args: False)
        assert by_walk == [d["id"] for d in _all(client, headers, params, limit=20)], params
        assert len(by_walk) * len(by_walk) > 21 * len(everything), params  # the rule the walk follows
    monkeypatch.setattr(reads, "_walk_in_id_order", decide_walk)
    walked = []
    monkeypatch.setattr(reads, "_walk_in_id_order", lambda *args: walked.append(decide_walk(*args)) or walked[-1])
    _all(client, headers, {"nil_subject": "review"}, limit=20)  # a handful: the index finds them sooner
    assert not any(walked)
