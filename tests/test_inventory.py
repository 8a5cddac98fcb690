"""The inventory: one search box, filters, sorting, totals, keyset pages and "export this view", the same through
the page, /api/v1/devices and `clearsite devices`, within the caller's scope; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from python_calamine import CalamineWorkbook

from clearsite.store.db import open_database
from clearsite.testing import AS_OF, HOSTILE, PASSWORD, World, build_world
from clearsite.web import Settings, create_app


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, packaged_kb, store_url_module: str) -> Iterator[tuple[TestClient, World]]:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("inventory")
    engine = open_database(store_url_module)
    world = build_world(engine, packaged_kb, tmp)
    with TestClient(create_app(engine, packaged_kb, Settings(as_of=AS_OF))) as client:
        yield client, world
    engine.dispose()


def bearer(world: World, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[user]}"}


def ids(answer) -> list[int]:  # type: ignore[no-untyped-def]
    return [d["id"] for d in answer.json()]


def test_the_api_searches_filters_and_counts(env) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    admin = bearer(world, "admin")
    everything = client.get("/api/v1/devices", headers=admin)
    assert everything.headers["X-Total-Count"] == str(len(everything.json())) == "5"
    by_ip = client.get("/api/v1/devices", params={"q": "10.1.0.11"}, headers=admin)
    assert [d["ip"] for d in by_ip.json()] == ["10.1.0.11"] and by_ip.headers["X-Total-Count"] == "1"
    by_mac = client.get("/api/v1/devices", params={"q": "e0-50-8b"}, headers=admin)  # any MAC spelling
    assert [d["mac"] for d in by_mac.json()] == ["E0:50:8B:11:22:33"]
    by_site = client.get("/api/v1/devices", params={"q": "bravo"}, headers=admin).json()
    assert {d["site"] for d in by_site} == {"Bravo House"}
    dahua = client.get("/api/v1/devices", params={"producer": "dahua"}, headers=admin).json()
    assert dahua and all(d["producer"]["id"] == "dahua" for d in dahua)
    subject = client.get("/api/v1/devices", params={"nil_subject": "yes"}, headers=admin).json()
    assert subject and all(d["nil_subject"] == "yes" for d in subject)
    not_subject = ids(client.get("/api/v1/devices", params={"nil_subject": "no"}, headers=admin))
    assert not set(not_subject) & {d["id"] for d in subject}
    breaches = client.get("/api/v1/devices", params={"status": "breach", "sensitivity": "holds_secret"}, headers=admin)
    assert breaches.status_code == 200 and all(d["site"] == "Alpha HQ" for d in breaches.json())
    assert breaches.headers["X-Total-Count"] == str(len(breaches.json())) and breaches.json()


def test_the_api_refuses_what_it_cannot_filter_by_in_a_sentence(env) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    admin = bearer(world, "admin")
    for params, says in (({"nil_subject": "maybe"}, "nil_subject"), ({"producer": "acme-nonsense"}, "producer"),
                         ({"sort": "colour"}, "sort"), ({"after": "!!"}, "after"),
                         ({"status": "terrible"}, "status")):
        answer = client.get("/api/v1/devices", params=params, headers=admin)
        assert answer.status_code == 422 and says in json.dumps(answer.json()["detail"]), params


def test_pages_follow_the_sort_without_gaps_or_repeats(env) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    admin = bearer(world, "admin")
    for sort in ("id", "-id", "site", "-ip", "last_seen", "brand"):
        seen: list[int] = []
        after = None
        while True:
            params = {"sort": sort, "limit": 2, **({"after": after} if after else {})}
            answer = client.get("/api/v1/devices", params=params, headers=admin)
            assert answer.status_code == 200, answer.text
            seen += ids(answer)
            after = answer.headers.get("X-Next-After")
            if after is None:
                break
        assert sorted(seen) == sorted(set(seen)) and len(seen) == 5, (sort, seen)
    by_site = [d["site"] for d in client.get("/api/v1/devices", params={"sort": "-site"}, headers=admin).json()]
    assert by_site == sorted(by_site, reverse=True)


def test_an_officer_sees_and_exports_only_their_department(env) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    alice = bearer(world, "alice")
    mine = client.get("/api/v1/devices", params={"q": "bravo"}, headers=alice)
    assert mine.json() == [] and mine.headers["X-Total-Count"] == "0"
    exported = client.get("/api/v1/devices", params={"format": "csv"}, headers=alice).text
    assert "Bravo House" not in exported and "BRAVO-SECRET-SERIAL" not in exported and "Alpha HQ" in exported


def test_exports_are_the_filtered_view_with_formulas_neutralised(env) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    admin = bearer(world, "admin")
    answer = client.get("/api/v1/devices", params={"format": "csv", "site_id": world.sites["Alpha HQ"]}, headers=admin)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert {r["Site"] for r in rows} == {"Alpha HQ"} and len(rows) == 4
    workbook = client.get("/api/v1/devices", params={"format": "xlsx", "q": "hikvision"}, headers=admin)
    table = CalamineWorkbook.from_filelike(io.BytesIO(workbook.content)).get_sheet_by_name("Devices").to_python()
    assert table[0][0] == "Device id" and len(table) == 1 + int(
        client.get("/api/v1/devices", params={"q": "hikvision"}, headers=admin).headers["X-Total-Count"])
    # A hostile location that opens with a formula character is written inert.
    located = client.get("/api/v1/devices", params={"format": "csv", "q": "10.1.0.99"}, headers=admin).text
    location = next(csv.DictReader(io.StringIO(located)))["Location"]
    assert location == (("'" + HOSTILE) if HOSTILE.startswith(("=", "+", "-", "@")) else HOSTILE)


def test_the_devices_page_searches_filters_and_exports(env) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    client.cookies.clear()
    token = _login(client, "admin")
    assert token
    page = client.get("/devices", params={"q": "10.1.0", "status": "breach"})
    assert page.status_code == 200 and 'class="moj-filter-layout"' in page.text
    assert "match" in page.text and "Export this view" in page.text
    assert f'href="/sites/{world.sites["Alpha HQ"]}"' in page.text
    assert "<script>window.__pwned" not in client.get("/devices", params={"q": "10.1.0.99"}).text
    bad = client.get("/devices", params={"first_seen_from": "yesterday"})
    assert bad.status_code == 422 and "must be a date" in bad.text and "govuk-error-summary" in bad.text
    exported = client.get("/devices/export", params={"q": "bravo", "format": "json"})
    assert [d["site"] for d in exported.json()] == ["Bravo House"]


def test_the_cli_searches_and_filters_as_the_api_does(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, world = env
    engine = client.app.state.engine  # type: ignore[attr-defined]
    from typer.testing import CliRunner

    from clearsite.cli import app

    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["devices", "--db", url, "--q", "dahua", "--as-of", AS_OF.isoformat(),
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    api = client.get("/api/v1/devices", params={"q": "dahua"}, headers=bearer(world, "admin")).json()
    assert [d["id"] for d in json.loads(result.stdout)] == [d["id"] for d in api] and api
    refused = CliRunner().invoke(app, ["devices", "--db", url, "--status", "awful"])
    assert refused.exit_code == 2 and "status" in refused.output


def _login(client: TestClient, user: str) -> str:
    import re

    page = client.get("/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    client.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": csrf.group(1)})
    return csrf.group(1)


def test_the_csv_writer_neutralises_exactly_as_the_spreadsheet_rule_does() -> None:
    from clearsite.render.inventory_export import COLUMNS, csv_chunks
    from clearsite.render.spreadsheets import neutralise

    tricky = ["=1+1", "+44 20", "-5", "@SUM(A1)", "\tx", "\rx", "plain", "", "a=b", "'=quoted"]
    rows = [{"id": n, "site": text, "location": text} for n, text in enumerate(tricky)]
    written = list(csv.DictReader(io.StringIO(b"".join(csv_chunks(rows)).decode())))
    site = dict(COLUMNS)["Site"]
    assert site == "site"
    assert [r["Site"] for r in written] == [neutralise(t) for t in tricky]
