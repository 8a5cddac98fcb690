"""Supplier attestation files: a YAML list or a CSV with columns supplier, statement, signed, expires, source.

Each entry becomes an `Attestation` (clearsite.core.screen); what one means for a quote line is the core's.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from dateutil import parser as date_parser

from clearsite.core.errors import InputError
from clearsite.core.screen.attestations import parse_statement
from clearsite.core.screen.types import Attestation, Statement
from clearsite.core.text import has_unsafe_characters
from clearsite.formats.guard import read_input_file

FIELDS = ("supplier", "statement", "signed", "expires", "source")
MAX_ATTESTATIONS = 100_000
MAX_ATTESTATION_BYTES = 10 << 20  # thousands of signed statements; a larger file is not a list of them


class AttestationError(InputError, ValueError):
    """An attestation file or entry is malformed; the message names the file, entry and field."""


def load_attestations(path: Path) -> list[Attestation]:
    """Attestations from a YAML list or a CSV file with columns supplier, statement, signed, expires, source."""
    data = read_input_file(path, AttestationError, limit=MAX_ATTESTATION_BYTES, what="attestation file")
    return parse_attestations(data, path.name)


def parse_attestations(data: bytes, file_name: str) -> list[Attestation]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AttestationError(f"{file_name}: not UTF-8 text") from exc
    if file_name.lower().endswith(".csv"):
        rows = list(_csv_entries(text, file_name))
        first_number = 2  # the header is row 1
        where = "row"
    else:
        rows = _yaml_entries(text, file_name)
        first_number = 1
        where = "entry"
    if len(rows) > MAX_ATTESTATIONS:
        raise AttestationError(f"{file_name}: {len(rows)} entries; at most {MAX_ATTESTATIONS} are accepted")
    return [_attestation(row, f"{file_name}: {where} {number}")
            for number, row in enumerate(rows, start=first_number)]


def _yaml_entries(text: str, file_name: str) -> list[Any]:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AttestationError(f"{file_name}: not valid YAML: {' '.join(str(exc).split())[:200]}") from exc
    if loaded is None:
        return []
    if isinstance(loaded, dict) and "attestations" in loaded:
        loaded = loaded["attestations"]
    if not isinstance(loaded, list):
        raise AttestationError(f"{file_name}: expected a list of attestations (supplier, statement, signed, expires, source)")
    return loaded


def _csv_entries(text: str, file_name: str) -> Iterable[dict[str, str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return
        columns = [re.sub(r"[^a-z]+", "", h.casefold()) for h in header]
        missing = [f for f in FIELDS if f not in columns]
        if missing:
            raise AttestationError(f"{file_name}: missing column(s) {', '.join(missing)} (need {', '.join(FIELDS)})")
        for cells in reader:
            if any(c.strip() for c in cells):
                yield {name: cells[i] if i < len(cells) else "" for i, name in enumerate(columns)}
    except csv.Error as exc:
        raise AttestationError(f"{file_name}: not a readable CSV file: {exc}") from exc


def _attestation(entry: Any, where: str) -> Attestation:
    if not isinstance(entry, dict):
        raise AttestationError(f"{where}: expected supplier, statement, signed, expires and source")
    unknown = sorted(str(k) for k in entry if str(k) not in FIELDS)
    if unknown:
        raise AttestationError(f"{where}: unknown field(s) {', '.join(unknown)} (use {', '.join(FIELDS)})")
    supplier = _text(entry, "supplier", where)
    statement_text = _text(entry, "statement", where)
    statement = parse_statement(statement_text)
    if statement is None:
        accepted = "; ".join(repr(s.value) for s in Statement)
        raise AttestationError(f"{where}: statement {statement_text[:80]!r} is not one screening knows (use {accepted})")
    signed = _date(entry, "signed", where)
    expires = _date(entry, "expires", where)
    if expires <= signed:
        raise AttestationError(f"{where}: expires {expires} is not after signed {signed}")
    return Attestation(supplier, statement, signed, expires, _text(entry, "source", where))


def _text(entry: dict[str, Any], name: str, where: str) -> str:
    value = entry.get(name)
    if isinstance(value, (dict, list)):
        raise AttestationError(f"{where}: {name} must be text")
    text = " ".join(str(value).split()) if value is not None else ""
    if not text:
        raise AttestationError(f"{where}: {name} is missing")
    if has_unsafe_characters(text):  # a signed statement is taken as written or not at all
        raise AttestationError(f"{where}: {name} holds control or bidi characters; remove them")
    return text[:500]


def _date(entry: dict[str, Any], name: str, where: str) -> date:
    value = entry.get(name)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(entry, name, where)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        return date_parser.parse(text, dayfirst=True).date()  # UK writing: 01/06/2026 is 1 June
    except (ValueError, OverflowError) as exc:
        raise AttestationError(f"{where}: {name} {text[:40]!r} is not a date (use YYYY-MM-DD)") from exc


__all__ = ["AttestationError", "load_attestations", "parse_attestations"]
