"""Departments, sites and their networks."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select

from clearsite.core.errors import ConflictError, InputError
from clearsite.core.models import Network, Site
from clearsite.core.names import site_key
from clearsite.core.text import clean_text
from clearsite.store.bulk import new_id
from clearsite.store.tables import Department, NetworkRow, SiteRow


class SiteError(InputError, ValueError):
    """A site cannot be added or found; the message says which and why."""


class SiteExists(ConflictError, SiteError):
    """The name is already taken by another site."""


def _check_cidr(cidr: str) -> str:
    try:
        return str(ipaddress.ip_network(cidr, strict=False))
    except ValueError as exc:
        raise SiteError(f"--network {cidr!r} is not an address or CIDR block") from exc


def add_site(conn: Connection, site: Site) -> int:
    """Store a new site (creating its department on first use); refuses a name already taken."""
    # Names come from command lines, API bodies and files: control characters go here, at the one way in,
    # or SQLite would keep a NUL that PostgreSQL refuses (and a terminal would obey an ESC).
    site = replace(site, name=clean_text(site.name), department=clean_text(site.department),
                   region=clean_text(site.region) if site.region else site.region)
    if not site.name.strip():
        raise SiteError("a site needs a name")
    if not site.department.strip():
        raise SiteError("a site needs --department")
    if conn.scalar(select(SiteRow.id).where(SiteRow.name_key == site_key(site.name))) is not None:
        raise SiteExists(f"site {site.name!r} already exists")
    networks = [Network(_check_cidr(n.cidr), n.core) for n in site.networks]
    department_id = conn.scalar(select(Department.id).where(Department.name == site.department))
    if department_id is None:
        department_id = new_id(conn.execute(
            insert(Department).values(name=site.department, jurisdiction=site.jurisdiction)))
    site_id = new_id(conn.execute(
        insert(SiteRow).values(
            name=site.name.strip(), name_key=site_key(site.name), department_id=department_id, region=site.region,
            holds_secret=site.holds_secret, dv_hub=site.dv_hub, ministerial=site.ministerial, socpa=site.socpa,
            created_at=datetime.now(UTC).replace(tzinfo=None),
        )))
    seen: dict[str, bool] = {}
    for network in networks:  # a CIDR given as both plain and core is core
        seen[network.cidr] = seen.get(network.cidr, False) or network.core
    if seen:
        conn.execute(insert(NetworkRow),
                     [{"site_id": site_id, "cidr": cidr, "core": core} for cidr, core in seen.items()])
    return site_id


def load_sites(conn: Connection) -> dict[int, Site]:
    """All sites as domain objects, by id."""
    networks: dict[int, list[Network]] = {}
    for site_id, cidr, core in conn.execute(
            select(NetworkRow.site_id, NetworkRow.cidr, NetworkRow.core).order_by(NetworkRow.id)):
        networks.setdefault(site_id, []).append(Network(cidr, core))
    query = select(
        SiteRow.id, SiteRow.name, SiteRow.region, SiteRow.holds_secret, SiteRow.dv_hub, SiteRow.ministerial,
        SiteRow.socpa, Department.name.label("department"), Department.jurisdiction,
    ).join(Department, SiteRow.department_id == Department.id)
    sites: dict[int, Site] = {}
    for row in conn.execute(query):
        sites[row.id] = Site(
            name=row.name, department=row.department, region=row.region, holds_secret=row.holds_secret,
            dv_hub=row.dv_hub, ministerial=row.ministerial, socpa=row.socpa,
            networks=tuple(networks.get(row.id, ())), jurisdiction=row.jurisdiction,
        )
    return sites


def site_ids_by_key(conn: Connection) -> dict[str, int]:
    return {key: site_id for site_id, key in conn.execute(select(SiteRow.id, SiteRow.name_key))}


def find_site(conn: Connection, name: str) -> int:
    site_id = conn.scalar(select(SiteRow.id).where(SiteRow.name_key == site_key(name)))
    if site_id is None:
        known = ", ".join(sorted(conn.scalars(select(SiteRow.name)))) or "none yet"
        raise SiteError(f"unknown site {name!r} (known sites: {known[:300]}); add it with 'clearsite site add'")
    return site_id
