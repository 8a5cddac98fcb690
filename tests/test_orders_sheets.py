"""Job sheets carry text that registers and devices wrote: the HTML escapes it and the workbook never runs it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from python_calamine import CalamineWorkbook

from clearsite.render.job_sheet import COLUMNS, JobSheet, JobSheetRow, job_sheet_html, job_sheet_xlsx

HOSTILE = '<script>alert(1)</script>'
FORMULA = '=HYPERLINK("http://evil.example","click")'


def _sheet() -> JobSheet:
    rows = (JobSheetRow(7, HOSTILE, "Hikvision", FORMULA, "SN-1", "4C:BD:8F:00:3D:44", "10.1.0.11",
                        "Axis P3245-V", "claimed"),
            JobSheetRow(8, None, None, None, None, None, None, "a device not subject to the National Intelligence Law",
                        None))
    return JobSheet(3, "Alpha <HQ>", "Dept & Co", date(2026, 11, 30), date(2026, 12, 4), "london-1", "scheduled",
                    3.5, 1234.0, rows)


def test_the_html_sheet_escapes_everything_it_was_told() -> None:
    html = job_sheet_html(_sheet())
    assert HOSTILE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Alpha &lt;HQ&gt;" in html and "Dept &amp; Co" in html
    assert all(column in html for column in COLUMNS) and "OFFICIAL-SENSITIVE" in html
    assert "30 November 2026" in html and "4 December 2026" in html


def test_the_workbook_neutralises_formulas(tmp_path: Path) -> None:
    path = tmp_path / "sheet.xlsx"
    job_sheet_xlsx(_sheet(), path)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    cells = [str(c) for row in rows for c in row]
    assert "'" + FORMULA in cells and FORMULA not in cells
    assert HOSTILE in cells  # kept as text: a spreadsheet does not run HTML
    header = next(i for i, row in enumerate(rows) if row and row[0] == "Device")
    assert [str(c) for c in rows[header]][: len(COLUMNS)] == list(COLUMNS)
    assert len(rows) - header - 1 == 2
