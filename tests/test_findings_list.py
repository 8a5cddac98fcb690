"""The findings and audit lists as the device inventory: filters (site, status, policy, obligation), exact totals,
page sizes and "export this view" as CSV, within the caller's departments; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from clearsite.core.models import Network, Site
from clearsite.services import inventory
from clearsite.services.assessment import assess_all
from clearsite.services.imports import import_register
from clearsite.store.db import open_database
from clearsite.store.site_summary import is_fresh as summary_is_fresh
from clearsite.store.sites import add_site
from clearsite.store.transactions import write_transaction
from clearsite.testing import AS_OF, DEPT_B, PASSWORD, REGISTER, World, build_world
from clearsite.web import Settings, create_app

FORMULA_SITE = '=HYPERLINK("http://127.0.0.1/x","Click")'


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, packaged_kb, store_url_module: str) -> Iterator[tuple[TestClient, World]]:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("findings")
    engine = open_database(store_url_module)
    world = build_world(engine, packaged_kb, tmp)
    # A site whose name a spreadsheet would run as a formula, with findings of its own (Bravo's department).
    with write_transaction(engine) as conn:
        world.sites[FORMULA_SITE] = add_site(conn, Site(FORMULA_SITE, DEPT_B, "Wales",
                                                        networks=(Network("10.7.0.0/16"),)))
    register = tmp / "formula-register.csv"
    register.write_text(REGISTER.replace("10.1.0.", "10.7.0."))
    import_register(engine, register, packaged_kb, site=FORMULA_SITE, today=AS_OF)
    assess_all(engine, packaged_kb, AS_OF)
    with TestClient(create_app(engine, packaged_kb, Settings(as_of=AS_OF))) as client:
        yield client, world
    engine.dispose()


def bearer(world: World, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[user]}"}


def every_finding(client: TestClient, headers: dict[str, str], **params: object) -> list[dict]:  # type: ignore[type-arg]
    """All the pages of a filtered list, following `after`, 2 at a time so the keyset is exercised."""
    rows: list[dict] = []  # type: ignore[type-arg]
    after = 0
    while True:
        page = client.get("/api/v1/findings", params={**params, "after": after, "limit": 2}, headers=headers)
        assert page.status_code == 200, page.text
        rows += page.json()
        if len(page.json()) < 2:
            return rows
        after = page.json()[-1]["id"]


def _login(client: TestClient, user: str) -> None:
    client.cookies.clear()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert csrf
    client.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": csrf.group(1)})


@pytest.mark.parametrize("summary", [False, True], ids=["counted", "from-site-summary"])
def test_totals_equal_the_rows_listed_under_each_filter(env, packaged_kb, summary: bool) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    engine = client.app.state.engine
    if summary:  # the per-site summary the dashboard builds: totals by site and status are summed from it
        inventory.ensure_index(engine, packaged_kb, wait=True)
        with engine.connect() as conn:
            assert summary_is_fresh(conn)
    admin = bearer(world, "admin")
    everything = every_finding(client, admin)
    assert len(everything) > 4 and len({f["id"] for f in everything}) == len(everything)
    policies = sorted({f["policy"] for f in everything})
    obligations = sorted({f["obligation"] for f in everything})
    statuses = sorted({f["status"] for f in everything})
    filters: list[dict[str, object]] = [{}, {"site_id": world.sites["Alpha HQ"]}, {"site_id": world.sites["Bravo House"]}]
    filters += [{"policy": p} for p in policies] + [{"obligation": o} for o in obligations]
    filters += [{"status": s} for s in statuses] + [{"policy": policies[0], "obligation": obligations[0],
                                                     "status": statuses[0]}]
    for params in filters:
        rows = every_finding(client, admin, **params)
        expected = [f for f in everything if all(f[k] == v for k, v in params.items())]
        assert [f["id"] for f in rows] == [f["id"] for f in expected], params
        total = client.get("/api/v1/findings", params={**params, "limit": 1}, headers=admin).headers["X-Total-Count"]
        assert total == str(len(rows)), params
    assert every_finding(client, admin, obligation="O1", status="compliant") == [
        f for f in everything if f["obligation"] == "O1" and f["status"] == "compliant"]


def test_an_officer_sees_counts_and_exports_only_their_departments_findings(env) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    alpha_sites = {world.sites["Alpha HQ"], world.sites["Alpha Depot"]}
    everything = every_finding(client, bearer(world, "admin"))
    alices = every_finding(client, bearer(world, "alice"))
    assert alices and [f["id"] for f in alices] == [f["id"] for f in everything if f["site_id"] in alpha_sites]
    answer = client.get("/api/v1/findings", headers=bearer(world, "alice"))
    assert answer.headers["X-Total-Count"] == str(len(alices))
    elsewhere = client.get("/api/v1/findings", params={"site_id": world.sites["Bravo House"]},
                           headers=bearer(world, "alice"))
    assert elsewhere.json() == [] and elsewhere.headers["X-Total-Count"] == "0"
    exported = client.get("/api/v1/findings", params={"format": "csv"}, headers=bearer(world, "alice")).text
    assert "Bravo House" not in exported and "HYPERLINK" not in exported
    assert len(list(csv.DictReader(io.StringIO(exported)))) == len(alices)


def test_the_export_is_the_listed_view_with_formulas_neutralised(env) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    admin = bearer(world, "admin")
    for params in ({}, {"site_id": world.sites[FORMULA_SITE]}, {"status": "breach"}):
        answer = client.get("/api/v1/findings", params={**params, "format": "csv"}, headers=admin)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        assert "attachment" in answer.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        listed = every_finding(client, admin, **params)
        assert [int(r["Finding id"]) for r in rows] == [f["id"] for f in listed], params
        assert [(r["Policy"], r["Obligation"], r["Status"]) for r in rows] == [
            (f["policy"], f["obligation"], f["status"]) for f in listed]
    formula = list(csv.DictReader(io.StringIO(client.get(
        "/api/v1/findings", params={"site_id": world.sites[FORMULA_SITE], "format": "csv"}, headers=admin).text)))
    assert formula and {r["Site"] for r in formula} == {"'" + FORMULA_SITE}


def test_the_api_refuses_a_policy_or_obligation_it_does_not_know(env) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    for params, says in (({"policy": "no-such-policy"}, "policy"), ({"obligation": "Z9"}, "obligation"),
                         ({"status": "terrible"}, "status")):
        answer = client.get("/api/v1/findings", params=params, headers=bearer(world, "admin"))
        assert answer.status_code == 422 and says in answer.text, params


def test_the_findings_page_filters_counts_pages_and_exports(env) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    _login(client, "admin")
    everything = every_finding(client, bearer(world, "admin"))
    page = client.get("/findings", params={"limit": 25})
    assert page.status_code == 200 and 'class="moj-filter-layout"' in page.text
    assert f"{len(everything)} findings" in page.text and "Export this view" in page.text
    assert 'id="f-policy"' in page.text and 'id="f-obligation"' in page.text and 'id="f-site_id"' in page.text
    alpha = world.sites["Alpha HQ"]
    filtered = client.get("/findings", params={"site_id": alpha, "policy": "uk-hcws386", "limit": 25})
    expected = [f for f in everything if f["site_id"] == alpha and f["policy"] == "uk-hcws386"]
    assert f"{len(expected):,} finding" in filtered.text and "match" in filtered.text
    assert filtered.text.count('href="/devices/') == len(expected[:25])
    assert "HYPERLINK" in client.get("/findings").text  # shown escaped on the page, as text
    exported = client.get("/findings/export", params={"site_id": alpha, "policy": "uk-hcws386"})
    assert [int(r["Finding id"]) for r in csv.DictReader(io.StringIO(exported.text))] == [f["id"] for f in expected]
    bad = client.get("/findings", params={"policy": "<b>nope</b>"})
    assert bad.status_code == 422 and "govuk-error-summary" in bad.text and "<b>nope" not in bad.text


def test_the_audit_export_has_the_entries_and_does_not_grow_the_log(env) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    auditor = bearer(world, "audrey")
    _login(client, "audrey")  # signing in may itself be logged: before the counting starts
    before = client.get("/api/v1/audit", params={"limit": 1000}, headers=auditor)
    assert before.status_code == 200, before.text
    page = client.get("/audit")
    entries = before.json()
    assert page.status_code == 200 and f"{len(entries):,} entries in the log" in page.text
    exported = client.get("/audit/export")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [int(r["Entry"]) for r in rows] == sorted((e["seq"] for e in entries), reverse=True)
    assert set(rows[0]) == {"Entry", "When (UTC)", "Who", "What", "Object", "Hash"}
    by_seq = {e["seq"]: e for e in entries}
    assert all(r["Hash"] == by_seq[int(r["Entry"])]["hash"] and r["What"] == by_seq[int(r["Entry"])]["action"]
               for r in rows)
    action = entries[-1]["action"]
    one = list(csv.DictReader(io.StringIO(client.get("/audit/export", params={"q": action}).text)))
    assert [int(r["Entry"]) for r in one] == sorted(
        (e["seq"] for e in entries if action in f'{e["actor"]} {e["action"]}'.lower()), reverse=True) and one
    target = entries[0]["target"]
    by_target = list(csv.DictReader(io.StringIO(client.get("/audit/export", params={"target": target}).text)))
    assert {r["Object"] for r in by_target} == {target}
    after = client.get("/api/v1/audit", params={"limit": 1000}, headers=auditor).json()
    assert len(after) == len(entries)  # reading and exporting the log wrote nothing to it
    _login(client, "alice")
    assert client.get("/audit/export").status_code in (401, 403)


@pytest.mark.parametrize("sort", ["device", "site", "status", "due", "-due", "-site", "-status", "-device", "-id"])
def test_findings_sort_by_a_column_and_page_through_every_one_in_that_order(env, sort: str) -> None:  # type: ignore[no-untyped-def]
    from clearsite.services import estate, finding_list
    from clearsite.store.finding_list import sort_value
    from clearsite.store.reads import EVERYTHING

    client, _world = env
    engine = client.app.state.engine
    key, descending = finding_list.parse_finding_sort(sort)
    everything = estate.findings(engine, EVERYTHING, limit=100_000)
    expected = sorted(everything, key=lambda f: (sort_value(f, key), f["id"]), reverse=descending)
    assert len({sort_value(f, key) for f in everything}) > 1, "the column has more than one value to order"
    listed: list[dict] = []  # type: ignore[type-arg]
    after, after_key = 0, None
    while True:  # 3 at a time, each page after the previous page's last row
        page = estate.findings(engine, EVERYTHING, limit=3, sort=key, descending=descending, after=after,
                               after_key=after_key)
        listed += page
        if len(page) < 3:
            break
        if key == "id":
            after = page[-1]["id"]
        else:
            after_key = finding_list.read_finding_cursor(finding_list.finding_cursor(page[-1], key), key)
    assert [f["id"] for f in listed] == [f["id"] for f in expected]


def test_the_findings_page_sorts_by_its_column_headers_and_refuses_a_made_up_sort(env) -> None:  # type: ignore[no-untyped-def]
    client, _world = env
    _login(client, "admin")
    page = client.get("/findings", params={"sort": "-due", "limit": "25"})
    assert page.status_code == 200 and 'aria-sort="descending"' in page.text and "sort=due" in page.text
    assert client.get("/findings", params={"sort": "colour"}).status_code == 422
    assert client.get("/findings", params={"sort": "due", "after": "not-a-cursor"}).status_code == 422
    client.cookies.clear()
