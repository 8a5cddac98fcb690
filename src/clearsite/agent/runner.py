"""One agent cycle, and the loop that repeats it: scan, take the inbox, push the spool, heartbeat, jobs.

    run_once(config)   scan (the targets, or the site's networks), take the inbox, push everything
                       spooled; 0 when the spool is empty after, else CheckFailed (exit 1);
                       CentreRefused (exit 2) when the centre refuses the token or the site.
    run_forever(config) the same on a schedule (`every`, within `window`), pushing, heartbeating
                       and asking for jobs every `poll`; a down centre only delays the push.

Order matters for "lose nothing, double nothing": observations are committed to the spool before
any push; a batch leaves the spool only after the centre's 2xx; a batch is re-sent under its key.
"""

from __future__ import annotations

import os
import socket
import time as clock
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clearsite.agent.client import BatchRefused, CentreClient, CentreUnreachable
from clearsite.agent.config import AgentConfig
from clearsite.core.errors import CheckFailed, InputError, UnavailableError
from clearsite.services.agent_spool import (
    WARN_AT,
    JobReport,
    ScanOptions,
    Spool,
    SpoolFull,
    open_agent_spool,
    scan_into_spool,
    spool_inbox,
    spool_status,
)

__all__ = ["AgentRun", "run_forever", "run_once", "status"]

Log = Callable[[str], None]
# Fault points for the crash tests: when CLEARSITE_AGENT_FAULT_AT names one, the agent writes the file
# CLEARSITE_AGENT_FAULT_FILE and waits there until the file is removed (or it is killed). Unset: no cost.
FAULT_AT = "CLEARSITE_AGENT_FAULT_AT"
FAULT_FILE = "CLEARSITE_AGENT_FAULT_FILE"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("clearsite")
    except PackageNotFoundError:
        return "0"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _fault_point(name: str) -> None:
    if os.environ.get(FAULT_AT) != name:
        return
    marker = Path(os.environ[FAULT_FILE])
    marker.write_text(f"{os.getpid()} at {name}\n", encoding="utf-8")
    while marker.exists():
        clock.sleep(0.05)


