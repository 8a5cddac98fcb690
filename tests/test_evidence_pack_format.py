"""Evidence packs tamper-tested: a changed byte in any file, a removed entry, an added or removed file, a wrong
key, a link: each is detected and named. Hypothesis chooses the file and the byte."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearsite.formats import evidence_pack as pack
from clearsite.formats.evidence_pack import EvidenceSource, PackError

KEY = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()


def evidence_files(root: Path) -> list[EvidenceSource]:
    store = root / "store"
    store.mkdir(exist_ok=True)
    sources = []
    for _name, data in [("photo.jpg", b"\xff\xd8\xff" + bytes(range(256)) * 3), ("cert.pdf", b"%PDF-1.7 wiped"),
                       ("empty.txt", b"x")]:
        digest = hashlib.sha256(data).hexdigest()
        (store / digest).write_bytes(data)
        sources.append(EvidenceSource(store / digest, digest, len(data)))
    return sources


def document(sources: list[EvidenceSource]) -> dict:
    return {"created": "2026-12-01T09:00:00+00:00", "department": "Dept A", "scope": {"site": "Alpha HQ"},
            "audit_head": {"seq": 42, "hash": "ab" * 32},
            "removals": [{"device_id": 7, "site": "Alpha HQ", "status": "verified",
                          "evidence": [{"name": "photo.jpg", "sha256": sources[0].sha256, "size": sources[0].size,
                                        "path": f"evidence/{sources[0].sha256}"}]},
                         {"device_id": 8, "site": "Alpha HQ", "status": "verified",
                          "evidence": [{"name": "cert.pdf", "sha256": sources[1].sha256, "size": sources[1].size,
                                        "path": f"evidence/{sources[1].sha256}"},
                                       {"name": "note", "sha256": sources[2].sha256, "size": 1,
                                        "path": f"evidence/{sources[2].sha256}"}]}]}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pack")
    sources = evidence_files(root)
    pack.write_pack(root / "pack", document(sources), sources, KEY)
    return root / "pack"


def copy_of(built: Path, tmp: Path) -> Path:
    target = tmp / f"copy{len(list(tmp.iterdir()))}"
    shutil.copytree(built, target)
    return target


def test_a_pack_verifies_with_the_public_key_alone_and_names_its_signer(built: Path) -> None:
    result = pack.verify_pack(built, KEY.public_key())
    assert result.ok, result.problems
    assert result.files_checked == 4 and result.signer_fingerprint == pack.fingerprint(KEY.public_key())
    assert "2 removal(s)" in result.describe() and "42" in result.describe()
    assert pack.verify_pack(built).ok  # with its own public_key.pem
    assert pack.verify_pack(built, expected_fingerprint=pack.fingerprint(KEY.public_key())[:16]).ok
    names = sorted(p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file())
    assert names == sorted(["manifest.json", "manifest.sig", "public_key.pem",
                            *(f"evidence/{e['sha256']}" for r in document(evidence_files(built.parent))["removals"]
                              for e in r["evidence"])])
    manifest = json.loads((built / "manifest.json").read_text())
    assert (built / "manifest.json").read_bytes() == pack.canonical_manifest(manifest)


def test_a_wrong_key_is_detected(built: Path) -> None:
    result = pack.verify_pack(built, OTHER.public_key())
    assert not result.ok and "signature does not match" in result.describe()
    refused = pack.verify_pack(built, expected_fingerprint=pack.fingerprint(OTHER.public_key()))
    assert not refused.ok and "not the expected" in refused.describe()


def test_a_pack_resigned_with_another_key_fails_against_the_departments_key(built: Path, tmp_path: Path) -> None:
    forged = copy_of(built, tmp_path)
    manifest = json.loads((forged / "manifest.json").read_bytes())
    manifest["removals"] = manifest["removals"][:1]  # an entry removed, then re-signed by someone else
    data = pack.canonical_manifest(manifest)
    (forged / "manifest.json").write_bytes(data)
    (forged / "manifest.sig").write_bytes(pack._signature_file(OTHER.sign(data)))
    result = pack.verify_pack(forged, KEY.public_key())
    assert not result.ok and "manifest.json" in result.describe()


def test_a_removed_entry_is_detected(built: Path, tmp_path: Path) -> None:
    changed = copy_of(built, tmp_path)
    manifest = json.loads((changed / "manifest.json").read_bytes())
    del manifest["removals"][1]
    (changed / "manifest.json").write_bytes(pack.canonical_manifest(manifest))
    assert "signature does not match" in pack.verify_pack(changed, KEY.public_key()).describe()


def test_added_removed_and_linked_files_are_each_named(built: Path, tmp_path: Path) -> None:
    changed = copy_of(built, tmp_path)
    (changed / "evidence" / "extra.jpg").write_bytes(b"planted")
    listed = sorted(p for p in (changed / "evidence").iterdir() if p.name != "extra.jpg")
    listed[0].unlink()
    os.symlink("/etc/passwd", changed / "evidence" / "link")
    result = pack.verify_pack(changed, KEY.public_key())
    text = result.describe()
    assert not result.ok
    assert "evidence/extra.jpg: not in the signed manifest (an added file)" in text
    assert f"evidence/{listed[0].name}: in the signed manifest but missing" in text
    assert "evidence/link: is a link" in text


FILES = ["manifest.json", "manifest.sig", "public_key.pem", "evidence/0", "evidence/1", "evidence/2"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(FILES), position=st.floats(0, 1, exclude_max=True), flip=st.integers(1, 255),
       use_own_key=st.booleans())
def test_a_changed_byte_in_any_file_is_always_detected(built: Path, tmp_path: Path, which: str, position: float,
                                                       flip: int, use_own_key: bool) -> None:
    changed = copy_of(built, tmp_path)
    if which.startswith("evidence/"):
        target = sorted((changed / "evidence").iterdir())[int(which[-1])]
    else:
        target = changed / which
    data = bytearray(target.read_bytes())
    offset = int(position * len(data))
    data[offset] ^= flip
    target.write_bytes(bytes(data))
    result = pack.verify_pack(changed, None if use_own_key else KEY.public_key(),
                              expected_fingerprint=pack.fingerprint(KEY.public_key()))
    assert not result.ok, f"a change at byte {offset} of {which} went unnoticed"
    shutil.rmtree(changed)


def test_writing_refuses_a_link_or_a_folder_that_is_not_empty_and_leaves_nothing_behind(tmp_path: Path) -> None:
    sources = evidence_files(tmp_path)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(PackError, match="not empty"):
        pack.write_pack(tmp_path / "full", document(sources), sources, KEY)
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "link")
    with pytest.raises(PackError, match="link"):
        pack.write_pack(tmp_path / "link", document(sources), sources, KEY)
    (tmp_path / "empty").mkdir()
    pack.write_pack(tmp_path / "empty", document(sources), sources, KEY)  # an empty folder is fine
    assert pack.verify_pack(tmp_path / "empty", KEY.public_key()).ok
    # An evidence file changed in the store since it was recorded: refused, and no partial pack is left.
    sources[1].path.write_bytes(b"swapped")
    with pytest.raises(PackError, match="no longer matches"):
        pack.write_pack(tmp_path / "fresh", document(sources), sources, KEY)
    assert not (tmp_path / "fresh").exists() and not list(tmp_path.glob(".fresh.*"))
