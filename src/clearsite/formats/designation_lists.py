"""Reading official designation-list exports into plain list entries.

Three published formats are read; each entry keeps its row (or position) so a refusal or an
unmatched entry can be named:

* The US Consolidated Screening List (CSL) of the International Trade Administration, which
  carries the BIS Entity List, the Treasury NS-CMIC list and others, as its bulk CSV and JSON
  downloads (https://data.trade.gov/downloadable_consolidated_screening_list/v1/consolidated.csv
  and .../consolidated.json; field list: https://developer.trade.gov/consolidated-screening-list).
  Fields used: `name`, `alt_names` (a list in JSON; `; `-separated in CSV), `source` (the list's
  full name, e.g. "Entity List (EL) - Bureau of Industry and Security"), `start_date`,
  `federal_register_notice`, `source_list_url`, and `addresses[].country` (JSON) or `addresses`
  (CSV text ending in the country code). The JSON file is `{"results": [...]}`; a bare list of
  records is accepted too.
* OpenSanctions' "targets simple" CSV (https://www.opensanctions.org/docs/bulk/csv/): `id`,
  `schema`, `name`, `aliases`, `countries`, `sanctions`, `dataset`, `first_seen`, `last_seen`,
  with multiple values separated by `;`.

Nothing here decides which known company an entry is: that is `services.knowledge`'s matching.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from clearsite.core.errors import InputError
from clearsite.formats.guard import check_lines, read_input_file

__all__ = ["DesignationListError", "ListEntry", "read_designation_list"]

MAX_LIST_BYTES = 256 << 20  # the full CSL JSON is ~35 MB; OpenSanctions' default targets CSV ~ 200 MB
_CSL_CSV_COLUMNS = {"name", "source", "alt_names", "start_date"}
_OPENSANCTIONS_COLUMNS = {"id", "schema", "name", "aliases", "dataset", "first_seen"}
_COUNTRY_AT_END = re.compile(r",\s*([A-Z]{2})\s*$")
_AKA = re.compile(r"\s*\((?:a\.k\.a\.|f\.k\.a\.|aka)\s+([^)]*)\)", re.IGNORECASE)


class DesignationListError(InputError, ValueError):
    """A list export that cannot be read as one of the supported formats; names the file and row."""


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One listed party as a list export states it."""

    row: int  # 1-based data row (CSV: the line after the header is 1), or position in the JSON list
    names: tuple[str, ...]  # the primary name first, then every alternative name
    list_name: str  # which list, as the export names it (CSL `source`; OpenSanctions datasets + sanctions)
    listed_on: date | None
    countries: tuple[str, ...]  # ISO 3166 alpha-2, upper case; empty when the export gives none
    reference: str  # a Federal Register notice, list URL or OpenSanctions id: where to check the entry
    kind: str  # "entity", "individual", "vessel"... as the export says; "" when it does not


def read_designation_list(path: Path) -> tuple[str, list[ListEntry]]:
    """The export's format name ("csl-csv", "csl-json", "opensanctions-csv") and its entries."""
    data = read_input_file(path, DesignationListError, limit=MAX_LIST_BYTES, what="list export")
    name = path.name
    text = _decode(data, name)
    if text.lstrip().startswith(("{", "[")):
        return "csl-json", list(_csl_json(text, name))
    check_lines(data, name, DesignationListError)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = {c.strip().lower() for c in reader.fieldnames or []}
    if columns >= _OPENSANCTIONS_COLUMNS:
        return "opensanctions-csv", list(_rows(reader, name, _opensanctions_row))
    if columns >= _CSL_CSV_COLUMNS:
        return "csl-csv", list(_rows(reader, name, _csl_csv_row))
    raise DesignationListError(
        f"{name}: not a Consolidated Screening List CSV (needs columns {', '.join(sorted(_CSL_CSV_COLUMNS))}) "
        f"or an OpenSanctions targets CSV (needs {', '.join(sorted(_OPENSANCTIONS_COLUMNS))})")


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DesignationListError(f"{name}: not UTF-8 text (byte {exc.start})") from None


