"""`clearsite plan` and `clearsite publish` end to end on a real database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

REGISTER = """\
Make,Model,Serial,MAC,IP,Site,Installed
Hikvision,DS-2CD2143G2-I,HK0001SERIALAAA,BC:AD:28:00:00:01,127.20.1.5,Secret House,2021-01-01
Hikvision,DS-7608NI-K2,HK0002SERIALBBB,BC:AD:28:00:00:02,127.20.2.5,Secret House,2021-01-01
Dahua,IPC-HFW2431S-S-S2,4K049EBPAG1D7E7,3C:EF:8C:00:00:03,127.21.0.9,Minister Hall,2020-06-01
Axis,P3245-LVE,ACCC8E000004,AC:CC:8E:00:00:04,127.21.0.10,Minister Hall,2020-06-01
Dahua,IPC-HDW1431T1-S4,5J0123PAZ00001,3C:EF:8C:00:00:05,127.22.0.9,Depot Nine,2020-06-01
"""

PLAN = """\
start: 2026-11-30
time_limit: 5
milestones:
  - {date: 2027-01-29, target_share: 0.5}
  - {date: 2027-03-31, target_share: 1.0}
crews:
  - {id: c1, region: London, hours_per_week: 8}
  - {id: c2, region: Scotland, hours_per_week: 8}
rates:
  travel_hours: 2
  default: {hours: 1.0, removal: 80, replacement: 450, disposal: 15}
scenarios:
  more: {extra_crews: [{region: London, count: 1, start: 2026-11-30}]}
"""


def setup(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("site", "add", "Secret House", "--department", "Dept A", "--region", "London", "--holds-secret",
        "--network", "127.20.0.0/16", "--core-network", "127.20.1.0/24")
    cli("site", "add", "Minister Hall", "--department", "Dept A", "--region", "Scotland", "--ministerial",
        "--network", "127.21.0.0/16")
    cli("site", "add", "Depot Nine", "--department", "Dept B", "--region", "London", "--network", "127.22.0.0/16")
    (tmp_path / "reg.csv").write_text(REGISTER)
    (tmp_path / "plan.yaml").write_text(PLAN)
    cli("import", "register", str(tmp_path / "reg.csv"))


def test_plan_json_contract_and_every_device_once(cli, tmp_path):
    setup(cli, tmp_path)
    plan = json.loads(cli("plan", "--plan-file", str(tmp_path / "plan.yaml"), "--as-of", "2026-11-29",
                          "--format", "json").stdout)
    for key in ("objective", "lower_bound", "gap", "status", "capacity", "visits", "milestones", "shortfalls"):
        assert key in plan
    assert plan["status"] in ("optimal", "feasible", "infeasible") and 0 <= plan["gap"] <= 1
    devices = json.loads(cli("devices", "--format", "json").stdout)
    affected = {d["id"] for d in devices if d["site"] in ("Secret House", "Minister Hall") and d["nil_subject"] == "yes"}
    planned = [d for v in plan["visits"] for d in v["devices"]] + [u["device"] for u in plan.get("unscheduled", [])]
    assert sorted(planned) == sorted(affected)  # each device with an open removal finding exactly once
    assert all(v["week"] >= "2026-11-30" for v in plan["visits"])
    assert [m["target_share"] for m in plan["milestones"]] == [0.5, 1.0]


def test_scenarios_compare_and_exports(cli, tmp_path):
    setup(cli, tmp_path)
    result = cli("plan", "--plan-file", str(tmp_path / "plan.yaml"), "--as-of", "2026-11-29", "--compare",
                 "--export", str(tmp_path / "schedule.xlsx"), "--charts", str(tmp_path / "charts"))
    assert "more" in result.stdout and (tmp_path / "schedule.xlsx").exists()
    assert (tmp_path / "charts" / "burndown.svg").read_text().startswith("<svg")
    if shutil.which("rsvg-convert"):
        assert (tmp_path / "charts" / "gantt.png").read_bytes().startswith(b"\x89PNG")
    bad = cli("plan", "--plan-file", str(tmp_path / "reg.csv"), check=False)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_public_statement_is_redacted(cli, tmp_path):
    setup(cli, tmp_path)
    cli("plan", "--plan-file", str(tmp_path / "plan.yaml"), "--as-of", "2026-11-29", "--format", "json")
    cli("publish", "--public", str(tmp_path / "public"), "--internal", str(tmp_path / "internal"),
        "--as-of", "2026-11-29")
    public = " ".join(p.read_text() for p in (tmp_path / "public").iterdir())
    devices = json.loads(cli("devices", "--format", "json").stdout)
    secrets = {"Secret House", "Minister Hall", "Depot Nine"}
    for d in devices:
        secrets.update(v for v in (d["ip"], d["mac"], d["serial"], d["model"]) if v)
    leaked = [s for s in secrets if s in public or s.lower() in public.lower()]
    assert not leaked
    progress = json.loads((tmp_path / "public" / "progress.json").read_text())
    assert progress["affected_sites"] == 2
    internal = (tmp_path / "internal" / "index.html").read_text()
    assert "Secret House" in internal and "Do not publish" in internal


def test_unsafe_plan_outputs_are_refused_before_a_plan_is_stored(cli, tmp_path, db_url):
    """Issue 14, finding 8: a planted link where the export goes is refused in one line, before planning,
    and no plan is stored for an export that could not be written."""
    setup(cli, tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "schedule.xlsx").symlink_to(victim)
    refused = cli("plan", "--plan-file", str(tmp_path / "plan.yaml"), "--as-of", "2026-11-29",
                  "--export", str(tmp_path / "schedule.xlsx"), check=False)
    assert refused.returncode == 2 and "symbolic link" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert victim.read_text() == "keep me"
    (tmp_path / "charts").symlink_to(tmp_path)
    refused = cli("plan", "--plan-file", str(tmp_path / "plan.yaml"), "--as-of", "2026-11-29",
                  "--charts", str(tmp_path / "charts"), check=False)
    assert refused.returncode == 2 and "symbolic link" in refused.stderr
    from sqlalchemy import create_engine, text

    with create_engine(db_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM plans")).scalar_one() == 0
