"""Signed evidence packs: a folder an auditor outside the department can check with a public key alone.

    PACK/
      manifest.json     what the pack claims (canonical JSON: sorted keys, 2-space indent, UTF-8), listing
                        every other file with its SHA-256 and size
      manifest.sig      Ed25519 signature of manifest.json's exact bytes: base64 and one newline, nothing else
      public_key.pem    the signer's public key (listed in the manifest too); check its fingerprint with the
                        department, or verify with a key obtained from them directly (--public-key)
      evidence/<sha256> each evidence file once, named by its content's hash

`write_pack` builds the pack in a temporary folder beside `out` and renames it into place, so a
reader never sees half a pack; it refuses an `out` that is a link or a folder that is not empty.
`verify_pack` walks the folder (links, devices and anything not regular are failures), checks the
signature, then every listed file's hash and size, and that nothing is missing or added. It reports
every failure it finds, by file, not only the first. Nothing here touches a database.

Keys are those of `formats.bundles` (PKCS#8 PEM private keys, SubjectPublicKeyInfo public keys); a
key's fingerprint is the SHA-256 of its raw 32-byte public key, in hex, and its key id the first 16
digits of that.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from clearsite.core.errors import InputError
from clearsite.formats.bundles import key_id

__all__ = [
    "EVIDENCE_DIR",
    "MANIFEST",
    "PACK_FORMAT",
    "PUBLIC_KEY",
    "SIGNATURE",
    "EvidenceSource",
    "PackError",
    "PackVerification",
    "canonical_manifest",
    "fingerprint",
    "load_public_key",
    "public_pem",
    "verify_pack",
    "write_pack",
]

PACK_FORMAT = "clearsite-evidence-pack/1"
MANIFEST, SIGNATURE, PUBLIC_KEY, EVIDENCE_DIR = "manifest.json", "manifest.sig", "public_key.pem", "evidence"
_CHUNK = 1 << 20


class PackError(InputError, ValueError):
    """A pack cannot be written or read as asked (an output folder that is not empty, a key that is not one)."""


@dataclass(frozen=True, slots=True)
class EvidenceSource:
    """An evidence file to copy into the pack: where it is stored, and the hash and size recorded for it."""

    path: Path
    sha256: str
    size: int


@dataclass(slots=True)
class PackVerification:
    ok: bool
    problems: list[str] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    signer_fingerprint: str | None = None
    files_checked: int = 0

    def describe(self) -> str:
        if self.ok and self.manifest is not None:
            removals = self.manifest.get("removals", [])
            head = self.manifest.get("audit_head") or {}
            return (f"evidence pack OK: {len(removals)} removal(s), {self.files_checked} file(s) match the signed "
                    f"manifest; signed by key {self.signer_fingerprint}; audit log head "
                    f"{head.get('seq')} {head.get('hash')}")
        return "evidence pack FAILED: " + "; ".join(self.problems)


def fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(data: bytes, origin: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise PackError(f"{origin}: not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise PackError(f"{origin}: not an Ed25519 public key")
    return key


def canonical_manifest(document: dict[str, Any]) -> bytes:
    """One byte string per manifest: sorted keys, two-space indent, UTF-8, a final newline."""
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def _signature_file(signature: bytes) -> bytes:
    return base64.b64encode(signature) + b"\n"


# --------------------------------------------------------------------------- writing


def _check_out(out: Path) -> None:
    if out.is_symlink():
        raise PackError(f"{out}: is a symbolic link; give a new folder")
    if out.exists():
        if not out.is_dir():
            raise PackError(f"{out}: exists and is not a folder")
        if any(out.iterdir()):
            raise PackError(f"{out}: the folder is not empty; give a new one")
    if not out.parent.is_dir():
        raise PackError(f"{out.parent}: no such folder")


def _copy_checked(source: EvidenceSource, target: Path) -> None:
    """Copy an evidence file, refusing it if it no longer has the hash and size recorded for it."""
    digest, size = hashlib.sha256(), 0
    try:
        descriptor = os.open(source.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise PackError(f"evidence file {source.sha256[:12]}…: cannot be read: {exc.strerror or exc}") from None
    with os.fdopen(descriptor, "rb") as reader, open(target, "xb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            writer.write(chunk)
    if digest.hexdigest() != source.sha256 or size != source.size:
        raise PackError(f"evidence file {source.sha256}: the stored copy no longer matches its recorded hash "
                        "and size; the evidence store has been changed")


def write_pack(out: Path, document: dict[str, Any], evidence: list[EvidenceSource],
               private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """Write a signed pack of `document` (the removals, the audit head …) and the evidence files to `out`,
    atomically; the manifest as signed."""
    _check_out(out)
    public = private_key.public_key()
    temporary = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        (temporary / EVIDENCE_DIR).mkdir()
        files: dict[str, tuple[str, int]] = {}
        for source in sorted({e.sha256: e for e in evidence}.values(), key=lambda e: e.sha256):
            relative = f"{EVIDENCE_DIR}/{source.sha256}"
            _copy_checked(source, temporary / relative)
            files[relative] = (source.sha256, source.size)
        key_pem = public_pem(public)
        (temporary / PUBLIC_KEY).write_bytes(key_pem)
        files[PUBLIC_KEY] = (hashlib.sha256(key_pem).hexdigest(), len(key_pem))
        manifest = {**document, "format": PACK_FORMAT,
                    "signer": {**document.get("signer", {}), "fingerprint": fingerprint(public),
                               "key_id": key_id(public)},
                    "files": [{"path": path, "sha256": digest, "size": size}
                              for path, (digest, size) in sorted(files.items())]}
        manifest_bytes = canonical_manifest(manifest)
        (temporary / MANIFEST).write_bytes(manifest_bytes)
        (temporary / SIGNATURE).write_bytes(_signature_file(private_key.sign(manifest_bytes)))
        for path in temporary.rglob("*"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        os.chmod(temporary, 0o755)
        _check_out(out)  # again: something may have appeared there while the pack was written
        if out.exists():
            out.rmdir()  # empty (checked): the rename below takes its place
        os.rename(temporary, out)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return manifest


# --------------------------------------------------------------------------- verifying


def _walk(root: Path, problems: list[str]) -> dict[str, Path]:
    """Every regular file under root by its path relative to root; anything else is a problem."""
    found: dict[str, Path] = {}
    pending = [root]
    while pending:
        folder = pending.pop()
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            relative = Path(entry.path).relative_to(root).as_posix()
            if entry.is_symlink():
                problems.append(f"{relative}: is a link (a pack holds only regular files)")
            elif entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                found[relative] = Path(entry.path)
            else:
                problems.append(f"{relative}: is not a regular file")
    return found


def _read_small(path: Path, limit: int = 256 << 20) -> bytes:
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(descriptor, "rb") as handle:
        return handle.read(limit)


def _hash_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(descriptor, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def verify_pack(directory: Path, public_key: Ed25519PublicKey | None = None,
                expected_fingerprint: str | None = None) -> PackVerification:
    """Check a pack's signature and every file; with no `public_key`, the pack's own public_key.pem is used
    (then compare the fingerprint reported, or pass `expected_fingerprint`, with the department's)."""
    result = PackVerification(ok=False)
    problems = result.problems
    try:
        mode = os.stat(directory, follow_symlinks=False).st_mode
    except OSError as exc:
        raise PackError(f"{directory}: cannot read the pack: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(mode):
        raise PackError(f"{directory}: not a folder (an evidence pack is a folder)")
    present = _walk(directory, problems)
    for name in (MANIFEST, SIGNATURE):
        if name not in present:
            problems.append(f"{name}: missing")
    if MANIFEST not in present or SIGNATURE not in present:
        return result
    manifest_bytes = _read_small(present[MANIFEST])
    signature_text = _read_small(present[SIGNATURE], 1024)
    if public_key is None:
        if PUBLIC_KEY not in present:
            problems.append(f"{PUBLIC_KEY}: missing, and no --public-key was given")
            return result
        try:
            public_key = load_public_key(_read_small(present[PUBLIC_KEY], 64 << 10), PUBLIC_KEY)
        except PackError as exc:
            problems.append(str(exc))
            return result
    result.signer_fingerprint = fingerprint(public_key)
    if expected_fingerprint and expected_fingerprint.lower() not in (result.signer_fingerprint,
                                                                     result.signer_fingerprint[:16]):
        problems.append(f"the key's fingerprint {result.signer_fingerprint} is not the expected "
                        f"{expected_fingerprint}")
        return result
    try:
        signature = base64.b64decode(signature_text.removesuffix(b"\n"), validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if not signature or _signature_file(signature) != signature_text:
        problems.append(f"{SIGNATURE}: not a base64 signature and one newline")
        return result
    try:
        public_key.verify(signature, manifest_bytes)
    except InvalidSignature:
        problems.append(f"{MANIFEST}: the signature does not match it under key {result.signer_fingerprint}: "
                        "the manifest was changed after signing, or another key signed it")
        return result
    manifest: dict[str, Any] = json.loads(manifest_bytes)  # signed by the key: its JSON is the signer's
    result.manifest = manifest
    if manifest.get("format") != PACK_FORMAT:
        problems.append(f"{MANIFEST}: format {manifest.get('format')!r} is not {PACK_FORMAT}")
        return result
    if (manifest.get("signer") or {}).get("fingerprint") != result.signer_fingerprint:
        problems.append(f"{MANIFEST}: names signer {(manifest.get('signer') or {}).get('fingerprint')}, not the key "
                        f"that verified it")
    listed = {entry["path"]: entry for entry in manifest.get("files", [])}
    for path in sorted(set(present) - set(listed) - {MANIFEST, SIGNATURE}):
        problems.append(f"{path}: not in the signed manifest (an added file)")
    for path in sorted(set(listed) - set(present)):
        problems.append(f"{path}: in the signed manifest but missing")
    for path in sorted(set(listed) & set(present)):
        digest, size = _hash_file(present[path])
        if digest != listed[path]["sha256"] or size != listed[path]["size"]:
            problems.append(f"{path}: differs from the signed manifest (changed)")
        result.files_checked += 1
    for removal in manifest.get("removals", []):
        for item in removal.get("evidence", []):
            if item.get("path") not in listed:
                problems.append(f"removal of device {removal.get('device_id')}: its evidence {item.get('name')!r} "
                                "is not among the pack's files")
    result.ok = not problems
    return result
