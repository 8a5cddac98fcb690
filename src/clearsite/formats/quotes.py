"""Reading supplier quotes and bills of materials: CSV, XLSX or JSON lines, any header wording.

Pure: bytes in, quote lines and row-numbered problems out. Cells are kept as the text they are:
a cell starting "=" is a string, never a formula, and "<script>" is just characters; escaping
is the job of whatever displays them. A row with a product on it is never dropped for a bad
quantity: the line carries the problem and screening reports it, so nothing escapes screening.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clearsite.core.errors import InputError
from clearsite.core.screen.types import QuoteLine
from clearsite.core.text import has_unsafe_characters
from clearsite.formats.guard import read_input_file
from clearsite.formats.register import RegisterError, clean_cell, read_table

FIELDS = ("supplier", "brand", "model", "sku", "description", "quantity", "connects_to_core")
PRODUCT_FIELDS = ("brand", "model", "sku", "description")  # a row with none of these is not a product line
MAX_LINES = 200_000
MAX_QUOTE_BYTES = 64 << 20  # 200,000 lines of a few hundred bytes
HEADER_SEARCH_ROWS = 30

# Header wordings seen on quotes, compared after folding case and punctuation.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "supplier": ("supplier", "vendor", "reseller", "distributor", "seller", "dealer", "supplier name", "vendor name",
                 "reseller name", "quoted by"),
    "brand": ("brand", "make", "manufacturer", "mfr", "mfg", "maker", "oem", "brand name", "manufacturer name",
              "make brand"),
    "model": ("model", "model no", "model number", "part no", "part number", "part", "mpn", "manufacturer part number",
              "manufacturer part no", "mfr part no", "mfr part number", "mfg part no", "model name", "product model",
              "model part no"),
    "sku": ("sku", "item code", "item no", "item number", "stock code", "product code", "catalogue no",
            "catalogue number", "cat no", "code", "supplier code", "supplier part no", "order code", "article no",
            "article number", "sku code", "our ref"),
    "description": ("description", "item description", "product description", "details", "item", "product",
                    "product name", "item name", "desc", "line description", "name"),
    "quantity": ("qty", "quantity", "units", "no of units", "number of units", "count", "qty ordered", "order qty",
                 "quantity ordered", "qnty"),
    "connects_to_core": ("core network", "connects to core", "connects to core network", "on core network",
                         "core lan", "core network connection", "core"),
}
_HEADER_INDEX = {re.sub(r"[^0-9a-z]+", "", s): f for f, words in SYNONYMS.items() for s in words}
_TOTAL_ROW = re.compile(r"^(?:sub[\s-]*total|total|grand\s+total|net\s+total|vat|total\s+(?:ex|inc)\.?\s+vat)\b",
                        re.IGNORECASE)
_QUANTITY = re.compile(r"^(?:x\s*)?([+-]?[\d,]+(?:\.\d+)?)\s*(?:x|pcs?|pieces?|units?|no\.?|nr|ea|each|off)?$",
                       re.IGNORECASE)
_YES = frozenset({"yes", "y", "true", "1", "core", "connected", "on core"})
_NO = frozenset({"no", "n", "false", "0", "none", "not connected", "isolated", "standalone", "n/a", "na", "-"})


class QuoteError(InputError, ValueError):
    """The file cannot be read as a quote at all; the message names the file and what to fix."""


@dataclass(frozen=True, slots=True)
class QuoteProblem:
    where: str  # "row 7" or "line 3"
    reason: str

    def describe(self, file_name: str) -> str:
        return f"{file_name}: {self.where}: {self.reason}"


@dataclass
class QuoteRead:
    file_name: str
    columns: dict[str, str]  # canonical field → header as written (JSON lines: the key)
    lines: list[QuoteLine] = field(default_factory=list)
    problems: list[QuoteProblem] = field(default_factory=list)
    header_row: int | None = None
    blank_rows: int = 0
    truncated: bool = False

    def messages(self) -> list[str]:
        """Every problem as one line naming the file and row, for stderr or an API response."""
        return [p.describe(self.file_name) for p in self.problems]


def header_field(header: str) -> str | None:
    return _HEADER_INDEX.get(re.sub(r"[^0-9a-z]+", "", header.casefold()))


def read_quote_file(path: Path, error: type[Exception] = QuoteError) -> bytes:
    """A quote's bytes: a regular file (not a FIFO, directory or device) of at most MAX_QUOTE_BYTES."""
    return read_input_file(path, error, limit=MAX_QUOTE_BYTES, what="quote")


def read_quote(data: bytes, file_name: str) -> QuoteRead:
    """Read a quote from CSV, XLSX or JSON lines; raises QuoteError when it cannot (XLS, XLSB, ODS too)."""
    suffix = Path(file_name).suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _read_json_lines(data, file_name)
    try:
        return _read_table(read_table(data, file_name), file_name)
    except RegisterError as exc:
        raise QuoteError(str(exc).replace("a CSV register", "a CSV quote").replace("register", "quote")) from exc


# --------------------------------------------------------------------------- CSV and spreadsheets


