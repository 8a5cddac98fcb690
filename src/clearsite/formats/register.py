"""Reading asset registers as estates teams really keep them: CSV or XLSX, any header wording,
mixed date formats, junk rows. Pure: bytes in, rows and row-numbered problems out."""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

from dateutil import parser as date_parser

from clearsite.core.errors import InputError
from clearsite.core.names import normalise_mac
from clearsite.core.text import clean_text, has_unsafe_characters
from clearsite.formats.guard import check_lines, check_workbook, read_input_file

FIELDS = ("brand", "model", "serial", "mac", "ip", "site", "location", "install_date", "description",
          "device_type", "firmware", "asset_tag")
IDENTIFYING = ("brand", "model", "serial", "mac")  # a row with none of these says nothing about a device
# One record of a table as its reader gives it: text from CSV, typed cells (numbers, dates) from a workbook.
Row = list[Any]

# Header wordings seen in real registers, compared after folding case and punctuation.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "brand": ("make", "manufacturer", "brand", "vendor", "mfr", "mfg", "maker", "oem", "make brand",
              "manufacturer name", "camera make", "brand name", "make model brand"),
    "model": ("model", "model no", "model number", "part no", "part number", "part", "product code",
              "model part no", "model ref", "camera model", "product model", "sku", "model name", "part code"),
    "serial": ("serial", "serial no", "serial number", "s n", "sn", "serial num", "serialnumber", "device serial"),
    "mac": ("mac", "mac address", "mac addr", "hw address", "hardware address", "ethernet address",
            "physical address", "mac id"),
    "ip": ("ip", "ip address", "ipv4", "ip addr", "ipv4 address", "host ip", "network address"),
    "site": ("site", "site name", "building", "premises", "property", "site building", "building name", "estate"),
    "location": ("location", "position", "room", "area", "floor", "camera location", "mounting location",
                 "location on site", "zone", "where"),
    "install_date": ("installed", "install date", "installation date", "date installed", "commissioned",
                     "install", "date of installation", "commissioning date", "installed on", "fitted"),
    "description": ("description", "notes", "comments", "remarks", "desc", "camera description", "note", "comment"),
    "device_type": ("type", "device type", "category", "asset type", "equipment type", "asset class", "device"),
    "firmware": ("firmware", "firmware version", "fw", "fw version", "software version"),
    "asset_tag": ("asset tag", "asset id", "asset no", "asset number", "tag", "asset ref", "asset"),
}
_HEADER_INDEX = {re.sub(r"[^0-9a-z]+", "", s): f for f, words in SYNONYMS.items() for s in words}
MAX_CELL = 500
MAX_REGISTER_BYTES = 1 << 30  # a million-row CSV register is ~150 MB
_MIN_YEAR = 1990
_MONTH_ONLY = re.compile(r"^[A-Za-z]{3,9}\.?\s+\d{4}$")
_EXCEL_EPOCH = date(1899, 12, 30)
# Values already in canonical form need no parsing: a million-row register is almost all of these.
_CANONICAL_MAC = re.compile(r"[0-9A-F]{2}(?::[0-9A-F]{2}){5}")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
# What people type into a cell they have nothing for: it says nothing about a device.
PLACEHOLDERS = frozenset(("n/a", "na", "n.a.", "n/k", "none", "nil", "null", "unknown", "tbc", "tba", "tbd", "-",
                          "--", "---", "?", "??", "???", "\u2013", "\u2014", "not known", "not applicable"))
# The spellings as typed, so the per-row check is one set lookup, not a casefold of every cell.
_PLACEHOLDER_CELLS = frozenset(form for p in PLACEHOLDERS for form in (p, p.upper(), p.title(), p.capitalize()))
_TOTAL_INITIALS = frozenset("tTgGsS")  # a totals line opens with Total, Grand total or Sub-total
# A totals line: "TOTAL", "Grand total: 74 devices", "Sub-total (site A)" … with a count somewhere on the row.
_TOTAL_LABEL = re.compile(r"(?:grand\s+|sub-?\s*)?totals?\s*:?\s*(?:\d[\d,]*(?:\s+\w+)?)?", re.IGNORECASE)
_TOTAL_START = re.compile(r"(?:grand\s+|sub-?\s*)?totals?\b", re.IGNORECASE)
_COUNT = re.compile(r"\b\d[\d,]*\s+(?:devices?|cameras?|units?|items?|assets?|rows?|entries)\b", re.IGNORECASE)


class RegisterError(InputError, ValueError):
    """The file cannot be read as a register at all; the message names the file and what to fix."""


