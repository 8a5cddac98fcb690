"""Supplier attestation files (YAML list or CSV) read from disk; the parsing rules live in the core."""

from __future__ import annotations

from pathlib import Path

from clearsite.core.screen.attestations import AttestationError, parse_attestations
from clearsite.core.screen.types import Attestation


def load_attestations(path: Path) -> list[Attestation]:
    """Attestations from a YAML list or a CSV file with columns supplier, statement, signed, expires, source."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AttestationError(f"{path}: cannot read the attestation file: {exc.strerror or exc}") from exc
    return parse_attestations(data, path.name)


__all__ = ["load_attestations"]
