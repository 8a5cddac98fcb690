"""The command-line contract, end to end, on a real SQLite file: what scripts and users rely on."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

REGISTER = """\
Manufacturer,Part No,S/N,MAC Address,IP,Building,Install Date,Location,Notes
Hik-Vision Ltd,DS-2CD2143G2-I,DS-2CD2143G2-I20210315AAWRJ22681782,4C:BD:8F:00:3D:44,127.20.1.5,Example House,04/03/2021,car park north,dome
Axis,P3245-LVE,ACCC8E123456,AC:CC:8E:12:34:56,127.20.2.7,example  house,2023-01-05,lobby,"<script>alert(1)</script>"
,,,BC:AD:28:11:22:33,127.20.1.9,Example House,,,MAC only
=HYPERLINK("http://evil.example"),DS-7608NI-K2,,,,Example House,44256,"=cmd|' /C calc'!A0",=1+1
Hikvision,DS-2CD2143G2-I,,,,Nowhere House,,,
TOTAL,,,,,,,,
"""


@pytest.fixture
def site(cli):  # type: ignore[no-untyped-def]
    cli("site", "add", "Example House", "--department", "Dept A", "--region", "London", "--holds-secret",
        "--network", "127.20.0.0/16", "--core-network", "127.20.1.0/24")


@pytest.fixture
def register(tmp_path: Path) -> Path:
    path = tmp_path / "estates.csv"
    path.write_text(REGISTER)
    return path


def count(db_url: str, table: str) -> int:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        return conn.execute(f"select count(*) from {table}").fetchone()[0]


def test_import_identify_and_list_devices_as_json(cli, site, register, db_url):
    result = cli("import", "register", str(register))
    assert "estates.csv: row 6: unknown site 'Nowhere House'; skipped" in result.stderr
    assert "estates.csv: row 7" in result.stderr
    devices = json.loads(cli("devices", "--format", "json").stdout)
    assert len(devices) == 4
    required = {"id", "site", "ip", "mac", "serial", "label_brand", "model", "device_class", "producer",
                "nil_subject", "confidence", "evidence"}
    for device in devices:
        assert required <= device.keys()
        assert device["nil_subject"] in {"yes", "no", "review", "unknown"}
        assert 0 <= device["confidence"] <= 1
        for link in device["evidence"]:
            assert {"signal", "value", "source", "supports"} <= link.keys()
    hik = next(d for d in devices if d["model"] == "DS-2CD2143G2-I")
    assert hik["label_brand"] == "Hikvision" and hik["nil_subject"] == "yes"
    assert hik["producer"] == {"id": "hikvision", "name": "Hangzhou Hikvision Digital Technology Co., Ltd.",
                               "country": "CN"}
    assert any(link["source"] == "estates.csv row 2" for link in hik["evidence"])
    mac_only = next(d for d in devices if d["mac"] == "BC:AD:28:11:22:33")
    assert mac_only["nil_subject"] == "review"
    assert json.loads(cli("devices", "--site", "EXAMPLE HOUSE", "--format", "json").stdout) == devices


def test_importing_the_same_file_twice_creates_no_duplicates(cli, site, register, db_url):
    cli("import", "register", str(register))
    before = (count(db_url, "devices"), count(db_url, "observations"))
    again = json.loads(cli("import", "register", str(register), "--format", "json").stdout)
    assert again["stored"] == 0 and again["already_imported"] == 4
    assert (count(db_url, "devices"), count(db_url, "observations")) == before


def test_strict_refuses_the_whole_file_and_stores_nothing(cli, site, register, db_url):
    result = cli("import", "register", str(register), "--strict", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "--strict: nothing imported" in result.stderr
    assert count(db_url, "observations") == 0 and count(db_url, "sources") == 0


def test_a_failure_mid_import_leaves_the_database_as_it_was(cli, site, register, tmp_path, db_url):
    cli("import", "register", str(register))
    before = count(db_url, "observations")
    bad = tmp_path / "bad.csv"
    bad.write_text("Make,Model,Site\nAxis,P3245,Example House\n")
    # a trigger makes the identity write fail after devices and observations were inserted
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        conn.execute("create trigger boom before insert on identities begin select raise(abort, 'disk on fire'); end")
    result = cli("import", "register", str(bad), check=False)
    assert result.returncode != 0
    assert count(db_url, "observations") == before
    assert count(db_url, "sources") == 1


def test_bad_input_gets_one_line_errors(cli, site, tmp_path):
    missing = cli("import", "register", str(tmp_path / "nope.csv"), check=False)
    assert missing.returncode == 2 and "nope.csv: cannot read" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    noheader = tmp_path / "x.csv"
    noheader.write_text("a,b\n1,2\n")
    result = cli("import", "register", str(noheader), "--site", "Example House", check=False)
    assert result.returncode == 2 and "x.csv: no header row found" in result.stderr
    unknown = cli("import", "register", str(noheader), "--site", "Atlantis", check=False)
    assert unknown.returncode == 2
    bad_cidr = cli("site", "add", "B", "--department", "D", "--network", "10.0.0.0/33", check=False)
    assert bad_cidr.returncode == 2 and "'10.0.0.0/33' is not an address or CIDR block" in bad_cidr.stderr
    bad_date = cli("assess", "--as-of", "tomorrow", check=False)
    assert bad_date.returncode == 2 and "--as-of 'tomorrow'" in bad_date.stderr


def test_assess_json_contract(cli, site, register):
    cli("import", "register", str(register))
    findings = json.loads(cli("assess", "--as-of", "2026-11-29", "--format", "json").stdout)
    assert findings
    for finding in findings:
        assert {"device_id", "site", "policy", "obligation", "status", "due", "reasons"} <= finding.keys()
        assert finding["status"] in {"breach", "overdue", "due", "advisory", "compliant", "review"}
    core = [f for f in findings if f["obligation"] == "O2" and f["status"] == "breach"]
    assert core and "its address is on the departmental core network 127.20.1.0/24" in core[0]["reasons"]
    overdue = [f for f in findings if f["obligation"] == "O3" and f["status"] == "overdue"]
    assert overdue and overdue[0]["due"] == "2025-04-30"
    us = json.loads(cli("assess", "--policy", "us-ndaa-889", "--format", "json").stdout)
    assert {f["policy"] for f in us} == {"us-ndaa-889"}
    assert cli("assess", "--policy", "nope", check=False).returncode == 2


def test_identify_one_item_without_a_database(cli, tmp_path):
    result = cli("identify", "--brand", "HiLook", "--model", "IPC-B140H", "--format", "json")
    data = json.loads(result.stdout)
    assert data["label_brand"] == "HiLook" and data["producer"]["id"] == "hikvision"
    assert data["nil_subject"] == "yes"
    assert not (tmp_path / "clearsite.db").exists()
    assert cli("identify", check=False).returncode == 2


def test_reports_escape_html_and_neutralise_formulas(cli, site, register, tmp_path):
    cli("import", "register", str(register))
    out = tmp_path / "report"
    cli("report", "--out", str(out))
    html = (out / "report.html").read_text()
    # the hostile note is on a compliant device, which the HTML counts but does not list (issue 11 item 5);
    # the full list beside it keeps the text as given
    assert "<script>alert" not in html and "Example House" in html
    with (out / "devices.csv").open() as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert "'=cmd|' /C calc'!A0" in cells and any("<script>alert(1)</script>" in cell for cell in cells)
    book = CalamineWorkbook.from_path(str(out / "report.xlsx"))
    xcells = [str(c) for row in book.get_sheet_by_name("devices").to_python() for c in row]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in xcells)
    assert "'=cmd|' /C calc'!A0" in xcells
    assert json.loads((out / "report.json").read_text())["devices"]


def test_database_url_from_option_and_default_file(cli, tmp_path):
    other = tmp_path / "other.db"
    cli("site", "add", "S", "--department", "D", "--db", f"sqlite:///{other}")
    assert other.exists()
    sites = json.loads(cli("site", "list", "--format", "json", "--db", f"sqlite:///{other}").stdout)
    assert [s["name"] for s in sites] == ["S"] and sites[0]["sensitive"] is False
    env_unset = cli("site", "list", "--format", "json", env={"CLEARSITE_DATABASE_URL": ""})
    assert json.loads(env_unset.stdout) == [] and (tmp_path / "clearsite.db").exists()
    with sqlite3.connect(tmp_path / "clearsite.db") as conn:
        assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"


def test_changes_from_the_command_line_are_in_the_audit_log(cli, site, register, db_url):
    cli("import", "register", str(register))
    cli("assess")
    result = json.loads(cli("audit", "verify", "--format", "json").stdout)
    assert result["ok"] and result["entries"] == 3  # site add, register import, assessment
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        actions = [a for (a,) in conn.execute("select action from audit_log order by seq")]
    assert actions == ["site.add", "register.import", "findings.assess"]


def test_strict_refuses_a_file_whose_only_junk_is_its_last_row(cli, site, tmp_path, db_url):
    register = tmp_path / "tail.csv"
    register.write_text("Make,Model,Site\nAxis,P3245,Example House\nTOTAL,,\n")
    result = cli("import", "register", str(register), "--strict", check=False)
    assert result.returncode == 2 and "tail.csv: row 3" in result.stderr
    assert count(db_url, "observations") == 0