class AgentRun:
    """An agent with its spool open and its centre client ready."""

    def __init__(self, config: AgentConfig, log: Log) -> None:
        self.config = config
        self.log = log
        self.spool: Spool = open_agent_spool(config.spool, config.spool_limit)
        self.client = CentreClient(config.server, config.read_token(), ca_file=str(config.ca_file or "") or None,
                                   pin_sha256=config.pin_sha256, retry_for=config.push_for)
        self.spool.put(server=config.server, site=config.site, limit=config.spool_limit)

    def close(self) -> None:
        self.client.close()
        self.spool.close()

    # ----------------------------------------------------------------- the site as the centre declares it

    def networks(self) -> list[str]:
        """The site's networks from the centre, cached in the spool; the cache when the centre is away."""
        try:
            site = self.client.site(self.config.site)
        except CentreUnreachable as exc:
            cached = self.spool.get("site_info")
            if not cached or cached.get("asked_for") != self.config.site:
                raise UnavailableError(f"cannot learn the networks of {self.config.site!r}: {exc}; "
                                       "nothing scanned (the agent scans only what the centre declares)") from None
            self.log(f"centre unreachable; using the networks it declared on {cached['fetched_at']}")
            return list(cached["networks"])
        self.spool.put(site_info={**site, "asked_for": self.config.site, "fetched_at": _now().isoformat()})
        return list(site["networks"])

    # ----------------------------------------------------------------- gathering

    def _options(self) -> ScanOptions:
        s = self.config.scan
        try:
            options = ScanOptions(rate=s.rate, host_concurrency=s.concurrency, per_host_concurrency=s.per_host,
                                  connect_timeout=s.timeout, udp_discovery=s.udp)
            return replace(options, ports=s.ports) if s.ports else options
        except ValueError as exc:
            raise InputError(f"[scan] settings: {exc}") from None

    def scan(self, networks: list[str], targets: list[str] | None = None) -> dict[str, Any]:
        targets = list(self.config.targets) if targets is None else targets
        result = scan_into_spool(self.spool, networks, targets, list(self.config.exclude), self._options())
        self.log(f"scanned {result.targets} addresses: {result.responded} answered, {result.spooled} spooled"
                 + (" (the spool filled: scan stopped)" if result.full else ""))
        self._warn_if_filling()
        return {"targets": result.targets, "responded": result.responded, "spooled": result.spooled,
                "errors": result.errors, "full": result.full, "covered": result.covered}

    def inbox(self, networks: list[str]) -> None:
        if self.config.inbox is None:
            return
        for item in spool_inbox(self.spool, self.config.inbox, networks):
            self.log(f"inbox {item.file}: {item.reason}" + (f" → {item.moved_to}" if item.moved_to else ""))

    def _warn_if_filling(self) -> None:
        held, limit = self.spool.pending(), self.spool.limit
        if held >= limit:
            self.log(f"warning: the spool is full ({held} of {limit} observations): new scans are refused "
                     "until the centre takes them")
        elif held >= WARN_AT * limit:
            self.log(f"warning: the spool is {held * 100 // limit}% full ({held} of {limit} observations)")

    # ----------------------------------------------------------------- pushing

    def push(self) -> bool:
        """Push every spooled batch; False when the centre stopped answering (the rest stays spooled)."""
        pushed = 0
        while (batch := self.spool.next_batch(self.config.batch)) is not None:
            _fault_point("batch-formed")
            try:
                answer = self.client.push(self.config.site, batch.key, batch.observations)
            except BatchRefused as exc:
                self.spool.refused(batch, str(exc))
                self.log(f"the centre refused batch {batch.key} ({len(batch.observations)} observations): {exc}; "
                         "kept in the spool, set aside")
                continue
            except CentreUnreachable as exc:
                self.log(f"push stopped: {exc}; {self.spool.pending()} observations kept in the spool")
                return False
            _fault_point("batch-sent")
            self.spool.accepted(batch)
            pushed += len(batch.observations)
            if answer.get("replayed"):
                self.log(f"batch {batch.key} had already been applied; not applied again")
        if pushed:
            self.log(f"pushed {pushed} observations; {self.spool.pending()} left in the spool")
        return self.push_coverage()

    def push_coverage(self) -> bool:
        """Push each finished scan's coverage whose observations the centre has all accepted."""
        while (coverage := self.spool.next_coverage()) is not None:
            _fault_point("coverage-formed")
            try:
                self.client.push_coverage(self.config.site, coverage.key, coverage.targets, coverage.scanned_at)
            except BatchRefused as exc:
                self.spool.coverage_refused(coverage, str(exc))
                self.log(f"the centre refused the coverage of the scan of {coverage.scanned_at}: {exc}; kept, set aside")
                continue
            except CentreUnreachable as exc:
                self.log(f"coverage push stopped: {exc}; kept in the spool")
                return False
            _fault_point("coverage-sent")
            self.spool.coverage_accepted(coverage)
            self.log(f"pushed the coverage of the scan of {coverage.scanned_at} ({len(coverage.targets)} target(s))")
        return True

    def heartbeat(self) -> None:
        status = spool_status(self.spool)
        try:
            self.client.heartbeat({"site": self.config.site, "host": self.config.host or socket.gethostname(),
                                   "version": _version(), "spooled": status["spooled"],
                                   "last_scan": status["last_scan"], "last_push": status["last_push"]})
        except CentreUnreachable as exc:
            self.log(f"heartbeat not sent: {exc}")

    # ----------------------------------------------------------------- jobs

    def report_jobs(self) -> None:
        for report in self.spool.job_reports():
            try:
                self.client.report_job(report.job_id, report.ok, report.outcome)
            except CentreUnreachable:
                return
            except BatchRefused as exc:  # the centre no longer holds it running: nothing to mend
                self.log(f"job {report.job_id}: report not taken ({exc})")
            self.spool.job_reported(report.job_id)

    def run_jobs(self, networks: list[str]) -> int:
        try:
            claimed = self.client.claim_jobs()
        except CentreUnreachable as exc:
            self.log(f"jobs not asked for: {exc}")
            return 0
        for job in claimed:
            self.log(f"job {job['id']}: {job['kind']} of {', '.join(job['targets']) or 'the site networks'} "
                     f"asked by {job['requested_by']}")
            try:
                outcome: dict[str, Any] = self.scan(networks, list(job["targets"]))
                ok = True
            except (InputError, UnavailableError) as exc:  # out of scope, spool full: the job fails, saying why
                outcome, ok = {"error": str(exc)}, False
            self.spool.add_job_report(JobReport(int(job["id"]), ok, outcome))
        return len(claimed)


