"""Scanner imports stored as observations at a site, merged with the register, and reconciled."""

from __future__ import annotations

import json
from pathlib import Path

SCANS = Path(__file__).parent / "data" / "scans"

REGISTER = """\
Make,Model,Serial,MAC,IP,Location
Hikvision,DS-2CD2143G2-I,,44:19:B6:0A:11:22,10.20.30.11,gate
Axis,P3245-LVE,ACCC8E000001,,10.20.30.250,never seen
"""


def setup(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Addresses here are only data in files (no traffic is sent): a site can declare any network.
    cli("site", "add", "Depot", "--department", "D", "--network", "10.20.30.0/24")
    register = tmp_path / "reg.csv"
    register.write_text(REGISTER)
    cli("import", "register", str(register), "--site", "Depot")


def test_nmap_import_merges_by_mac_and_reconciles(cli, tmp_path):
    setup(cli, tmp_path)
    summary = json.loads(cli("import", "nmap", str(SCANS / "nmap_site_sv_os.xml"), "--site", "Depot",
                             "--format", "json").stdout)
    assert summary["hosts"] >= 3 and summary["stored"] >= 3
    again = json.loads(cli("import", "nmap", str(SCANS / "nmap_site_sv_os.xml"), "--site", "Depot",
                           "--format", "json").stdout)
    assert again["stored"] == 0 and again["already_imported"] == summary["stored"]

    rec = json.loads(cli("reconcile", "--site", "Depot", "--format", "json").stdout)
    matched_macs = {m["seen"]["mac"] for m in rec["matched"]}
    assert "44:19:B6:0A:11:22" in matched_macs
    assert any(i["serial"] == "ACCC8E000001" for i in rec["registered_not_seen"])
    assert rec["seen_not_registered"], "the scan found hosts the register missed"

    devices = json.loads(cli("devices", "--site", "Depot", "--format", "json").stdout)
    merged = next(d for d in devices if d["mac"] == "44:19:B6:0A:11:22")
    sources = {e["source"].split()[0] for e in merged["evidence"]}
    assert {"reg.csv", "nmap_site_sv_os.xml"} <= sources  # one device, evidence from both


def test_switch_table_and_hostile_xml(cli, tmp_path):
    setup(cli, tmp_path)
    summary = json.loads(cli("import", "switch", str(SCANS / "cisco_mac_table.csv"), "--site", "Depot",
                             "--format", "json").stdout)
    assert summary["stored"] > 0
    bomb = cli("import", "nmap", str(SCANS / "hostile_xml_bomb.xml"), "--site", "Depot", check=False)
    assert bomb.returncode == 2 and "hostile_xml_bomb.xml" in bomb.stderr
    assert len(bomb.stderr.strip().splitlines()) == 1


def test_hosts_outside_the_site_are_skipped(cli, tmp_path):
    cli("site", "add", "Tiny", "--department", "D", "--network", "10.20.30.11/32")
    result = cli("import", "nmap", str(SCANS / "nmap_site_sv_os.xml"), "--site", "Tiny", "--format", "json")
    summary = json.loads(result.stdout)
    assert summary["out_of_scope"] >= 1 and summary["stored"] == 1
    assert "not in the networks of Tiny" in result.stderr
