"""An agent's batch is validated straight from the request's bytes (issue 13: ingest speed); whatever does not
validate that way goes through FastAPI's own reading, so refusals look exactly as on every other route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clearsite.formats.knowledge import load_knowledge
from clearsite.services.database import open_database
from clearsite.web import Settings, create_app
from tests.support.central import AgentSite, host_ip, make_sites


@pytest.fixture
def pushing(store_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, AgentSite]]:
    open_database(store_url).dispose()
    site = make_sites(store_url, tmp_path, 1)[0]
    engine = open_database(store_url)
    app = create_app(engine, load_knowledge(), Settings())
    with TestClient(app) as client:
        client.headers["authorization"] = f"Bearer {site.token}"
        yield client, site
    engine.dispose()


def _batch(site: AgentSite, key: str, observations: list[dict[str, Any]]) -> dict[str, Any]:
    return {"site": site.name, "key": key, "observations": observations}


def _observation(site: AgentSite, n: int, **fields: Any) -> dict[str, Any]:
    ip = host_ip(site.number, n)
    return {"id": f"obs-{n}", "ip": ip, "mac": f"C0:56:E3:00:00:{n:02X}",
            "evidence": [{"signal": "http_server", "value": "Hikvision web", "source": f"http://{ip}/"}], **fields}


def test_a_valid_batch_is_stored_and_a_resend_is_replayed(pushing: tuple[TestClient, AgentSite]) -> None:
    client, site = pushing
    body = _batch(site, "batch-0001", [_observation(site, n) for n in range(3)])
    first = client.post("/api/v1/agent/batches", json=body)
    assert first.status_code == 200, first.text
    assert first.json()["stored"] == 3 and not first.json()["replayed"]
    again = client.post("/api/v1/agent/batches", content=json.dumps(body).encode(),
                        headers={"content-type": "application/json; charset=utf-8"})
    assert again.status_code == 200 and again.json()["replayed"], again.text


@pytest.mark.parametrize(("content", "where"), [
    (b'{"site": "x", "key": "batch-0002", "observations": [', ["body"]),  # not JSON
    (json.dumps({"site": "x", "key": "batch-0002", "observations": [{"ip": "127.0.0.1"}]}).encode(),
     ["body", "observations", 0, "id"]),  # an observation without its id
    (json.dumps({"site": "x", "key": "batch-0002", "observations": [{"id": "a b"}]}).encode(),
     ["body", "observations", 0, "id"]),  # an id that is not one
    (json.dumps({"site": "x", "key": "batch-0002", "observations": [], "extra": 1}).encode(), ["body", "extra"]),
])
def test_a_batch_that_does_not_validate_is_refused_as_fastapi_refuses_any_body(
        pushing: tuple[TestClient, AgentSite], content: bytes, where: list[Any]) -> None:
    client, _site = pushing
    answer = client.post("/api/v1/agent/batches", content=content, headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    located = [error["loc"][:len(where)] for error in answer.json()["detail"]]
    assert where in located, answer.text


def test_json_the_standard_library_reads_but_pydantic_does_not_is_read_as_before(
        pushing: tuple[TestClient, AgentSite]) -> None:
    client, site = pushing
    # A lone surrogate escape is JSON the standard library reads; pydantic's reader refuses it, so FastAPI's
    # reading takes over and refuses it as before: the field is named, and the batch stays in the spool.
    raw = json.dumps(_batch(site, "batch-0003", [_observation(site, 7, location="cupboard \ud800")]))
    assert "\\ud800" in raw
    answer = client.post("/api/v1/agent/batches", content=raw.encode(), headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", "observations", 0, "location"], answer.text
    assert answer.json()["detail"][0]["type"] == "string_unicode", answer.text


def test_a_body_that_is_not_declared_json_is_refused(pushing: tuple[TestClient, AgentSite]) -> None:
    client, site = pushing
    body = json.dumps(_batch(site, "batch-0004", [_observation(site, 1)])).encode()
    answer = client.post("/api/v1/agent/batches", content=body, headers={"content-type": "text/plain"})
    assert answer.status_code == 422, answer.text
