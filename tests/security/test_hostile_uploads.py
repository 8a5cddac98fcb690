"""Hostile quote files uploaded through the screening page: refused in one line, and the server stays small.

The web app runs in a subprocess (as the server would), under the same address-space cap and peak
memory measurement as the command-line corpus.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.security.measure import ADDRESS_SPACE_CAP, DEADLINE_S, MEASURED, PEAK_LIMIT_KB
from tests.security.workbooks import small_sheet, write_workbook

pytestmark = pytest.mark.security

_UPLOAD = """
import json, re, sys
from pathlib import Path
from fastapi.testclient import TestClient
from clearsite.services.knowledge import load_knowledge
from clearsite.store.db import open_database
from clearsite.testing import AS_OF, PASSWORD, build_world
from clearsite.web import Settings, create_app

tmp, upload = Path(sys.argv[1]), Path(sys.argv[2])
knowledge = load_knowledge()
engine = open_database(f"sqlite:///{tmp / 'web.db'}")
world = build_world(engine, knowledge, tmp)
with TestClient(create_app(engine, knowledge, Settings(as_of=AS_OF))) as client:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/screen").text).group(1)
    answer = client.post("/screen", data={"csrf_token": csrf, "site_id": str(world.sites["Alpha HQ"])},
                         files={"quote_file": (upload.name, upload.read_bytes(), "application/octet-stream")},
                         headers={"HX-Request": "true"})
print(json.dumps({"status": answer.status_code, "page": answer.text}))
"""


def upload(tmp_path: Path, path: Path) -> tuple[int, str, int]:
    """The screening page's status and fragment for this upload, and the server process's peak memory (KB)."""
    peak_file = tmp_path / "peak_kb"
    command = [sys.executable, "-c", MEASURED, str(ADDRESS_SPACE_CAP), str(peak_file),
               sys.executable, "-c", _UPLOAD, str(tmp_path), str(path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=DEADLINE_S * 2, env=dict(os.environ),
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return answer["status"], answer["page"], int(peak_file.read_text())


def test_an_uploaded_zip_bomb_quote_is_refused_without_inflating(tmp_path, zip_bomb):
    status, page, peak_kb = upload(tmp_path, zip_bomb)
    assert status == 422
    assert "estates.xlsx: the workbook inflates to" in page
    assert peak_kb <= PEAK_LIMIT_KB, f"peak {peak_kb // 1024} MB"


def test_an_uploaded_sheet_spanning_a_billion_cells_does_not_kill_the_server(tmp_path):
    # On the old code this aborted the whole server process: calamine asked for 512 GB.
    sheet = small_sheet('<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>')
    status, page, peak_kb = upload(tmp_path, write_workbook(tmp_path / "sparse.xlsx", sheet))
    assert status == 422
    assert "sparse.xlsx: a sheet spans more than" in page
    assert peak_kb <= PEAK_LIMIT_KB
