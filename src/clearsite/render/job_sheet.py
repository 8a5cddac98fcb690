"""A crew's job sheet for one work order: printable HTML (every value escaped) and XLSX (formula
cells neutralised). Registers and devices wrote much of what is shown, so none of it is trusted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jinja2 import Environment, select_autoescape

from clearsite.render.spreadsheets import neutralise

__all__ = ["COLUMNS", "JobSheet", "JobSheetRow", "job_sheet_html", "job_sheet_xlsx"]

COLUMNS = ("Device", "Location within the site", "Make", "Model", "Serial", "MAC", "IP address",
           "Replaced by", "Removed (date, initials)")


@dataclass(frozen=True, slots=True)
class JobSheetRow:
    device_id: int
    location: str | None
    label_brand: str | None
    model: str | None
    serial: str | None
    mac: str | None
    ip: str | None
    replacement: str
    removal_status: str | None  # a claim already recorded for it


@dataclass(frozen=True, slots=True)
class JobSheet:
    order_id: int
    site: str
    department: str
    week: date
    due: date
    crew: str
    status: str
    est_hours: float
    est_cost: float
    rows: tuple[JobSheetRow, ...]
    marking: str = "OFFICIAL-SENSITIVE"


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Job sheet: work order {{ s.order_id }}, {{ s.site }}</title>
<style>
body { font-family: Arial, sans-serif; margin: 1.5cm; color: #0b0c0c; }
.marking { text-align: center; font-weight: bold; letter-spacing: .05em; }
table { border-collapse: collapse; width: 100%; font-size: 11pt; }
th, td { border: 1px solid #505a5f; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f3f2f1; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; }
dt { font-weight: bold; }
.sign { margin-top: 2em; }
@media print { body { margin: 1cm; } }
</style></head>
<body>
<p class="marking">{{ s.marking }}</p>
<h1>Job sheet: work order {{ s.order_id }}</h1>
<dl>
<dt>Site</dt><dd>{{ s.site }} ({{ s.department }})</dd>
<dt>Week of</dt><dd>{{ s.week.strftime('%-d %B %Y') }}</dd>
<dt>Due by</dt><dd>{{ s.due.strftime('%-d %B %Y') }}</dd>
<dt>Crew</dt><dd>{{ s.crew }}</dd>
<dt>Estimate</dt><dd>{{ '%.1f' % s.est_hours }} hours, £{{ '{:,.0f}'.format(s.est_cost) }}</dd>
<dt>Status</dt><dd>{{ s.status.replace('_', ' ') }}</dd>
</dl>
<table>
<caption>{{ s.rows|length }} device{{ '' if s.rows|length == 1 else 's' }} to remove</caption>
<thead><tr>{% for c in columns %}<th scope="col">{{ c }}</th>{% endfor %}</tr></thead>
<tbody>
{% for r in s.rows %}<tr><td>{{ r.device_id }}</td><td>{{ r.location or '' }}</td><td>{{ r.label_brand or '' }}</td>
<td>{{ r.model or '' }}</td><td>{{ r.serial or '' }}</td><td>{{ r.mac or '' }}</td><td>{{ r.ip or '' }}</td>
<td>{{ r.replacement }}</td><td>{{ r.removal_status or '' }}</td></tr>
{% endfor %}</tbody></table>
<p class="sign">Record each removal with its disposal or data-wipe certificate reference:
<code>clearsite removal record DEVICE --on DATE --order {{ s.order_id }} --disposal-ref REF</code>.
A removal counts only when a later scan of the site confirms the device is gone.</p>
<p class="sign">Crew lead signature: ______________________ &nbsp; Date: ____________</p>
<p class="marking">{{ s.marking }}</p>
</body></html>
"""

_ENVIRONMENT = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def job_sheet_html(sheet: JobSheet) -> str:
    return _ENVIRONMENT.from_string(_TEMPLATE).render(s=sheet, columns=COLUMNS)


def job_sheet_xlsx(sheet: JobSheet, path: Path) -> None:
    """The same sheet as a workbook: a header block, then one row per device."""
    import xlsxwriter  # loaded by the first workbook, not by every process that imports this

    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    try:
        bold = workbook.add_format({"bold": True})
        ws = workbook.add_worksheet(f"Order {sheet.order_id}"[:31])
        header = [("Marking", sheet.marking), ("Work order", sheet.order_id), ("Site", sheet.site),
                  ("Department", sheet.department), ("Week of", sheet.week.isoformat()),
                  ("Due by", sheet.due.isoformat()), ("Crew", sheet.crew), ("Status", sheet.status),
                  ("Estimated hours", sheet.est_hours), ("Estimated cost (GBP)", sheet.est_cost)]
        for row, (label, value) in enumerate(header):
            ws.write(row, 0, label, bold)
            ws.write(row, 1, neutralise(value))
        top = len(header) + 1
        for col, name in enumerate(COLUMNS):
            ws.write(top, col, name, bold)
        for offset, r in enumerate(sheet.rows, start=1):
            values = (r.device_id, r.location, r.label_brand, r.model, r.serial, r.mac, r.ip, r.replacement,
                      r.removal_status)
            for col, value in enumerate(values):
                ws.write(top + offset, col, neutralise(value) if value is not None else "")
        ws.set_column(0, 0, 8)
        ws.set_column(1, len(COLUMNS) - 1, 22)
    finally:
        workbook.close()
