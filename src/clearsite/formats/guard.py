"""Looking at an input file before parsing it: is it a file, how big is it, what will it inflate to.

A register, quote or attestation comes from people who may not mean well (an upload form, a file
handed over on a stick). Parsing first and checking later is how a 6 MB workbook took a server to
1.9 GB, and how a named pipe made an import wait forever. Everything here refuses with one line that
names the file and says what to do instead, by raising the caller's own error class (RegisterError,
QuoteError, ...), so each door reports it the way it reports any bad file.

* `read_input_file` reads a regular file only (a FIFO, directory or device is refused without
  blocking on it), at most `limit` bytes.
* `check_lines` refuses text with a line no register or quote has (a 10 MB line).
* `check_workbook` inspects an XLSX before calamine reads it: entry count, declared and actual
  inflated sizes, compression ratio, archives inside it, and how many cells the sheets span (calamine
  allocates every cell between A1 and the furthest one, so two cells at A1 and XFD1048576 would ask
  for 512 GB), and how much text shared strings would be copied into.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "MAX_ENTRIES",
    "MAX_INFLATED_BYTES",
    "MAX_LINE_BYTES",
    "MAX_RATIO",
    "MAX_SHEET_CELLS",
    "MAX_SHEET_TEXT_BYTES",
    "WORKBOOK_SUFFIXES",
    "check_lines",
    "check_workbook",
    "read_input_file",
]

# A real workbook holds a few dozen parts; thousands are there to slow the reader down.
MAX_ENTRIES = 1000
# What the whole workbook may inflate to; with the cell limit this keeps reading one under ~300 MB.
MAX_INFLATED_BYTES = 100 << 20
# Spreadsheet XML compresses 5–20 times; far more is padding built to inflate. Small parts are exempt.
MAX_RATIO = 100
_RATIO_FROM_BYTES = 1 << 20
# Cells between A1 and the furthest used cell (calamine holds them all, ~32 bytes each plus text).
MAX_SHEET_CELLS = 1_500_000
# Text the sheets would hold once shared strings are copied into each cell that uses them.
MAX_SHEET_TEXT_BYTES = 80 << 20
MAX_LINE_BYTES = 1 << 20
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
_UNCHECKED_WORKBOOKS = (".xls", ".xlsb", ".ods")  # their sheet extent cannot be checked before reading

_EXCEL_MAX_ROWS, _EXCEL_MAX_COLUMNS = 1_048_576, 16_384
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!", b"BZh", b"\xfd7zXZ")
_CHUNK = 1 << 20
# Start tags of rows and cells, with or without a namespace prefix; attributes in group 2.
# Start tags of rows and cells, with or without a namespace prefix: the kind, then the reference's
# column letters and row digits when it has one ("" when not).
_TAG = re.compile(rb"""<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])(?:[^>]*?\sr\s*=\s*["']([A-Za-z]*)([0-9]*)["'])?[^>]*>""")
_SHARED_TYPE = (b' t="s"', b" t='s'")
_SHARED_ITEM = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s>/]")


def read_input_file(path: Path, error: type[Exception], *, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most `limit` bytes, or `error` naming the file.

    Opens without blocking (a FIFO with no writer would otherwise hang) and checks what was opened,
    not what the name pointed at a moment earlier.
    """
    name = path.name or str(path)
    with open_input_file(path, error, limit=limit, what=what) as (handle, size):
        data = handle.read(size + 1)  # one more byte tells us it grew while we read
        if len(data) > size:
            data += handle.read(limit + 1 - len(data))
    if len(data) > limit:
        raise error(f"{name}: more than the {limit:,} bytes a {what} may have")
    return data


@contextmanager
def open_input_file(path: Path, error: type[Exception], *, limit: int, what: str = "file"
                    ) -> Iterator[tuple[BinaryIO, int]]:
    """A regular file of at most `limit` bytes opened for reading in pieces, with its size; `error` otherwise.

    The same checks as read_input_file, for readers that stream a large file instead of holding it.
    """
    name = path.name or str(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket, or a FIFO opened for writing elsewhere
            raise error(f"{name}: not a regular file; give the {what} itself") from None
        raise error(f"{name}: cannot read the {what}: {exc.strerror or exc}") from None
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise error(f"{name}: {_kind(status.st_mode)}, not a regular file; give the {what} itself")
        if status.st_size > limit:
            raise error(f"{name}: {status.st_size:,} bytes is more than the {limit:,} a {what} may have")
        os.set_blocking(descriptor, True)
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            yield handle, status.st_size
    finally:
        os.close(descriptor)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def check_lines(data: bytes, file_name: str, error: type[Exception], limit: int = MAX_LINE_BYTES) -> None:
    """Refuse text with a line longer than `limit` bytes: no register or quote has one.

    Looks only at every half-limit window for a line break, so a 100 MB file costs a few hundred
    searches; where one has none, measures that line exactly.
    """
    step = max(limit // 2, 1)
    for start in range(0, len(data), step):
        end = min(start + step, len(data))
        if data.find(b"\n", start, end) >= 0 or data.find(b"\r", start, end) >= 0:
            continue
        # no line break in this window: measure the line it is part of
        line_start = max(data.rfind(b"\n", 0, start), data.rfind(b"\r", 0, start)) + 1
        breaks = [at for at in (data.find(b"\n", end), data.find(b"\r", end)) if at >= 0]
        length = min(breaks, default=len(data)) - line_start
        if length > limit:
            line = data.count(b"\n", 0, line_start) + 1
            raise error(f"{file_name}: line {line} is {length:,} bytes long; no spreadsheet line is "
                        f"longer than {limit:,}")


@dataclass
class _SheetExtent:
    """How far one worksheet's cells reach, followed as calamine follows it."""

    cells: int = 0
    shared_cells: int = 0
    furthest_row: int = -1
    furthest_column: int = -1
    _row: int = -1
    _column: int = -1

    def feed(self, tags: list[tuple[bytes, bytes, bytes]]) -> None:
        if not tags:
            return
        kinds, letters, digits = zip(*tags, strict=True)
        rows = kinds.count(b"row")
        self.cells += len(kinds) - rows
        if b"" not in digits and letters.count(b"") == rows:  # every row and cell says where it is
            if max(map(len, digits)) < 9:
                self.furthest_row = max(self.furthest_row, max(map(int, digits)) - 1)
            else:
                self.furthest_row = _EXCEL_MAX_ROWS
            columns = [_column_index(c) for c in set(letters) if c]
            self.furthest_column = max(self.furthest_column, *columns) if columns else self.furthest_column
            self._row = _row_index(digits[-1])
            self._column = _column_index(letters[-1]) if kinds[-1] == b"c" else -1
            return
        for kind, column_letters, row_digits in tags:  # some rely on their place: follow them one by one
            if kind == b"row":
                self._row = _row_index(row_digits) if row_digits else self._row + 1
                self._column = -1
                continue
            self._column = _column_index(column_letters) if column_letters else self._column + 1
            if row_digits:
                self._row = _row_index(row_digits)
            self.furthest_row = max(self.furthest_row, self._row)
            self.furthest_column = max(self.furthest_column, self._column)

    @property
    def spanned(self) -> int:
        return (self.furthest_row + 1) * (self.furthest_column + 1) if self.cells else 0


def _row_index(digits: bytes) -> int:
    return int(digits) - 1 if len(digits) < 9 else _EXCEL_MAX_ROWS  # past Excel's last row either way


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters.upper()[:4]:
        index = index * 26 + letter - 64
    return index - 1 if len(letters) <= 3 else _EXCEL_MAX_COLUMNS


def check_workbook(data: bytes, file_name: str, error: type[Exception]) -> None:
    """Refuse a workbook that would take more to read than any register or quote needs.

    Only XLSX/XLSM are read at all: for XLS, XLSB and ODS the cells a sheet spans cannot be known
    before calamine has allocated them.
    """
    suffix = Path(file_name).suffix.lower()
    if suffix in _UNCHECKED_WORKBOOKS:
        raise error(f"{file_name}: {suffix} workbooks are not read (their size cannot be checked before "
                    "reading); save it as .xlsx or CSV")
    if len(data) > MAX_INFLATED_BYTES:
        raise error(f"{file_name}: {len(data):,} bytes is more than the {MAX_INFLATED_BYTES:,} a spreadsheet we read "
                    "may have; save it as CSV")
    # Counted before zipfile builds an object per entry: a central directory can list millions.
    if data.count(b"PK\x01\x02") > MAX_ENTRIES:
        raise error(f"{file_name}: more than {MAX_ENTRIES:,} parts inside the workbook (a real one has a few "
                    "dozen); save it again as .xlsx or CSV")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise error(f"{file_name}: not a readable spreadsheet: {' '.join(str(exc).split())[:200]}") from None
    if len(entries) > MAX_ENTRIES:
        raise error(f"{file_name}: {len(entries):,} parts inside the workbook (a real one has a few dozen); "
                    "save it again as .xlsx or CSV")
    declared = sum(entry.file_size for entry in entries)
    if declared > MAX_INFLATED_BYTES:
        raise error(f"{file_name}: the workbook inflates to {declared:,} bytes, more than the "
                    f"{MAX_INFLATED_BYTES:,} a spreadsheet we read may; save it as CSV")
    for entry in entries:
        if entry.file_size > _RATIO_FROM_BYTES and entry.file_size > MAX_RATIO * max(entry.compress_size, 1):
            raise error(f"{file_name}: {entry.filename} is compressed {entry.file_size // max(entry.compress_size, 1)}"
                        f" to 1, more than the {MAX_RATIO} to 1 of any real spreadsheet; refused as a zip bomb")
    longest_shared = 0
    sheets: list[_SheetExtent] = []
    try:
        for entry in entries:
            if entry.is_dir():
                continue
            name = entry.filename.lower()
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                sheets.append(_read_sheet(archive, entry, file_name, error))
            elif name == "xl/sharedstrings.xml":
                longest_shared = _longest_shared_string(archive, entry)
            else:
                _read_part(archive, entry, file_name, error)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise error(f"{file_name}: a damaged spreadsheet: {' '.join(str(exc).split())[:200]}") from None
    text = sum(entry.file_size for entry in entries) + longest_shared * sum(s.shared_cells for s in sheets)
    if text > MAX_SHEET_TEXT_BYTES:
        raise error(f"{file_name}: its cells would hold {text:,} bytes of text, more than the "
                    f"{MAX_SHEET_TEXT_BYTES:,} a spreadsheet we read may; save it as CSV")


def _read_part(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, file_name: str, error: type[Exception]) -> None:
    """Inflate a part to check what it really holds (declared sizes can lie; the CRC is checked too)."""
    with archive.open(entry) as part:
        head = part.read(8)
        if head.startswith(_ARCHIVE_MAGIC):
            raise error(f"{file_name}: holds another archive ({entry.filename}); save the sheet again without "
                        "embedded files, or as CSV")
        while part.read(_CHUNK):
            pass


def _read_sheet(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, file_name: str,
                error: type[Exception]) -> _SheetExtent:
    extent = _SheetExtent()
    carry = b""
    with archive.open(entry) as part:
        while chunk := part.read(_CHUNK):
            text = carry + chunk
            cut = text.rfind(b"<")  # a tag cut in two is read with the next chunk
            if cut < 0 or text.find(b">", cut) >= 0:
                cut = len(text)
            extent.feed(_TAG.findall(text, 0, cut))
            extent.shared_cells += sum(text.count(marker, 0, cut) for marker in _SHARED_TYPE)
            carry = text[cut:]
            if len(carry) > _CHUNK:
                raise error(f"{file_name}: {entry.filename} has a tag longer than {_CHUNK:,} bytes")
            if extent.spanned > MAX_SHEET_CELLS:
                raise error(f"{file_name}: a sheet spans more than {MAX_SHEET_CELLS:,} cells (to row "
                            f"{extent.furthest_row + 1:,}, column {extent.furthest_column + 1:,}); delete the "
                            "empty rows and columns or save it as CSV")
    return extent


def _longest_shared_string(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> int:
    """An upper bound on the longest shared string: the widest gap between two string items' starts.

    An item tag cut by a chunk boundary is missed, which only widens a gap: the bound stays a bound.
    """
    longest, last, offset = 0, 0, 0
    with archive.open(entry) as part:
        while chunk := part.read(_CHUNK):
            for match in _SHARED_ITEM.finditer(chunk):
                longest = max(longest, offset + match.start() - last)
                last = offset + match.start()
            offset += len(chunk)
    return max(longest, offset - last)
