"""The internal findings report stays small as the estate grows: it counts by site, lists only the
devices to act on (at most a cap), and leaves the full list to the CSV and XLSX beside it."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path
from typing import Any

from clearsite.formats.outputs import output_set
from clearsite.render.report import REPORT_FILES, ReportFiles
from clearsite.render.report import write_report as render_report

STATUSES = ("breach", "overdue", "review", "advisory", "compliant", "compliant", "compliant", "compliant")


def estate(devices: int, sites: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    rows, findings = [], []
    for i in range(1, devices + 1):
        site = f"Site {i % sites:03d}"
        rows.append({"id": i, "site": site, "label_brand": "Hikvision", "model": f"<i>DS-2CD{i:05d}</i>", "device_class": "ip_camera",
                     "producer": {"name": "Hikvision", "country": "CN"}, "nil_subject": "yes", "nil_basis": "PRC_INCORPORATED",
                     "nil_reasons": [], "confidence": 0.9, "ip": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
                     "mac": None, "serial": f"SER{i:08d}", "location": "=HYPERLINK(\"x\")", "install_date": None,
                     "evidence": [{"signal": "brand", "value": "Hikvision", "source": "register", "supports": "hikvision"}]})
        status = STATUSES[i % len(STATUSES)]
        findings.append({"device_id": i, "site": site, "policy": "uk-hcws386", "obligation": "O3", "status": status,
                         "due": "2025-04-30", "reasons": ["why"]})
        findings.append({"device_id": i, "site": site, "policy": "uk-hcws386", "obligation": "O2", "status": "compliant",
                         "due": None, "reasons": ["why"]})
    sites_info = [{"name": f"Site {n:03d}", "department": "Dept", "region": None, "criteria": ["holds_secret"],
                   "networks": []} for n in range(sites)]
    return rows, findings, sites_info


def write_report(folder: Path, *args: Any, **kwargs: Any) -> ReportFiles:
    with output_set(folder, REPORT_FILES) as outputs:
        return render_report(outputs, *args, **kwargs)


def test_the_report_lists_devices_to_act_on_by_site_and_counts_the_rest(tmp_path: Path) -> None:
    devices, findings, sites = estate(4000, 40)
    files = write_report(tmp_path, devices, findings, sites, date(2026, 11, 29), max_listed=1000,
                         obligation_titles={("uk-hcws386", "O3"): "Remove and replace on sensitive sites"})
    html = files.html.read_text()
    assert "O3 Remove and replace on sensitive sites: <b>overdue</b> (due 30 April 2025)" in html
    assert html.index("What this report counts") < html.index("<h2>Sites</h2>") < html.index("Devices to act on")
    assert "one device can have several findings" in html
    listed = len(re.findall(r'<tr class="(?:breach|overdue|review)"><td>\d', html))
    assert listed == 1000  # the cap; 1,500 need action
    assert "500 more in" in html and 'href="devices.csv"' in html
    assert "<i>DS-2CD" not in html and "&lt;i&gt;DS-2CD00001&lt;/i&gt;" in html  # listed values escaped
    assert "DS-2CD00005" not in html  # device 5 is compliant: counted, never listed
    assert files.html.stat().st_size < 1_000 * 1000  # about a kilobyte a listed device, whatever the estate
    with files.csv.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 4001 and all(not r[13].startswith("=") for r in rows[1:])  # every device, formulas defused


def test_the_report_size_does_not_grow_with_compliant_devices(tmp_path: Path) -> None:
    small = write_report(tmp_path / "small", *estate(800, 20), date(2026, 11, 29), max_listed=200)
    large = write_report(tmp_path / "large", *estate(8000, 20), date(2026, 11, 29), max_listed=200)
    assert large.html.stat().st_size < 1.5 * small.html.stat().st_size
