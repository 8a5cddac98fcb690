"""The internal findings report: HTML (every value escaped) that opens with each site's counts and lists
the devices to act on, and the full device list with its evidence chains as CSV, XLSX (formula cells
neutralised) and JSON. The HTML stays small and quick to open however large the estate."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TextIO

from jinja2 import Environment, PackageLoader, select_autoescape

from clearsite.render.spreadsheets import neutralise
from clearsite.render.wording import long_date

DEVICE_COLUMNS = ("id", "site", "label_brand", "model", "device_class", "producer", "producer_country", "nil_subject",
                  "nil_basis", "confidence", "ip", "mac", "serial", "location", "install_date", "worst_status",
                  "findings", "evidence")
_SEVERITY = {"breach": 0, "overdue": 1, "due": 2, "review": 3, "advisory": 4, "compliant": 5}


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    csv: Path
    xlsx: Path
    json: Path


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("clearsite.render", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["long_date"] = lambda value: long_date(date.fromisoformat(value) if isinstance(value, str) else value)
    return env


def worst_status(findings: list[dict[str, Any]]) -> str | None:
    return min((f["status"] for f in findings), key=_SEVERITY.__getitem__, default=None)


def build_rows(devices: list[dict[str, Any]], findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat record per device: identity, NIL verdict, findings and the evidence chain."""
    by_device: dict[int, list[dict[str, Any]]] = {}
    for finding in findings:
        by_device.setdefault(finding["device_id"], []).append(finding)
    rows = []
    for device in devices:
        own = by_device.get(device["id"], [])
        producer = device.get("producer") or {}
        rows.append({
            **device,
            "producer_name": producer.get("name"), "producer_country": producer.get("country"),
            "findings_list": own, "worst_status": worst_status(own),
        })
    rows.sort(key=lambda r: (_SEVERITY.get(r["worst_status"] or "compliant", 9), r["site"], r["id"]))
    return rows


def _flat(row: dict[str, Any]) -> list[Any]:
    evidence = "; ".join(
        f"{e['signal']}={e['value']} [{e['source']}] -> {e['supports'] or '-'}" for e in row["evidence"]
    )
    findings = "; ".join(f"{f['policy']}/{f['obligation']}: {f['status']}" + (f" (due {f['due']})" if f["due"] else "")
                         for f in row["findings_list"])
    return [row["id"], row["site"], row["label_brand"], row["model"], row["device_class"], row["producer_name"],
            row["producer_country"], row["nil_subject"], row.get("nil_basis"), row["confidence"], row["ip"],
            row["mac"], row["serial"], row.get("location"), row.get("install_date"), row["worst_status"], findings,
            evidence]


ACTIONABLE = ("breach", "overdue", "due", "review")  # listed device by device; the rest are counted
MAX_LISTED = 8000  # devices listed in the HTML at most (every device is in devices.csv and report.xlsx)


@dataclass(frozen=True)
class SiteSummary:
    """One site's line at the top of the report: devices by their worst finding status."""

    name: str
    department: str
    region: str | None
    sensitive: str
    devices: int
    by_status: dict[str, int]
    listed: list[dict[str, Any]]  # actionable devices, most severe first
    unlisted: int = 0  # actionable devices beyond MAX_LISTED, in the CSV only

    @property
    def actionable(self) -> int:
        return sum(self.by_status.get(s, 0) for s in ACTIONABLE)


def site_summaries(rows: list[dict[str, Any]], sites: list[dict[str, Any]],
                   max_listed: int = MAX_LISTED) -> list[SiteSummary]:
    """Sites with breaches first (then overdue, review, ...), each with its actionable devices."""
    by_site: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_site.setdefault(row["site"], []).append(row)
    known = {s["name"]: s for s in sites}
    summaries = []
    for name, own in by_site.items():
        site = known.get(name, {})
        counts = Counter(r["worst_status"] or "none" for r in own)
        listed = [r for r in own if r["worst_status"] in ACTIONABLE]
        criteria = site.get("criteria") or []
        summaries.append(SiteSummary(name, site.get("department", ""), site.get("region"),
                                     ", ".join(criteria) if criteria else "no", len(own), dict(counts), listed))
    summaries.sort(key=lambda s: tuple(-s.by_status.get(k, 0) for k in ACTIONABLE) + (s.name,))
    budget = max_listed
    for summary in summaries:  # keep the most severe sites' devices when the cap bites
        keep = summary.listed[:max(budget, 0)]
        summary.listed[:] = keep
        object.__setattr__(summary, "unlisted", summary.actionable - len(keep))
        budget -= len(keep)
    return summaries


