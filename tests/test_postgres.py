"""The central-server database: the same pipeline on a real PostgreSQL server started by the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

REGISTER = """\
Manufacturer,Part No,S/N,MAC Address,IP,Building,Install Date
Hik-Vision Ltd,DS-2CD2143G2-I,DS-2CD2143G2-I20210315AAWRJ22681782,4C:BD:8F:00:3D:44,127.20.1.5,Example House,04/03/2021
Axis,P3245-LVE,ACCC8E123456,AC:CC:8E:12:34:56,127.20.2.7,Example House,2023-01-05
,,,BC:AD:28:11:22:33,127.20.1.9,Example House,,
"""


def test_import_identify_assess_on_postgres(cli, tmp_path: Path, postgres_url: str) -> None:
    env = {"CLEARSITE_DATABASE_URL": postgres_url}
    cli("site", "add", "Example House", "--department", "Dept A", "--holds-secret", "--network", "127.20.0.0/16",
        "--core-network", "127.20.1.0/24", env=env)
    register = tmp_path / "reg.csv"
    register.write_text(REGISTER)
    first = json.loads(cli("import", "register", str(register), "--format", "json", env=env).stdout)
    again = json.loads(cli("import", "register", str(register), "--format", "json", env=env).stdout)
    assert first["new_devices"] == 3 and again["stored"] == 0
    devices = json.loads(cli("devices", "--format", "json", env=env).stdout)
    assert [d["nil_subject"] for d in devices] == ["yes", "no", "review"]
    assert devices[0]["evidence"] and devices[0]["producer"]["id"] == "hikvision"
    findings = json.loads(cli("assess", "--as-of", "2026-11-29", "--format", "json", env=env).stdout)
    assert {(f["obligation"], f["status"]) for f in findings if f["device_id"] == devices[0]["id"]} == {
        ("O1", "compliant"), ("O2", "breach"), ("O3", "overdue")}
    cli("report", "--out", str(tmp_path / "report"), env=env)
    assert (tmp_path / "report" / "report.html").exists()