def run_once(config: AgentConfig, log: Log) -> dict[str, Any]:
    """Scan, take the inbox, run waiting jobs, push everything, heartbeat; CheckFailed if anything stays spooled."""
    agent = AgentRun(config, log)
    unscanned = ""
    try:
        try:
            networks = agent.networks()
        except UnavailableError as exc:
            networks, unscanned = [], str(exc)
        if networks:
            try:
                agent.scan(networks)
            except SpoolFull as exc:
                log(f"scan refused: {exc}")
            agent.inbox(networks)
        agent.push()
        if networks:
            agent.report_jobs()
            if agent.run_jobs(networks):
                agent.push()
            agent.report_jobs()
        agent.heartbeat()
        status = spool_status(agent.spool)
    finally:
        agent.close()
    if unscanned and not status["spooled"] and not status["coverage"]:
        raise CheckFailed(unscanned)
    if status["coverage"] and not status["spooled"]:
        raise CheckFailed(f"the coverage of {status['coverage']} finished scan(s) is still in the spool at "
                          f"{config.spool}; it will be pushed on the next run")
    if status["spooled"]:
        refused = sum(r["observations"] for r in status["refused"])
        raise CheckFailed(f"{status['spooled']} observations still in the spool at {config.spool}"
                          + (f" ({refused} in batches the centre refused)" if refused else "")
                          + "; they will be pushed on the next run" + (f" ({unscanned})" if unscanned else ""))
    return status


def run_forever(config: AgentConfig, log: Log, stop: Callable[[], bool] = lambda: False) -> None:
    """Scan every `every` (starting only inside `window`), and push, heartbeat and take jobs every `poll`."""
    agent = AgentRun(config, log)
    try:
        next_scan = 0.0
        while not stop():
            started = clock.monotonic()
            try:
                networks = agent.networks()
            except UnavailableError as exc:
                log(str(exc))
                networks = []
            if networks and started >= next_scan and config.in_window(datetime.now().time()):
                try:
                    agent.scan(networks)
                    next_scan = started + config.every.total_seconds()
                except (SpoolFull, InputError) as exc:  # full, or a target the centre's networks no longer hold:
                    log(f"scan refused: {exc}")        # keep pushing what is spooled and taking jobs
            if networks:
                agent.inbox(networks)
            agent.push()
            if networks:
                agent.report_jobs()
                if agent.run_jobs(networks):
                    agent.push()
                    agent.report_jobs()
            agent.heartbeat()
            deadline = started + config.poll.total_seconds()
            while not stop() and clock.monotonic() < deadline:
                clock.sleep(min(1.0, max(0.0, deadline - clock.monotonic())))
    finally:
        agent.close()


def status(spool_dir: Path) -> dict[str, Any]:
    """What a spool holds, without touching the network (its limit as it was last opened)."""
    if not (spool_dir / "spool.db").exists():
        raise InputError(f"no agent spool at {spool_dir} (has the agent run with --spool {spool_dir}?)")
    spool = open_agent_spool(spool_dir, 1_000_000_000, exclusive=False)
    try:
        return spool_status(spool)
    finally:
        spool.close()

