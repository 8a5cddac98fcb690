"""The internal findings report: HTML (every value escaped), CSV and XLSX (formula cells neutralised),
each device with its evidence chain."""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from jinja2 import Environment, PackageLoader, select_autoescape

from clearsite.render.spreadsheets import neutralise

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
    return Environment(loader=PackageLoader("clearsite.render", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True))


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


def write_report(out_dir: Path, devices: list[dict[str, Any]], findings: list[dict[str, Any]],
                 sites: list[dict[str, Any]], as_of: date, title: str = "clearsite findings report") -> ReportFiles:
    """Write report.html, devices.csv, report.xlsx and report.json into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = build_rows(devices, findings)
    status_counts = Counter(f["status"] for f in findings)
    nil_counts = Counter(d["nil_subject"] for d in devices)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")

    html_path = out_dir / "report.html"
    template = _environment().get_template("report.html.j2")
    html_path.write_text(template.render(title=title, rows=rows, sites=sites, as_of=as_of, generated=generated,
                                         status_counts=status_counts, nil_counts=nil_counts), encoding="utf-8")

    csv_path = out_dir / "devices.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(DEVICE_COLUMNS)
        for row in rows:
            writer.writerow([neutralise(v) for v in _flat(row)])

    xlsx_path = out_dir / "report.xlsx"
    # strings_to_formulas off: XlsxWriter must never turn a cell's text into a live formula.
    book = xlsxwriter.Workbook(str(xlsx_path), {"strings_to_formulas": False, "strings_to_urls": False})
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

    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps({"as_of": as_of.isoformat(), "generated": generated, "devices": devices,
                                     "findings": findings}, indent=1, ensure_ascii=False, default=str),
                         encoding="utf-8")
    return ReportFiles(html_path, csv_path, xlsx_path, json_path)
