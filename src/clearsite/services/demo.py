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

from clearsite.core.knowledge import Knowledge
from clearsite.core.names import site_key
from clearsite.discover import ScanOptions
from clearsite.formats.planfile import load_plan_file
from clearsite.render.charts import crew_load_svg, gantt_svg, plan_burndown_svg
from clearsite.render.plan_export import comparison_to_table, plan_to_json, plan_to_xlsx
from clearsite.render.public import Publication
from clearsite.render.wording import long_date, plan_headline
from clearsite.services import demo_data
from clearsite.services.assessment import assess_all, stored_findings, write_report
from clearsite.services.devices import device_json, iter_devices
from clearsite.services.imports import import_register
from clearsite.services.planning import next_monday, plan_removals, write_files
from clearsite.services.publishing import publish_progress
from clearsite.services.reconciliation import reconcile_site
from clearsite.services.scanning import scan_site, site_scope
from clearsite.services.sites import add_site, list_sites
from clearsite.services.timeline import EVERYTHING, programme_timeline
from clearsite.sim.fleet import Fleet

FLEET_HOSTS = 40
FLEET_BASE = "127.42.100.1"  # inside the scanned site's 127.42.0.0/16
FLEET_SCAN = "127.42.100.0/26"


def run_demo(engine: Engine, knowledge: Knowledge, out_dir: Path, out: Console, err: Console,
             as_of: date | None = None) -> None:
    as_of = as_of or date.today()
    out_dir.mkdir(parents=True, exist_ok=True)
    sites = demo_data.demo_sites()
    existing = {site_key(listed["name"]) for listed in list_sites(engine)}
    created = [add_site(engine, "demo", name=site.name, department=site.department, region=site.region,
                        holds_secret=site.holds_secret, dv_hub=site.dv_hub, ministerial=site.ministerial,
                        socpa=site.socpa, networks=[n.cidr for n in site.networks if not n.core],
                        core_networks=[n.cidr for n in site.networks if n.core],
                        allow_special=True)  # the emulated fleet lives on loopback
               for site in sites if site_key(site.name) not in existing]
    err.print(f"[1/6] {demo_data.DEMO_DEPARTMENT}: {len(sites)} sites ({len(created)} new), "
              f"{sum(s.sensitive for s in sites)} sensitive")

    register = out_dir / "estates-register.csv"
    rows = demo_data.write_demo_register(register)
    extra = out_dir / "annex-register.xlsx"
    extra_rows = demo_data.write_demo_register_xlsx(extra)
    extra_site = demo_data.XLSX_SITE
    reports = [import_register(engine, register, knowledge),
               import_register(engine, extra, knowledge, site=extra_site)]
    for report in reports:
        err.print(f"[2/6] imported {report.file}: {report.rows_read} rows, {report.stored} stored "
                  f"({report.duplicates} already imported), {len(report.skipped)} junk rows skipped, "
                  f"{len(report.warnings)} warnings", markup=False)
        for line in report.skipped[:5]:
            err.print(f"      skipped: {line}", markup=False)
        if len(report.skipped) > 5:
            err.print(f"      … and {len(report.skipped) - 5} more", markup=False)
    del rows, extra_rows

    scan_line = _scan_the_fleet(engine, knowledge, out_dir, err)

    counts = assess_all(engine, knowledge, as_of)
    err.print(f"[4/6] assessed every device as of {as_of}: {sum(counts.values())} findings")
    files = write_report(engine, knowledge, out_dir / "report", as_of)
    err.print(f"[5/6] wrote the internal report to {files.html.parent}", markup=False)
    milestones = _plan_and_publish(engine, knowledge, out_dir, as_of, err)

    _summary(engine, knowledge, as_of, out)
    out.print(scan_line)
    out.print(milestones)
    out.print(f"\nInternal report (names sites; do not publish): {files.html}")
    out.print(f"Public progress statement (redacted): {out_dir / 'public' / 'index.html'}")