def _read_table(rows: Iterator[list[object]], file_name: str) -> QuoteRead:
    header: list[str] | None = None
    columns: dict[int, str] = {}
    header_row = 0
    for number, cells in enumerate(rows, start=1):
        texts = [clean_cell(c) for c in cells]
        found = {i: header_field(t) for i, t in enumerate(texts) if t}
        named = {i: f for i, f in found.items() if f}
        if len(named) >= 2 and set(named.values()) & set(PRODUCT_FIELDS):
            header, header_row = texts, number
            for index, name in named.items():
                if name not in columns.values():  # the first column wins when two mean the same
                    columns[index] = name
            break
        if number >= HEADER_SEARCH_ROWS:
            break
    if header is None:
        raise QuoteError(f"{file_name}: no header row in the first {HEADER_SEARCH_ROWS} rows (need columns such as "
                         "Supplier, Brand, Model, SKU, Description, Qty)")
    read = QuoteRead(file_name, {name: header[i] for i, name in columns.items()}, header_row=header_row)
    for number, cells in enumerate(rows, start=header_row + 1):
        texts = [clean_cell(c) for c in cells]
        if not any(texts):
            read.blank_rows += 1
            continue
        if texts[: len(header)] == header:
            read.problems.append(QuoteProblem(f"row {number}", "repeated header row; skipped"))
            continue
        values = {name: cells[i] for i, name in columns.items() if i < len(cells)}
        _add(read, values, f"row {number}", texts)
    return read


# --------------------------------------------------------------------------- JSON lines


def _read_json_lines(data: bytes, file_name: str) -> QuoteRead:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise QuoteError(f"{file_name}: JSON lines must be UTF-8 text") from exc
    read = QuoteRead(file_name, {})
    stripped = text.lstrip()
    if stripped.startswith("["):  # a plain JSON array of objects is accepted too
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise QuoteError(f"{file_name}: not valid JSON: {exc.msg} at line {exc.lineno}") from exc
        entries: Iterator[tuple[int, Any]] = iter(enumerate(items, start=1)) if isinstance(items, list) else iter(())
        unit = "item"
    else:
        entries = _json_lines(text, read)
        unit = "line"
    for number, item in entries:
        where = f"{unit} {number}"
        if not isinstance(item, dict):
            read.problems.append(QuoteProblem(where, "not a JSON object; skipped"))
            continue
        values: dict[str, object] = {}
        for key, value in item.items():
            name = header_field(str(key))
            if name is None or name in values:
                continue
            if isinstance(value, (dict, list)):
                read.problems.append(QuoteProblem(where, f"{key!r} holds a {type(value).__name__}, not a value; ignored"))
                continue
            values[name] = value
            read.columns.setdefault(name, str(key))
        _add(read, values, where, [clean_cell(v) for v in item.values() if not isinstance(v, (dict, list))])
    return read


def _json_lines(text: str, read: QuoteRead) -> Iterator[tuple[int, Any]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            read.blank_rows += 1
            continue
        try:
            yield number, json.loads(raw)
        except json.JSONDecodeError as exc:
            read.problems.append(QuoteProblem(f"line {number}", f"not valid JSON ({exc.msg}); skipped"))


# --------------------------------------------------------------------------- one row


def _add(read: QuoteRead, values: dict[str, object], where: str, texts: list[str]) -> None:
    if len(read.lines) >= MAX_LINES:
        if not read.truncated:
            read.truncated = True
            read.problems.append(QuoteProblem(where, f"more than {MAX_LINES} lines; this and later rows are not read"))
        return
    text = {name: clean_cell(values.get(name)) for name in FIELDS}
    shown = ", ".join(t for t in texts if t)[:80]
    if not any(text[name] for name in PRODUCT_FIELDS):
        read.problems.append(QuoteProblem(where, f"no brand, model, SKU or description ({shown!r}); skipped"))
        return
    if _TOTAL_ROW.match(text["description"]) and not any(text[n] for n in ("brand", "model", "sku")):
        read.problems.append(QuoteProblem(where, f"a total row ({shown!r}); skipped"))
        return
    # Hidden characters in a product cell can make a name read one way and match another (U+202E shows
    # "noisivkiH" as "Hikvision"): they are removed, and the line goes to review saying so.
    problems = [f"{name}: control or bidi characters removed" for name in FIELDS
                if isinstance(values.get(name), str) and has_unsafe_characters(str(values[name]))]
    quantity = _quantity(values.get("quantity"), problems)
    core = _yes_no(text["connects_to_core"], problems)
    read.lines.append(QuoteLine(
        supplier=text["supplier"] or None, brand=text["brand"] or None, model=text["model"] or None,
        sku=text["sku"] or None, description=text["description"] or None, quantity=quantity,
        connects_to_core=core, source=f"{read.file_name} {where}", problems=tuple(problems),
    ))


def _quantity(value: object, problems: list[str]) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number: float = value
    else:
        text = clean_cell(value)
        if not text:
            return None
        match = _QUANTITY.match(text)
        if match is None:
            problems.append(f"quantity {text[:40]!r} is not a number")
            return None
        try:
            number = float(match.group(1).replace(",", ""))
        except ValueError:
            problems.append(f"quantity {text[:40]!r} is not a number")
            return None
    if number != number or number in (float("inf"), float("-inf")):  # NaN or infinite from a spreadsheet
        problems.append("quantity is not a number")
        return None
    if not float(number).is_integer():
        problems.append(f"quantity {number:g} is not a whole number")
        return None
    return int(number)


def _yes_no(text: str, problems: list[str]) -> bool | None:
    if not text:
        return None
    folded = " ".join(text.casefold().split())
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    problems.append(f"core network {text[:40]!r} is not yes or no; treated as not stated")
    return None
