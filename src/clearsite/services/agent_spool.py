"""What a site agent does on its own machine: scan into its spool, take scanner files from its inbox,
and say what its spool holds. The spool is the store's (store/spool.py); the agent door only calls these.

Everything an agent observes is committed to the spool before anything is sent, and every address
is checked against the networks the centre declares for the site (cached in the spool, so an agent
cut off from the centre still scans only what it may).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clearsite.core.errors import InputError
from clearsite.core.models import ScannedHost, Signal
from clearsite.discover import HostReport, ScanOptions, check_scope, scan
from clearsite.discover.loop import run
from clearsite.discover.scope import parse_networks
from clearsite.store.spool import Batch, Coverage, JobReport, Spool, SpoolBusy, SpoolFull, open_spool

__all__ = [
    "WARN_AT",
    "Batch",
    "Coverage",
    "InboxResult",
    "JobReport",
    "ScanOptions",
    "Spool",
    "SpoolBusy",
    "SpoolFull",
    "SpoolScan",
    "collapse",
    "in_networks",
    "inbox_file_coverage",
    "open_agent_spool",
    "scan_into_spool",
    "spool_inbox",
    "spool_status",
]

WARN_AT = 0.8  # warn when the spool is this full
FLUSH_HOSTS = 64  # hosts committed to the spool together while a scan runs
MAX_EVIDENCE = 64  # as the centre takes them (web/schemas.ObservationIn)
INBOX_SUFFIXES = (".xml", ".json", ".txt", ".csv", ".tsv", ".lst", ".list")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def open_agent_spool(directory: Path, limit: int, exclusive: bool = True) -> Spool:
    """The agent's spool in `directory`, made on first use (private to the agent's user); `exclusive`
    (a run) refuses a second agent on the same spool (SpoolBusy), a status read (False) does not."""
    if limit < 1:
        raise InputError(f"spool limit {limit}: must be at least 1")
    return open_spool(directory, limit, exclusive)


def collapse(addresses: Sequence[str]) -> list[str]:
    """Addresses as the fewest CIDR texts that hold exactly them (IPv4 first)."""
    import ipaddress

    parsed = [ipaddress.ip_address(a) for a in addresses]
    found: list[str] = []
    for version in (4, 6):
        nets = [ipaddress.ip_network(a) for a in parsed if a.version == version]
        found += [str(n) for n in ipaddress.collapse_addresses(nets)]  # type: ignore[type-var]
    return found


def in_networks(networks: Sequence[str], ip: str | None) -> bool:
    if ip is None:
        return True  # a switch MAC-table row: placed at the site by whoever dropped the file
    import ipaddress

    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address.version == n.version and address in n for n in parse_networks(networks))


def host_body(host: ScannedHost, observed_at: str, source: str) -> dict[str, Any]:
    """A host as the agent pushes it (web/schemas.ObservationIn without its id), bounded as the centre takes it."""
    evidence = [{"signal": e.signal.value, "value": e.value[:2000], "source": (e.source or "")[:500]}
                for e in host.evidence]
    have = {(e["signal"], e["value"]) for e in evidence}
    for port in sorted(host.open_ports):
        if ("port", f"{port}/tcp") not in have:
            evidence.append({"signal": "port", "value": f"{port}/tcp", "source": source[:500]})
    if host.mac and ("mac", host.mac) not in have:
        evidence.append({"signal": "mac", "value": host.mac, "source": source[:500]})
    serial = next((e.value for e in host.evidence if e.signal == Signal.SERIAL), None)
    return {"ip": host.ip, "mac": host.mac[:17] if host.mac else None, "serial": serial[:120] if serial else None,
            "location": None, "observed_at": observed_at, "evidence": evidence[:MAX_EVIDENCE]}


def _scanned(host: HostReport) -> ScannedHost:
    mac = next((e.value for e in host.evidence if e.signal == Signal.MAC), None)
    return ScannedHost(ip=str(host.ip), mac=mac, open_ports=sorted(host.open_ports), evidence=list(host.evidence))


@dataclass
class SpoolScan:
    targets: int
    responded: int = 0
    spooled: int = 0
    errors: int = 0
    seconds: float = 0.0
    full: bool = False  # stopped because the spool filled
    covered: int = 0  # addresses spooled as coverage (none unless the scan finished)


def scan_into_spool(spool: Spool, networks: Sequence[str], targets: Sequence[str], exclude: Sequence[str],
                    options: ScanOptions, progress: Callable[[int, int], None] | None = None) -> SpoolScan:
    """Scan targets (default: all the site's networks) inside the networks, committing hosts as they answer.

    Refuses before any packet when a target lies outside the networks (ScopeError) or the spool is
    full (SpoolFull); a spool that fills mid-scan stops the scan, keeping what was committed.

    A scan that finished spools its coverage after its last host: every address it probed (after the
    scope checks and excludes) that answered, or that stayed silent without a probe failing, under the
    scan's start time. The spool sends it only after every observation before it was accepted, so the
    centre never verifies a removal from a coverage whose sightings it has not seen. A scan stopped
    part-way (the spool filled, an interrupt, a crash) spools no coverage.
    """
    if spool.room() == 0:
        raise SpoolFull(f"the spool is full ({spool.pending()} of {spool.limit} observations): "
                        "no scan until the centre takes some")
    addresses = check_scope(list(targets) or list(networks), list(networks), list(exclude))
    result = SpoolScan(len(addresses))
    pending: list[dict[str, Any]] = []
    started = _now()
    began = datetime.now(UTC)  # to the microsecond: a claim made in the same second as the scan began stays after it
    probed: list[str] = []

    def flush() -> None:
        if pending:
            result.spooled += spool.add(pending)
            pending.clear()

    async def main() -> None:
        async for host in scan(addresses, replace(options, networks=tuple(networks)), progress):
            result.errors += len(host.errors)
            if host.responded or not host.errors:  # a probe that failed proves no absence
                probed.append(host.ip)
            if not host.responded:
                continue
            result.responded += 1
            pending.append(host_body(_scanned(host), _now().isoformat(), f"agent scan {started:%Y-%m-%d %H:%M}"))
            if len(pending) >= FLUSH_HOSTS:
                flush()

    try:
        run(main())
        flush()
    except SpoolFull:
        result.full = True
    if not result.full:
        result.covered = len(probed)
        spool.add_coverage(began.isoformat(), collapse(probed))
    result.seconds = (_now() - started).total_seconds()
    spool.put(last_scan=_now().isoformat())
    return result


@dataclass
class InboxResult:
    file: str
    moved_to: str  # done or failed
    hosts: int = 0
    spooled: int = 0
    skipped: list[str] = field(default_factory=list)
    reason: str = ""


def _move(path: Path, folder: Path, reason: str) -> str:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = _now().strftime("%Y%m%dT%H%M%S")
    target = folder / f"{stamp}-{path.name}"
    shutil.move(str(path), target)
    if reason:
        target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    return str(target)


def spool_inbox(spool: Spool, inbox: Path, networks: Sequence[str]) -> list[InboxResult]:
    """Spool each scanner file or switch table in `inbox`, then move it to done/ or failed/ with a reason.

    A file is taken whole or not at all: one with an address outside the site's networks, or that
    cannot be read, goes to failed/ and nothing of it is spooled. Files are taken oldest first.
    """
    results: list[InboxResult] = []
    if not inbox.is_dir():
        return results
    # The scan readers load only when a file is there to read: most runs find the inbox empty.
    from clearsite.formats.scans import ScanParseError, parse_scan_file

    files = sorted((p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")),
                   key=lambda p: (p.stat().st_mtime, p.name))
    for path in files:
        name = path.name
        try:
            hosts = parse_scan_file(path)
        except (ScanParseError, InputError, OSError) as exc:
            reason = " ".join(str(exc).split())[:500]
            results.append(InboxResult(name, _move(path, inbox / "failed", f"cannot read: {reason}"), reason=reason))
            continue
        outside = [h.ip for h in hosts if not in_networks(networks, h.ip)]
        if outside:
            reason = (f"{len(outside)} address(es) outside the site's networks ({', '.join(networks)}), "
                      f"first {outside[0]}; nothing taken")
            results.append(InboxResult(name, _move(path, inbox / "failed", reason), len(hosts), reason=reason))
            continue
        stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(microsecond=0).isoformat()
        bodies = [host_body(h, stamp, f"{name}") for h in hosts]
        try:
            spooled = spool.add(bodies)
        except SpoolFull as exc:  # left in the inbox for the next run
            results.append(InboxResult(name, "inbox", len(hosts), reason=str(exc)))
            break
        coverage = inbox_file_coverage(path, networks)
        if coverage is not None:  # after its hosts: sent only once they are accepted
            spool.add_coverage(*coverage)
        skipped = [str(e) for e in hosts.errors][:50]
        done = f"{spooled} hosts spooled" + (f"; {len(skipped)} records skipped" if skipped else "")
        results.append(InboxResult(name, _move(path, inbox / "done", done), len(hosts), spooled, skipped, done))
        spool.put(last_scan=_now().isoformat())
    return results


def inbox_file_coverage(path: Path, networks: Sequence[str]) -> tuple[str, list[str]] | None:
    """(start, targets) an nmap XML file in the inbox proves its run covered inside the site's networks.

    The rules are formats.scans.coverage's; a coverage that holds only for devices whose known ports were
    scanned (-Pn) needs the centre's records, so the agent leaves it out (the file's hosts still go).
    """
    import ipaddress

    from clearsite.formats.scans import NmapStream, ScanParseError, is_xml_scan
    from clearsite.formats.scans.coverage import nmap_coverage

    try:
        data = path.read_bytes()
        if not is_xml_scan(data[:4096]):
            return None
        stream = NmapStream([data], path.name)
        for _ in stream:
            pass
    except (ScanParseError, OSError):
        return None
    coverage = nmap_coverage(stream.facts)
    if coverage is None or coverage.ports is not None:
        return None
    declared = parse_networks(networks)
    inside: list[str] = []
    for text in coverage.targets:
        target = ipaddress.ip_network(text)
        for network in declared:
            if target.version == network.version and target.overlaps(network):
                inside.append(str(target if target.subnet_of(network) else network))  # type: ignore[arg-type]
    if not inside:
        return None
    return coverage.started_at.replace(tzinfo=UTC).isoformat(), inside


def spool_status(spool: Spool) -> dict[str, Any]:
    """What the spool holds and remembers: the `clearsite agent status` shape and a little more."""
    refused = spool.refused_batches()
    return {"site": spool.get("site"), "spooled": spool.pending(), "last_scan": spool.get("last_scan"),
            "last_push": spool.get("last_push"), "server": spool.get("server"), "limit": spool.get("limit") or spool.limit,
            "refused": [{"key": k, "observations": n, "reason": r} for k, n, r in refused],
            "job_reports": len(spool.job_reports()), "coverage": spool.pending_coverage()}
