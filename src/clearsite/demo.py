"""`clearsite demo`: build a realistic department and run the whole pipeline on it, non-interactively."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from clearsite import demo_data, pipeline
from clearsite.knowledge import Knowledge
from clearsite.sources.register import site_key
from clearsite.store.sites import add_site, site_ids_by_key


def run_demo(engine: Engine, knowledge: Knowledge, out_dir: Path, out: Console, err: Console,
             as_of: date | None = None) -> None:
    as_of = as_of or date.today()
    out_dir.mkdir(parents=True, exist_ok=True)
    sites = demo_data.demo_sites()
    with engine.begin() as conn:
        existing = site_ids_by_key(conn)
        created = [add_site(conn, s) for s in sites if site_key(s.name) not in existing]
    err.print(f"[1/4] {demo_data.DEMO_DEPARTMENT}: {len(sites)} sites ({len(created)} new), "
              f"{sum(s.sensitive for s in sites)} sensitive")

    register = out_dir / "estates-register.csv"
    rows = demo_data.write_demo_register(register)
    extra = out_dir / "annex-register.xlsx"
    extra_rows = demo_data.write_demo_register_xlsx(extra)
    extra_site = demo_data.XLSX_SITE
    reports = [pipeline.import_register(engine, register, knowledge),
               pipeline.import_register(engine, extra, knowledge, site=extra_site)]
    for report in reports:
        err.print(f"[2/4] imported {report.file}: {report.rows_read} rows, {report.stored} stored "
                  f"({report.duplicates} already imported), {len(report.skipped)} junk rows skipped, "
                  f"{len(report.warnings)} warnings", markup=False)
        for line in report.skipped[:5]:
            err.print(f"      skipped: {line}", markup=False)
        if len(report.skipped) > 5:
            err.print(f"      … and {len(report.skipped) - 5} more", markup=False)
    del rows, extra_rows

    counts = pipeline.assess_all(engine, knowledge, as_of)
    err.print(f"[3/4] assessed every device as of {as_of}: {sum(counts.values())} findings")
    files = pipeline.write_report(engine, knowledge, out_dir / "report", as_of)
    err.print(f"[4/4] wrote the internal report to {files.html.parent}", markup=False)

    _summary(engine, knowledge, as_of, out)
    out.print(f"\nInternal report (names sites; do not publish): {files.html}")


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
