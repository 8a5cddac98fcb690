"""A centre and its agents in real processes, on loopback, for the fault tests and the scale bench.

The centre is `clearsite serve --workers N` on a PostgreSQL database, in its own process group so
`kill -9` takes the master and every worker at once, as a crashed host would. Agents are
`clearsite agent run --once` subprocesses whose spools were filled beforehand through the agent's own
spool code (as a scan would fill them), so the tests know exactly what was spooled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

PASSWORD = "correct horse battery staple"
SECRET_KEY = "central-tests-shared-secret-key-0123456789"
# Agent sites: site n declares 127.90.n.0/24 (the one address agents scan, .254, answers nothing) and the
# ranges its spooled hosts come from (host_networks), written into spools, never contacted.
SCAN_NET = "127.90.{n}.0/24"
SCAN_TARGET = "127.90.{n}.254/32"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], what: str, deadline_s: float = 120.0,
               also: Callable[[], None] | None = None) -> None:
    """Poll `condition` until true; AssertionError naming `what` after the deadline. `also` may raise first."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        if also is not None:
            also()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {deadline_s:.0f} s waiting for {what}")
        time.sleep(0.05)


def rss_mb(pid: int) -> float:
    """Resident memory of a live process (VmHWM: its peak so far), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def shared_memory_mb(pid: int) -> tuple[float, float]:
    """(PSS, USS) of a live process now, in MB: its fair share of the pages it shares with others (the
    workers of one master share its code and knowledge), and the pages only it holds."""
    pss = private = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, value = line.partition(":")
            if name == "Pss":
                pss = int(value.split()[0])
            elif name in ("Private_Clean", "Private_Dirty"):
                private += int(value.split()[0])
    except OSError:
        pass
    return pss / 1024, private / 1024


class CentreProcess:
    """`clearsite serve --workers N --db URL` on a free loopback port."""

    def __init__(self, db_url: str, workers: int = 2, log: Path | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.db_url = db_url
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {**os.environ, "CLEARSITE_ADMIN_PASSWORD": PASSWORD, "CLEARSITE_SECRET_KEY": SECRET_KEY,
                    "CLEARSITE_ALERT_DELIVERY": "0", **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> CentreProcess:
        output = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen(
            [sys.executable, "-m", "clearsite", "serve", "--port", str(self.port), "--db", self.db_url,
             "--workers", str(self.workers)],
            env=self.env, stdin=subprocess.DEVNULL, stdout=output, stderr=output, start_new_session=True)
        self.wait_ready()
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, deadline_s: float = 120.0) -> None:
        def answers() -> bool:
            try:
                return httpx.get(f"{self.url}/login", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        def still_running() -> None:
            if not self.alive():
                raise AssertionError(f"the centre exited ({self.process and self.process.returncode}); "
                                     f"see {self.log}")

        wait_until(answers, "the centre to answer", deadline_s, still_running)
        # every worker must be up: uvicorn answers as soon as the first is
        wait_until(lambda: len(self.worker_pids()) >= self.workers, "every server worker", deadline_s)

    def pids(self) -> list[int]:
        """The master and its workers (the process group)."""
        if self.process is None:
            return []
        group = self.process.pid
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.getpgid(int(entry.name)) == group:
                        found.append(int(entry.name))
                except ProcessLookupError:
                    continue
        return found

    def worker_pids(self) -> list[int]:
        """The processes serving requests: the workers, or the master itself when there is one worker."""
        if self.workers == 1:
            return [self.process.pid] if self.alive() and self.process is not None else []
        master = self.process.pid if self.process is not None else None
        pids = []
        for pid in self.pids():
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            parent = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:")), None)
            if pid != master and parent == master and b"resource_tracker" not in command:
                pids.append(pid)
        return pids

    def kill9(self) -> None:
        """SIGKILL to the whole group (master and workers), as a crash would; waits until they are gone."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        wait_until(lambda: not self.pids(), "every server process to be gone", 30)

    def stop(self) -> None:
        if not self.alive():
            self.kill9()
            return
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(30)
        self.kill9()


@dataclass
class AgentSite:
    """One site with its agent account, token file and spool."""

    number: int
    name: str
    token: str
    token_id: int
    token_file: Path
    spool: Path
    spooled: int = 0


def make_sites(db_url: str, folder: Path, count: int, department: str = "Department of Agents") -> list[AgentSite]:
    """Sites, agent users and push tokens, made through the services as `clearsite site add`, `user add`
    and `token create` make them."""
    from clearsite.services.accounts import add_account, issue_token
    from clearsite.services.database import open_database
    from clearsite.services.sites import add_site

    engine = open_database(db_url)
    sites = []
    try:
        for n in range(1, count + 1):
            name = f"Agent Site {n:03d}"
            add_site(engine, "setup", name=name, department=department,
                     networks=[SCAN_NET.format(n=n), *host_networks(n)])
            add_account(engine, f"agent-{n:03d}", PASSWORD, "agent", department=None, site=name, actor="setup",
                        one_time=False)
            issued = issue_token(engine, f"agent-{n:03d}", f"host-{n:03d}", ["push"], 30, "setup")
            token_file = folder / f"agent-{n:03d}.token"
            token_file.write_text(issued.token + "\n", encoding="utf-8")
            token_file.chmod(0o600)
            sites.append(AgentSite(n, name, issued.token, issued.id, token_file, folder / f"spool-{n:03d}"))
    finally:
        engine.dispose()
    return sites


