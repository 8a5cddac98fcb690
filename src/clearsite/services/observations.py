"""Storing what networks showed: scanner imports, switch tables and live scans, and reconciling them
with the register. Shared by `clearsite import nmap|masscan|switch`, `clearsite scan`, and agents."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from clearsite.core.knowledge import Knowledge
from clearsite.store import audit
from clearsite.core.models import Evidence, Signal, Site
from clearsite.core.models import ScannedHost
from clearsite.formats.scans import ScanParseError, parse_scan_file
from clearsite.services.reconciliation import reconcile_site, reconciliation_json  # moved; kept for callers
from clearsite.store.devices import NewObservation, ObservationWriter, add_source, fingerprint, write_identities
from clearsite.store.sites import find_site, load_sites

SCAN_KINDS = ("nmap", "masscan", "switch", "scan", "agent")


@dataclass
class HostsReport:
    source: str
    hosts: int = 0
    stored: int = 0
    duplicates: int = 0
    new_devices: int = 0
    out_of_scope: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def host_observation(host: ScannedHost, site_id: int, kind: str, source: str) -> NewObservation:
    """A scanned host as an observation; its MAC becomes evidence too (the OUI is a weak signal)."""
    evidence = list(host.evidence)
    if host.mac and not any(e.signal == Signal.MAC for e in evidence):
        evidence.append(Evidence(Signal.MAC, host.mac, f"{source} host {host.ip or host.mac}"))
    serial = next((e.value for e in evidence if e.signal == Signal.SERIAL), None)
    fields = {"ip": host.ip, "mac": host.mac, "hostname": host.hostname, "ports": sorted(host.open_ports),
              "extra": host.extra, "serial": serial}
    content = json.dumps([fields, [[e.signal.value, e.value] for e in evidence]], sort_keys=True, default=str)
    return NewObservation(
        site_id=site_id, kind=f"{kind}_host", locator=host.ip or host.mac or "?", fields=fields,
        evidence=tuple(evidence), fingerprint=fingerprint(site_id, f"{kind}_host", content, 0),
        serial=serial, mac=host.mac, ip=host.ip,
    )


def in_scope(site: Site, ip: str | None) -> bool:
    """A host without an IP (a switch MAC-table row) is placed by the user; one with an IP must be ours."""
    return ip is None or site.network_for(ip) is not None


def record_hosts(engine: Engine, knowledge: Knowledge, site_name: str, kind: str, source_name: str,
                 sha256: str, hosts: Iterable[ScannedHost], actor: str = "cli") -> HostsReport:
    """Store hosts seen at a site as observations in one transaction, merge them into devices, identify them."""
    report = HostsReport(source_name)
    with engine.begin() as conn:
        site_id = find_site(conn, site_name)
        site = load_sites(conn)[site_id]
        source_id = add_source(conn, kind, source_name, sha256, actor, site_id)
        observations = []
        for host in hosts:
            report.hosts += 1
            if not in_scope(site, host.ip):
                report.out_of_scope.append(f"{source_name}: host {host.ip}: not in the networks of {site.name}; skipped")
                continue
            observations.append(host_observation(host, site_id, kind, source_name))
        result = ObservationWriter(conn, source_id).write(observations)
        write_identities(conn, knowledge, result)
        report.stored, report.duplicates, report.new_devices = result.stored, result.duplicates, result.new_devices
        audit.record(conn, actor, f"{kind}.import", f"source:{source_id}", None,
                     {"source": source_name, "site": site.name, "hosts": report.hosts, "stored": report.stored,
                      "new_devices": report.new_devices, "out_of_scope": len(report.out_of_scope)})
    return report


def import_scan_file(engine: Engine, knowledge: Knowledge, path: Path, site: str, kind: str,
                     actor: str = "cli") -> HostsReport:
    """Import nmap XML, masscan JSON/list/XML, or a switch MAC/ARP/DHCP table as observations at a site."""
    hosts = parse_scan_file(path)
    data_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    report = record_hosts(engine, knowledge, site, kind, path.name, data_hash, hosts, actor)
    report.problems = [str(e) for e in hosts.errors]
    return report


__all__ = ["HostsReport", "ScanParseError", "import_scan_file", "reconcile_site", "record_hosts",
           "reconciliation_json", "host_observation", "in_scope"]
