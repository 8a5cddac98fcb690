"""Every door that brings evidence writes it the same way (services.intake.record_observations).

The register import, a scanner file's hosts and an agent's push, given the same evidence about the
same camera, must store the same device and identity, audit alike, and follow the same rule after
an `assess --as-of D`: the devices they touched are re-assessed at D, never at today's date.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Evidence, Network, ScannedHost, Signal, Site
from clearsite.services import assessment, imports
from clearsite.services.imports import AgentObservation
from clearsite.store.audit import entries, verify
from clearsite.store.db import open_database
from clearsite.store.reads import SiteScope
from clearsite.store.sites import add_site
from clearsite.store.tables import DeviceRow, FindingRow, IdentityRow, ObservationRow, OutcomeRow, SourceRow

SITE = "Harbour House"
AS_OF = date(2024, 3, 1)  # an assessment date well before today: a re-assessment at today would show
BRAND, MODEL = "Hikvision", "DS-2CD2143G2-I"
SERIAL, MAC, IP = "DS-2CD2143G2-I20230101AAWRJ12345678", "C0:56:E3:12:34:56", "10.1.0.7"
INTAKE_COUNTS = {"stored", "duplicates", "new_devices", "identified"}


@pytest.fixture
def engine(store_url: str) -> Engine:
    engine = open_database(store_url)  # on SQLite and on PostgreSQL
    with engine.begin() as conn:
        add_site(conn, Site(SITE, "Department of Examples", holds_secret=True, networks=(Network("10.1.0.0/16"),)))
    return engine


def register_door(engine: Engine, kb: Knowledge, tmp: Path, serial: str = SERIAL, mac: str = MAC, ip: str = IP) -> None:
    path = tmp / f"register-{serial}.csv"
    path.write_text(f"Make,Model,Serial No,MAC,IP Address\n{BRAND},{MODEL},{serial},{mac},{ip}\n", encoding="utf-8")
    imports.import_register(engine, path, kb, site=SITE)


def scanner_door(engine: Engine, kb: Knowledge, tmp: Path, serial: str = SERIAL, mac: str = MAC, ip: str = IP) -> None:
    source = f"nmap {ip}"
    host = ScannedHost(ip=ip, mac=mac, evidence=[Evidence(Signal.BRAND, BRAND, source),
                                                 Evidence(Signal.MODEL, MODEL, source),
                                                 Evidence(Signal.SERIAL, serial, source)])
    imports.record_hosts(engine, kb, SITE, "nmap", source, "0" * 64, [host])


def agent_door(engine: Engine, kb: Knowledge, tmp: Path, serial: str = SERIAL, mac: str = MAC, ip: str = IP) -> None:
    item = AgentObservation(id=f"cam-{serial}", content_sha256=serial, ip=ip, mac=mac, mac_as_sent=mac, serial=serial,
                            evidence=(Evidence(Signal.BRAND, BRAND, "survey"), Evidence(Signal.MODEL, MODEL, "survey"),
                                      Evidence(Signal.SERIAL, serial, "survey"), Evidence(Signal.MAC, mac, "survey")))
    imports.push_observations(engine, kb, SiteScope(), 1, "agent-harbour", "agent-harbour (token 1)", [item])


Door = Callable[..., None]
DOORS: dict[str, tuple[Door, str]] = {"register": (register_door, "register.import"),
                                      "scanner file": (scanner_door, "nmap.import"),
                                      "agent push": (agent_door, "observations.push")}


def _what_was_stored(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        devices = [tuple(r) for r in conn.execute(select(DeviceRow.serial, DeviceRow.mac, DeviceRow.ip))]
        identities = [tuple(r) for r in conn.execute(select(IdentityRow.label_brand, IdentityRow.producer_id,
                                                            IdentityRow.model, IdentityRow.device_class))]
        observations = conn.execute(select(ObservationRow.id)).all()
        sources = [tuple(r) for r in conn.execute(select(SourceRow.rows_read, SourceRow.rows_stored,
                                                         SourceRow.rows_skipped))]
        log = entries(conn, 0, 100)
    return {"devices": devices, "identities": identities, "observations": len(observations), "sources": sources,
            "log": log}


@pytest.mark.parametrize("door_name", sorted(DOORS))
def test_every_door_stores_the_same_device_identity_and_audit_counts(engine, packaged_kb, tmp_path, door_name):
    door, action = DOORS[door_name]
    door(engine, packaged_kb, tmp_path)
    stored = _what_was_stored(engine)
    assert stored["devices"] == [(SERIAL, MAC, IP)]
    assert stored["identities"] == [("Hikvision", "hikvision", MODEL, "ip_camera")]
    assert stored["observations"] == 1
    assert stored["sources"] == [(1, 1, 0)]  # one source row, its counts filled in by every door
    intake = [e for e in stored["log"] if e.action == action]
    assert len(intake) == 1
    assert intake[0].after.keys() >= INTAKE_COUNTS
    assert {k: intake[0].after[k] for k in INTAKE_COUNTS} == {"stored": 1, "duplicates": 0, "new_devices": 1,
                                                              "identified": 1}
    # Nothing was assessed before, so the intake assessed nothing either.
    assert not [e for e in stored["log"] if e.action == "findings.assess"]


@pytest.mark.parametrize("door_name", sorted(DOORS))
def test_the_same_evidence_again_is_a_duplicate_at_every_door(engine, packaged_kb, tmp_path, door_name):
    door, _ = DOORS[door_name]
    door(engine, packaged_kb, tmp_path)
    door(engine, packaged_kb, tmp_path)
    stored = _what_was_stored(engine)
    assert stored["devices"] == [(SERIAL, MAC, IP)] and stored["observations"] == 1


def test_the_three_doors_reach_the_same_verdict_a_push_never_more_surely(packaged_kb, tmp_path):
    verdicts = {}
    for name, (door, _) in DOORS.items():
        engine = open_database(f"sqlite:///{tmp_path / (name + '.db')}")
        with engine.begin() as conn:
            add_site(conn, Site(SITE, "Department of Examples", networks=(Network("10.1.0.0/16"),)))
        door(engine, packaged_kb, tmp_path)
        with engine.connect() as conn:
            verdicts[name] = tuple(conn.execute(select(IdentityRow.label_brand, IdentityRow.producer_id,
                                                       IdentityRow.model, IdentityRow.device_class,
                                                       IdentityRow.confidence)).one())
    assert len({v[:4] for v in verdicts.values()}) == 1, verdicts  # the same badge, maker, model and class
    assert verdicts["register"] == verdicts["scanner file"], verdicts
    # An agent's push is a claim: its brand and model text weighs less (issue 14 item 5), never more.
    assert verdicts["agent push"][4] <= verdicts["register"][4], verdicts


def _findings(engine: Engine) -> list[tuple[Any, ...]]:
    """Every stored finding with the date its outcome was assessed at, in a stable order."""
    with engine.connect() as conn:
        rows = conn.execute(select(FindingRow.device_id, OutcomeRow.policy, OutcomeRow.obligation, OutcomeRow.status,
                                   OutcomeRow.due, OutcomeRow.reasons, OutcomeRow.as_of)
                            .join(OutcomeRow, OutcomeRow.id == FindingRow.outcome_id))
        return sorted((r.device_id, r.policy, r.obligation, r.status, r.due, tuple(r.reasons), r.as_of) for r in rows)


@pytest.mark.parametrize("door_name", sorted(DOORS))
def test_an_intake_after_assess_as_of_reassesses_what_it_touched_at_that_date(engine, packaged_kb, tmp_path,
                                                                                 door_name):
    door, action = DOORS[door_name]
    register_door(engine, packaged_kb, tmp_path, serial="EARLIER-1", mac="C0:56:E3:00:00:01", ip="10.1.0.1")
    assessment.assess_all(engine, packaged_kb, AS_OF)
    before = _findings(engine)
    assert before and {f[-1] for f in before} == {AS_OF}

    door(engine, packaged_kb, tmp_path)  # a new camera at the site

    after = _findings(engine)
    assert {f[-1] for f in after} == {AS_OF}, "an intake must not move the findings' date"
    new_device = max(f[0] for f in after)
    assert [f for f in after if f[0] != new_device] == before  # untouched devices keep their findings
    assert [f for f in after if f[0] == new_device], "the new camera was assessed"
    # What the intake left is exactly what a whole assessment at the same date gives.
    assessment.assess_all(engine, packaged_kb, AS_OF)
    assert _findings(engine) == after
    with engine.connect() as conn:
        log = entries(conn, 0, 100)
        assert verify(conn).ok
    intake = [e for e in log if e.action == action][-1]
    reassessed = log[log.index(intake) + 1]
    assert reassessed.action == "findings.assess" and reassessed.after["as_of"] == AS_OF.isoformat()
    assert reassessed.after.keys() == {"as_of", "policies", "findings"}
    assert reassessed.target.startswith("source:")


@pytest.mark.parametrize("door_name", sorted(DOORS))
def test_new_evidence_about_an_assessed_device_reassesses_it_at_the_stored_date(engine, packaged_kb, tmp_path,
                                                                                  door_name):
    door, _ = DOORS[door_name]
    # The register knew the camera only by its MAC and address: not enough to name its maker.
    path = tmp_path / "thin.csv"
    path.write_text(f"Make,Model,Serial No,MAC,IP Address\n,,,{MAC},{IP}\n", encoding="utf-8")
    imports.import_register(engine, path, packaged_kb, site=SITE)
    assessment.assess_all(engine, packaged_kb, AS_OF)
    before = _findings(engine)

    door(engine, packaged_kb, tmp_path)  # the same MAC, now with brand, model and serial

    after = _findings(engine)
    with engine.connect() as conn:
        assert conn.execute(select(DeviceRow.id)).all() == [(1,)]  # merged into the one device
        assert conn.scalar(select(IdentityRow.producer_id)) == "hikvision"
    assert after != before and {f[-1] for f in after} == {AS_OF}
    assessment.assess_all(engine, packaged_kb, AS_OF)
    assert _findings(engine) == after


def test_a_refused_intake_leaves_nothing_behind(engine, packaged_kb, tmp_path):
    path = tmp_path / "junk.csv"
    path.write_text("Make,Model,Serial No\n,,\n", encoding="utf-8")
    with pytest.raises(imports.ImportRefused):
        imports.import_register(engine, path, packaged_kb, site=SITE)
    stored = _what_was_stored(engine)
    assert stored["sources"] == [] and stored["observations"] == 0 and stored["log"] == []


@pytest.mark.postgres
@pytest.mark.slow
def test_every_door_follows_the_rule_on_postgres(postgres_url, packaged_kb, tmp_path):
    """The same rule on the central server's database: each door's new camera assessed at the stored date."""
    engine = open_database(postgres_url)
    with engine.begin() as conn:
        add_site(conn, Site(SITE, "Department of Examples", holds_secret=True, networks=(Network("10.1.0.0/16"),)))
    register_door(engine, packaged_kb, tmp_path, serial="EARLIER-1", mac="C0:56:E3:00:00:01", ip="10.1.0.1")
    assessment.assess_all(engine, packaged_kb, AS_OF)
    for number, (door, _) in enumerate(DOORS.values(), start=2):
        door(engine, packaged_kb, tmp_path, serial=f"CAM-{number}", mac=f"C0:56:E3:00:00:0{number}",
             ip=f"10.1.0.{number}")
    after = _findings(engine)
    assert {f[-1] for f in after} == {AS_OF} and len({f[0] for f in after}) == 4
    assessment.assess_all(engine, packaged_kb, AS_OF)
    assert _findings(engine) == after


def test_an_agent_push_is_stored_without_control_or_bidi_characters(engine, packaged_kb):
    """Text from an agent is cleaned at the door it came in by (a NUL would fail on PostgreSQL)."""
    item = AgentObservation(id="cam-nul", content_sha256="x", ip=IP, serial="SN\x00-1\u202e",
                            evidence=(Evidence(Signal.BRAND, "Hik\x1b[31mvision", "sur\x07vey"),))
    imports.push_observations(engine, packaged_kb, SiteScope(), 1, "agent-harbour", "agent-harbour", [item])
    with engine.connect() as conn:
        data = conn.scalar(select(ObservationRow.data))
        serial = conn.scalar(select(DeviceRow.serial))
    assert serial == data["fields"]["serial"] == "SN-1"
    assert data["evidence"][0][1:] == ["Hik[31mvision", "agent agent-harbour observation cam-nul: survey"]
    assert data["fields"]["cleaned"] == ["serial", "evidence.0.0", "evidence.0.1"]
