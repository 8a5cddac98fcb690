"""Central server scale: agents pushing to uvicorn + PostgreSQL, the estate identified and assessed on
PostgreSQL, memory of server workers and agents, and an agent draining a day's spool after an outage.

Everything runs on this machine, on loopback: a PostgreSQL cluster the bench starts (tests/postgres_server),
`clearsite serve --workers N` and `clearsite agent run --once` processes (tests/support/central).

    .venv/bin/python bench/central_scale.py                 # full size: 50 agents, 1,000,000 observations,
                                                            # 1,000,000 devices, a 100,000-observation spool
    .venv/bin/python bench/central_scale.py --scale 0.01    # the same at 1/100 size, in a minute or two

Targets: ingest >= 10,000 observations/s; identification + assessment of 1,000,000 devices <= 60 s (the estate
stage is bench/estate_scale.py: its (a) import + identify plus (b) assess is the figure compared);
an agent's peak memory <= 100 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.postgres_server and tests.support, shared with the fault tests
os.environ.setdefault("CLEARSITE_ALLOW_LOOPBACK_NETWORKS", "1")  # the agents' sites scan 127.90.n.0/24

from tests.postgres_server import available, running_server  # noqa: E402
from tests.support.central import (  # noqa: E402
    AgentSite,
    CentreProcess,
    agent_command,
    counts_by_site,
    fill_spool,
    make_sites,
    rss_mb,
    shared_memory_mb,
)

AS_OF = date(2026, 11, 29)


def _run_agent(site: AgentSite, server: str, batch: int, log: Path) -> tuple[int, float, float]:
    """Run one agent to its end; (exit status, wall seconds, peak RSS MB).

    The peak is the agent's own VmHWM, sampled until it exits: wait4's ru_maxrss would count the copy of
    this (larger) bench process the child was between fork and exec.
    """
    start = time.perf_counter()
    peak = 0.0
    with open(log, "wb") as output:
        process = subprocess.Popen(agent_command(site, server, batch=batch, push_for="10m"),
                                   stdin=subprocess.DEVNULL, stdout=output, stderr=output)
        cmdline = Path(f"/proc/{process.pid}/cmdline")
        while process.poll() is None:
            try:
                executed = b"agent\x00run" in cmdline.read_bytes()  # not the fork before exec
            except OSError:
                executed = False
            if executed:
                peak = max(peak, rss_mb(process.pid))
            time.sleep(0.1)
    return process.returncode, time.perf_counter() - start, peak


_TICK = os.sysconf("SC_CLK_TCK")


def _children_cpu_s() -> float:
    """User + system CPU of this process's children that have ended (and been waited for) so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def cpu_seconds(pid: int) -> float:
    """User + system CPU a live process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def backend_pids(database: str) -> list[int]:
    """PostgreSQL backends serving `database` (their title is "postgres: USER DATABASE HOST …")."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().split(b"\0")[0].split()
            except OSError:
                continue
            if len(title) >= 3 and title[0] == b"postgres:" and title[2].decode(errors="replace") == database:
                found.append(int(entry.name))
    return found


