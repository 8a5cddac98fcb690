"""Signed knowledge bundles: made, verified, refused when tampered or untrusted, installed atomically; diffs."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clearsite.core.knowledge import FILES
from clearsite.core.knowledge.diff import diff_knowledge
from clearsite.formats.bundles import BundleError, BundleRefused
from clearsite.formats.knowledge import DATA_DIR, installed_base, load_knowledge
from clearsite.services.knowledge_updates import install_bundle, make_bundle, make_keys

CREATED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    """A signer's key pair, the trusted-keys directory holding its public key, and an untrusted pair."""
    made = make_keys(tmp_path / "signer")
    other = make_keys(tmp_path / "stranger")
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    shutil.copy(made["public_key"], trusted / "signer.pem")
    return {"private": Path(made["private_key"]), "trusted": trusted, "stranger": Path(other["private_key"])}


def _bundle(tmp_path: Path, keys: dict[str, Path], name: str = "bundle", key: str = "private") -> Path:
    out = tmp_path / name
    make_bundle(DATA_DIR, keys[key], out, now=CREATED)
    return out


@pytest.mark.parametrize("name", ["bundle", "bundle.tar.gz", "bundle.zip"])
def test_a_signed_bundle_installs_and_becomes_the_knowledge_in_use(tmp_path: Path, keys, monkeypatch, name) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("CLEARSITE_KNOWLEDGE_DIR", str(home))
    done = install_bundle(_bundle(tmp_path, keys, name), keys["trusted"], home)
    base = installed_base(home)
    assert base is not None and Path(done["installed"]) == base
    assert sorted(p.name for p in base.iterdir()) == sorted(FILES)
    assert load_knowledge().version == load_knowledge(DATA_DIR).version == done["version"]


def _refused(tmp_path: Path, keys, bundle: Path, match: str) -> None:
    home = tmp_path / "home"
    with pytest.raises(BundleRefused, match=match) as caught:
        install_bundle(bundle, keys["trusted"], home)
    assert "\n" not in str(caught.value) and caught.value.exit_code == 1
    assert installed_base(home) is None, "a refused bundle must leave nothing installed"


def test_a_changed_byte_in_a_file_is_refused(tmp_path: Path, keys) -> None:
    bundle = _bundle(tmp_path, keys)
    target = bundle / "designations.yaml"
    data = bytearray(target.read_bytes())
    data[100] ^= 0x01
    target.write_bytes(bytes(data))
    _refused(tmp_path, keys, bundle, "designations.yaml differs from the signed manifest")


def test_a_changed_byte_in_the_manifest_is_refused(tmp_path: Path, keys) -> None:
    bundle = _bundle(tmp_path, keys)
    manifest = bundle / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"size": ', '"size":  ', 1))
    _refused(tmp_path, keys, bundle, "signature does not match")


def test_a_removed_file_is_refused(tmp_path: Path, keys) -> None:
    bundle = _bundle(tmp_path, keys)
    (bundle / "policies.yaml").unlink()
    _refused(tmp_path, keys, bundle, "policies.yaml is in the signed manifest but missing")


def test_a_removed_entry_is_refused(tmp_path: Path, keys) -> None:
    bundle = _bundle(tmp_path, keys)
    target = bundle / "designations.yaml"
    text = target.read_text()
    start = text.index("  - entity: hikvision\n")
    end = text.index("  - entity:", start + 5)
    target.write_text(text[:start] + text[end:])
    _refused(tmp_path, keys, bundle, "designations.yaml differs from the signed manifest")


def test_an_extra_file_is_refused(tmp_path: Path, keys) -> None:
    bundle = _bundle(tmp_path, keys)
    (bundle / "notes.txt").write_text("hello")
    _refused(tmp_path, keys, bundle, "unexpected member 'notes.txt'")


def test_an_unsigned_bundle_is_refused(tmp_path: Path, keys) -> None:
    bundle = _bundle(tmp_path, keys)
    (bundle / "manifest.sig").unlink()
    _refused(tmp_path, keys, bundle, "unsigned")


def test_a_bundle_signed_by_an_untrusted_key_is_refused(tmp_path: Path, keys) -> None:
    _refused(tmp_path, keys, _bundle(tmp_path, keys, key="stranger"), "which is not trusted")