@dataclass(frozen=True, slots=True)
class RegisterRow:
    row_number: int  # as a person sees it in a spreadsheet: the header is row 1 (or later)
    values: dict[str, str]  # canonical field → cleaned text
    install_date: date | None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RowProblem:
    row_number: int
    reason: str

    def describe(self, file_name: str) -> str:
        return f"{file_name}: row {self.row_number}: {self.reason}"


@dataclass
class RegisterParse:
    file_name: str
    header_row: int
    columns: dict[str, str]  # canonical field → header as written
    rows: list[RegisterRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    blank_rows: int = 0


def header_field(header: str, mapping: dict[str, str] | None = None) -> str | None:
    if mapping:
        for written, canonical in mapping.items():
            if written.strip().casefold() == header.strip().casefold():
                return canonical
    return _HEADER_INDEX.get(re.sub(r"[^0-9a-z]+", "", header.casefold()))


def clean_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = " ".join(clean_text(str(value)).split())
    return text[:MAX_CELL]


def parse_date(text: str, today: date | None = None) -> date | None:
    """Dates as registers hold them: ISO, UK day-first, '4 Mar 2021', 'March 2021', Excel serials.

    Raises ValueError with the text when it is not a plausible date.
    """
    return _parse_date(text.strip(), today or date.today())


@lru_cache(maxsize=65536)  # a register repeats a few thousand distinct dates a million times
def _parse_date(text: str, today: date) -> date | None:
    if not text:
        return None
    latest = today + timedelta(days=366)
    if re.fullmatch(r"\d{5}(\.\d+)?", text):  # an Excel serial day number that lost its format
        value = _EXCEL_EPOCH + timedelta(days=int(float(text)))
    elif re.fullmatch(r"\d{4}", text):
        value = date(int(text), 1, 1)
    else:
        try:
            parsed = date_parser.parse(text, dayfirst=not re.match(r"^\d{4}-", text),
                                       default=datetime(2000, 1, 1))
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"not a date: {text!r}") from exc
        value = parsed.date()
        if _MONTH_ONLY.match(text):
            value = value.replace(day=1)
    if not (value.year >= _MIN_YEAR) or value > latest:
        raise ValueError(f"implausible install date: {text!r}")
    return value


def read_table(data: bytes, file_name: str) -> Iterator[Row]:
    """Rows of cells from CSV (any common delimiter and encoding) or XLSX (first non-empty sheet).

    XLS, XLSB and ODS are refused with what to do instead: formats.guard cannot bound what they inflate to.
    """
    suffix = Path(file_name).suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"):
        return _read_workbook(data, file_name)
    return _read_csv(data, file_name)


def _read_csv(data: bytes, file_name: str) -> CsvRecords:
    if data[:4] == b"PK\x03\x04":
        raise RegisterError(f"{file_name}: looks like a spreadsheet; give it an .xlsx name")
    check_lines(data, file_name, RegisterError)
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            sample = data.decode(encoding)[:65536]  # decodes all of it: the check that the encoding fits
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes almost anything
        raise RegisterError(f"{file_name}: cannot decode the file as UTF-8 or Windows-1252 text")
    if "\x00" in sample[:4096]:
        raise RegisterError(f"{file_name}: binary data, not a CSV register")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    csv.field_size_limit(1_000_000)
    # No quote or escape character anywhere: no field can span lines, so each line is one record.
    plain = encoding.removesuffix("-sig")  # encoding with "utf-8-sig" would put a byte order mark before it
    one_per_line = all(c is None or c.encode(plain) not in data for c in (dialect.quotechar, dialect.escapechar))
    # Decode as we go: a StringIO of the whole text would hold it again at four bytes a character.
    return CsvRecords(io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline=""), dialect, one_per_line,
                      file_name)


class CsvRecords:
    """The records of a CSV text, in order. Passing over records is cheap when each is one line."""

    def __init__(self, text: io.TextIOWrapper, dialect: type[csv.Dialect] | csv.Dialect, one_per_line: bool,
                 file_name: str) -> None:
        self._text, self._one_per_line, self._file_name = text, one_per_line, file_name
        self._reader = csv.reader(text, dialect)  # pulls one line at a time from `text`, never ahead

    def __iter__(self) -> Iterator[Row]:
        return self

    def __next__(self) -> Row:
        try:
            return next(self._reader)
        except csv.Error as exc:
            raise RegisterError(f"{self._file_name}: not a readable CSV file: {exc}") from exc

    def skip(self, count: int) -> int:
        """Pass over up to `count` records without parsing them when that is safe; how many there were."""
        return sum(1 for _ in islice(self._text if self._one_per_line else self, count))