def _rows(reader: csv.DictReader[str], name: str, parse: Any) -> Iterator[ListEntry]:
    try:
        for index, raw in enumerate(reader, start=1):
            row = {(k or "").strip().lower(): (v or "").strip() if isinstance(v, str) else "" for k, v in raw.items()}
            yield parse(row, index, name)
    except csv.Error as exc:
        raise DesignationListError(f"{name}: row {reader.line_num}: not valid CSV: {exc}") from None


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def _date(text: str, name: str, row: int, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise DesignationListError(f"{name}: row {row}: {field} {text!r} is not a date (YYYY-MM-DD)") from None


def _names(primary: str, alternatives: list[str]) -> tuple[str, ...]:
    """The primary name without its inline "(a.k.a. X)" parts, those parts, then the alternatives; each once."""
    inline = _AKA.findall(primary)
    found: list[str] = []
    for text in (_AKA.sub("", primary), *inline, *alternatives):
        text = text.strip()
        if text and text not in found:
            found.append(text)
    return tuple(found)


def _need_name(row: dict[str, str], name: str, index: int) -> str:
    primary = row.get("name", "")
    if not primary:
        raise DesignationListError(f"{name}: row {index}: the name field is empty")
    return primary


def _csl_csv_row(row: dict[str, str], index: int, name: str) -> ListEntry:
    primary = _need_name(row, name, index)
    countries = {m.group(1) for part in _split(row.get("addresses", "")) if (m := _COUNTRY_AT_END.search(part))}
    return ListEntry(
        row=index, names=_names(primary, _split(row.get("alt_names", ""))), list_name=row.get("source", ""),
        listed_on=_date(row.get("start_date", ""), name, index, "start_date"), countries=tuple(sorted(countries)),
        reference=row.get("federal_register_notice") or row.get("source_list_url") or "",
        kind=row.get("type", "").lower())


def _opensanctions_row(row: dict[str, str], index: int, name: str) -> ListEntry:
    primary = _need_name(row, name, index)
    listed = " ; ".join(part for part in (row.get("dataset", ""), row.get("sanctions", "")) if part)
    return ListEntry(
        row=index, names=_names(primary, _split(row.get("aliases", ""))), list_name=listed,
        listed_on=_date(row.get("first_seen", ""), name, index, "first_seen"),
        countries=tuple(sorted(c.upper() for c in _split(row.get("countries", "")))),
        reference=f"https://www.opensanctions.org/entities/{row['id']}/" if row.get("id") else "",
        kind=row.get("schema", "").lower())


def _csl_json(text: str, name: str) -> Iterator[ListEntry]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DesignationListError(f"{name}: not valid JSON: line {exc.lineno}: {exc.msg}") from None
    records = document.get("results") if isinstance(document, dict) else document
    if not isinstance(records, list):
        raise DesignationListError(f"{name}: expected a CSL JSON export: a list of records under \"results\"")
    for index, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise DesignationListError(f"{name}: record {index}: expected an object")
        primary = record.get("name")
        if not isinstance(primary, str) or not primary.strip():
            raise DesignationListError(f"{name}: record {index}: the name field is missing or empty")
        alternatives = record.get("alt_names") or []
        if isinstance(alternatives, str):
            alternatives = _split(alternatives)
        if not isinstance(alternatives, list) or not all(isinstance(a, str) for a in alternatives):
            raise DesignationListError(f"{name}: record {index}: alt_names must be a list of names")
        addresses = record.get("addresses") or []
        if not isinstance(addresses, list):
            raise DesignationListError(f"{name}: record {index}: addresses must be a list")
        countries = {str(a["country"]).upper() for a in addresses if isinstance(a, dict) and a.get("country")}
        start = record.get("start_date")
        yield ListEntry(
            row=index, names=_names(primary.strip(), alternatives), list_name=str(record.get("source") or ""),
            listed_on=_date(start if isinstance(start, str) else "", name, index, "start_date"),
            countries=tuple(sorted(countries)),
            reference=str(record.get("federal_register_notice") or record.get("source_list_url") or ""),
            kind=str(record.get("type") or "").lower())
