"""The register pipeline at scale gives the same answers as one row at a time: batch boundaries,
memoised assessment and the streaming shortcuts change speed, never results."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, select, update

from clearsite import demo_data, pipeline
from clearsite.assess import assess_device
from clearsite.knowledge import Knowledge
from clearsite.models import DeviceFacts
from clearsite.store.db import open_database
from clearsite.store.sites import add_site
from clearsite.store.tables import DeviceRow, IdentityRow, ObservationRow

AS_OF = date(2026, 11, 29)


def _database(path: Path) -> Engine:
    engine = open_database(f"sqlite:///{path}")
    with engine.begin() as conn:
        for site in demo_data.demo_sites():
            add_site(conn, site)
    return engine


def _state(engine: Engine) -> tuple[list[tuple[object, ...]], ...]:
    with engine.connect() as conn:
        devices = conn.execute(select(DeviceRow.id, DeviceRow.site_id, DeviceRow.natural_key, DeviceRow.serial,
                                      DeviceRow.mac, DeviceRow.ip, DeviceRow.install_date).order_by(DeviceRow.id)).all()
        observations = conn.execute(select(ObservationRow.device_id, ObservationRow.fingerprint, ObservationRow.data)
                                    .order_by(ObservationRow.id)).all()
        identities = conn.execute(select(IdentityRow.device_id, IdentityRow.producer_id, IdentityRow.label_brand,
                                         IdentityRow.confidence, IdentityRow.evidence)
                                  .order_by(IdentityRow.device_id)).all()
    return [tuple(r) for r in devices], [tuple(r) for r in observations], [tuple(r) for r in identities]


def test_batch_boundaries_do_not_change_devices_identities_or_findings(tmp_path: Path, packaged_kb: Knowledge):
    register = tmp_path / "register.csv"
    demo_data.write_demo_register(register)
    # Append the first data rows again with new asset tags: same serials, so they must merge into the
    # devices made many batches earlier.
    lines = register.read_text(encoding="utf-8").splitlines()
    register.write_text("\n".join([*lines, *(f"X{line}" for line in lines[1:6])]) + "\n", encoding="utf-8")

    results = []
    for batch in (100_000, 7):
        engine = _database(tmp_path / f"b{batch}.db")
        report = pipeline.import_register(engine, register, packaged_kb, today=AS_OF, batch=batch)
        pipeline.assess_all(engine, packaged_kb, AS_OF)
        findings = list(pipeline.stored_findings(engine))
        results.append((report.stored, report.new_devices, _state(engine), findings))
        engine.dispose()
    assert results[0] == results[1]
    assert results[0][1] < results[0][0]  # the repeated rows merged into existing devices


def test_memoised_findings_match_assess_device(tmp_path: Path, packaged_kb: Knowledge):
    register = tmp_path / "register.csv"
    demo_data.write_demo_register(register)
    engine = _database(tmp_path / "c.db")
    pipeline.import_register(engine, register, packaged_kb, today=AS_OF)
    with engine.begin() as conn:  # a removed device, so that branch is memoised too
        conn.execute(update(DeviceRow).where(DeviceRow.id.in_([3, 4])).values(removed_on=date(2025, 1, 2)))
    counts = pipeline.assess_all(engine, packaged_kb, AS_OF)
    stored = list(pipeline.stored_findings(engine))
    direct = []
    for view, site in pipeline.iter_devices(engine, with_evidence=False):
        facts = DeviceFacts(view.id, site, view.identity, view.ip, view.install_date, view.removed_on)
        for policy in pipeline.policies_for(packaged_kb, None, site.jurisdiction):
            direct.extend(f.as_dict() for f in assess_device(facts, policy, packaged_kb, AS_OF))
    assert len(stored) == len(direct) == sum(counts.values()) > 300
    assert stored == direct
    assert counts == Counter((f["policy"], f["obligation"], f["status"]) for f in direct)
    assert {f["status"] for f in direct} >= {"breach", "compliant", "review"}