def _read_workbook(data: bytes, file_name: str) -> Iterator[Row]:
    from python_calamine import CalamineWorkbook

    check_workbook(data, file_name, RegisterError)  # before calamine allocates what the file asks for
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:
        raise RegisterError(f"{file_name}: not a readable spreadsheet: {' '.join(str(exc).split())[:200]}") from exc
    for name in book.sheet_names:
        # One row at a time (to_python would hold the whole sheet twice); it starts at row 1, so row
        # numbers are the sheet's, and leaves out empty leading columns, which shifts header and rows alike.
        rows = book.get_sheet_by_name(name).iter_rows()
        for leading_blank, row in enumerate(rows):
            if any(clean_cell(c) for c in row):
                yield from [[]] * leading_blank
                yield row
                yield from rows
                return


@dataclass
class RegisterReader:
    """A register whose header is found; iterate it for rows and problems, one at a time."""

    file_name: str
    header_row: int
    columns: dict[str, str]  # canonical field → header as written
    _fields: dict[int, str]
    _header: list[str]
    _rows: Iterator[Row]
    _today: date | None
    blank_rows: int = 0

    def __iter__(self) -> Iterator[RegisterRow | RowProblem]:
        for number, cells in enumerate(self._rows, start=self.header_row + 1):
            item = _parse_row(number, cells, self._fields, self._header, self._today)
            if item is None:
                self.blank_rows += 1
            else:
                yield item

    def row_chunks(self, size: int, part: int = 0, parts: int = 1) -> Iterator[list[RegisterRow | RowProblem]]:
        """This part's share of the rows, in chunks of `size` file rows: chunk k belongs to part k % parts.

        Every part reads the whole file but parses only its own chunks (passing over the others' lines
        unparsed when it can), so `parts` processes can share the work and a merger can put the chunks
        back in file order. Blank rows are not counted.
        """
        rows = self._rows
        skip = getattr(rows, "skip", None) or (lambda count: sum(1 for _ in islice(rows, count)))
        columns, header, today, first = self._fields, self._header, self._today, self.header_row + 1
        offset = 0  # always at a chunk boundary here
        while True:
            if (offset // size) % parts != part:
                passed = skip(size)
                offset += passed
                if passed < size:
                    return
                continue
            chunk: list[RegisterRow | RowProblem] = []
            read = 0
            for cells in islice(rows, size):
                read += 1
                item = _parse_row(first + offset, cells, columns, header, today)
                offset += 1
                if item is not None:
                    chunk.append(item)
            if not read:
                return
            yield chunk  # even when all its rows were blank: the merger counts chunks by position
            if read < size:
                return


def open_register(
    data: bytes,
    file_name: str,
    mapping: dict[str, str] | None = None,
    site_given: bool = False,
    today: date | None = None,
) -> RegisterReader:
    """Find the header and map its columns; raises RegisterError naming the file when it cannot."""
    rows = read_table(data, file_name)
    header: list[str] | None = None
    columns: dict[int, str] = {}
    header_row = 0
    for number, cells in enumerate(rows, start=1):
        texts = [clean_cell(c) for c in cells]
        found = {i: header_field(t, mapping) for i, t in enumerate(texts) if t}
        named = {i: f for i, f in found.items() if f}
        if len(set(named.values()) & set(IDENTIFYING)) >= 1 and len(named) >= 2:
            header, header_row = texts, number
            # first column wins when two columns map to the same field
            for index, fld in named.items():
                if fld not in columns.values():
                    columns[index] = fld
            break
        if number >= 30:
            break
    if header is None:
        raise RegisterError(
            f"{file_name}: no header row found in the first 30 rows (need columns such as Make, Model, Serial, MAC); "
            "use --mapping to name the columns"
        )
    if not site_given and "site" not in columns.values():
        raise RegisterError(f"{file_name}: no site column (Site, Site name, Building); give --site NAME")
    return RegisterReader(file_name, header_row, {f: header[i] for i, f in columns.items()}, columns, header,
                          rows, today)


def parse_register(
    data: bytes,
    file_name: str,
    mapping: dict[str, str] | None = None,
    site_given: bool = False,
    today: date | None = None,
) -> RegisterParse:
    """The whole register at once: rows and row-numbered problems."""
    reader = open_register(data, file_name, mapping, site_given, today)
    result = RegisterParse(file_name, reader.header_row, reader.columns)
    for item in reader:
        if isinstance(item, RegisterRow):
            result.rows.append(item)
        else:
            result.problems.append(item)
    result.blank_rows = reader.blank_rows
    return result


def _parse_row(number: int, cells: list[object], columns: dict[int, str], header: list[str],
               today: date | None) -> RegisterRow | RowProblem | None:
    # clean_cell, inlined for the text cells a CSV gives: it runs on every cell of a million rows
    texts = [" ".join(c.split())[:MAX_CELL] if c.__class__ is str else clean_cell(c) for c in cells]
    if not any(texts):
        return None
    joined = "".join(texts)  # one check per row, and the fast one first: almost never true
    unsafe = not joined.isprintable() and has_unsafe_characters(joined)
    if unsafe:
        texts = [clean_cell(t) for t in texts]
    if texts[: len(header)] == header:
        return RowProblem(number, "repeated header row")
    values: dict[str, str] = {}
    raw_date: str | date = ""
    width = len(cells)
    for index, fld in columns.items():
        if index >= width:
            continue
        if fld == "install_date":
            cell = cells[index]
            raw_date = cell.date() if isinstance(cell, datetime) else cell if isinstance(cell, date) else texts[index]
        elif texts[index]:
            values[fld] = texts[index]
    warnings: list[str] = []
    if unsafe:
        warnings.extend(f"{header[index] or fld}: control or bidi characters removed" for index, fld in columns.items()
                        if index < width and has_unsafe_characters(str(cells[index])))
    install: date | None = None
    if isinstance(raw_date, date):
        install = raw_date
    elif raw_date:
        try:
            install = parse_date(raw_date, today)
        except ValueError as exc:
            warnings.append(f"install date ignored: {exc}")
    if "mac" in values:
        written = values["mac"]
        mac = written if _CANONICAL_MAC.fullmatch(written) else normalise_mac(written)
        if mac is None:
            warnings.append(f"MAC ignored: {written!r} is not a MAC address")
            values.pop("mac")
        else:
            values["mac"] = mac
    if "ip" in values and not _CANONICAL_IPV4.fullmatch(values["ip"]):
        try:
            values["ip"] = str(ipaddress.ip_address(values["ip"]))
        except ValueError:
            warnings.append(f"IP ignored: {values['ip']!r} is not an IP address")
            values.pop("ip")
    if not _PLACEHOLDER_CELLS.isdisjoint(values.values()):  # one C-level pass; almost every row skips the loop
        for fld in ("brand", "model", "serial"):
            if values.get(fld) in _PLACEHOLDER_CELLS:
                del values[fld]  # "N/A" in the model column is no model, but the row's serial keeps the device
    if not ("brand" in values or "model" in values or "serial" in values or "mac" in values):  # IDENTIFYING
        shown = ", ".join(t for t in texts if t)[:80]
        if all(t.casefold() in PLACEHOLDERS for t in texts if t):
            return RowProblem(number, f"only placeholders ({shown!r}), not a device; skipped")
        return RowProblem(number, f"no make, model, serial or MAC ({shown!r}); skipped")
    if "serial" not in values and "mac" not in values and _is_totals_line(texts):
        shown = ", ".join(t for t in texts if t)[:80]
        return RowProblem(number, f"a totals line ({shown!r}), not a device; skipped")
    return RegisterRow(number, values, install, tuple(warnings))


def _is_totals_line(texts: list[str]) -> bool:
    """A row that counts devices rather than being one: it opens with a total label and has no serial or MAC."""
    first = next(t for t in texts if t)
    if first[0] not in _TOTAL_INITIALS:
        return False
    if _TOTAL_LABEL.fullmatch(first):
        return True
    return bool(_TOTAL_START.match(first)) and any(_COUNT.search(t) for t in texts if t)


def read_register_file(path: Path) -> bytes:
    """A register's bytes: a regular file (not a FIFO, directory or device) of at most MAX_REGISTER_BYTES."""
    return read_input_file(path, RegisterError, limit=MAX_REGISTER_BYTES, what="register")


def load_mapping(path: Path) -> dict[str, str]:
    """A column mapping file: YAML or JSON `{header as written: field}`."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RegisterError(f"{path}: cannot read the mapping file: {' '.join(str(exc).split())}") from exc
    if not isinstance(data, dict):
        raise RegisterError(f"{path}: a mapping file is a list of 'Header as written: field' lines")
    mapping: dict[str, str] = {}
    for written, canonical in data.items():
        if canonical not in FIELDS:
            raise RegisterError(f"{path}: {written!r}: unknown field {canonical!r} (use one of {', '.join(FIELDS)})")
        mapping[str(written)] = str(canonical)
    return mapping


