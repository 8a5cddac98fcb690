"""Knowledge bundles: the knowledge YAML files with a manifest signed with Ed25519.

A bundle is a directory, a .tar.gz (.tgz) or a .zip holding, at its top level and nothing else:

* `manifest.json` — `{"format": "clearsite-knowledge-bundle/1", "version", "created", "signer",
  "files": [{"name", "sha256", "size"}, ...]}`, one entry per knowledge file;
* `manifest.sig` — the Ed25519 signature of manifest.json's exact bytes, base64;
* the knowledge files the manifest lists.

`read_bundle` reads the whole bundle into memory without extracting anything to disk: only regular
files at the top level, named as knowledge files may be, within size limits (no path traversal, no
links, no devices, no archive bombs). `verify_bundle` then checks the signature against the keys a
department trusts and every file against the manifest; only its answer may be used.

Keys are PEM files: PKCS#8 private keys, SubjectPublicKeyInfo public keys. A key's id is the first
16 hex digits of the SHA-256 of its raw 32-byte public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import os
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from clearsite.core.errors import CheckFailed, InputError
from clearsite.core.knowledge import FILES

__all__ = [
    "BUNDLE_FORMAT",
    "BundleError",
    "BundleRefused",
    "KeyPair",
    "RawBundle",
    "generate_key_pair",
    "key_id",
    "load_private_key",
    "load_trusted_keys",
    "read_bundle",
    "verify_bundle",
    "write_bundle",
]

BUNDLE_FORMAT = "clearsite-knowledge-bundle/1"
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
ALLOWED_NAMES = frozenset({MANIFEST, SIGNATURE, *FILES})
MAX_FILE_BYTES = 32 << 20  # the largest knowledge file is well under 1 MB today
MAX_BUNDLE_BYTES = 128 << 20  # what every member together may hold once read
MAX_MEMBERS = 64
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".zip")


class BundleError(InputError, ValueError):
    """A bundle or key that cannot be read as asked (a missing file, not a bundle, a bad key file): exit 2."""


class BundleRefused(CheckFailed):
    """A bundle that was read but fails a check: unsigned, untrusted, tampered or unsafe. exit 1."""


@dataclass(frozen=True)
class RawBundle:
    """What a bundle holds, read into memory and not yet trusted."""

    origin: str  # the bundle's file or directory name, for messages
    members: dict[str, bytes]  # top-level name -> bytes


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes
    public_pem: bytes
    key_id: str


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_key_pair() -> KeyPair:
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    return KeyPair(
        private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()),
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        key_id(public))


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise BundleError(f"{path.name}: cannot read the key: {exc.strerror or exc}") from None
    except (ValueError, TypeError) as exc:
        raise BundleError(f"{path.name}: not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError(f"{path.name}: not an Ed25519 private key")
    return key


def load_trusted_keys(directory: Path) -> dict[str, Ed25519PublicKey]:
    """Key id -> public key, for every *.pem public key in the directory (none when it does not exist)."""
    keys: dict[str, Ed25519PublicKey] = {}
    if not directory.is_dir():
        return keys
    for path in sorted(directory.glob("*.pem")):
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise BundleError(f"trusted key {path.name}: not a PEM public key: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise BundleError(f"trusted key {path.name}: not an Ed25519 public key")
        keys[key_id(key)] = key
    return keys


# --------------------------------------------------------------------------- making


def build_manifest(files: dict[str, bytes], version: str, created: datetime, signer: str) -> bytes:
    entries = [{"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
               for name, data in sorted(files.items())]
    document = {"format": BUNDLE_FORMAT, "version": version, "created": created.isoformat(timespec="seconds"),
                "signer": signer, "files": entries}
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()


def write_bundle(out: Path, files: dict[str, bytes], private_key: Ed25519PrivateKey, version: str,
                 created: datetime) -> dict[str, Any]:
    """Write a signed bundle of `files` to `out` (a directory, or an archive by its suffix); its manifest."""
    manifest = build_manifest(files, version, created, key_id(private_key.public_key()))
    members = {**files, MANIFEST: manifest, SIGNATURE: base64.b64encode(private_key.sign(manifest)) + b"\n"}
    name = out.name.lower()
    if name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(out, "w:gz") as archive:
            for member, data in sorted(members.items()):
                info = tarfile.TarInfo(member)
                info.size, info.mode, info.mtime = len(data), 0o644, int(created.timestamp())
                archive.addfile(info, io.BytesIO(data))
    elif name.endswith(".zip"):
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for member, data in sorted(members.items()):
                archive.writestr(member, data)
    else:
        if out.exists() and any(out.iterdir()):
            raise BundleError(f"{out}: the directory is not empty; give a new directory or an archive name")
        out.mkdir(parents=True, exist_ok=True)
        for member, data in members.items():
            (out / member).write_bytes(data)
    result: dict[str, Any] = json.loads(manifest)
    return result


# --------------------------------------------------------------------------- reading


def _check_name(origin: str, name: str) -> None:
    if name not in ALLOWED_NAMES:
        raise BundleRefused(f"{origin}: unexpected member {name!r}: a bundle holds only manifest.json, "
                            "manifest.sig and the knowledge files, at its top level")


class _Budget:
    """Counts members and bytes as they are read, refusing a bundle that would exceed the limits."""

    def __init__(self, origin: str) -> None:
        self.origin, self.members, self.bytes = origin, 0, 0

    def take(self, name: str, size: int) -> None:
        self.members += 1
        self.bytes += size
        if self.members > MAX_MEMBERS:
            raise BundleRefused(f"{self.origin}: more than {MAX_MEMBERS} members")
        if size > MAX_FILE_BYTES:
            raise BundleRefused(f"{self.origin}: {name}: {size:,} bytes is more than a knowledge file may hold")
        if self.bytes > MAX_BUNDLE_BYTES:
            raise BundleRefused(f"{self.origin}: more than {MAX_BUNDLE_BYTES:,} bytes in all")


def read_bundle(path: Path) -> RawBundle:
    """Every member of a bundle directory or archive, read into memory; refuses anything unsafe."""
    origin = path.name or str(path)
    try:
        mode = os.stat(path, follow_symlinks=False).st_mode
    except OSError as exc:
        raise BundleError(f"{origin}: cannot read the bundle: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        return RawBundle(origin, _read_directory(path, origin))
    if not stat.S_ISREG(mode):
        raise BundleError(f"{origin}: not a directory or a regular file; give the bundle itself")
    lower = origin.lower()
    if lower.endswith((".tar.gz", ".tgz")):
        return RawBundle(origin, _read_tar(path, origin))
    if lower.endswith(".zip"):
        return RawBundle(origin, _read_zip(path, origin))
    raise BundleError(f"{origin}: a bundle is a directory, a .tar.gz or a .zip")


def _read_directory(path: Path, origin: str) -> dict[str, bytes]:
    budget, members = _Budget(origin), {}
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        _check_name(origin, entry.name)
        if not entry.is_file(follow_symlinks=False):
            raise BundleRefused(f"{origin}: {entry.name} is not a regular file (links are refused)")
        budget.take(entry.name, entry.stat(follow_symlinks=False).st_size)
        try:  # O_NOFOLLOW: a file swapped for a link after the check above is refused, not followed
            descriptor = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            raise BundleRefused(f"{origin}: {entry.name} cannot be read: {exc.strerror or exc}") from None
        with os.fdopen(descriptor, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise BundleRefused(f"{origin}: {entry.name} is more than a knowledge file may hold")
        members[entry.name] = data
    return members


def _read_tar(path: Path, origin: str) -> dict[str, bytes]:
    budget, members = _Budget(origin), {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for info in archive:  # streamed: a member's size is checked before any of it is read
                name = info.name.removeprefix("./")
                if info.isdir() and name in ("", "."):
                    continue
                _check_name(origin, name)
                if not info.isreg():
                    raise BundleRefused(f"{origin}: {name} is not a regular file (links and devices are refused)")
                if name in members:
                    raise BundleRefused(f"{origin}: {name} appears twice")
                budget.take(name, info.size)
                handle = archive.extractfile(info)
                if handle is None:
                    raise BundleRefused(f"{origin}: {name} cannot be read")
                members[name] = handle.read(info.size)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BundleError(f"{origin}: not a readable .tar.gz: {exc}") from None
    return members


def _read_zip(path: Path, origin: str) -> dict[str, bytes]:
    budget, members = _Budget(origin), {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = info.filename
                _check_name(origin, name)
                if stat.S_IFMT(info.external_attr >> 16) not in (0, stat.S_IFREG) or info.is_dir():
                    raise BundleRefused(f"{origin}: {name} is not a regular file (links are refused)")
                if name in members:
                    raise BundleRefused(f"{origin}: {name} appears twice")
                budget.take(name, info.file_size)
                with archive.open(info) as handle:
                    data = handle.read(info.file_size + 1)  # a member that inflates past its declared size is cut
                if len(data) != info.file_size:
                    raise BundleRefused(f"{origin}: {name} does not hold the size it declares")
                members[name] = data
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as exc:
        raise BundleError(f"{origin}: not a readable .zip: {exc}") from None
    return members


# --------------------------------------------------------------------------- verifying


def verify_bundle(bundle: RawBundle, trusted: dict[str, Ed25519PublicKey], keys_from: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and knowledge files of a bundle whose signature a trusted key made and whose files
    are exactly those the manifest lists, byte for byte; BundleRefused naming the first failure."""
    origin, members = bundle.origin, bundle.members
    if MANIFEST not in members:
        raise BundleRefused(f"{origin}: no manifest.json: not a knowledge bundle")
    if SIGNATURE not in members:
        raise BundleRefused(f"{origin}: unsigned (no manifest.sig); only signed bundles are installed")
    manifest_bytes = members[MANIFEST]
    try:
        signature = base64.b64decode(members[SIGNATURE].strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BundleRefused(f"{origin}: manifest.sig is not a base64 signature") from None
    if not trusted:
        raise BundleRefused(f"{origin}: no trusted keys in {keys_from}; add the signer's public key there first")
    signer = next((kid for kid, key in trusted.items() if _signed_by(key, signature, manifest_bytes)), None)
    if signer is None:
        claimed = _claimed_signer(manifest_bytes)
        if claimed and claimed not in trusted:
            raise BundleRefused(f"{origin}: signed by key {claimed}, which is not trusted (keys in {keys_from})")
        raise BundleRefused(f"{origin}: the signature does not match manifest.json under any trusted key: "
                            "the bundle was changed after signing, or signed by an untrusted key")
    manifest = json.loads(manifest_bytes)  # signed by a trusted key: its JSON is ours
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleRefused(f"{origin}: manifest format {manifest.get('format')!r} is not {BUNDLE_FORMAT}")
    listed = {entry["name"]: entry for entry in manifest["files"]}
    present = set(members) - {MANIFEST, SIGNATURE}
    for name in sorted(present - set(listed)):
        raise BundleRefused(f"{origin}: {name} is not in the signed manifest (an extra file)")
    for name in sorted(set(listed) - present):
        raise BundleRefused(f"{origin}: {name} is in the signed manifest but missing from the bundle")
    for name in sorted(listed):
        data, entry = members[name], listed[name]
        if len(data) != entry["size"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise BundleRefused(f"{origin}: {name} differs from the signed manifest (tampered)")
    if set(listed) != set(FILES):
        missing = sorted(set(FILES) - set(listed))
        raise BundleRefused(f"{origin}: the manifest does not list every knowledge file (missing: {', '.join(missing)})")
    manifest["signer"] = signer
    return manifest, {name: members[name] for name in FILES}


def _signed_by(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def _claimed_signer(manifest_bytes: bytes) -> str | None:
    """The signer the (unverified) manifest names, only to word the refusal."""
    try:
        signer = json.loads(manifest_bytes).get("signer")
    except (ValueError, AttributeError):
        return None
    return signer if isinstance(signer, str) and signer.isalnum() and len(signer) <= 64 else None
