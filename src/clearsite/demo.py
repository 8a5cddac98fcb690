"""`clearsite demo`: build a realistic department and run the whole pipeline on it, non-interactively."""

from __future__ import annotations

import csv
import random
from collections import Counter
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from clearsite import demo_data, pipeline
from clearsite.discover import ScanOptions, check_scope
from clearsite.knowledge import Knowledge
from clearsite.observe import reconcile_site
from clearsite.scanning import scan_site
from clearsite.sim.fleet import Fleet
from clearsite.sources.register import site_key
from clearsite.store.sites import add_site, find_site, load_sites, site_ids_by_key

FLEET_HOSTS = 40
FLEET_BASE = "127.42.100.1"  # inside the scanned site's 127.42.0.0/16
FLEET_SCAN = "127.42.100.0/26"


def run_demo(engine: Engine, knowledge: Knowledge, out_dir: Path, out: Console, err: Console,
             as_of: date | None = None) -> None:
    as_of = as_of or date.today()
    out_dir.mkdir(parents=True, exist_ok=True)
    sites = demo_data.demo_sites()
    with engine.begin() as conn:
        existing = site_ids_by_key(conn)
        created = [add_site(conn, s) for s in sites if site_key(s.name) not in existing]
    err.print(f"[1/5] {demo_data.DEMO_DEPARTMENT}: {len(sites)} sites ({len(created)} new), "
              f"{sum(s.sensitive for s in sites)} sensitive")

    register = out_dir / "estates-register.csv"
    rows = demo_data.write_demo_register(register)
    extra = out_dir / "annex-register.xlsx"
    extra_rows = demo_data.write_demo_register_xlsx(extra)
    extra_site = demo_data.XLSX_SITE
    reports = [pipeline.import_register(engine, register, knowledge),
               pipeline.import_register(engine, extra, knowledge, site=extra_site)]
    for report in reports:
        err.print(f"[2/5] imported {report.file}: {report.rows_read} rows, {report.stored} stored "
                  f"({report.duplicates} already imported), {len(report.skipped)} junk rows skipped, "
                  f"{len(report.warnings)} warnings", markup=False)
        for line in report.skipped[:5]:
            err.print(f"      skipped: {line}", markup=False)
        if len(report.skipped) > 5:
            err.print(f"      … and {len(report.skipped) - 5} more", markup=False)
    del rows, extra_rows

    scan_line = _scan_the_fleet(engine, knowledge, out_dir, err)

    counts = pipeline.assess_all(engine, knowledge, as_of)
    err.print(f"[4/5] assessed every device as of {as_of}: {sum(counts.values())} findings")
    files = pipeline.write_report(engine, knowledge, out_dir / "report", as_of)
    err.print(f"[5/5] wrote the internal report to {files.html.parent}", markup=False)

    _summary(engine, knowledge, as_of, out)
    out.print(scan_line)
    out.print(f"\nInternal report (names sites; do not publish): {files.html}")


def _scan_the_fleet(engine: Engine, knowledge: Knowledge, out_dir: Path, err: Console) -> str:
    """Serve an emulated fleet in the scanned site's network, register most of it, scan, reconcile."""
    fleet = Fleet(FLEET_HOSTS, seed=2022, base=FLEET_BASE)
    fleet.write_manifest(out_dir / "fleet-manifest.json")
    cctv = out_dir / "aldermoor-cctv-contractor.csv"
    registered = _contractor_register(fleet, cctv)
    pipeline.import_register(engine, cctv, knowledge, site=demo_data.SCANNED_SITE)
    with engine.connect() as conn:
        site = load_sites(conn)[find_site(conn, demo_data.SCANNED_SITE)]
    networks = [n.cidr for n in site.networks]
    addresses = check_scope([FLEET_SCAN], networks)
    with fleet.background() as failures:
        if failures:
            err.print(f"      {len(failures)} emulated listeners could not bind (another fleet running?)")
        summary = scan_site(engine, knowledge, site.name, networks, addresses,
                            ScanOptions(rate=2000, connect_timeout=1.0, read_timeout=1.5, host_timeout=20))
    rec = reconcile_site(engine, site.name, within=[FLEET_SCAN])
    err.print(f"[3/5] emulated fleet of {FLEET_HOSTS} devices on {FLEET_SCAN}; the estates register lists "
              f"{registered}. Scan: {summary.responded} answered in {summary.seconds:.1f} s; reconciled: "
              f"{len(rec.matched)} matched, {len(rec.seen_not_registered)} seen but not registered, "
              f"{len(rec.registered_not_seen)} registered but not seen", markup=False)
    return (f"\nScan of {site.name} ({FLEET_SCAN}): {summary.responded} devices answered; "
            f"{len(rec.seen_not_registered)} were missing from the register, "
            f"{len(rec.registered_not_seen)} registered devices were not found.")


def _contractor_register(fleet: Fleet, path: Path) -> int:
    """The CCTV contractor's list for the scanned site: most of what is really there, as registers are."""
    rng = random.Random(7)
    rows = [d for d in fleet.manifest()["devices"] if not d["hostile"] and rng.random() < 0.7]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Make", "Model", "Serial No", "MAC", "IP Address", "Location"])
        for i, d in enumerate(rows):
            writer.writerow([d["label_brand"] or "", d["model"] or "", d["serial"] or "", d["mac"] or "", d["ip"],
                             f"camera {i + 1}"])
    return len(rows)


def _summary(engine: Engine, knowledge: Knowledge, as_of: date, out: Console) -> None:
    per_site: dict[str, Counter[str]] = {}
    sensitive: dict[str, bool] = {}
    for view, site in pipeline.iter_devices(engine):
        verdict = pipeline.device_json(view, knowledge, as_of)["nil_subject"]
        per_site.setdefault(site.name, Counter())[verdict] += 1
        sensitive[site.name] = site.sensitive
    statuses: dict[str, Counter[str]] = {}
    for f in pipeline.stored_findings(engine):
        statuses.setdefault(f["site"], Counter())[f["status"]] += 1
    table = Table("site", "sensitive", "devices", "NIL yes", "review", "unknown", "breach", "overdue", "due",
                  "advisory", title=f"Findings as of {as_of}")
    for name in sorted(per_site):
        nil = per_site[name]
        st = statuses.get(name, Counter())
        table.add_row(name, "yes" if sensitive[name] else "no", str(sum(nil.values())), str(nil["yes"]),
                      str(nil["review"]), str(nil["unknown"]), str(st["breach"]), str(st["overdue"]), str(st["due"]),
                      str(st["advisory"]))
    out.print(table)
