"""Evidence packs: every removal claim of a site or a department, its evidence files and the observations
that verified it, with the audit log's head, signed with the department's key.

`build_evidence_pack` refuses to sign over a tampered audit log (the head it quotes must be one a
clean chain reaches), copies each evidence file from the content-addressed store after checking it
still has its recorded hash, writes the pack atomically (`formats.evidence_pack`) and records the
pack (its manifest's hash and the head it quotes) in the audit log. `verify_evidence_pack` needs no
database: an auditor outside the department runs it with the department's public key.
"""

from __future__ import annotations

import hashlib
import io
import re
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from clearsite.core.errors import CheckFailed, ConflictError, InputError, NotFoundError
from clearsite.formats import evidence_pack as pack_format
from clearsite.services.department_keys import department_key, signing_key
from clearsite.store import audit
from clearsite.store.evidence_files import evidence_path
from clearsite.store.evidence_reads import coverage_by_id, site_names, sources_by_id
from clearsite.store.keys import department_id as department_id_of
from clearsite.store.reads import SiteScope
from clearsite.store.removals import StoredFile, StoredRemoval, read_removals, removal_files
from clearsite.store.site_reads import get_site
from clearsite.store.sites import find_site
from clearsite.store.transactions import write_transaction

__all__ = ["PackArchive", "PackSummary", "build_evidence_pack", "evidence_pack_archive", "verify_evidence_pack"]


@dataclass(frozen=True, slots=True)
class PackSummary:
    out: Path
    department: str
    site: str | None
    removals: int
    by_status: dict[str, int]
    files: int
    audit_head: tuple[int, str]
    fingerprint: str
    manifest_sha256: str

    def describe(self) -> str:
        statuses = ", ".join(f"{n} {status}" for status, n in sorted(self.by_status.items())) or "none"
        return (f"evidence pack {self.out}: {self.removals} removal(s) ({statuses}), {self.files} evidence file(s), "
                f"audit head {self.audit_head[0]}, signed by {self.department}'s key {self.fingerprint}")


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _removal_entry(claim: StoredRemoval, files: list[StoredFile], site: str, sources: dict[int, dict[str, Any]],
                   coverage: dict[int, dict[str, Any]]) -> dict[str, Any]:
    proof = claim.proof or None
    verified_by = None
    if proof is not None:
        verified_by = {"event": proof.get("event"), "at": proof.get("at"),
                       "source": sources.get(proof.get("source_id") or -1),
                       "coverage": coverage.get(proof.get("coverage_id") or -1)}
    return {
        "device_id": claim.device_id, "site": site, "status": claim.status, "removed_on": _iso(claim.removed_on),
        "claimed_at": _iso(claim.claimed_at), "claimed_by": claim.claimed_by, "removed_by": claim.removed_by,
        "order_id": claim.order_id, "disposal_ref": claim.disposal_ref, "cost": claim.cost,
        "last_ip": claim.last_ip, "last_mac": claim.last_mac, "last_serial": claim.last_serial,
        "identity": claim.identity, "replacement": claim.replacement, "status_at": _iso(claim.status_at),
        "verified_at": _iso(claim.verified_at), "proof": proof, "verified_by": verified_by,
        "evidence": [{"name": f.name, "sha256": f.sha256, "size": f.size, "path": f"evidence/{f.sha256}",
                      "added_at": _iso(f.added_at), "added_by": f.added_by} for f in files],
    }