class PeakSampler:
    """Samples the server workers' peak memory until stopped; workers may be replaced, so keep each.

    RSS (VmHWM) counts in full every page a worker shares with its master and the other workers (the
    app's code and the knowledge base, read once before the fork), so the peaks of PSS (its fair share
    of those) and USS (the pages only it holds: what one more worker costs) are sampled too.

    Also the CPU the workers and the database's PostgreSQL backends use from now on (the latest reading
    of each process, less what it had used when sampling began): the cost of ingest per observation.
    """

    def __init__(self, centre: CentreProcess, database: str = "") -> None:
        self.centre = centre
        self.database = database
        self.peaks: dict[int, float] = {}
        self.pss_peaks: dict[int, float] = {}
        self.uss_peaks: dict[int, float] = {}
        self.cpu_start: dict[int, float] = {}
        self.cpu_now: dict[int, tuple[str, float]] = {}
        for pid, _kind in self._processes():
            self.cpu_start[pid] = cpu_seconds(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.sample()

    def _processes(self) -> list[tuple[int, str]]:
        workers = [(pid, "server") for pid in self.centre.worker_pids()]
        return workers + [(pid, "postgres") for pid in (backend_pids(self.database) if self.database else [])]

    def sample(self) -> None:
        for pid, kind in self._processes():
            if kind == "server":
                self.peaks[pid] = max(self.peaks.get(pid, 0.0), rss_mb(pid))
                pss, uss = shared_memory_mb(pid)
                self.pss_peaks[pid] = max(self.pss_peaks.get(pid, 0.0), pss)
                self.uss_peaks[pid] = max(self.uss_peaks.get(pid, 0.0), uss)
            used = cpu_seconds(pid)
            if used:
                self.cpu_now[pid] = (kind, used)

    def cpu_used(self, kind: str) -> float:
        """CPU seconds the `kind` processes used since sampling began (up to the last sample)."""
        return sum(used - self.cpu_start.get(pid, 0.0) for pid, (k, used) in self.cpu_now.items() if k == kind)

    def stop(self) -> float:
        self.sample()
        self._stop.set()
        self._thread.join(5)
        return max(self.peaks.values(), default=0.0)


def ingest(server_url_of_db: str, work: Path, agents: int, total: int, workers: int, batch: int) -> dict[str, float]:
    per_agent = total // agents
    centre = CentreProcess(server_url_of_db, workers=workers, log=work / "centre.log").start()
    try:
        sites = make_sites(server_url_of_db, work, agents)
        start = time.perf_counter()
        for site in sites:
            fill_spool(site, per_agent)
        spooled_s = time.perf_counter() - start
        sampler = PeakSampler(centre, server_url_of_db.rsplit("/", 1)[-1].split("?")[0])
        results: list[tuple[int, float, float]] = [(0, 0.0, 0.0)] * agents
        threads = []
        start = time.perf_counter()
        agents_cpu = _children_cpu_s()  # the agents are this process's only children to end meanwhile
        for index, site in enumerate(sites):
            def run(index: int = index, site: AgentSite = site) -> None:
                results[index] = _run_agent(site, centre.url, batch, work / f"agent-{site.number:03d}.log")
            threads.append(threading.Thread(target=run))
            threads[-1].start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - start
        agents_cpu = _children_cpu_s() - agents_cpu
        worker_peak = sampler.stop()
        master = centre.process.pid if centre.process is not None and workers > 1 else None
        master_pss = shared_memory_mb(master)[0] if master else 0.0
        failed = [sites[i].name for i, r in enumerate(results) if r[0] != 0]
        counts = counts_by_site(server_url_of_db)
        stored = sum(c["observations"] for c in counts.values())
        doubled = sum(c["observations"] - c["fingerprints"] for c in counts.values())
        exact = all(counts[s.name]["observations"] == s.spooled for s in sites)
    finally:
        centre.stop()
    return {"agents": agents, "spooled": per_agent * agents, "stored": stored, "doubled": doubled,
            "exact": float(exact), "failed_agents": len(failed), "fill_s": spooled_s, "wall_s": wall,
            "rate": stored / wall, "worker_peak_mb": worker_peak,
            "worker_pss_mb": max(sampler.pss_peaks.values(), default=0.0),
            "worker_uss_mb": max(sampler.uss_peaks.values(), default=0.0), "master_pss_mb": master_pss,
            "agent_peak_mb": max(r[2] for r in results),
            "slowest_agent_s": max(r[1] for r in results),
            "server_cpu_ms": sampler.cpu_used("server") * 1000 / max(1, stored),
            "postgres_cpu_ms": sampler.cpu_used("postgres") * 1000 / max(1, stored),
            "agents_cpu_ms": agents_cpu * 1000 / max(1, stored)}


def drain_after_outage(db_url: str, work: Path, observations: int, workers: int, batch: int) -> dict[str, float]:
    """An agent whose centre was away for a day: its spool holds what it scanned meanwhile; the centre is
    back, and the agent's next run pushes it all."""
    folder = work / "outage"
    folder.mkdir()
    site = make_sites(db_url, folder, 1, department="Department of Outages")[0]
    fill_spool(site, observations)  # while the centre is down: the spool fills offline
    centre = CentreProcess(db_url, workers=workers, log=folder / "centre.log").start()
    try:
        code, wall, peak = _run_agent(site, centre.url, batch, folder / "agent.log")
    finally:
        centre.stop()
    stored = counts_by_site(db_url)[site.name]["observations"]
    return {"exit": code, "spooled": observations, "stored": stored, "drain_s": wall, "rate": stored / wall,
            "agent_peak_mb": peak}


def estate(db_url: str, work: Path, devices: int, sites: int, pg_data: str | None) -> dict[str, float]:
    """Identification + assessment of `devices` devices on PostgreSQL: a register of that many rows imported
    (every row identified as it is stored), then the whole estate assessed. In a child process, which is
    told the server's data directory so that it can count the server's CPU (its postmaster's processes)."""
    where = ["--pg-data", pg_data] if pg_data else []
    child = subprocess.run([sys.executable, __file__, "--stage", "estate", "--db", db_url, "--devices", str(devices),
                            "--sites", str(sites), "--work", str(work), *where],
                           capture_output=True, text=True, check=False)
    if child.returncode != 0:
        raise SystemExit(f"estate stage failed:\n{child.stderr[-3000:]}")
    return dict(json.loads(child.stdout.strip().splitlines()[-1]))


def _estate_stage(db_url: str, work: Path, devices: int, sites: int, pg_data: str | None) -> dict[str, float]:
    """Stages (a) import + identify, (b) assess, (c) a knowledge update's re-identify + re-assess:
    bench/estate_scale.py, whose docstring says which figure the target is compared with and why."""
    sys.path.insert(0, str(ROOT / "bench"))
    from estate_scale import ServerCpu, Stage, run_stages

    if pg_data:
        Stage.server_cpu = ServerCpu(pg_data)
    return run_stages(db_url, work, devices, sites)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="Fraction of the full size (e.g. 0.01).")
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--observations", type=int, default=1_000_000, help="Pushed in total by all agents.")
    parser.add_argument("--devices", type=int, default=1_000_000, help="Identified and assessed on PostgreSQL.")
    parser.add_argument("--outage-spool", type=int, default=100_000, help="Observations spooled during an outage.")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="Server workers.")
    parser.add_argument("--batch", type=int, default=1000, help="Observations per push.")
    parser.add_argument("--only", choices=["ingest", "estate", "outage"], action="append",
                        help="Run only these stages (repeatable).")
    parser.add_argument("--stage", choices=["estate"], help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--pg-data", help=argparse.SUPPRESS)
    parser.add_argument("--sites", type=int, default=5000, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.stage == "estate":
        print(json.dumps(_estate_stage(args.db, args.work, args.devices, args.sites, args.pg_data)))
        return
    reason = available()
    if reason:
        raise SystemExit(f"cannot start PostgreSQL: {reason}")
    stages = set(args.only or ["ingest", "estate", "outage"])
    agents = max(2, round(args.agents * min(1.0, args.scale * 10)))  # a small run keeps several agents
    total = max(agents, round(args.observations * args.scale))
    devices = max(1000, round(args.devices * args.scale))
    outage = max(1000, round(args.outage_spool * args.scale))
    print(f"central scale at {args.scale:g}: {agents} agents x {total // agents:,} observations, "
          f"{devices:,} devices, an outage spool of {outage:,}; {args.workers} server workers, "
          f"batches of {args.batch}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    work = Path(tempfile.mkdtemp(prefix="clearsite-central-"))
    with running_server(max_connections=max(200, args.workers * 15 + agents + 20), shared_buffers="512MB") as pg:
        if "ingest" in stages:
            with pg.database() as url:
                folder = work / "ingest"
                folder.mkdir()
                r = ingest(url, folder, agents, total, args.workers, args.batch)
            print(f"ingest: {int(r['stored']):,} of {int(r['spooled']):,} observations stored by {agents} agents "
                  f"in {r['wall_s']:.1f} s = {r['rate']:,.0f} obs/s (target >= 10,000); doubled {int(r['doubled'])}, "
                  f"exact per site: {'yes' if r['exact'] else 'NO'}, agents failed: {int(r['failed_agents'])}")
            print(f"  server worker peak: PSS {r['worker_pss_mb']:.0f} MB, USS (its own pages) {r['worker_uss_mb']:.0f} MB, "
                  f"RSS {r['worker_peak_mb']:.0f} MB (counting in full what it shares with the master, whose PSS is "
                  f"{r['master_pss_mb']:.0f} MB); agent peak RSS {r['agent_peak_mb']:.0f} MB (target <= 100 MB)")
            print(f"  slowest agent {r['slowest_agent_s']:.1f} s; spools filled in {r['fill_s']:.1f} s")
            print(f"  CPU per observation: server workers {r['server_cpu_ms']:.3f} ms, PostgreSQL backends "
                  f"{r['postgres_cpu_ms']:.3f} ms, agents {r['agents_cpu_ms']:.3f} ms (their start-up included) "
                  f"(10,000 obs/s on 2 CPUs leaves 0.2 ms for everything)")
        if "outage" in stages:
            with pg.database() as url:
                r = drain_after_outage(url, work, outage, args.workers, args.batch)
            print(f"outage: an agent drained {int(r['stored']):,} of {int(r['spooled']):,} spooled observations in "
                  f"{r['drain_s']:.1f} s ({r['rate']:,.0f} obs/s, exit {int(r['exit'])}); its peak RSS "
                  f"{r['agent_peak_mb']:.0f} MB")
        if "estate" in stages:
            with pg.database() as url:
                folder = work / "estate"
                folder.mkdir()
                r = estate(url, folder, devices, max(50, min(5000, devices // 200)), getattr(pg, "data", None))
            sys.path.insert(0, str(ROOT / "bench"))
            from estate_scale import describe

            print(describe(r))
    print(f"work folder (logs): {work}")


if __name__ == "__main__":
    main()