def host_networks(n: int) -> list[str]:
    """Where site n's spooled hosts are: two /16s (131,068 addresses; wider networks need --allow-wide),
    distinct per site for n up to 126, never contacted."""
    return [f"10.{2 * n}.0.0/16", f"10.{2 * n + 1}.0.0/16"]


def host_ip(n: int, index: int) -> str:
    import ipaddress

    first, second = (ipaddress.ip_network(net) for net in host_networks(n))
    per_net = first.num_addresses - 2
    if index >= 2 * per_net:
        raise ValueError(f"site {n} has room for {2 * per_net} hosts, not {index + 1}")
    net = first if index < per_net else second
    return str(net.network_address + 1 + index % per_net)


def fill_spool(site: AgentSite, count: int, limit: int = 1_000_000, chunk: int = 5_000) -> int:
    """Put `count` hosts in the site's spool through the agent's spool code, as a scan would."""
    from clearsite.core.models import Evidence, ScannedHost, Signal
    from clearsite.services.agent_spool import host_body, open_agent_spool

    spool = open_agent_spool(site.spool, limit)
    observed = datetime.now(UTC).replace(microsecond=0).isoformat()
    try:
        start = site.spooled
        for first in range(start, start + count, chunk):
            bodies = []
            for index in range(first, min(first + chunk, start + count)):
                ip = host_ip(site.number, index)
                mac = f"C0:56:{site.number % 256:02X}:{index >> 16 & 255:02X}:{index >> 8 & 255:02X}:{index & 255:02X}"
                brand = ("Hikvision", "Dahua", "Axis")[index % 3]
                host = ScannedHost(ip=ip, mac=mac, open_ports=[80, 554], evidence=[
                    Evidence(Signal.HTTP_SERVER, f"{brand} web", f"http://{ip}/"),
                    Evidence(Signal.SERIAL, f"SN-{site.number}-{index}", f"onvif://{ip}/")])
                bodies.append(host_body(host, observed, f"scan {ip}"))
            spool.add(bodies)
        site.spooled += count
    finally:
        spool.close()
    return count


def agent_command(site: AgentSite, server: str, *extra: str, batch: int = 500, push_for: str = "20s") -> list[str]:
    return [sys.executable, "-m", "clearsite", "agent", "run", "--once", "--server", server,
            "--token-file", str(site.token_file), "--site", site.name, "--spool", str(site.spool),
            "--target", SCAN_TARGET.format(n=site.number), "--timeout", "0.5", "--batch", str(batch),
            "--push-for", push_for, *extra]


def start_agent(site: AgentSite, server: str, *extra: str, batch: int = 500, push_for: str = "20s",
                env: dict[str, str] | None = None, log: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(agent_command(site, server, *extra, batch=batch, push_for=push_for),
                            env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def counts_by_site(db_url: str) -> dict[str, dict[str, int]]:
    """Per site: observations, distinct observation fingerprints, devices, agent sources."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT s.name, "
                " (SELECT count(*) FROM observations o WHERE o.site_id = s.id),"
                " (SELECT count(DISTINCT o.fingerprint) FROM observations o WHERE o.site_id = s.id),"
                " (SELECT count(*) FROM devices d WHERE d.site_id = s.id),"
                " (SELECT count(DISTINCT d.serial) FROM devices d WHERE d.site_id = s.id)"
                " FROM sites s")).all()
    finally:
        engine.dispose()
    return {r[0]: {"observations": r[1], "fingerprints": r[2], "devices": r[3], "serials": r[4]} for r in rows}


def observation_total(db_url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM observations")).scalar_one())
    finally:
        engine.dispose()


def spool_pending(site: AgentSite) -> int:
    from clearsite.services.agent_spool import open_agent_spool

    spool = open_agent_spool(site.spool, 1_000_000)
    try:
        return spool.pending()
    finally:
        spool.close()


def finish(process: subprocess.Popen[str], timeout: float = 300) -> tuple[int, str]:
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        raise AssertionError(f"an agent did not finish in {timeout:.0f} s: {err[-2000:]}") from None
    return process.returncode, err


def drain(site: AgentSite, server: str, attempts: int = 20, **kwargs: Any) -> list[tuple[int, str]]:
    """Run the agent until its spool is empty (exit 0), at most `attempts` times; every run's (exit, stderr)."""
    runs = []
    for _ in range(attempts):
        code, err = finish(start_agent(site, server, **kwargs))
        runs.append((code, err))
        if code == 0:
            return runs
        if code == 2:
            raise AssertionError(f"the centre refused agent {site.name}: {err[-2000:]}")
    raise AssertionError(f"agent {site.name} still had a spool after {attempts} runs: {runs[-1][1][-2000:]}")