def _scan_the_fleet(engine: Engine, knowledge: Knowledge, out_dir: Path, err: Console) -> str:
    """Serve an emulated fleet in the scanned site's network, register most of it, scan, reconcile."""
    fleet = Fleet(FLEET_HOSTS, seed=2022, base=FLEET_BASE)
    fleet.write_manifest(out_dir / "fleet-manifest.json")
    cctv = out_dir / "aldermoor-cctv-contractor.csv"
    registered = _contractor_register(fleet, cctv)
    import_register(engine, cctv, knowledge, site=demo_data.SCANNED_SITE)
    site_name, networks, addresses = site_scope(engine, demo_data.SCANNED_SITE, [FLEET_SCAN], [])
    with fleet.background() as failures:
        if failures:
            err.print(f"      {len(failures)} emulated listeners could not bind (another fleet running?)")
        summary = scan_site(engine, knowledge, site_name, networks, addresses,
                            ScanOptions(rate=2000, connect_timeout=1.0, read_timeout=1.5, host_timeout=20))
    rec = reconcile_site(engine, site_name, within=[FLEET_SCAN])
    err.print(f"[3/6] emulated fleet of {FLEET_HOSTS} devices on {FLEET_SCAN}; the estates register lists "
              f"{registered}. Scan: {summary.responded} answered in {summary.seconds:.1f} s; reconciled: "
              f"{len(rec.matched)} matched, {len(rec.seen_not_registered)} seen but not registered, "
              f"{len(rec.registered_not_seen)} registered but not seen", markup=False)
    return (f"\nScan of {site_name} ({FLEET_SCAN}): {summary.responded} devices answered; "
            f"{len(rec.seen_not_registered)} were missing from the register, "
            f"{len(rec.registered_not_seen)} registered devices were not found.")


def _plan_and_publish(engine: Engine, knowledge: Knowledge, out_dir: Path, as_of: date, err: Console) -> str:
    """Plan the removals as a new programme from next Monday, compare what-ifs, publish both statements."""
    start = next_monday(as_of)
    plan_path = out_dir / "removal-plan.yaml"
    plan_path.write_text(demo_data.demo_plan_yaml(start), encoding="utf-8")
    plan_file = load_plan_file(plan_path)
    plans, work, _ = plan_removals(engine, knowledge, plan_file, as_of, compare=True)
    base = plans[0]
    plan_to_xlsx(base, out_dir / "removal-schedule.xlsx")
    write_files(out_dir / "plan", {"plan.json": plan_to_json(base), "comparison.txt": comparison_to_table(plans),
                                   "burndown.svg": plan_burndown_svg(base), "gantt.svg": gantt_svg(base),
                                   "crew-load.svg": crew_load_svg(base)})
    publish_progress(engine, knowledge, as_of, public=out_dir / "public", internal=out_dir / "internal",
                     publication=Publication(publisher="Department for Regional Resilience (demo)", published=as_of))
    timeline = programme_timeline(engine, knowledge, EVERYTHING, as_of, assess=True)
    err.print(f"[6/6] planned {len(work.work)} removals at {len(work.sites)} sites, compared {len(plans) - 1} "
              "scenario(s), published the public and internal statements", markup=False)
    lines = [f"\nRemoval plan from {long_date(start)}: {plan_headline(base)}"]
    for m in timeline.figures.milestones:
        lines.append(f"  {long_date(m.date)}: {m.target_share:.0%} of affected sites must be clear; the plan has "
                     f"{m.share:.0%} ({m.sites} of the {m.target_sites} sites needed): {m.status}")
    lines += [f"  {problem}" for problem in timeline.problems[:3]]
    return "\n".join(lines)


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
    for view, site in iter_devices(engine):
        verdict = device_json(view, knowledge, as_of)["nil_subject"]
        per_site.setdefault(site.name, Counter())[verdict] += 1
        sensitive[site.name] = site.sensitive
    statuses: dict[str, Counter[str]] = {}
    for f in stored_findings(engine):
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
