"""Keeping knowledge current without a new release: signed bundles, their installation, and diffs.

* `make_keys` and `make_bundle` are the publisher's side: an Ed25519 key pair, and a bundle of a
  knowledge directory signed with its private key.
* `install_bundle` is the department's side: the bundle is read into memory, its signature checked
  against the department's trusted keys and every file against the signed manifest, the files
  validated as knowledge, and only then written to the knowledge home and made current atomically.
* `knowledge_diff` says what changed between two versions, and which stored devices' verdicts
  (producer, NIL subject, finding statuses) would change, reading the database and writing nothing.

Trusted keys: $CLEARSITE_TRUSTED_KEYS, else $XDG_CONFIG_HOME/clearsite/trusted-keys
(~/.config/clearsite/trusted-keys): a directory of *.pem public keys.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine

from clearsite.core import contracts
from clearsite.core.assess import Assessment, nil_verdict
from clearsite.core.errors import UsageError
from clearsite.core.identify import identify_template
from clearsite.core.knowledge import FILES, Knowledge
from clearsite.core.knowledge.diff import diff_knowledge
from clearsite.core.models import DeviceFacts, Identity, Site
from clearsite.formats.bundles import (
    BundleError,
    generate_key_pair,
    load_private_key,
    load_trusted_keys,
    read_bundle,
    verify_bundle,
    write_bundle,
)
from clearsite.formats.knowledge import (
    DATA_DIR,
    install_release,
    installed_base,
    knowledge_from_files,
    knowledge_home,
    knowledge_in_use,
    load_knowledge,
)
from clearsite.services.assessment import policies_for
from clearsite.services.identification import device_evidence
from clearsite.store.reads import EVERYTHING, DeviceView, read_devices

__all__ = ["install_bundle", "knowledge_diff", "make_bundle", "make_keys", "trusted_keys_dir"]

TRUSTED_KEYS_ENV = "CLEARSITE_TRUSTED_KEYS"
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")  # a release directory is named from it: nothing else gets through
_DEVICE_PAGE = 2000


def trusted_keys_dir() -> Path:
    override = os.environ.get(TRUSTED_KEYS_ENV)
    if override:
        return Path(override)
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "clearsite" / "trusted-keys"


def make_keys(out: Path) -> dict[str, str]:
    """Write OUT.pem (the private key, readable by its owner only) and OUT.pub.pem; their paths and key id."""
    private_path, public_path = out.with_name(out.name + ".pem"), out.with_name(out.name + ".pub.pem")
    for path in (private_path, public_path):
        if path.exists():
            raise UsageError(f"--out {out}: {path.name} exists already; choose another name")
    pair = generate_key_pair()
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pair.private_pem)
    public_path.write_bytes(pair.public_pem)
    return {"key_id": pair.key_id, "private_key": str(private_path), "public_key": str(public_path)}


def make_bundle(directory: Path, key: Path, out: Path, now: datetime | None = None) -> dict[str, Any]:
    """Sign the knowledge files of `directory` into a bundle at `out`; its manifest. The files are
    validated first: a bundle that no department could install is not made."""
    files: dict[str, bytes] = {}
    for name in FILES:
        try:
            files[name] = (directory / name).read_bytes()
        except OSError as exc:
            raise BundleError(f"{directory}: cannot read {name}: {exc.strerror or exc}") from None
    knowledge = knowledge_from_files(files)
    created = now if now is not None else datetime.now(UTC)
    return write_bundle(out, files, load_private_key(key), knowledge.version, created)


def _verified(bundle: Path, keys: Path) -> tuple[dict[str, Any], Knowledge, dict[str, bytes]]:
    manifest, files = verify_bundle(read_bundle(bundle), load_trusted_keys(keys), str(keys))
    return manifest, knowledge_from_files(files), files


def install_bundle(bundle: Path, trusted_keys: Path | None = None, home: Path | None = None) -> dict[str, Any]:
    """Verify, validate and install a bundle as the knowledge in use (see the module docstring)."""
    keys = trusted_keys if trusted_keys is not None else trusted_keys_dir()
    manifest, knowledge, files = _verified(bundle, keys)
    home = home if home is not None else knowledge_home()
    created = str(manifest.get("created", ""))[:10]
    release = f"{created if _ISO_DAY.fullmatch(created) else 'undated'}-{knowledge.version}"
    target = install_release(files, release, home)
    return {"installed": str(target), "knowledge_home": str(home), "version": knowledge.version,
            "bundle_version": manifest["version"], "created": manifest["created"], "signer": manifest["signer"]}


# --------------------------------------------------------------------------- diff


@dataclass(frozen=True)
class _Side:
    label: str
    knowledge: Knowledge


def _side(spec: Path | None, default: str, keys: Path) -> _Side:
    """A version of the knowledge from a directory, a bundle, or a name: packaged, installed, in-use."""
    if spec is None:
        if default == "packaged":
            return _Side(f"packaged ({DATA_DIR})", load_knowledge(DATA_DIR))
        base = installed_base()
        if default == "installed" and base is None:
            raise UsageError(f"no installed base in {knowledge_home()}; give OLD and NEW")
        used = base if base is not None else knowledge_in_use()
        return _Side(f"{default} ({used})", load_knowledge(used))
    if spec.is_dir() and (spec / FILES[0]).is_file() and not (spec / "manifest.json").exists():
        return _Side(str(spec), load_knowledge(spec))
    base = installed_base(spec) if spec.is_dir() else None
    if base is not None:
        return _Side(f"installed ({base})", load_knowledge(base))
    manifest, knowledge, _ = _verified(spec, keys)
    return _Side(f"bundle {spec} (signed by {manifest['signer']})", knowledge)


def knowledge_diff(old: Path | None, new: Path | None, *, engine: Engine | None, as_of: date,
                   trusted_keys: Path | None = None) -> contracts.KnowledgeDiff:
    """What changed from OLD to NEW and which stored devices' verdicts would change.

    Neither given: the packaged data against the installed base. One given: the knowledge in use now
    against it (the preview before an install). Bundles are verified as `install` verifies them
    before anything in them is read.
    """
    keys = trusted_keys if trusted_keys is not None else trusted_keys_dir()
    if old is None and new is None:
        before, after = _side(None, "packaged", keys), _side(None, "installed", keys)
    elif new is None:
        before, after = _side(None, "in use", keys), _side(old, "", keys)
    else:
        before, after = _side(old, "", keys), _side(new, "", keys)
    changes = [cast(contracts.KnowledgeChange, c.as_dict()) for c in diff_knowledge(before.knowledge, after.knowledge)]
    counts = cast(contracts.KnowledgeChangeCounts,
                  {kind: sum(1 for c in changes if c["change"] == kind) for kind in ("added", "removed", "changed")})
    checked, verdicts = 0, cast("list[contracts.VerdictChange]", [])
    if engine is not None:
        for checked, change in _verdict_changes(engine, before.knowledge, after.knowledge, as_of):  # noqa: B007
            if change is not None:
                verdicts.append(cast(contracts.VerdictChange, change))
    return {"old": {"source": before.label, "version": before.knowledge.version},
            "new": {"source": after.label, "version": after.knowledge.version},
            "as_of": as_of.isoformat(), "counts": counts, "changes": changes,
            "devices_checked": checked, "verdict_changes": verdicts}


class _Verdicts:
    """A device's verdict under one knowledge version: producer, NIL subject, and each finding's status."""

    def __init__(self, knowledge: Knowledge, as_of: date) -> None:
        self.knowledge, self.as_of = knowledge, as_of
        self._assessments: dict[str, list[Assessment]] = {}

    def __call__(self, view: DeviceView, site: Site, evidence: list[Any]) -> dict[str, Any]:
        identity: Identity = identify_template(evidence, self.knowledge, view.install_date).base
        verdict = nil_verdict(identity, self.knowledge, self.as_of, produced=view.install_date)
        assessments = self._assessments.get(site.jurisdiction)
        if assessments is None:
            assessments = self._assessments[site.jurisdiction] = [
                Assessment(p, self.knowledge, self.as_of) for p in policies_for(self.knowledge, None, site.jurisdiction)]
        facts = DeviceFacts(view.id, site, identity, view.ip, view.install_date, view.removed_on)
        findings = sorted(({"policy": a.policy.id, "obligation": o.obligation, "status": o.status.value}
                           for a in assessments for o in a.outcomes(facts)),
                          key=lambda f: (f["policy"], f["obligation"]))
        return {"producer": identity.producer_id, "nil_subject": verdict.subject.value,
                "nil_reasons": list(verdict.reasons), "findings": findings}


def _verdict_changes(engine: Engine, old: Knowledge, new: Knowledge, as_of: date) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """(devices checked so far, the change for this device or None), device by device in id order."""
    before, after = _Verdicts(old, as_of), _Verdicts(new, as_of)
    checked, after_id = 0, 0
    with engine.connect() as conn:
        while True:
            page = list(read_devices(conn, EVERYTHING, with_evidence=False, after=after_id, limit=_DEVICE_PAGE))
            if not page:
                return
            evidence = device_evidence(conn, [view.id for view, _ in page])
            for view, site in page:
                checked += 1
                was, will_be = before(view, site, evidence.get(view.id, [])), after(view, site, evidence.get(view.id, []))
                same = all(was[k] == will_be[k] for k in ("producer", "nil_subject", "findings"))
                yield checked, None if same else {
                    "device_id": view.id, "site": site.name, "ip": view.ip, "label_brand": view.identity.label_brand,
                    "model": view.identity.model, "old": was, "new": will_be}
            after_id = page[-1][0].id