def build_evidence_pack(engine: Engine, actor: str, out: Path, *, site: str | None = None,
                        department: str | None = None, key_file: Path | None = None) -> PackSummary:
    """Write the signed evidence pack of one site's or one department's removals to `out`."""
    if (site is None) == (department is None):
        raise InputError("give one of --site NAME or --department NAME")
    with engine.connect() as conn:
        site_id = find_site(conn, site) if site is not None else None
        if site_id is not None:
            names = site_names(conn)
            department = names[site_id][2]
        else:
            assert department is not None
            found = department_id_of(conn, department)
            if found is None:
                raise NotFoundError(f"department {department!r} not found")
            names = site_names(conn, found)
    assert department is not None
    private_key, key = signing_key(engine, department, key_file)  # before any work: no key, no pack
    with engine.connect() as conn:
        chain = audit.verify(conn)
        if not chain.ok:
            raise CheckFailed(f"the audit log fails its check, so no pack is signed over it: {chain.problem}")
        department_id = department_id_of(conn, department)
        claims = read_removals(conn, SiteScope(department_id=department_id),
                               site_ids=[site_id] if site_id is not None else None)
        files = removal_files(conn, [c.id for c in claims])
        proofs = [c.proof or {} for c in claims]
        sources = sources_by_id(conn, [p["source_id"] for p in proofs if isinstance(p.get("source_id"), int)])
        coverage = coverage_by_id(conn, [p["coverage_id"] for p in proofs if isinstance(p.get("coverage_id"), int)])
    removals = [_removal_entry(c, files.get(c.id, []), names[c.site_id][0], sources, coverage) for c in claims]
    evidence = [pack_format.EvidenceSource(evidence_path(engine, f.sha256), f.sha256, f.size)
                for claim_files in files.values() for f in claim_files]
    by_status = dict(Counter(c.status for c in claims))
    scope = {"department": department, "site": names[site_id][0] if site_id is not None else None}
    document: dict[str, Any] = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"), "created_by": actor,
        "scope": scope,
        "audit_head": {"seq": chain.head_seq, "hash": chain.head_hash, "entries": chain.entries},
        "signer": {"department": department},
        "counts": {"removals": len(removals), **by_status},
        "removals": removals,
    }
    manifest = pack_format.write_pack(out, document, evidence, private_key)
    manifest_sha256 = hashlib.sha256(pack_format.canonical_manifest(manifest)).hexdigest()
    with write_transaction(engine) as conn:
        audit.record(conn, actor, "evidence_pack.create", f"department:{department_id}", None,
                     {"scope": scope, "removals": len(removals), "manifest_sha256": manifest_sha256,
                      "audit_head": [chain.head_seq, chain.head_hash], "key": key.fingerprint})
    return PackSummary(out, department, scope["site"], len(removals), by_status,
                       len({e.sha256 for e in evidence}), (chain.head_seq, chain.head_hash), key.fingerprint,
                       manifest_sha256)


@dataclass(frozen=True, slots=True)
class PackArchive:
    """A signed pack as one zip (its folder inside), for a download."""

    filename: str
    data: bytes
    summary: PackSummary


def evidence_pack_archive(engine: Engine, actor: str, scope: SiteScope, *, site_id: int | None = None,
                          department: str | None = None, key_file: Path | None = None) -> PackArchive:
    """The signed pack of one site's or one department's removals as a zip, for someone in `scope`.

    A site or department outside the scope is "not found", as a missing one is. The pack is the one
    `build_evidence_pack` writes (and audits as created); the download is audited too, with the zip's hash.
    """
    if (site_id is None) == (department is None):
        raise InputError("give one of site_id or department")
    with engine.connect() as conn:
        if site_id is not None:
            found = get_site(conn, scope, site_id)
            if found is None:
                raise NotFoundError(f"site {site_id}")
            site_name, target, owner = str(found["name"]), f"site:{site_id}", str(found["department"])
        else:
            assert department is not None
            wanted = department_id_of(conn, department)
            if wanted is None or scope.nothing or scope.site_id is not None or \
                    scope.department_id not in (None, wanted):
                raise NotFoundError(f"department {department!r}")
            site_name, target, owner = "", f"department:{wanted}", department
    try:
        department_key(engine, owner)
    except NotFoundError as exc:  # the site is there: what is missing is the department's key
        raise ConflictError(str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="clearsite-pack-") as folder:
        stem = f"evidence-pack-{_slug(site_name or str(department))}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        summary = build_evidence_pack(engine, actor, Path(folder) / stem, site=site_name or None,
                                      department=None if site_name else department, key_file=key_file)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(summary.out.rglob("*")):
                if path.is_file():
                    archive.write(path, f"{stem}/{path.relative_to(summary.out).as_posix()}")
    data = buffer.getvalue()
    with write_transaction(engine) as conn:
        audit.record(conn, actor, "evidence_pack.download", target, None,
                     {"file": f"{stem}.zip", "zip_sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                      "manifest_sha256": summary.manifest_sha256, "removals": summary.removals})
    return PackArchive(f"{stem}.zip", data, summary)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")[:60] or "pack"


def verify_evidence_pack(directory: Path, public_key_file: Path | None = None,
                         fingerprint: str | None = None) -> pack_format.PackVerification:
    """Check a pack with a public key alone (no database); the result names every failure."""
    public_key = None
    if public_key_file is not None:
        try:
            data = public_key_file.read_bytes()
        except OSError as exc:
            raise InputError(f"{public_key_file}: cannot read the key: {exc.strerror or exc}") from None
        public_key = pack_format.load_public_key(data, public_key_file.name)
    return pack_format.verify_pack(directory, public_key, fingerprint)
