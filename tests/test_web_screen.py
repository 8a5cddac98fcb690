"""Procurement screening through the API and the page, calling clearsite.core.screen with the store's site and attestations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from clearsite.store.audit import entries
from clearsite.store.db import open_database
from clearsite.testing import AS_OF, PASSWORD, World, build_world
from clearsite.web import Settings, create_app

SAMPLE_QUOTE = Path(__file__).parent / "data" / "quotes" / "sample_quote.csv"


def test_the_screening_core_is_wired_in() -> None:
    # If this fails, clearsite.core.screen lost `screen` or `read_quote`: the web app answers 503 until it is back.
    import clearsite.core.screen as core

    assert callable(core.screen)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, packaged_kb, store_url_module: str) -> Iterator[tuple[TestClient, World, object]]:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("webscreen")
    engine = open_database(store_url_module)  # on SQLite and on PostgreSQL
    world = build_world(engine, packaged_kb, tmp)
    with TestClient(create_app(engine, packaged_kb, Settings(as_of=AS_OF))) as client:
        yield client, world, engine


def bearer(world: World, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[user]}"}


def test_a_hikvision_camera_for_a_sensitive_site_is_denied_and_axis_allowed(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    body = {"site_id": world.sites["Alpha HQ"], "lines": [
        {"supplier": "ADI", "brand": "Hikvision", "model": "DS-2CD2143G2-I", "quantity": 12},
        {"supplier": "ADI", "brand": "Axis", "model": "P3245-V", "quantity": 2}]}
    answer = client.post("/api/v1/screen", json=body, headers=bearer(world, "alice"))
    assert answer.status_code == 200
    result = answer.json()
    assert result["decision"] == "deny"
    assert [line["decision"] for line in result["lines"]] == ["deny", "allow"]
    assert result["lines"][0]["producer"]["id"] == "hikvision" and result["lines"][0]["reasons"]


def test_screening_with_no_site_named_is_as_strict_as_for_a_sensitive_site(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    body = {"lines": [{"brand": "Hikvision", "model": "DS-2CD2143G2-I"}]}
    assert client.post("/api/v1/screen", json=body, headers=bearer(world, "alice")).json()["decision"] == "deny"


def test_screening_refuses_bad_bodies_with_where_not_what(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    answer = client.post("/api/v1/screen", json={"lines": [{"brand": "<script>", "colour": "red"}]},
                         headers=bearer(world, "alice"))
    assert answer.status_code == 422 and "<script>" not in answer.text
    assert client.post("/api/v1/screen", json={"lines": []}, headers=bearer(world, "alice")).status_code == 422


def test_a_current_attestation_is_recorded_audited_and_weighed(env) -> None:  # type: ignore[no-untyped-def]
    client, world, engine = env
    body = {"supplier": "ADI", "statement": "does not provide covered equipment", "signed": "2024-01-01",
            "expires": "2025-01-01", "source": "rep-adi.pdf"}
    assert client.post("/api/v1/attestations", json=body, headers=bearer(world, "alice")).status_code == 201
    bad = {**body, "statement": "promises to be good"}
    assert client.post("/api/v1/attestations", json=bad, headers=bearer(world, "alice")).status_code == 422
    with engine.connect() as conn:
        assert any(e.action == "attestation.add" for e in entries(conn, 0, 1000))
    lines = {"lines": [{"supplier": "ADI", "brand": "Axis", "model": "P3245-V"}], "site_id": world.sites["Alpha HQ"]}
    reasons = client.post("/api/v1/screen", json=lines, headers=bearer(world, "alice")).json()["lines"][0]["reasons"]
    assert any("attestation" in r for r in reasons)


def test_the_screening_page_reads_an_uploaded_quote_and_shows_hostile_cells_as_text(env) -> None:  # type: ignore[no-untyped-def]
    client, world, _ = env
    client.cookies.clear()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/screen").text).group(1)  # type: ignore[union-attr]
    answer = client.post("/screen", data={"csrf_token": csrf, "site_id": str(world.sites["Alpha HQ"])},
                         files={"quote_file": ("sample_quote.csv", SAMPLE_QUOTE.read_bytes(), "text/csv")},
                         headers={"HX-Request": "true"})
    assert answer.status_code == 200, answer.text
    assert 'data-testid="decision" data-decision="deny">Refused<' in answer.text
    assert "<script>alert(1)</script>" not in answer.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text
    assert "<html" not in answer.text  # htmx gets the fragment only
    refused = client.post("/screen", data={"site_id": ""}, files={"quote_file": ("q.csv", b"Make\nHikvision\n")})
    assert refused.status_code == 403  # no CSRF token


def test_the_screening_page_says_what_is_wrong_with_an_unreadable_quote(env) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = env
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/screen").text).group(1)  # type: ignore[union-attr]
    answer = client.post("/screen", data={"csrf_token": csrf, "pasted": "nothing,useful\n1,2\n"})
    assert answer.status_code == 422 and 'role="alert"' in answer.text
