"""Supplier attestation files (YAML list or CSV) read from disk; the parsing rules live in the core."""

from __future__ import annotations

from pathlib import Path

from clearsite.core.screen.attestations import AttestationError, parse_attestations
from clearsite.core.screen.types import Attestation
from clearsite.formats.guard import read_input_file

MAX_ATTESTATION_BYTES = 10 << 20  # thousands of signed statements; a larger file is not a list of them


def load_attestations(path: Path) -> list[Attestation]:
    """Attestations from a YAML list or a CSV file with columns supplier, statement, signed, expires, source."""
    data = read_input_file(path, AttestationError, limit=MAX_ATTESTATION_BYTES, what="attestation file")
    return parse_attestations(data, path.name)


__all__ = ["load_attestations"]
