"""The register pipeline at scale gives the same answers as one row at a time: batch boundaries,
memoised assessment and the streaming shortcuts change speed, never results."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select, update

from clearsite.core.assess import assess_device
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import DeviceFacts
from clearsite.services import assessment, demo_data, imports, parallel
from clearsite.services.devices import iter_devices
from clearsite.store.db import open_database
from clearsite.store.sites import add_site
from clearsite.store.tables import DeviceRow, FindingRow, IdentityRow, ObservationRow

AS_OF = date(2026, 11, 29)


@pytest.fixture
def database(new_store_url: Callable[[], str]) -> Callable[[Path], Engine]:
    """A fresh database with the demo sites, on SQLite and on PostgreSQL (the path argument is only a label)."""
    return lambda _path: _with_demo_sites(open_database(new_store_url()))


def _with_demo_sites(engine: Engine) -> Engine:
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


def test_batch_boundaries_do_not_change_devices_identities_or_findings(tmp_path: Path, packaged_kb: Knowledge,
                                                                        database: Callable[[Path], Engine]):
    register = tmp_path / "register.csv"
    demo_data.write_demo_register(register)
    # Append the first data rows again with new asset tags: same serials, so they must merge into the
    # devices made many batches earlier.
    lines = register.read_text(encoding="utf-8").splitlines()
    register.write_text("\n".join([*lines, *(f"X{line}" for line in lines[1:6])]) + "\n", encoding="utf-8")

    results = []
    for batch in (100_000, 7):
        engine = database(tmp_path / f"b{batch}.db")
        report = imports.import_register(engine, register, packaged_kb, today=AS_OF, batch=batch)
        assessment.assess_all(engine, packaged_kb, AS_OF)
        findings = list(assessment.stored_findings(engine))
        results.append((report.stored, report.new_devices, _state(engine), findings))
        engine.dispose()
    assert results[0] == results[1]
    assert results[0][1] < results[0][0]  # the repeated rows merged into existing devices


def test_memoised_findings_match_assess_device(tmp_path: Path, packaged_kb: Knowledge,
                                               database: Callable[[Path], Engine]):
    register = tmp_path / "register.csv"
    demo_data.write_demo_register(register)
    engine = database(tmp_path / "c.db")
    imports.import_register(engine, register, packaged_kb, today=AS_OF)
    with engine.begin() as conn:  # a removed device, so that branch is memoised too
        conn.execute(update(DeviceRow).where(DeviceRow.id.in_([3, 4])).values(removed_on=date(2025, 1, 2)))
    counts = assessment.assess_all(engine, packaged_kb, AS_OF)
    stored = list(assessment.stored_findings(engine))
    direct = []
    for view, site in iter_devices(engine, with_evidence=False):
        facts = DeviceFacts(view.id, site, view.identity, view.ip, view.install_date, view.removed_on)
        for policy in assessment.policies_for(packaged_kb, None, site.jurisdiction):
            direct.extend(f.as_dict() for f in assess_device(facts, policy, packaged_kb, AS_OF))
    assert len(stored) == len(direct) == sum(counts.values()) > 300
    assert stored == direct
    assert counts == Counter((f["policy"], f["obligation"], f["status"]) for f in direct)
    assert {f["status"] for f in direct} >= {"breach", "compliant", "review"}


def test_parallel_import_and_assessment_store_exactly_what_in_process_ones_store(
        tmp_path: Path, packaged_kb: Knowledge, monkeypatch, database: Callable[[Path], Engine]):
    register = tmp_path / "register.csv"
    demo_data.write_demo_register(register)
    # Identical repeats (numbered fingerprints), rows merging into earlier devices, and junk rows.
    lines = register.read_text(encoding="utf-8").splitlines()
    register.write_text("\n".join([*lines, *lines[1:4], *(f"X{line}" for line in lines[1:6]), ",,,", "junk"]) + "\n",
                        encoding="utf-8")
    monkeypatch.setattr(imports, "_CHUNK_ROWS", 7)  # many chunks, so the merge order matters
    monkeypatch.setattr(assessment, "PAGE", 11)  # many pages of devices to assess, likewise

    results = []
    for name, parallel_from, workers in (("inline", 10**9, 1), ("two", 0, 2), ("three", 0, 3)):
        engine = database(tmp_path / f"{name}.db")
        report = imports.import_register(engine, register, packaged_kb, today=AS_OF, batch=40,
                                          parallel_from=parallel_from, workers=workers)
        counts = assessment.assess_all(engine, packaged_kb, AS_OF, parallel_from=parallel_from, workers=workers)
        with engine.connect() as conn:
            identities = [tuple(r) for r in conn.execute(select(IdentityRow).order_by(IdentityRow.device_id))]
            findings = [tuple(r)[:-1] for r in conn.execute(select(FindingRow).order_by(FindingRow.id))]
        identities = [r[:-1] for r in identities]  # computed_at differs
        results.append((report.rows_read, report.stored, report.new_devices, report.identified, report.skipped,
                        report.warnings, _state(engine), identities, findings, counts))
        engine.dispose()
    assert results[0] == results[1] == results[2]
    assert results[0][4] and results[0][2] < results[0][1]  # junk reported, rows merged
    assert sum(results[0][9].values()) == len(results[0][8]) > 0


def test_assessment_workers_are_not_forked_while_this_process_holds_a_sqlite_connection(
        tmp_path: Path, packaged_kb: Knowledge):
    register = tmp_path / "register.csv"
    demo_data.write_demo_register(register)
    engine = _with_demo_sites(open_database(f"sqlite:///{tmp_path / 'held.db'}"))  # about SQLite
    imports.import_register(engine, register, packaged_kb, today=AS_OF)
    with engine.connect() as held:  # e.g. a caller reading while it assesses: children would inherit its locks
        held.execute(select(func.count()).select_from(FindingRow))
        assert not parallel.fork_safe(engine)
        counts = assessment.assess_all(engine, packaged_kb, AS_OF, parallel_from=0, workers=2)  # runs in-process
    assert sum(counts.values()) > 0
    engine.dispose()
    assert parallel.fork_safe(engine)
    assert not parallel.fork_safe(create_engine("sqlite://"))  # in memory: a child could not see it


def test_parallel_strict_import_refuses_everything(tmp_path: Path, packaged_kb: Knowledge,
                                                   database: Callable[[Path], Engine]):
    register = tmp_path / "register.csv"
    demo_data.write_demo_register(register)
    lines = register.read_text(encoding="utf-8").splitlines()
    register.write_text("\n".join([lines[0], "junk", *lines[1:]]) + "\n", encoding="utf-8")
    engine = database(tmp_path / "strict.db")
    try:
        imports.import_register(engine, register, packaged_kb, today=AS_OF, strict=True, parallel_from=0, workers=2)
    except imports.ImportRefused as refused:
        assert "row 2" in str(refused)
    else:
        raise AssertionError("a strict import of a register with a junk row must be refused")
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ObservationRow)) == 0


def test_a_writer_still_finds_its_own_repeats_at_a_site_that_had_no_devices(tmp_path: Path,
                                                                            database: Callable[[Path], Engine]):
    """Fingerprint lookups are skipped at sites without devices, except for what the writer itself stored there."""
    from clearsite.core.models import Evidence, Signal
    from clearsite.store.devices import NewObservation, ObservationWriter, add_source, fingerprint
    from clearsite.store.sites import find_site

    engine = database(tmp_path / "repeats.db")

    def host(ip: str) -> NewObservation:
        return NewObservation(site, "scan_host", ip, {"ip": ip}, (Evidence(Signal.BANNER, "Hikvision", ip),),
                              fingerprint(site, "scan_host", ip, 0), ip=ip)

    with engine.begin() as conn:
        site = find_site(conn, demo_data.demo_sites()[0].name)
        writer = ObservationWriter(conn, add_source(conn, "scan", "s", "0" * 64, "test", site))
        first = writer.write([host("127.7.0.1"), host("127.7.0.2")])
        again = writer.write([host("127.7.0.2"), host("127.7.0.3")])  # a later batch repeats one host
    assert (first.stored, first.duplicates, again.stored, again.duplicates) == (2, 0, 1, 1)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ObservationRow)) == 3
