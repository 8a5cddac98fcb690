"""Report scale: the internal findings report (`clearsite report`) for a 25,000-device estate.

Builds the estate (a generated register imported, identified and assessed), writes the report, and
prints its size and the time Chromium (Debian's, driven by Playwright, as tests/test_web_browser.py
launches it) takes to load it. Targets: report.html under 5 MB, loaded in under 2 s.

    .venv/bin/python bench/report_scale.py [--devices N] [--sites N] [--all-sensitive] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
AS_OF = date(2026, 11, 29)


def build_estate(db: Path, work: Path, devices: int, sites: int, all_sensitive: bool) -> float:
    from clearsite.formats.knowledge import load_knowledge
    from clearsite.services.assessment import assess_all
    from clearsite.services.demo_data import large_sites, write_large_register
    from clearsite.services.imports import import_register
    from clearsite.store.db import open_database
    from clearsite.store.sites import add_site

    start = time.perf_counter()
    knowledge = load_knowledge()
    engine = open_database(f"sqlite:///{db}")
    with engine.begin() as conn:
        for site in large_sites(sites):
            add_site(conn, replace(site, holds_secret=True) if all_sensitive else site)
    register = work / "register.csv"
    write_large_register(register, devices, seed=1, sites=sites)
    import_register(engine, register, knowledge, today=AS_OF)
    assess_all(engine, knowledge, AS_OF)
    return time.perf_counter() - start


def write(db: Path, out: Path) -> float:
    from clearsite.formats.knowledge import load_knowledge
    from clearsite.services.assessment import write_report
    from clearsite.store.db import open_database

    start = time.perf_counter()
    write_report(open_database(f"sqlite:///{db}"), load_knowledge(), out, AS_OF)
    return time.perf_counter() - start


def chromium_load_seconds(html: Path) -> tuple[float, int]:
    """Seconds from navigation to the load event, best of three, and the page height in pixels."""
    from playwright.sync_api import sync_playwright

    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        times = []
        for _ in range(3):
            start = time.perf_counter()
            page.goto(html.as_uri(), wait_until="load", timeout=120_000)
            times.append(time.perf_counter() - start)
        height = int(page.evaluate("document.documentElement.scrollHeight"))
        browser.close()
    return min(times), height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=25_000)
    parser.add_argument("--sites", type=int, default=250)
    parser.add_argument("--keep", type=Path, help="Keep the database and report in this folder.")
    parser.add_argument("--all-sensitive", action="store_true",
                        help="Every site sensitive, so most devices need action (the report's worst case).")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="clearsite-report-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db, out = work / "bench.db", work / "report"
    if not db.exists():
        built = build_estate(db, work, args.devices, args.sites, args.all_sensitive)
        print(f"built {args.devices:,} devices at {args.sites:,} sites (import, identify, assess) in {built:.1f} s")
    took = write(db, out)
    html = out / "report.html"
    size_mb = html.stat().st_size / 1e6
    print(f"report written in {took:.1f} s: report.html {size_mb:.2f} MB, devices.csv "
          f"{(out / 'devices.csv').stat().st_size / 1e6:.1f} MB, report.xlsx {(out / 'report.xlsx').stat().st_size / 1e6:.1f} MB")
    load_s, height = chromium_load_seconds(html)
    print(f"Chromium load (best of 3): {load_s:.2f} s; page height {height:,} px")
    verdict = "MET" if size_mb < 5 and load_s < 2 else "NOT MET"
    print(f"target (report.html < 5 MB, loads in < 2 s): {verdict}")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
