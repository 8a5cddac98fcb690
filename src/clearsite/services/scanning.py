"""`clearsite scan`: credential-free discovery of a site's networks, stored as it goes.

Hosts are stored in small transactions as they finish, so stopping a scan (Ctrl-C) keeps every
host already observed. Targets outside the site's declared networks are refused before any packet.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from sqlalchemy import Engine

from clearsite.core.knowledge import Knowledge
from clearsite.core.models import ScannedHost, Signal
from clearsite.discover import HostReport, ScanOptions, check_scope, describe_probes, scan
from clearsite.discover.loop import run
from clearsite.services.imports import record_hosts
from clearsite.services.removal import record_coverage
from clearsite.store.sites import find_site, load_sites

FLUSH_HOSTS = 64
FLUSH_SECONDS = 2.0


@dataclass
class ScanSummary:
    targets: int
    responded: int = 0
    stored: int = 0
    new_devices: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False


def site_scope(engine: Engine, site: str, targets: list[str], exclude: list[str]) -> tuple[str, list[str], list]:
    """The site's canonical name, its networks, and the in-scope addresses (ScopeError otherwise)."""
    with engine.connect() as conn:
        found = load_sites(conn)[find_site(conn, site)]
    networks = [n.cidr for n in found.networks]
    return found.name, networks, check_scope(targets, networks, exclude)


def dry_run(addresses: list, options: ScanOptions) -> list[str]:
    return describe_probes(addresses, options)


def scan_site(engine: Engine, knowledge: Knowledge, site: str, networks: list[str], addresses: list,
              options: ScanOptions, progress: Callable[[int, int], None] | None = None,
              actor: str = "cli") -> ScanSummary:
    """Scan the addresses and store what answers; returns counts (also when interrupted)."""
    summary = ScanSummary(len(addresses))
    started = time.monotonic()
    started_at = datetime.now(UTC).replace(tzinfo=None)  # the coverage dates from here, not from the scan's end
    source = f"scan {date.today().isoformat()} {time.strftime('%H:%M:%S')}"
    pending: list[ScannedHost] = []

    def flush() -> None:
        if not pending:
            return
        report = record_hosts(engine, knowledge, site, "scan", source, "", list(pending), actor)
        summary.stored += report.stored
        summary.new_devices += report.new_devices
        pending.clear()

    async def main() -> None:
        last = time.monotonic()
        options_in_scope = replace(options, networks=tuple(networks))  # scan() re-checks scope itself
        async for host in scan(addresses, options_in_scope, progress):
            summary.errors.extend(f"{host.ip}: {e}" for e in host.errors)
            if not host.responded:
                continue
            summary.responded += 1
            pending.append(_scanned(host))
            if len(pending) >= FLUSH_HOSTS or time.monotonic() - last > FLUSH_SECONDS:
                flush()
                last = time.monotonic()

    try:
        run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        summary.interrupted = True
    finally:
        flush()
        summary.seconds = time.monotonic() - started
    if not summary.interrupted:  # every target was probed: what did not answer is absent (verifies removals)
        record_coverage(engine, knowledge, site, [str(a) for a in addresses], actor, kind="scan", name=source,
                        started_at=started_at)
    return summary


def _scanned(host: HostReport) -> ScannedHost:
    mac = next((e.value for e in host.evidence if e.signal == Signal.MAC), None)
    return ScannedHost(ip=str(host.ip), mac=mac, open_ports=sorted(host.open_ports), evidence=list(host.evidence))
