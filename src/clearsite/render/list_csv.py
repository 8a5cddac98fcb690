"""Any list page's rows as CSV, streamed a batch at a time; every cell a spreadsheet would read as a formula is
neutralised (render.spreadsheets.neutralise, as the device export does)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from clearsite.render.spreadsheets import neutralise

__all__ = ["csv_chunks"]

_BATCH = 2000  # rows per chunk handed to the web server


def csv_chunks(columns: Sequence[tuple[str, str]], rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """A heading row from `columns` (heading, key), then one row per dict, as UTF-8 chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([heading for heading, _ in columns])
    for count, row in enumerate(rows, 1):
        writer.writerow(["" if row.get(key) is None else neutralise(row.get(key)) for _, key in columns])
        if count % _BATCH == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
