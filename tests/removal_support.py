"""A small estate for the proof-of-removal tests: a site, hosts seen by scans, claims, coverage."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Evidence, Network, ScannedHost, Signal, Site
from clearsite.services.devices import iter_devices
from clearsite.services.imports import record_hosts
from clearsite.services.removal import record_coverage, record_removal
from clearsite.store.reads import EVERYTHING
from clearsite.store.sites import add_site
from clearsite.store.transactions import write_transaction

HIK = ("10.1.0.11", "4C:BD:8F:00:3D:44", "App-webs/")
DAHUA = ("10.1.0.12", "E0:50:8B:11:22:33", "DahuaHttp")
AXIS = ("10.1.0.21", "AC:CC:8E:12:34:56", "AXIS P3245-V Network Camera")


def make_site(engine: Engine, name: str = "HQ", *, sensitive: bool = True, cidr: str = "10.1.0.0/16") -> int:
    with write_transaction(engine) as conn:
        return add_site(conn, Site(name, "Dept A", "London", holds_secret=sensitive, networks=(Network(cidr),)))


def host(ip: str, mac: str | None, server: str) -> ScannedHost:
    evidence = [Evidence(Signal.HTTP_SERVER, server, f"http://{ip}/")]
    if mac:
        evidence.append(Evidence(Signal.MAC, mac, "arp"))
    return ScannedHost(ip=ip, mac=mac, open_ports=[80], evidence=evidence)


def scan(engine: Engine, knowledge: Knowledge, hosts: list[tuple[str, str | None, str]], site: str = "HQ",
         covered: list[str] | None = None, name: str = "scan") -> None:
    """Hosts a scan saw, then (when given) what it covered, as `clearsite scan` records them."""
    if hosts:
        record_hosts(engine, knowledge, site, "scan", name, "", [host(*h) for h in hosts])
    if covered is not None:
        record_coverage(engine, knowledge, site, covered, "test")


def device_ids(engine: Engine, site: str = "HQ") -> dict[str, int]:
    return {view.ip or "": view.id for view, _ in iter_devices(engine, site, with_evidence=False)}


def removal_status(engine: Engine, device_id: int) -> str | None:
    view = next(v for v, _ in iter_devices(engine, with_evidence=False) if v.id == device_id)
    return view.removal.claim.status if view.removal else None


def claim(engine: Engine, knowledge: Knowledge, device_id: int, **options: object) -> dict:
    return dict(record_removal(engine, knowledge, "test", EVERYTHING, device_id, removed_on=date.today(),
                               **options))  # type: ignore[arg-type]