REPORT_FILES = ("report.html", "devices.csv", "report.xlsx", "report.json")


class ReportOutputs(Protocol):
    """Where the report's files go: formats.outputs.OutputSet, which places them together or not at all."""

    folder: Path

    def open(self, name: str) -> AbstractContextManager[BinaryIO]: ...

    def path(self, name: str) -> Path: ...


@contextmanager
def _text(outputs: ReportOutputs, name: str) -> Iterator[TextIO]:
    with outputs.open(name) as raw:
        handle = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        yield handle
        handle.flush()
        handle.detach()  # the binary file is the output set's to flush and close


def write_report(outputs: ReportOutputs, devices: list[dict[str, Any]], findings: list[dict[str, Any]],
                 sites: list[dict[str, Any]], as_of: date, title: str = "clearsite findings report",
                 generated: datetime | None = None, max_listed: int = MAX_LISTED,
                 obligation_titles: dict[tuple[str, str], str] | None = None) -> ReportFiles:
    """Write report.html, devices.csv, report.xlsx and report.json (REPORT_FILES) into `outputs`.

    The HTML opens with each site's devices by worst status and lists only the devices someone must
    act on (breach, overdue, due, review), site by site; compliant and advisory devices are counted.
    It stays small at any size: at most `max_listed` devices are listed, the full list is in the CSV
    and XLSX beside it."""
    rows = build_rows(devices, findings)
    status_counts = Counter(f["status"] for f in findings)
    device_counts = Counter(r["worst_status"] or "none" for r in rows)
    nil_counts = Counter(d["nil_subject"] for d in devices)
    moment = generated or datetime.now(UTC)
    stamp = f"{moment.day} {moment:%B %Y, %H:%M} UTC"
    summaries = site_summaries(rows, sites, max_listed)

    template = _environment().get_template("report.html.j2")
    with _text(outputs, "report.html") as handle:
        for chunk in template.generate(title=title, as_of=f"{as_of.day} {as_of:%B %Y}", generated=stamp,
                                       devices=len(rows), findings=len(findings), sites=summaries,
                                       site_count=len(sites), status_counts=status_counts,
                                       device_counts=device_counts, nil_counts=nil_counts,
                                       actionable=ACTIONABLE, listed=sum(len(s.listed) for s in summaries),
                                       unlisted=sum(s.unlisted for s in summaries),
                                       titles=obligation_titles or {}):
            handle.write(chunk)

    with _text(outputs, "devices.csv") as handle:
        writer = csv.writer(handle)
        writer.writerow(DEVICE_COLUMNS)
        for row in rows:
            writer.writerow([neutralise(v) for v in _flat(row)])

    xlsx_path = outputs.path("report.xlsx")
    # strings_to_formulas off: XlsxWriter must never turn a cell's text into a live formula;
    # constant_memory writes row by row, so a large estate does not build the sheet in memory.
    import xlsxwriter  # loaded by the first workbook, not by every process that imports this

    book = xlsxwriter.Workbook(str(xlsx_path), {"strings_to_formulas": False, "strings_to_urls": False,
                                                "constant_memory": True})
    try:
        bold = book.add_format({"bold": True})
        sheet = book.add_worksheet("devices")
        sheet.write_row(0, 0, DEVICE_COLUMNS, bold)
        for index, row in enumerate(rows, start=1):
            sheet.write_row(index, 0, [neutralise(v) for v in _flat(row)])
        sheet.autofilter(0, 0, len(rows), len(DEVICE_COLUMNS) - 1)
        sheet.freeze_panes(1, 0)
        findings_sheet = book.add_worksheet("findings")
        columns = ("device_id", "site", "policy", "obligation", "status", "due", "reasons")
        findings_sheet.write_row(0, 0, columns, bold)
        for index, f in enumerate(findings, start=1):
            findings_sheet.write_row(index, 0, [neutralise(v) for v in (
                f["device_id"], f["site"], f["policy"], f["obligation"], f["status"], f["due"] or "",
                " | ".join(f["reasons"]))])
    finally:
        book.close()

    with _text(outputs, "report.json") as handle:
        json.dump({"as_of": as_of.isoformat(), "generated": moment.strftime("%Y-%m-%d %H:%M UTC"), "devices": devices, "findings": findings},
                  handle, indent=1, ensure_ascii=False, default=str)
    return ReportFiles(*(outputs.folder / name for name in REPORT_FILES))
