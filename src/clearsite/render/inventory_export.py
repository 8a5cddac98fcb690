"""The device list as files: CSV, XLSX and JSON, streamed a chunk at a time so a 100,000-device export
keeps memory flat. Every text cell that a spreadsheet would read as a formula is neutralised."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from clearsite.render.spreadsheets import neutralise

_LEADS = frozenset(("=", "+", "-", "@", "\t", "\r"))  # spreadsheets.neutralise's, for the hot CSV loop
__all__ = ["COLUMNS", "csv_chunks", "json_chunks", "xlsx_chunks"]

# (heading, key in the row) in the order the columns are written.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("Device id", "id"), ("Site", "site"), ("IP address", "ip"), ("MAC address", "mac"), ("Serial number", "serial"),
    ("Badge", "label_brand"), ("Model", "model"), ("Device class", "device_class"), ("Producer", "producer_name"),
    ("Subject to NIL", "nil_subject"), ("Why", "nil_basis_title"), ("Worst status", "worst_status"),
    ("Confidence", "confidence"), ("Location", "location"), ("Installed", "install_date"),
    ("First seen", "first_seen"), ("Last seen", "last_seen"),
)
_BATCH = 2000  # rows per chunk handed to the web server


def _cell(row: dict[str, Any], key: str) -> Any:
    value = row.get(key)
    return "" if value is None else neutralise(value)


_KEYS = tuple(key for _, key in COLUMNS)


def csv_chunks(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([heading for heading, _ in COLUMNS])
    for count, row in enumerate(rows, 1):
        values = [row.get(key) for key in _KEYS]
        writer.writerow(["" if v is None else ("'" + v if v.__class__ is str and v[:1] in _LEADS else v)
                         for v in values])
        if count % _BATCH == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def json_chunks(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """A JSON array of the rows as they are (JSON is data, not a spreadsheet: nothing to neutralise)."""
    yield b"["
    parts: list[bytes] = []
    for count, row in enumerate(rows):
        parts.append((b"," if count else b"") + orjson.dumps(row))
        if len(parts) >= _BATCH:
            yield b"".join(parts)
            parts.clear()
    parts.append(b"]\n")
    yield b"".join(parts)


def xlsx_chunks(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """A workbook built in constant-memory mode in a private temporary file, then streamed and removed."""
    handle, path = tempfile.mkstemp(prefix="clearsite-devices-", suffix=".xlsx")
    os.close(handle)
    try:
        import xlsxwriter  # loaded by the first workbook, not by every process that imports this

        book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                          "strings_to_urls": False, "strings_to_numbers": False})
        sheet = book.add_worksheet("Devices")
        bold = book.add_format({"bold": True})
        for column, (heading, _) in enumerate(COLUMNS):
            sheet.write_string(0, column, heading, bold)
        for number, row in enumerate(rows, 1):
            for column, (_, key) in enumerate(COLUMNS):
                value = _cell(row, key)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    sheet.write_number(number, column, value)
                else:
                    sheet.write_string(number, column, str(value))
        book.close()
        with open(path, "rb") as built:
            while chunk := built.read(1 << 16):
                yield chunk
    finally:
        os.unlink(path)
