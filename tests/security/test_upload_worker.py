"""Uploads are parsed in a worker process under a memory cap, a bounded number at a time (issue 14, finding 1).

The guard in formats/guard.py refuses known bombs before parsing; this is the second wall: whatever
a reader does with a file, it does in a process capped at 300 MB that can die alone, and no more
than `upload_slots` such parses run at once (503 with Retry-After past that).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from clearsite.formats.quotes import QuoteError
from clearsite.services.parse_worker import ParseGate, UploadsBusy, UploadTooCostly
from clearsite.services.screening import quote_file_lines
from clearsite.store.db import open_database
from clearsite.testing import AS_OF, PASSWORD, build_world
from clearsite.web import Settings, create_app
from clearsite.web.screening import upload_gate

pytestmark = pytest.mark.security
QUOTE = b"Supplier,Brand,Model,Quantity\nAcme,Hikvision,DS-2CD2143G2-I,2\n"


def test_a_parse_that_needs_more_than_the_cap_fails_alone() -> None:
    gate = ParseGate(slots=1, memory_bytes=300 * 1024 * 1024)
    with pytest.raises(UploadTooCostly, match="more than 300 MB"):
        gate.run(bytearray, 600 * 1024 * 1024, what="huge.xlsx")  # what a bomb's inflated sheet would ask for
    assert gate.run(len, b"still here") == 10  # the gate and this process carry on


def test_a_readers_refusal_comes_back_as_it_is() -> None:
    lines, problems = ParseGate().run(quote_file_lines, QUOTE, "quote.csv")
    assert len(lines) == 1 and problems == []
    with pytest.raises(QuoteError):
        ParseGate().run(quote_file_lines, b"PK\x03\x04 not really a workbook", "quote.xlsx")


def test_when_every_slot_is_taken_the_caller_is_told_to_come_back() -> None:
    gate = ParseGate(slots=1, wait=0.0)
    held = gate.hold()
    assert held.acquire(timeout=1)
    try:
        with pytest.raises(UploadsBusy):
            gate.run(len, b"x")
    finally:
        held.release()


@pytest.fixture(scope="module")
def officer(tmp_path_factory: pytest.TempPathFactory, packaged_kb) -> Iterator[tuple[TestClient, str]]:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("uploads")
    engine = open_database(f"sqlite:///{tmp / 'clearsite.db'}")
    build_world(engine, packaged_kb, tmp)
    with TestClient(create_app(engine, packaged_kb, Settings(as_of=AS_OF, upload_slots=1))) as client:
        form = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token})
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/screen").text).group(1)  # type: ignore[union-attr]
        yield client, csrf


def upload(client: TestClient, csrf: str) -> object:
    return client.post("/screen", data={"csrf_token": csrf}, files={"quote_file": ("quote.csv", QUOTE, "text/csv")},
                       follow_redirects=False)


def test_the_screening_form_parses_in_the_worker(officer: tuple[TestClient, str]) -> None:
    client, csrf = officer
    answer = upload(client, csrf)
    assert answer.status_code == 200 and "DS-2CD2143G2-I" in answer.text  # type: ignore[attr-defined]


def test_the_screening_form_answers_503_with_retry_after_when_full(officer: tuple[TestClient, str]) -> None:
    client, csrf = officer
    held = upload_gate().hold()
    assert held.acquire(timeout=1)
    try:
        answer = upload(client, csrf)
    finally:
        held.release()
    assert answer.status_code == 503 and int(answer.headers["retry-after"]) > 0  # type: ignore[attr-defined]