def test_no_trusted_keys_means_nothing_is_installed(tmp_path: Path, keys) -> None:
    with pytest.raises(BundleRefused, match="no trusted keys"):
        install_bundle(_bundle(tmp_path, keys), tmp_path / "no-such-dir", tmp_path / "home")


def _tar_with(path: Path, members: list[tarfile.TarInfo], data: bytes = b"x") -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for info in members:
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


@pytest.mark.parametrize("member", ["../companies.yaml", "/etc/companies.yaml", "sub/companies.yaml"])
def test_path_traversal_in_a_tar_is_refused(tmp_path: Path, keys, member: str) -> None:
    info = tarfile.TarInfo(member)
    info.size = 1
    _refused(tmp_path, keys, _tar_with(tmp_path / "evil.tar.gz", [info]), "unexpected member")
    assert not (tmp_path / "companies.yaml").exists()


def test_a_symlink_in_a_tar_is_refused(tmp_path: Path, keys) -> None:
    info = tarfile.TarInfo("companies.yaml")
    info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    _refused(tmp_path, keys, _tar_with(tmp_path / "link.tar.gz", [info]), "not a regular file")


def test_path_traversal_in_a_zip_is_refused(tmp_path: Path, keys) -> None:
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../companies.yaml", "x")
    _refused(tmp_path, keys, path, "unexpected member")


def test_a_symlink_in_a_bundle_directory_is_refused(tmp_path: Path, keys) -> None:
    bundle = _bundle(tmp_path, keys)
    (bundle / "companies.yaml").unlink()
    (bundle / "companies.yaml").symlink_to(DATA_DIR / "companies.yaml")
    _refused(tmp_path, keys, bundle, "not a regular file")


def test_a_missing_bundle_is_bad_input_not_a_failed_check(tmp_path: Path, keys) -> None:
    with pytest.raises(BundleError) as caught:
        install_bundle(tmp_path / "nothing.tar.gz", keys["trusted"], tmp_path / "home")
    assert caught.value.exit_code == 2


def test_a_second_install_switches_current_and_keeps_the_first_release(tmp_path: Path, keys) -> None:
    home = tmp_path / "home"
    install_bundle(_bundle(tmp_path, keys), keys["trusted"], home)
    changed = tmp_path / "changed"
    shutil.copytree(DATA_DIR, changed)
    _add_designation(changed)
    out = tmp_path / "second.zip"
    make_bundle(changed, keys["private"], out, now=CREATED)
    done = install_bundle(out, keys["trusted"], home)
    assert installed_base(home) == Path(done["installed"])
    assert len(list((home / "releases").iterdir())) == 2
    assert (home / "current").is_symlink()


def _add_designation(directory: Path) -> None:
    with (directory / "designations.yaml").open("a") as handle:
        handle.write("\n  - entity: kedacom\n    program: US-BIS-EL\n    valid_from: 2026-03-02\n"
                     "    note: test entry\n    source: test\n    as_of: 2026-12-01\n")


def _move_axis_brand_to(directory: Path, producer: str) -> None:
    path = directory / "brands.yaml"
    text = path.read_text()
    old = "  owner: axis\n  producers:\n    - producer: axis\n"
    assert old in text
    path.write_text(text.replace(old, f"  owner: axis\n  producers:\n    - producer: {producer}\n", 1))


def test_diff_names_added_and_changed_items(tmp_path: Path) -> None:
    changed = tmp_path / "changed"
    shutil.copytree(DATA_DIR, changed)
    _add_designation(changed)
    _move_axis_brand_to(changed, "tvt")
    changes = {(c.kind, c.key, c.change): c for c in diff_knowledge(load_knowledge(DATA_DIR), load_knowledge(changed))}
    assert ("designation", "kedacom/US-BIS-EL/2026-03-02", "added") in changes
    assert changes[("brand", "Axis", "changed")].fields == ("producers",)
    assert len(changes) == 2


REGISTER = """\
Make,Model,Serial,MAC,IP,Site,Installed
Axis,,AX-1,,10.1.2.3,Example House,2022-01-01
Hikvision,DS-2CD2143G2-I,HK-1,,10.1.2.4,Example House,2022-01-01
"""


