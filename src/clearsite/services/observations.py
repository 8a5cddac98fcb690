"""Storing what networks showed: scanner imports, switch tables and live scans, and reconciling them
with the register. Shared by `clearsite import nmap|masscan|switch`, `clearsite scan`, and agents."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select

from clearsite.core.knowledge import Knowledge
from clearsite.store import audit
from clearsite.core.models import Evidence, Network, Signal, Site
from clearsite.core.reconcile import Reconciliation, RegisteredItem, SeenItem, reconcile
from clearsite.core.models import ScannedHost
from clearsite.formats.scans import ScanParseError, parse_scan_file
from clearsite.store.devices import NewObservation, ObservationWriter, add_source, fingerprint, write_identities
from clearsite.store.sites import find_site, load_sites
from clearsite.store.tables import DeviceRow, ObservationRow

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


def reconcile_site(engine: Engine, site_name: str, within: Iterable[str] = ()) -> Reconciliation:
    """Register rows against what networks showed at one site: matched, seen-not-registered, registered-not-seen.

    `within` limits both sides to addresses in those ranges (what a partial scan covered); items
    without an address stay in.
    """
    ranges = [Network(cidr) for cidr in within]

    def covered(ip: str | None) -> bool:
        return not ranges or ip is None or any(r.contains(ip) for r in ranges)

    registered: list[RegisteredItem] = []
    seen: list[SeenItem] = []
    with engine.connect() as conn:
        site_id = find_site(conn, site_name)
        name = load_sites(conn)[site_id].name
        query = (select(ObservationRow.device_id, ObservationRow.kind, ObservationRow.data, DeviceRow.location)
                 .join(DeviceRow, DeviceRow.id == ObservationRow.device_id)
                 .where(ObservationRow.site_id == site_id).order_by(ObservationRow.id))
        for device_id, kind, data, location in conn.execute(query):
            fields = data.get("fields", {})
            if kind == "register_row":
                label = " ".join(filter(None, (fields.get("brand"), fields.get("model"), location)))
                registered.append(RegisteredItem(device_id, name, fields.get("serial"), fields.get("mac"),
                                                 fields.get("ip"), label or None))
            else:
                seen.append(SeenItem(device_id, name, fields.get("serial"), fields.get("mac"), fields.get("ip"),
                                     fields.get("hostname")))
    registered = [i for i in _one_per_device(registered) if covered(i.ip)]
    seen = [i for i in _one_per_device(seen) if covered(i.ip)]
    return reconcile(registered, seen)


def _one_per_device(items: list) -> list:  # type: ignore[type-arg]
    """A device observed many times is one item (its latest observation): reconciliation is per thing."""
    latest = {}
    for item in items:
        latest[item.device_id] = item
    return list(latest.values())


def reconciliation_json(rec: Reconciliation) -> dict[str, object]:
    def item(i: RegisteredItem | SeenItem) -> dict[str, object]:
        return {"device_id": i.device_id, "serial": i.serial, "mac": i.mac, "ip": i.ip, "label": i.label}

    return {
        "matched": [{"registered": item(m.registered), "seen": item(m.seen), "key": m.key.value,
                     "disagreements": list(m.disagreements)} for m in rec.matched],
        "seen_not_registered": [item(i) for i in rec.seen_not_registered],
        "registered_not_seen": [item(i) for i in rec.registered_not_seen],
        "conflicts": [str(c) for c in rec.conflicts],
    }


__all__ = ["HostsReport", "ScanParseError", "import_scan_file", "reconcile_site", "record_hosts",
           "reconciliation_json", "host_observation", "in_scope"]
