"""The estate on PostgreSQL: identification + assessment of N devices, in three separately timed stages.

    .venv/bin/python bench/estate_scale.py --devices 100000        # starts its own PostgreSQL on loopback
    .venv/bin/python bench/estate_scale.py --devices 1000000       # the issue 13 figure (a quiet machine)

(a) import + identify: a register of N rows (services/demo_data.write_large_register: ~5,000 makes and
    models over N serials, 0.5% junk rows) imported by services/imports.import_register, which stores each
    row's observation and device and identifies it as it is stored;
(b) assess: the whole estate assessed under every policy (services/assessment.assess_all), findings stored;
(c) knowledge update: every stored device re-identified from its stored observations with a freshly loaded
    knowledge base (identification.refresh_estate; its memos start cold, as with a new version), then the
    estate re-assessed: what installing a new knowledge version calls for.

THE FIGURE COMPARED WITH ISSUE 13's TARGET ("identification + assessment of 1,000,000 devices on PostgreSQL
<= 60 s") is (a) + (b): from a register file to stored findings, every device identified and assessed. It is
the stricter reading: (a) includes parsing the file and storing observations and devices, which ingest also
pays. (c) is identification + assessment alone of devices already stored, and is reported beside it (it should
meet the same target with room to spare). Each stage's rate is devices per second of wall time. CPU seconds of
this process and its forked workers are given too, and the PostgreSQL server's (its processes' CPU), and the load average
before and after, because the machine is shared: compare runs by ratios taken under similar load.

Peak RSS: this process (which writes everything) and the largest forked worker.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.postgres_server, shared with the tests

AS_OF = date(2026, 11, 29)


def _cpu_s() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class ServerCpu:
    """CPU seconds used by the PostgreSQL server's processes (postmaster, backends, workers), sampled every
    0.2 s in a thread so that backends which exit (assessment's workers' connections) are still counted."""

    def __init__(self, data_dir: str) -> None:
        self.postmaster = int(Path(data_dir, "postmaster.pid").read_text().split()[0])
        self.seen: dict[int, float] = {}  # pid -> CPU seconds when last sampled
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self.stopped.wait(0.2):
            self.sample()

    def sample(self) -> None:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid = int(stat.parent.name)
            if pid == self.postmaster or int(fields[1]) == self.postmaster:  # fields[1]: the parent's pid
                with self.lock:
                    self.seen[pid] = (int(fields[11]) + int(fields[12])) / self.ticks  # utime + stime

    def total(self) -> float:
        self.sample()
        with self.lock:
            return sum(self.seen.values())


class Stage:
    """Wall and CPU seconds of a block of work: this process and its workers, and the database server."""

    server_cpu: ServerCpu | None = None  # when the bench started the server

    def __enter__(self) -> Stage:
        self.wall, self.cpu, self.server = time.perf_counter(), _cpu_s(), self._server()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, _cpu_s() - self.cpu
        self.server = self._server() - self.server

    def _server(self) -> float:
        return self.server_cpu.total() if self.server_cpu else 0.0


def run_stages(db_url: str, work: Path, devices: int, sites: int) -> dict[str, Any]:
    """Stages (a), (b), (c) on an empty, migrated database at db_url; their figures."""
    from clearsite.formats.knowledge import load_knowledge
    from clearsite.services.assessment import assess_all
    from clearsite.services.demo_data import large_sites, write_large_register
    from clearsite.services.identification import refresh_estate
    from clearsite.services.imports import import_register
    from clearsite.store.db import open_database
    from clearsite.store.sites import add_site
    from clearsite.store.transactions import write_transaction

    register = work / "register.csv"
    write_large_register(register, devices, seed=1, sites=sites)
    knowledge = load_knowledge()
    engine = open_database(db_url)
    with write_transaction(engine) as conn:
        for site in large_sites(sites):
            add_site(conn, site)
    load_before = os.getloadavg()[0]
    with Stage() as imported:
        report = import_register(engine, register, knowledge, today=AS_OF)
    with Stage() as assessed:
        counts = assess_all(engine, knowledge, AS_OF)
    updated_knowledge = load_knowledge()  # another object: identification's memos start cold
    with Stage() as reidentified:
        refreshed = refresh_estate(engine, updated_knowledge)
    with Stage() as reassessed:
        recounts = assess_all(engine, updated_knowledge, AS_OF)
    engine.dispose()
    if recounts != counts:
        raise SystemExit("re-assessment with the same knowledge gave other findings")
    n = report.new_devices
    return {
        "rows": report.rows_read, "devices": n, "identified": report.identified, "findings": sum(counts.values()),
        "a_import_identify_s": imported.wall, "a_cpu_s": imported.cpu, "a_server_cpu_s": imported.server,
        "a_rate": n / imported.wall,
        "b_assess_s": assessed.wall, "b_cpu_s": assessed.cpu, "b_server_cpu_s": assessed.server,
        "b_rate": n / assessed.wall,
        "target_s": imported.wall + assessed.wall,
        "c_reidentify_s": reidentified.wall, "c_reassess_s": reassessed.wall,
        "c_s": reidentified.wall + reassessed.wall, "c_cpu_s": reidentified.cpu + reassessed.cpu,
        "c_server_cpu_s": reidentified.server + reassessed.server,
        "c_rate": refreshed / (reidentified.wall + reassessed.wall),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "load_before": load_before, "load_after": os.getloadavg()[0],
    }


def describe(r: dict[str, Any]) -> str:
    """The figures as the benches print them."""
    scale = 1_000_000 / max(1, r["devices"])
    return "\n".join([
        f"estate on PostgreSQL: {int(r['rows']):,} register rows -> {int(r['devices']):,} devices, "
        f"{int(r['findings']):,} findings (load average {r['load_before']:.1f} before, {r['load_after']:.1f} after)",
        f"  (a) import + identify  {r['a_import_identify_s']:6.1f} s  {r['a_rate']:9,.0f} devices/s  "
        f"(CPU {r['a_cpu_s']:.1f} s, server {r['a_server_cpu_s']:.1f} s)",
        f"  (b) assess             {r['b_assess_s']:6.1f} s  {r['b_rate']:9,.0f} devices/s  (CPU {r['b_cpu_s']:.1f} s, "
        f"server {r['b_server_cpu_s']:.1f} s)",
        f"  (a)+(b) = {r['target_s']:.1f} s: the figure for the target (<= 60 s at 1,000,000; linear: "
        f"{r['target_s'] * scale:.0f} s)",
        f"  (c) knowledge update: re-identify {r['c_reidentify_s']:.1f} s + re-assess {r['c_reassess_s']:.1f} s = "
        f"{r['c_s']:.1f} s  {r['c_rate']:,.0f} devices/s  (CPU {r['c_cpu_s']:.1f} s, server {r['c_server_cpu_s']:.1f} s; "
        f"linear at 1,000,000: "
        f"{r['c_s'] * scale:.0f} s)",
        f"  peak RSS: writer {r['peak_rss_mb']:.0f} MB, largest worker "
        + (f"{r['worker_peak_rss_mb']:.0f} MB" if r["worker_peak_rss_mb"] else "none (too few devices to fork)"),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000, help="Register rows (devices) to import.")
    parser.add_argument("--sites", type=int, help="Sites (default: devices / 200, between 50 and 5,000).")
    parser.add_argument("--json", action="store_true", help="Print the figures as one JSON object.")
    args = parser.parse_args()
    from tests.postgres_server import available, running_server

    reason = available()
    if reason:
        raise SystemExit(f"cannot start PostgreSQL: {reason}")
    sites = args.sites or max(50, min(5000, args.devices // 200))
    with tempfile.TemporaryDirectory(prefix="clearsite-estate-") as folder, \
            running_server(shared_buffers="512MB") as pg, pg.database() as url:
        Stage.server_cpu = ServerCpu(pg.data) if getattr(pg, "data", None) else None
        figures = run_stages(url, Path(folder), args.devices, sites)
    print(json.dumps(figures) if args.json else describe(figures))


if __name__ == "__main__":
    main()
