"""Review decisions through `clearsite review`: settled verdicts reach devices, findings and every reader,
are audited, undone by a later decision, made in bulk, and sent back to review by contradicting evidence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clearsite.cli import app as cli_app
from clearsite.services.devices import iter_devices
from clearsite.store.audit import entries, verify
from clearsite.store.db import open_database

AS_OF = "2026-11-29"
REGISTER = """Make,Model,Serial,MAC,IP,Location,Install date
Hikvision,DS-2CD2143G2-I,DS-2CD2143G2-I20210315AAWRJ22681782,4C:BD:8F:00:3D:44,10.1.0.11,Reception,2021-03-15
Acme,X100,SN-ACME-1,,10.1.0.12,Car park,2023-02-01
Acme,X100,SN-ACME-2,,10.1.0.13,Car park,2023-02-01
Axis,P3245-V,ACCC8E123456,AC:CC:8E:12:34:56,10.1.0.14,Loading bay,2020-06-01
"""
# The Acme camera SN-ACME-1 again, now with Hikvision's badge and model: evidence against "Axis, not subject".
HIKVISION_AFTER_ALL = """Make,Model,Serial,MAC,IP,Location,Install date
Hikvision,DS-2CD2143G2-I,SN-ACME-1,,10.1.0.12,Car park,2023-02-01
"""


def run(db: str, *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(cli_app, list(args), env={"CLEARSITE_DATABASE_URL": db})
    assert result.exit_code == code, (args, result.exit_code, result.stdout, result.stderr, result.exception)
    if code == 0 and "--format" in args:
        return json.loads(result.stdout)
    return result


@pytest.fixture
def estate(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path / 'review.db'}"
    (tmp_path / "register.csv").write_text(REGISTER)
    (tmp_path / "later.csv").write_text(HIKVISION_AFTER_ALL)
    run(db, "site", "add", "HQ", "--department", "Dept A", "--network", "10.1.0.0/16", "--holds-secret")
    run(db, "site", "add", "Depot", "--department", "Dept A", "--network", "10.2.0.0/16")
    run(db, "import", "register", str(tmp_path / "register.csv"), "--site", "HQ")
    run(db, "assess", "--as-of", AS_OF)
    return db


def devices(db: str) -> dict[int, dict[str, Any]]:
    return {d["id"]: d for d in run(db, "devices", "--as-of", AS_OF, "--format", "json")}


def findings(db: str, device_id: int) -> set[str]:
    return {f["status"] for f in run(db, "assess", "--as-of", AS_OF, "--format", "json") if f["device_id"] == device_id}


def acme(db: str) -> int:
    return next(i for i, d in devices(db).items() if d["serial"] == "SN-ACME-1")


def test_a_settled_verdict_is_what_devices_findings_and_the_reader_show(estate: str) -> None:
    device = acme(estate)
    before = devices(estate)[device]
    assert before["nil_subject"] == "unknown" and before["decision"] is None and findings(estate, device) == {"review"}

    answer = run(estate, "review", str(device), "--nil-subject", "no", "--producer", "axis", "--device-class",
                 "ip_camera", "--make", "Axis", "--model", "P3245", "--reason", "seen on site: Axis P3245",
                 "--as-of", AS_OF, "--format", "json")
    assert answer["action"] == "settle" and answer["decided"] == 1
    assert answer["devices"][0]["id"] == device and answer["devices"][0]["nil_subject"] == "no"

    after = devices(estate)[device]
    assert after["nil_subject"] == "no" and after["producer"]["id"] == "axis" and after["device_class"] == "ip_camera"
    assert after["label_brand"] == "Axis" and after["model"] == "P3245"
    decision = after["decision"]
    assert {k: decision[k] for k in ("nil_subject", "producer", "reason")} == {
        "nil_subject": "no", "producer": "axis", "reason": "seen on site: Axis P3245"}
    assert decision["by"].startswith("cli:") and decision["at"][:4] == "2026"
    # the machine's verdict stays visible with its evidence
    assert after["machine_verdict"]["nil_subject"] == "unknown" and after["machine_verdict"]["producer"] is None
    assert after["evidence"] == before["evidence"]
    assert findings(estate, device) == {"compliant"}  # re-assessed in the same transaction, and by `assess` again
    assert any("settled on review" in r for r in after["nil_reasons"])
    engine = open_database(estate)
    view = next(v for v, _ in iter_devices(engine, "HQ", with_evidence=False) if v.id == device)
    assert view.identity.producer_id == "axis" and view.identity.device_class == "ip_camera"  # what the planner reads
    with engine.connect() as conn:
        settled = [e for e in entries(conn, limit=1000) if e.action == "review.settle"]
        assert len(settled) == 1 and settled[0].target == f"device:{device}"
        assert settled[0].after["reason"] == "seen on site: Axis P3245"
        assert verify(conn).ok


def test_omitted_fields_keep_the_machines_values_and_a_confirmation_settles_them(estate: str) -> None:
    hik = next(i for i, d in devices(estate).items() if d["serial"] and d["serial"].startswith("DS-2CD"))
    run(estate, "review", str(hik), "--reason", "confirmed on site", "--as-of", AS_OF)
    device = devices(estate)[hik]
    assert device["producer"]["id"] == "hikvision" and device["nil_subject"] == "yes"
    assert device["decision"]["producer"] == "hikvision" and device["decision"]["nil_subject"] == "yes"
    assert device["device_class"] == device["machine_verdict"]["device_class"]


def test_a_later_decision_wins_and_a_withdrawal_returns_to_the_machine(estate: str) -> None:
    device = acme(estate)
    run(estate, "review", str(device), "--nil-subject", "no", "--producer", "axis", "--reason", "first look")
    run(estate, "review", str(device), "--nil-subject", "yes", "--producer", "dahua", "--reason", "second look")
    assert devices(estate)[device]["decision"]["producer"] == "dahua"
    assert findings(estate, device) != {"compliant"}
    run(estate, "review", str(device), "--withdraw", "--reason", "both were guesses")
    back = devices(estate)[device]
    assert back["decision"] is None and back["nil_subject"] == "unknown" and back["machine_verdict"] is None
    assert findings(estate, device) == {"review"}
    history = run(estate, "review", str(device), "--history", "--format", "json")
    assert [h["action"] for h in history] == ["withdraw", "settle", "settle"]
    assert [h["reason"] for h in history] == ["both were guesses", "second look", "first look"]
    run(estate, "review", str(device), "--withdraw", "--reason", "again", code=2)  # nothing left to withdraw


@pytest.mark.parametrize(("args", "says"), [
    (["--producer", "nosuch", "--reason", "x"], "producer: 'nosuch' is not a producer id"),
    (["--nil-subject", "no"], "reason: say why"),
    (["--nil-subject", "no", "--reason", "   "], "reason: say why"),
    (["--nil-subject", "maybe", "--reason", "x"], "nil_subject: 'maybe' is not one of yes, no, review"),
    (["--device-class", "toaster", "--reason", "x"], "device_class: 'toaster' is not a device class"),
])
def test_bad_input_exits_2_with_one_line_and_changes_nothing(estate: str, args: list[str], says: str) -> None:
    device = acme(estate)
    result = run(estate, "review", str(device), *args, code=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0]
    assert devices(estate)[device]["decision"] is None


def test_an_unknown_device_exits_2(estate: str) -> None:
    result = run(estate, "review", "999", "--nil-subject", "no", "--reason", "x", code=2)
    assert "device 999 not found" in result.stderr


def test_the_installed_command_exits_2_on_an_unknown_producer(estate: str) -> None:
    done = subprocess.run([sys.executable, "-m", "clearsite", "review", "1", "--producer", "nosuch", "--reason", "x"],
                          capture_output=True, text=True, env={"CLEARSITE_DATABASE_URL": estate, "PATH": ""},
                          timeout=120, check=False)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


def test_a_filtered_set_is_settled_at_once(estate: str) -> None:
    unknown = sorted(i for i, d in devices(estate).items() if d["nil_subject"] == "unknown")
    assert len(unknown) == 2
    answer = run(estate, "review", "--site", "HQ", "--where-nil", "unknown", "--nil-subject", "review",
                 "--reason", "survey booked", "--format", "json")
    assert sorted(d["id"] for d in answer["devices"]) == unknown
    assert all(devices(estate)[i]["decision"]["reason"] == "survey booked" for i in unknown)
    # nothing else moved
    assert all(d["decision"] is None for i, d in devices(estate).items() if i not in unknown)
    nothing = run(estate, "review", "--site", "Depot", "--pending", "--nil-subject", "no", "--reason", "x",
                  "--format", "json")
    assert nothing["decided"] == 0


def test_ids_from_a_file(estate: str, tmp_path: Path) -> None:
    ids = sorted(devices(estate))[:2]
    listing = tmp_path / "ids.txt"
    listing.write_text(f"# checked on the walk-round\n{ids[0]}\n\n{ids[1]}  # the gate\n")
    answer = run(estate, "review", "--ids-from", str(listing), "--nil-subject", "yes", "--reason", "walk-round",
                 "--format", "json")
    assert [d["id"] for d in answer["devices"]] == ids
    listing.write_text("1\nten\n")
    result = run(estate, "review", "--ids-from", str(listing), "--nil-subject", "yes", "--reason", "x", code=2)
    assert "ids.txt: line 2: 'ten' is not a device id" in result.stderr
    result = run(estate, "review", "--site", "HQ", "1", "--nil-subject", "yes", "--reason", "x", code=2)
    assert "not both" in result.stderr


def test_contradicting_evidence_sends_a_decision_back_to_review(estate: str, tmp_path: Path) -> None:
    device = acme(estate)
    run(estate, "review", str(device), "--nil-subject", "no", "--producer", "axis", "--reason", "seen Axis P3245")
    run(estate, "import", "register", str(tmp_path / "later.csv"), "--site", "HQ")
    back = devices(estate)[device]
    assert back["nil_subject"] == "review"  # neither the decided "no" nor the new "yes": a person looks again
    assert back["decision"]["nil_subject"] == "no" and back["decision"]["producer"] == "axis"  # still recorded
    assert back["machine_verdict"]["producer"] == "hikvision"
    assert back["review_pending"]["kind"] == "contradicted_decision"
    assert "hikvision" in back["review_pending"]["reason"]
    assert findings(estate, device) == {"review"}
    # a new decision settles it again and clears the flag
    run(estate, "review", str(device), "--producer", "hikvision", "--reason", "badge checked: Hikvision")
    settled = devices(estate)[device]
    assert settled["review_pending"] is None and settled["nil_subject"] == "yes"


def test_evidence_that_agrees_with_a_decision_leaves_it_settled(estate: str, tmp_path: Path) -> None:
    device = acme(estate)
    run(estate, "review", str(device), "--producer", "hikvision", "--reason", "badge says Hikvision")
    run(estate, "import", "register", str(tmp_path / "later.csv"), "--site", "HQ")
    after = devices(estate)[device]
    assert after["review_pending"] is None and after["nil_subject"] == "yes"


def test_a_contradiction_never_weakens_a_yes(estate: str, tmp_path: Path) -> None:
    device = acme(estate)
    run(estate, "review", str(device), "--nil-subject", "yes", "--producer", "dahua", "--reason", "Dahua OEM board")
    run(estate, "import", "register", str(tmp_path / "later.csv"), "--site", "HQ")
    after = devices(estate)[device]
    assert after["review_pending"]["kind"] == "contradicted_decision" and after["nil_subject"] == "yes"


def test_decisions_and_flags_hold_on_both_databases(store_url: str, tmp_path: Path, packaged_kb: Any) -> None:
    from datetime import date

    from clearsite.core.models import Network, Site
    from clearsite.services.assessment import assess_all
    from clearsite.services.devices import device_json
    from clearsite.services.imports import import_register
    from clearsite.services.review import DecisionRequest, decide, history
    from clearsite.store.reads import EVERYTHING
    from clearsite.store.sites import add_site
    from clearsite.store.transactions import write_transaction

    when = date.fromisoformat(AS_OF)
    engine = open_database(store_url)
    with write_transaction(engine) as conn:
        add_site(conn, Site("HQ", "Dept A", networks=(Network("10.1.0.0/16"),)))
    (tmp_path / "register.csv").write_text(REGISTER)
    (tmp_path / "later.csv").write_text(HIKVISION_AFTER_ALL)
    import_register(engine, tmp_path / "register.csv", packaged_kb, site="HQ", today=when)
    assess_all(engine, packaged_kb, when)
    device = next(v.id for v, _ in iter_devices(engine, "HQ", with_evidence=False) if v.serial == "SN-ACME-1")
    decide(engine, packaged_kb, EVERYTHING, [device], DecisionRequest("seen Axis", "no", "axis"), "tester", as_of=when)
    import_register(engine, tmp_path / "later.csv", packaged_kb, site="HQ", today=when)
    view = next(v for v, _ in iter_devices(engine, "HQ") if v.id == device)
    shown = device_json(view, packaged_kb, when)
    assert shown["nil_subject"] == "review" and shown["decision"]["producer"] == "axis"  # type: ignore[index]
    assert shown["review_pending"]["kind"] == "contradicted_decision"  # type: ignore[index]
    assert [d.producer_id for d in history(engine, EVERYTHING, device)] == ["axis"]
    with engine.connect() as conn:
        assert verify(conn).ok
    engine.dispose()