def test_diff_shows_the_stored_devices_whose_verdict_would_change(cli, tmp_path: Path, keys) -> None:
    (tmp_path / "estates.csv").write_text(REGISTER)
    cli("site", "add", "Example House", "--department", "Dept A")
    cli("import", "register", "estates.csv")
    changed = tmp_path / "changed"
    shutil.copytree(DATA_DIR, changed)
    _move_axis_brand_to(changed, "tvt")
    bundle = tmp_path / "changed.tar.gz"
    make_bundle(changed, keys["private"], bundle, now=CREATED)
    result = cli("knowledge", "diff", str(DATA_DIR), str(bundle), "--trusted-keys", str(keys["trusted"]),
                 "--as-of", "2026-12-01", "--format", "json")
    report = json.loads(result.stdout)
    assert report["devices_checked"] == 2
    [row] = report["verdict_changes"]
    assert row["label_brand"] == "Axis"
    assert (row["old"]["producer"], row["new"]["producer"]) == ("axis", "tvt")
    assert row["old"]["nil_subject"] != row["new"]["nil_subject"]


def test_install_from_the_command_line_refuses_a_tampered_bundle_with_exit_1(cli, tmp_path: Path, keys) -> None:
    bundle = _bundle(tmp_path, keys)
    (bundle / "extra.yaml").write_text("x")
    env = {"CLEARSITE_KNOWLEDGE_DIR": str(tmp_path / "home")}
    result = cli("knowledge", "install", str(bundle), "--trusted-keys", str(keys["trusted"]), check=False, env=env)
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "extra.yaml" in result.stderr
    missing = cli("knowledge", "install", "nothing.zip", "--trusted-keys", str(keys["trusted"]), check=False, env=env)
    assert missing.returncode == 2 and "nothing.zip" in missing.stderr


def test_a_member_larger_than_the_limit_is_refused_before_it_is_read(tmp_path: Path, keys, monkeypatch) -> None:
    import clearsite.formats.bundles as bundles

    monkeypatch.setattr(bundles, "MAX_FILE_BYTES", 1000)
    info = tarfile.TarInfo("companies.yaml")
    info.size = 5000
    _refused(tmp_path, keys, _tar_with(tmp_path / "big.tar.gz", [info], b"x" * 5000), "more than a knowledge file may hold")


def test_a_signed_bundle_of_invalid_knowledge_is_not_installed(tmp_path: Path, keys) -> None:
    from clearsite.core.errors import KnowledgeError

    broken = tmp_path / "broken"
    shutil.copytree(DATA_DIR, broken)
    out = tmp_path / "broken-bundle"
    make_bundle(DATA_DIR, keys["private"], out, now=CREATED)
    # re-sign a bundle whose designations name a company nobody defines: the signer's mistake, caught at install
    _add_designation(broken)
    (broken / "designations.yaml").write_text((broken / "designations.yaml").read_text().replace(
        "entity: kedacom\n    program: US-BIS-EL\n    valid_from: 2026-03-02", "entity: no_such_company\n    program: US-BIS-EL\n    valid_from: 2026-03-02"))
    with pytest.raises(KnowledgeError, match="no_such_company"):
        make_bundle(broken, keys["private"], tmp_path / "never", now=CREATED)
    files = {name: (broken / name).read_bytes() for name in FILES}
    from clearsite.formats.bundles import load_private_key, write_bundle

    signed = tmp_path / "signed-broken"
    write_bundle(signed, files, load_private_key(keys["private"]), "broken", CREATED)
    with pytest.raises(KnowledgeError, match="no_such_company"):
        install_bundle(signed, keys["trusted"], tmp_path / "home")
    assert installed_base(tmp_path / "home") is None


def test_diff_of_one_bundle_compares_it_with_the_knowledge_in_use(tmp_path: Path, keys, monkeypatch) -> None:
    from datetime import date

    from clearsite.services.knowledge_updates import knowledge_diff

    monkeypatch.setenv("CLEARSITE_KNOWLEDGE_DIR", str(tmp_path / "empty-home"))
    changed = tmp_path / "changed"
    shutil.copytree(DATA_DIR, changed)
    _add_designation(changed)
    bundle = tmp_path / "changed.zip"
    make_bundle(changed, keys["private"], bundle, now=CREATED)
    report = knowledge_diff(bundle, None, engine=None, as_of=date(2026, 12, 1), trusted_keys=keys["trusted"])
    assert report["counts"] == {"added": 1, "removed": 0, "changed": 0}
    assert report["new"]["source"].startswith("bundle ") and report["devices_checked"] == 0
    with pytest.raises(BundleRefused):
        knowledge_diff(bundle, None, engine=None, as_of=date(2026, 12, 1), trusted_keys=tmp_path / "nobody")
