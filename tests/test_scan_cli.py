"""`clearsite scan` end to end: real probes against the emulated fleet on loopback, stored and identified."""

from __future__ import annotations

import json

import pytest

from clearsite.sim.fleet import Fleet
from clearsite.sim.personas import BY_KEY

pytestmark = [pytest.mark.network, pytest.mark.slow]

PERSONAS = ["hikvision-camera", "lorex-camera", "axis-camera", "hostile-script-title", "hostile-silent"]
BASE = "127.61.0.1"


@pytest.fixture(scope="module")
def fleet():  # type: ignore[no-untyped-def]
    fleet = Fleet(len(PERSONAS), seed=3, base=BASE, personas=[BY_KEY[p] for p in PERSONAS])
    with fleet.in_thread():
        yield fleet


def test_scan_stores_and_identifies_what_answers(cli, fleet):
    cli("site", "add", "Lab", "--department", "D", "--holds-secret", "--network", "127.61.0.0/24")
    summary = json.loads(cli("scan", "127.61.0.0/29", "--site", "Lab", "--timeout", "0.5", "--format", "json").stdout)
    assert summary["targets"] == 6 and summary["responded"] >= 4 and summary["stored"] == summary["responded"]
    devices = {d["ip"]: d for d in json.loads(cli("devices", "--format", "json").stdout)}
    truth = {d.ip: d for d in fleet.devices}
    for ip, device in truth.items():
        if device.persona.hostile:
            continue
        assert devices[ip]["producer"]["id"] == device.persona.producer, devices[ip]["evidence"]
    hostile = next(d for d in fleet.devices if d.persona.key == "hostile-script-title")
    assert any("<script>" in e["value"] for e in devices[hostile.ip]["evidence"])  # kept as data
    findings = json.loads(cli("assess", "--format", "json").stdout)
    assert any(f["status"] == "overdue" for f in findings)
    again = json.loads(cli("scan", "127.61.0.0/29", "--site", "Lab", "--timeout", "0.5", "--format", "json").stdout)
    assert again["new_devices"] == 0


def test_scope_and_dry_run(cli, fleet):
    cli("site", "add", "Lab", "--department", "D", "--network", "127.61.0.0/24")
    refused = cli("scan", "127.62.0.1", "--site", "Lab", check=False)
    assert refused.returncode == 2 and "outside the site's networks" in refused.stderr
    outside = cli("scan", "192.0.2.1", "--site", "Lab", check=False)  # TEST-NET: refused before any packet
    assert outside.returncode == 2
    plan = cli("scan", "127.61.0.0/30", "--site", "Lab", "--dry-run")
    assert "TCP connect" in plan.stdout
    assert json.loads(cli("devices", "--format", "json").stdout) == []



def test_a_scan_after_assess_as_of_reassesses_what_it_saw_at_that_date(cli, fleet, db_url, tmp_path):
    """`clearsite scan` used to re-assess the whole estate at today's date, silently replacing an
    `assess --as-of` assessment; now it follows the one intake rule: what it touched, at that date."""
    from sqlalchemy import create_engine, select

    from clearsite.store.tables import FindingRow, OutcomeRow

    def findings() -> list[tuple[object, ...]]:
        with create_engine(db_url).connect() as conn:
            return sorted(tuple(row) for row in conn.execute(
                select(FindingRow.device_id, OutcomeRow.policy, OutcomeRow.obligation, OutcomeRow.status,
                       OutcomeRow.as_of).join(OutcomeRow, OutcomeRow.id == FindingRow.outcome_id)))

    cli("site", "add", "Lab", "--department", "D", "--holds-secret", "--network", "127.61.0.0/24")
    register = tmp_path / "lab.csv"
    register.write_text("Make,Model,IP Address,Location\nAcme,,127.61.0.1,lobby\n", encoding="utf-8")
    cli("import", "register", str(register), "--site", "Lab")
    cli("assess", "--as-of", "2024-03-01")
    assert findings() and {row[-1].isoformat() for row in findings()} == {"2024-03-01"}

    summary = json.loads(cli("scan", "127.61.0.0/29", "--site", "Lab", "--timeout", "0.5", "--format", "json").stdout)
    assert summary["stored"] >= 4

    after = findings()
    assert {row[-1].isoformat() for row in after} == {"2024-03-01"}, "a scan must not move the findings' date"
    assert len({row[0] for row in after}) > 1  # what the scan found was assessed too
    cli("assess", "--as-of", "2024-03-01")
    assert findings() == after  # exactly what a whole assessment at that date gives
