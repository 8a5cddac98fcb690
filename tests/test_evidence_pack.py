"""Evidence packs end to end: real claims with attached files, verified by a later scan's coverage, packed
and signed with the department's key, then checked by the command an outside auditor runs (no database)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from clearsite.core.errors import CheckFailed, InputError, NotFoundError
from clearsite.services import department_keys, evidence_pack
from clearsite.services.devices import iter_devices
from clearsite.services.removal import Attachment, record_coverage, record_removal
from clearsite.store.audit import entries
from clearsite.store.db import open_database
from clearsite.store.evidence_files import evidence_path
from clearsite.store.reads import EVERYTHING
from clearsite.testing import DEPT_A, DEPT_B, build_world

PHOTO = b"\x89PNG\r\n\x1a\n" + os.urandom(2048)
CERTIFICATE = b"%PDF-1.7 certificate of data wipe, ref WIPE-0042"


@pytest.fixture
def claimed(store_url: str, packaged_kb: Any, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, dict[str, int]]]:
    """The small world; Alpha HQ's Hikvision and Dahua claimed removed with evidence, the Hikvision's address
    then covered by a scan that did not see it (verified)."""
    monkeypatch.setenv("CLEARSITE_EVIDENCE_DIR", str(tmp_path / "evidence-store"))  # PostgreSQL has no folder
    engine = open_database(store_url)
    build_world(engine, packaged_kb, tmp_path)
    devices = {view.ip: view.id for view, _ in iter_devices(engine, "Alpha HQ", with_evidence=False)}
    record_removal(engine, packaged_kb, "alice", EVERYTHING, devices["10.1.0.11"], removed_on=date(2024, 8, 30),
                   today=date(2024, 9, 1), removed_by="Crew 3", disposal_ref="WEEE-7781", cost=240.0,
                   attachments=[Attachment("after.png", PHOTO), Attachment("wipe.pdf", CERTIFICATE)])
    record_removal(engine, packaged_kb, "alice", EVERYTHING, devices["10.1.0.12"], removed_on=date(2024, 8, 31),
                   today=date(2024, 9, 1), attachments=[Attachment("same-certificate.pdf", CERTIFICATE)])
    record_coverage(engine, packaged_kb, "Alpha HQ", ["10.1.0.11/32"], "scanner")
    yield engine, devices
    engine.dispose()


def test_a_pack_holds_every_claim_its_files_and_proof_and_verifies_with_the_public_key_alone(
        claimed: tuple[Engine, dict[str, int]], tmp_path: Path) -> None:
    engine, devices = claimed
    key = department_keys.create_key(engine, "admin", DEPT_A, tmp_path / "keys" / "alpha.pem")
    assert stat.S_IMODE(os.stat(key.private_key_path).st_mode) == 0o600
    public = tmp_path / "alpha-public.pem"
    public.write_text(key.public_pem)

    summary = evidence_pack.build_evidence_pack(engine, "admin", tmp_path / "pack", site="Alpha HQ")

    assert (summary.removals, summary.files, summary.by_status) == (2, 2, {"verified": 1, "claimed": 1})
    manifest = json.loads((tmp_path / "pack" / "manifest.json").read_text())
    by_device = {r["device_id"]: r for r in manifest["removals"]}
    verified = by_device[devices["10.1.0.11"]]
    assert verified["status"] == "verified" and verified["disposal_ref"] == "WEEE-7781"
    assert verified["verified_by"]["event"] == "covered_unseen"
    assert verified["verified_by"]["source"]["actor"] == "scanner"
    assert "10.1.0.11/32" in verified["verified_by"]["coverage"]["targets"]
    assert sorted(e["name"] for e in verified["evidence"]) == ["after.png", "wipe.pdf"]
    assert (tmp_path / "pack" / verified["evidence"][0]["path"]).is_file()
    with engine.connect() as conn:
        log = entries(conn, limit=10_000)
    head = [e for e in log if e.action != "evidence_pack.create"][-1]
    assert manifest["audit_head"]["seq"] == head.seq and manifest["audit_head"]["hash"] == head.hash
    assert log[-1].action == "evidence_pack.create" and log[-1].after["manifest_sha256"] == summary.manifest_sha256

    result = evidence_pack.verify_evidence_pack(tmp_path / "pack", public)
    assert result.ok, result.problems
    assert result.signer_fingerprint == key.fingerprint

    # One byte of one photo changed: detected, and named.
    photo = tmp_path / "pack" / next(e["path"] for e in verified["evidence"] if e["name"] == "after.png")
    data = bytearray(photo.read_bytes())
    data[100] ^= 0x01
    photo.write_bytes(bytes(data))
    failed = evidence_pack.verify_evidence_pack(tmp_path / "pack", public)
    assert not failed.ok and f"{photo.relative_to(tmp_path / 'pack').as_posix()}: differs" in failed.describe()


def test_a_department_pack_covers_its_sites_only_and_refuses_without_a_key(
        claimed: tuple[Engine, dict[str, int]], tmp_path: Path) -> None:
    engine, _ = claimed
    with pytest.raises(NotFoundError, match="no signing key"):
        evidence_pack.build_evidence_pack(engine, "admin", tmp_path / "pack", department=DEPT_A)
    assert not (tmp_path / "pack").exists()
    department_keys.create_key(engine, "admin", DEPT_A, tmp_path / "alpha.pem")
    department_keys.create_key(engine, "admin", DEPT_B, tmp_path / "bravo.pem")
    summary = evidence_pack.build_evidence_pack(engine, "admin", tmp_path / "pack", department=DEPT_A)
    assert summary.removals == 2
    bravo = evidence_pack.build_evidence_pack(engine, "admin", tmp_path / "bravo-pack", department=DEPT_B)
    assert bravo.removals == 0  # Bravo's pack holds none of Alpha's claims
    # Signed with Bravo's key, the Alpha pack does not verify against Bravo's public key.
    bravo_public = tmp_path / "bravo-public.pem"
    bravo_public.write_text(department_keys.department_key(engine, DEPT_B).public_pem)
    assert not evidence_pack.verify_evidence_pack(tmp_path / "pack", bravo_public).ok
    # A private key file that is not the department's is refused before anything is written.
    with pytest.raises(InputError, match="not Department of Alpha's current signing key"):
        evidence_pack.build_evidence_pack(engine, "admin", tmp_path / "pack2", department=DEPT_A,
                                          key_file=tmp_path / "bravo.pem")
    with pytest.raises(InputError, match="not empty"):
        evidence_pack.build_evidence_pack(engine, "admin", tmp_path / "pack", department=DEPT_A)


def test_a_changed_evidence_store_file_is_refused_not_packed(claimed: tuple[Engine, dict[str, int]],
                                                             tmp_path: Path) -> None:
    engine, _ = claimed
    department_keys.create_key(engine, "admin", DEPT_A, tmp_path / "alpha.pem")
    stored = evidence_path(engine, hashlib.sha256(CERTIFICATE).hexdigest())
    stored.write_bytes(CERTIFICATE + b" altered")
    with pytest.raises(InputError, match="no longer matches"):
        evidence_pack.build_evidence_pack(engine, "admin", tmp_path / "pack", site="Alpha HQ")
    assert not (tmp_path / "pack").exists()


def test_signing_a_public_statement_and_checking_it(claimed: tuple[Engine, dict[str, int]], tmp_path: Path) -> None:
    engine, _ = claimed
    key = department_keys.create_key(engine, "admin", DEPT_A, tmp_path / "alpha.pem")
    statement = tmp_path / "progress.json"
    statement.write_text('{"share_removed": 0.5}\n')
    public = tmp_path / "public.pem"
    public.write_text(key.public_pem)
    signature, signer = department_keys.sign_file(engine, DEPT_A, statement)
    assert signature.name == "progress.json.sig" and signer.fingerprint == key.fingerprint
    assert department_keys.verify_file_signature(statement, public) == key.fingerprint
    statement.write_text('{"share_removed": 0.9}\n')
    with pytest.raises(CheckFailed, match="does not match"):
        department_keys.verify_file_signature(statement, public)


def test_the_auditor_commands_exit_0_on_a_good_pack_and_1_naming_what_failed(
        cli: Callable[..., Any], db_url: str, packaged_kb: Any, tmp_path: Path) -> None:
    engine = open_database(db_url)
    build_world(engine, packaged_kb, tmp_path)
    device = next(view.id for view, _ in iter_devices(engine, "Alpha HQ", with_evidence=False))
    record_removal(engine, packaged_kb, "alice", EVERYTHING, device, removed_on=date(2024, 8, 30),
                   today=date(2024, 9, 1), attachments=[Attachment("wipe.pdf", CERTIFICATE)])
    engine.dispose()

    made = cli("department", "key", "create", "--department", DEPT_A)
    assert made.stdout.startswith("-----BEGIN PUBLIC KEY-----") and "fingerprint SHA256" in made.stderr
    keys_folder = tmp_path / "clearsite.db-keys"
    assert [stat.S_IMODE(p.stat().st_mode) for p in keys_folder.iterdir()] == [0o600]
    (tmp_path / "alpha.pem").write_text(cli("department", "key", "show", "--department", DEPT_A).stdout)

    written = cli("evidence-pack", "--site", "Alpha HQ", "--out", str(tmp_path / "pack"))
    assert "1 removal(s)" in written.stdout
    ok = cli("evidence-pack", "verify", str(tmp_path / "pack"), "--public-key", str(tmp_path / "alpha.pem"),
             env={"CLEARSITE_DATABASE_URL": "sqlite:////nonexistent/needs-no-database.db"})
    assert ok.returncode == 0 and "evidence pack OK: 1 removal(s)" in ok.stdout

    shutil.copytree(tmp_path / "pack", tmp_path / "tampered")
    (tmp_path / "tampered" / "evidence" / "planted.txt").write_text("extra")
    manifest = tmp_path / "tampered" / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"status": "claimed"', b'"status": "verified"'))
    bad = cli("evidence-pack", "verify", str(tmp_path / "tampered"), "--public-key", str(tmp_path / "alpha.pem"),
              check=False)
    assert bad.returncode == 1 and "manifest.json: the signature does not match" in bad.stderr

    cli("publish", "--public", str(tmp_path / "public"), "--as-of", "2024-09-01")
    progress = tmp_path / "public" / "progress.json"
    signed = cli("department", "sign", str(progress), "--department", DEPT_A)
    assert len(signed.stdout.strip()) == 64
    good = cli("department", "verify", str(progress), "--public-key", str(tmp_path / "alpha.pem"))
    assert "signature OK" in good.stdout
    progress.write_bytes(progress.read_bytes() + b" ")
    assert cli("department", "verify", str(progress), "--public-key", str(tmp_path / "alpha.pem"),
               check=False).returncode == 1
