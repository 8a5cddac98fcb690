"""A scanner file's coverage, turned into the targets an import records at its site.

formats.scans.coverage decides from the file what a run looked at (its rules are there). Here it is
clipped to the site's declared networks and, when it holds only on a condition (nmap -Pn, masscan:
a device counts only if its last known open TCP ports were all scanned), narrowed to the addresses of
the site's claimed devices that meet it. What comes out is recorded as the intake's coverage at the
run's start time, and services.verification does the rest.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from clearsite.core.errors import InputError
from clearsite.core.models import Site
from clearsite.formats.scans.coverage import NmapRunFacts, ScanCoverage, masscan_coverage, nmap_coverage
from clearsite.store.removals import read_removals
from clearsite.store.site_reads import device_observations

__all__ = ["CoverageFound", "check_scanned", "file_coverage", "known_open_ports", "resolve_coverage"]

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
CoverageFound = tuple[tuple[str, ...], datetime | None, str]  # targets, from when, one line saying why


def check_scanned(scanned: Sequence[str]) -> list[str]:
    """The ranges a masscan run was given, as the importer states them (the file does not say)."""
    found = []
    for text in scanned:
        try:
            found.append(str(ipaddress.ip_network(text.strip(), strict=False)))
        except ValueError:
            raise InputError(f"--scanned: {text[:80]!r} is not an address or network") from None
    return found


def file_coverage(facts: NmapRunFacts, kind: str, scanned: Sequence[str]) -> ScanCoverage | None:
    """What an XML run proves it covered, by the rules of its kind (nmap, or masscan over `scanned`)."""
    if kind == "nmap":
        return nmap_coverage(facts)
    if kind == "masscan":
        return masscan_coverage(facts, list(scanned))
    return None


def _clip(targets: Sequence[str], site: Site) -> list[_Network]:
    """The targets' parts inside the site's declared networks."""
    declared = [ipaddress.ip_network(n.cidr, strict=False) for n in site.networks]
    found: list[_Network] = []
    for text in targets:
        target = ipaddress.ip_network(text, strict=False)
        for network in declared:
            if target.version != network.version or not target.overlaps(network):
                continue
            found.append(target if target.subnet_of(network) else network)  # type: ignore[arg-type]
    return found


def known_open_ports(conn: Connection, device_id: int) -> frozenset[int]:
    """A device's last known open TCP ports: those of its latest scan observation that listed ports."""
    for observation in reversed(device_observations(conn, device_id)):
        fields = (observation.get("data") or {}).get("fields") or {}
        ports = fields.get("ports")
        if observation["kind"] != "register_row" and isinstance(ports, list) and ports:
            return frozenset(int(p) for p in ports if isinstance(p, int) or str(p).isdigit())
    return frozenset()


def resolve_coverage(conn: Connection, site_id: int, site: Site, coverage: ScanCoverage | None) -> CoverageFound:
    """The targets to record for a run's coverage at this site (none: nothing proved), its time, and why."""
    if coverage is None:
        return (), None, "no coverage: the file does not prove which addresses the run looked at in full"
    inside = _clip(coverage.targets, site)
    if not inside:
        return (), None, "no coverage: what the run covered lies outside the site's networks"
    if coverage.ports is None:
        targets = tuple(str(n) for n in ipaddress.collapse_addresses(inside))  # type: ignore[type-var]
        return targets, coverage.started_at, f"{coverage.rule}: {len(targets)} range(s)"
    targets_list = []
    for claim in read_removals(conn, site_ids=[site_id], statuses=["claimed"]):
        if not claim.last_ip:
            continue
        address = ipaddress.ip_address(claim.last_ip)
        if not any(address.version == n.version and address in n for n in inside):
            continue
        known = known_open_ports(conn, claim.device_id)
        if known and known <= coverage.ports:
            targets_list.append(f"{address}/{address.max_prefixlen}")
    return tuple(targets_list), coverage.started_at, f"{coverage.rule}: {len(targets_list)} claimed device(s)"
