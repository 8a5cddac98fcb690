"""GET /api/v1/evidence-packs and the site page's "Download evidence pack" button: the signed pack as a zip,
scoped by department, audited, and checked after download by the auditor's command with the public key alone."""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clearsite.services import department_keys
from clearsite.services.devices import iter_devices
from clearsite.services.removal import Attachment, record_coverage, record_removal
from clearsite.store.audit import entries
from clearsite.store.db import open_database
from clearsite.store.reads import EVERYTHING
from clearsite.testing import DEPT_A, DEPT_B, PASSWORD, World, build_world
from clearsite.web import Settings, create_app

CERTIFICATE = b"%PDF-1.7 certificate of data wipe, ref WIPE-0099"


@pytest.fixture
def world(store_url: str, packaged_kb: Any, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, World, Any, Path]]:
    """Alpha HQ with a verified and a claimed removal, its department's key made; Bravo's department has none."""
    monkeypatch.setenv("CLEARSITE_EVIDENCE_DIR", str(tmp_path / "evidence-store"))
    engine = open_database(store_url)
    world = build_world(engine, packaged_kb, tmp_path)
    devices = {view.ip: view.id for view, _ in iter_devices(engine, "Alpha HQ", with_evidence=False)}
    record_removal(engine, packaged_kb, "alice", EVERYTHING, devices["10.1.0.11"], removed_on=date(2024, 8, 30),
                   today=date(2024, 9, 1), disposal_ref="WEEE-1", attachments=[Attachment("wipe.pdf", CERTIFICATE)])
    record_removal(engine, packaged_kb, "alice", EVERYTHING, devices["10.1.0.12"], removed_on=date(2024, 8, 31),
                   today=date(2024, 9, 1))
    record_coverage(engine, packaged_kb, "Alpha HQ", ["10.1.0.11/32"], "scanner")
    key = department_keys.create_key(engine, "admin", DEPT_A, tmp_path / "keys" / "alpha.pem")
    public = tmp_path / "alpha-public.pem"
    public.write_text(key.public_pem)
    with TestClient(create_app(engine, packaged_kb, Settings())) as client:
        yield client, world, engine, public
    engine.dispose()


def _as(world: World, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[user]}"}


def _verify(folder: Path, public: Path) -> subprocess.CompletedProcess[str]:
    """The auditor's check, in its own process with no database at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARSITE_")}
    return subprocess.run([sys.executable, "-m", "clearsite", "evidence-pack", "verify", str(folder),
                           "--public-key", str(public)], env=env, cwd=folder.parent, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


def _unzip(data: bytes, into: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert all(not n.startswith("/") and ".." not in n.split("/") for n in names)
        archive.extractall(into)
    (top,) = {n.split("/")[0] for n in names}
    return into / top


def test_an_officer_downloads_their_sites_pack_and_an_auditor_verifies_it_with_the_public_key_alone(
        world: tuple[TestClient, World, Any, Path], tmp_path: Path) -> None:
    client, state, engine, public = world
    alpha = state.sites["Alpha HQ"]
    answer = client.get(f"/api/v1/evidence-packs?site_id={alpha}", headers=_as(state, "alice"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    filename = re.search(r'attachment; filename="([^"]+)"', answer.headers["content-disposition"])
    assert filename is not None and filename.group(1).startswith("evidence-pack-alpha-hq-")
    folder = _unzip(answer.content, tmp_path / "download")
    assert {"manifest.json", "public_key.pem", "evidence"} <= {p.name for p in folder.iterdir()}
    checked = _verify(folder, public)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    with engine.connect() as conn:
        last = entries(conn, limit=10_000)[-1]
    assert (last.action, last.target) == ("evidence_pack.download", f"site:{alpha}")
    assert last.actor.startswith("alice")
    assert last.after["zip_sha256"] == hashlib.sha256(answer.content).hexdigest()
    assert last.after["removals"] == 2

    manifest = folder / "manifest.json"  # one changed byte after download: the check fails, exit 1
    text = manifest.read_text()
    manifest.write_text(text.replace('"WEEE-1"', '"WEEE-2"'))
    assert _verify(folder, public).returncode == 1


def test_another_departments_site_or_department_answers_as_a_missing_one(
        world: tuple[TestClient, World, Any, Path]) -> None:
    client, state, _engine, _public = world
    alpha = state.sites["Alpha HQ"]
    foreign = client.get(f"/api/v1/evidence-packs?site_id={alpha}", headers=_as(state, "bob"))
    missing = client.get("/api/v1/evidence-packs?site_id=999999", headers=_as(state, "bob"))
    assert foreign.status_code == missing.status_code == 404
    assert "Alpha" not in foreign.text and foreign.json().keys() == missing.json().keys()
    assert client.get("/api/v1/evidence-packs", params={"department": DEPT_A},
                      headers=_as(state, "bob")).status_code == 404
    assert client.get("/api/v1/evidence-packs", params={"department": "No Such Department"},
                      headers=_as(state, "alice")).status_code == 404
    own = client.get("/api/v1/evidence-packs", params={"department": DEPT_A}, headers=_as(state, "alice"))
    assert own.status_code == 200 and own.content[:2] == b"PK"
    assert client.get("/api/v1/evidence-packs", headers=_as(state, "alice")).status_code == 422
    assert client.get("/api/v1/evidence-packs", params={"site_id": alpha, "department": DEPT_A},
                      headers=_as(state, "alice")).status_code == 422
    assert client.get(f"/api/v1/evidence-packs?site_id={alpha}").status_code == 401
    assert client.get(f"/api/v1/evidence-packs?site_id={alpha}", headers=_as(state, "agent-alpha")).status_code == 403
    no_key = client.get(f"/api/v1/evidence-packs?site_id={state.sites['Bravo House']}", headers=_as(state, "bob"))
    assert no_key.status_code == 409 and DEPT_B in no_key.text and "key create" in no_key.text


def test_the_site_page_button_downloads_the_pack_in_a_signed_in_browser_session(
        world: tuple[TestClient, World, Any, Path], tmp_path: Path) -> None:
    client, state, _engine, public = world
    alpha = state.sites["Alpha HQ"]
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token.group(1), "next": "/"},
                follow_redirects=True)
    site_page = client.get(f"/sites/{alpha}")
    assert site_page.status_code == 200
    button = re.search(r'<a href="([^"]+)"[^>]*class="govuk-button[^"]*"[^>]*>Download evidence pack</a>',
                       site_page.text)
    assert button is not None
    download = client.get(button.group(1).replace("&amp;", "&"))
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    assert _verify(_unzip(download.content, tmp_path / "browser"), public).returncode == 0
