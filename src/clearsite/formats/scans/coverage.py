"""What a scanner file proves it looked at: the coverage that lets a later import verify a removal claim.

A device absent from a scan is evidence of its removal only if the scan could have seen it. These rules
decide, from the file alone, which addresses that holds for, and from when. They err towards proving
nothing: a coverage missed only delays a verification, a false one publishes a removal that did not happen.

nmap XML (`-oX`), `nmap_coverage`:

* The run must have finished: `<runstats><finished exit="success">`. A file that breaks off, or a run
  nmap ended with an error, covers nothing.
* `-sL` (list scan) sends nothing to the targets: nothing is covered.
* With host discovery (the default, `-sn` included) a device at a target address would have been
  reported up, whatever ports were scanned, so the coverage is every address the file lists, up or down
  (`-v` lists the down ones), and the target specs of `args` (addresses and CIDR blocks) when nmap's own
  count of hosts (`<runstats><hosts total>`) equals the number of addresses they hold; a run with
  `-iL`, `-iR`, `--exclude` or `--excludefile`, or with hostnames among its targets, does not pass that
  check, so only the addresses the file lists count.
* With `-Pn` (no host discovery) every target is reported up, present or not: an address counts only
  for a device whose last known open TCP ports are all among the ports the run scanned (`<scaninfo
  services>` of a SYN or connect scan); no TCP port list, no coverage. `ports` carries that condition.
* The time is the run's `start`: the coverage is as old as the scan, never the import.

masscan (`masscan_coverage`): masscan reports only open ports and writes neither the ranges nor the
ports it scanned. Only its XML (`-oX`) says when it started and that it finished, so JSON and list
output cover nothing. The ranges must be declared by the person importing it (`--scanned`), and the
ports it certainly scanned are those it found open on some host (it scans every port on every address);
an address counts only for a device whose last known open TCP ports are all among them.
"""

from __future__ import annotations

import ipaddress
import shlex
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["NmapRunFacts", "ScanCoverage", "masscan_coverage", "nmap_coverage", "parse_port_list"]

_NO_DISCOVERY = frozenset({"-Pn", "-PN", "-P0"})
_TARGETS_ELSEWHERE = frozenset({"-iL", "-iR", "--exclude", "--excludefile"})
# Options whose value is an address that is not a target (spoofed source, decoys, DNS servers, zombie…).
_ADDRESS_VALUED = frozenset({"-S", "-D", "--dns-servers", "-sI", "--proxies", "-e", "-g", "--source-port",
                             "--spoof-mac", "-b"})
_PORT_SCANS = frozenset({"syn", "connect"})  # scans whose "open" means a device answered on the port
MAX_PORT_RANGE = 65535


@dataclass(frozen=True, slots=True)
class ScanCoverage:
    """What a finished scan looked at in full, from when, and on what condition."""

    targets: tuple[str, ...]  # CIDR texts
    started_at: datetime  # naive UTC
    # None: any device at a target would have been seen. A set: only a device whose last known open TCP
    # ports all lie in it would have been (no host discovery, or masscan).
    ports: frozenset[int] | None
    rule: str  # one line: which rule gave it (for the import's report and audit entry)


@dataclass
class NmapRunFacts:
    """What an nmap or masscan XML file says about its run, gathered while its hosts stream past."""

    scanner: str = "nmap"
    args: str = ""
    start: str | None = None
    scaninfo: list[dict[str, str]] = field(default_factory=list)
    finished: dict[str, str] | None = None
    hosts_total: int | None = None
    listed: list[str] = field(default_factory=list)  # every host address the file lists, up or down
    open_ports: set[int] = field(default_factory=set)  # TCP ports found open on some host


def _start(value: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(str(value)), UTC).replace(tzinfo=None) if value else None
    except (ValueError, OverflowError, OSError):
        return None


def parse_port_list(text: str) -> frozenset[int] | None:
    """nmap's `services` attribute ("21-23,80,554,8000-8100") as ports; None when it does not parse."""
    ports: set[int] = set()
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            return None
        if not 0 <= first <= last <= MAX_PORT_RANGE:
            return None
        ports.update(range(first, last + 1))
    return frozenset(ports) if ports else None


def _arg_targets(tokens: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
    """The address and CIDR targets among nmap's arguments; None when some target is not one (a hostname,
    an octet range) or the targets come from elsewhere."""
    found: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    skip_next = False
    for index, token in enumerate(tokens[1:], start=1):
        if skip_next:
            skip_next = False
            continue
        if token in _TARGETS_ELSEWHERE:
            return None
        if token in _ADDRESS_VALUED:
            skip_next = True
            continue
        if token.startswith("-"):
            continue
        try:
            found.append(ipaddress.ip_network(token, strict=False))
        except ValueError:
            previous = tokens[index - 1]
            if previous.startswith("-") and not previous.startswith("-s") and previous not in _NO_DISCOVERY:
                continue  # most likely an option's value (-p 80,554; --max-rate 100; -oX out.xml)
            return None
    return found


def _collapse(addresses: list[str], networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> tuple[str, ...]:
    nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = list(networks)
    for text in addresses:
        try:
            nets.append(ipaddress.ip_network(text))
        except ValueError:
            continue
    found: list[str] = []
    for version in (4, 6):
        same = [n for n in nets if n.version == version]
        found += [str(n) for n in ipaddress.collapse_addresses(same)]  # type: ignore[type-var]
    return tuple(found)


def nmap_coverage(facts: NmapRunFacts) -> ScanCoverage | None:
    """The coverage an nmap run's XML proves (the module's rules), or None."""
    started = _start(facts.start)
    if facts.scanner != "nmap" or started is None or not facts.finished:
        return None
    if facts.finished.get("exit", "success") != "success":
        return None
    try:
        tokens = shlex.split(facts.args)
    except ValueError:
        tokens = []
    if "-sL" in tokens:
        return None
    targets = _arg_targets(tokens) if tokens else None
    if targets is not None and facts.hosts_total is not None and \
            sum(t.num_addresses for t in targets) == facts.hosts_total:
        from_args, rule = targets, "nmap: the run's targets and every host it listed"
    else:
        from_args, rule = [], "nmap: the hosts the run listed"
    covered = _collapse(facts.listed, from_args)
    if not covered:
        return None
    if not _NO_DISCOVERY.intersection(tokens):
        return ScanCoverage(covered, started, None, rule + " (host discovery)")
    ports: set[int] = set()
    for info in facts.scaninfo:
        if info.get("protocol") == "tcp" and info.get("type") in _PORT_SCANS:
            ports |= parse_port_list(info.get("services", "")) or set()
    if not ports:
        return None  # -Pn without a TCP port scan: nothing shows whether a device was there
    return ScanCoverage(covered, started, frozenset(ports), rule + " (-Pn: only devices whose known ports were scanned)")


def masscan_coverage(facts: NmapRunFacts, scanned: list[str]) -> ScanCoverage | None:
    """The coverage a masscan XML run proves over the ranges the importer says it was given, or None."""
    started = _start(facts.start)
    if facts.scanner != "masscan" or started is None or facts.finished is None or not scanned:
        return None
    if not facts.open_ports:
        return None  # it found nothing open anywhere: nothing shows which ports it scanned
    ranges = [ipaddress.ip_network(text, strict=False) for text in scanned]
    return ScanCoverage(_collapse([], ranges), started, frozenset(facts.open_ports),
                        "masscan: the declared ranges, for devices whose known ports it found open elsewhere")
