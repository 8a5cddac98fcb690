"""Departments, sites and their networks.

A site's name is unique within its department only, and adding one answers the same whether or not
another department has a site of that name. A declared network bounds what scans may touch, so it
may be no wider than /16 (IPv4) or /48 (IPv6), may not be a special range (unspecified, loopback,
link-local, multicast, reserved, IPv4-mapped) and may not overlap another department's networks,
unless an administrator allows it explicitly (NetworkPolicy; `site add --allow-…`).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Collection
from dataclasses import dataclass, field, replace
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
    """The name is already taken by another site of the same department."""


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
WIDEST = {4: 16, 6: 48}  # shortest prefix a site network may have
LOOPBACK_ENV = "CLEARSITE_ALLOW_LOOPBACK_NETWORKS"  # set where sites live on 127/8 on purpose (tests, lab fleets)
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_SPECIAL: tuple[tuple[IPNetwork, str], ...] = (
    (ipaddress.IPv4Network("0.0.0.0/8"), "unspecified ('this network')"),
    (ipaddress.IPv4Network("127.0.0.0/8"), "loopback"),
    (ipaddress.IPv4Network("169.254.0.0/16"), "link-local"),
    (ipaddress.IPv4Network("224.0.0.0/4"), "multicast"),
    (ipaddress.IPv4Network("240.0.0.0/4"), "reserved"),
    (ipaddress.IPv6Network("::/128"), "unspecified"),
    (ipaddress.IPv6Network("::1/128"), "loopback"),
    (_MAPPED, "IPv4-mapped"),
    (ipaddress.IPv6Network("fe80::/10"), "link-local"),
    (ipaddress.IPv6Network("ff00::/8"), "multicast"),
)


def _loopback_allowed() -> bool:
    return os.environ.get(LOOPBACK_ENV, "") not in ("", "0")


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """What an administrator has allowed beyond the rules (nobody else can ask for any of it)."""

    allow_wide: bool = False  # wider than /16 or /48
    allow_special: bool = False  # loopback, link-local, multicast, unspecified, reserved, IPv4-mapped
    allow_overlap: bool = False  # overlapping another department's networks
    allow_loopback: bool = field(default_factory=_loopback_allowed)


def comparable(network: IPNetwork) -> IPNetwork:
    """An IPv4-mapped IPv6 network as the IPv4 network it stands for; any other network as it is."""
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96 and network.subnet_of(_MAPPED):
        return ipaddress.IPv4Network((int(network.network_address) & 0xFFFFFFFF, network.prefixlen - 96))
    return network


def _check_cidr(cidr: str, policy: NetworkPolicy) -> IPNetwork:
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError as exc:
        raise SiteError(f"--network {cidr!r} is not an address or CIDR block") from exc
    if network.prefixlen < WIDEST[network.version] and not policy.allow_wide:
        raise SiteError(f"--network {network}: wider than /{WIDEST[network.version]}; split it into the site's "
                        f"real networks (an administrator can allow it with --allow-wide)")
    for special, what in _SPECIAL:
        if special.version != network.version or not network.overlaps(special):
            continue
        if policy.allow_special or (what == "loopback" and policy.allow_loopback):
            continue
        raise SiteError(f"--network {network}: {what} addresses ({special}) are not a site's network "
                        f"(an administrator can allow them with --allow-special)")
    return network


def _other_departments_overlap(conn: Connection, department_id: int | None,
                               networks: list[IPNetwork]) -> IPNetwork | None:
    """The first of `networks` overlapping a network of another department's site (which is not said)."""
    if not networks:
        return None
    query = select(NetworkRow.cidr).join(SiteRow, SiteRow.id == NetworkRow.site_id)
    if department_id is not None:
        query = query.where(SiteRow.department_id != department_id)
    theirs = [comparable(ipaddress.ip_network(c, strict=False)) for c in conn.scalars(query)]
    for mine in networks:
        ours = comparable(mine)
        if any(ours.version == other.version and ours.overlaps(other) for other in theirs):
            return mine
    return None


def add_site(conn: Connection, site: Site, policy: NetworkPolicy | None = None) -> int:
    """Store a new site (creating its department on first use); refuses a name its department already
    has, and networks the policy does not allow."""
    policy = policy or NetworkPolicy()
    # Names come from command lines, API bodies and files: control characters go here, at the one way in,
    # or SQLite would keep a NUL that PostgreSQL refuses (and a terminal would obey an ESC).
    site = replace(site, name=clean_text(site.name), department=clean_text(site.department),
                   region=clean_text(site.region) if site.region else site.region)
    if not site.name.strip():
        raise SiteError("a site needs a name")
    if not site.department.strip():
        raise SiteError("a site needs --department")
    parsed = [_check_cidr(n.cidr, policy) for n in site.networks]
    networks = [Network(str(p), n.core) for p, n in zip(parsed, site.networks, strict=True)]
    department_id = conn.scalar(select(Department.id).where(Department.name == site.department))
    # Only this department's names count: whether another department has a site of this name is not
    # for this caller to learn (a 409 here once answered that across departments).
    if department_id is not None and conn.scalar(select(SiteRow.id).where(
            SiteRow.department_id == department_id, SiteRow.name_key == site_key(site.name))) is not None:
        raise SiteExists(f"site {site.name!r} already exists in {site.department}")
    if not policy.allow_overlap and (clash := _other_departments_overlap(conn, department_id, parsed)):
        raise SiteError(f"--network {clash} overlaps a network declared for another department's site; ask an "
                        f"administrator (who can allow it with --allow-overlap)")
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


def load_sites(conn: Connection, ids: Collection[int] | None = None) -> dict[int, Site]:
    """All sites as domain objects, by id; or only the sites `ids` (a page that shows a few devices should not
    read five thousand sites and their networks)."""
    networks: dict[int, list[Network]] = {}
    network_query = select(NetworkRow.site_id, NetworkRow.cidr, NetworkRow.core).order_by(NetworkRow.id)
    if ids is not None:
        if not ids:
            return {}
        network_query = network_query.where(NetworkRow.site_id.in_(sorted(ids)))
    for site_id, cidr, core in conn.execute(network_query):
        networks.setdefault(site_id, []).append(Network(cidr, core))
    query = select(
        SiteRow.id, SiteRow.name, SiteRow.region, SiteRow.holds_secret, SiteRow.dv_hub, SiteRow.ministerial,
        SiteRow.socpa, Department.name.label("department"), Department.jurisdiction,
    ).join(Department, SiteRow.department_id == Department.id)
    if ids is not None:
        query = query.where(SiteRow.id.in_(sorted(ids)))
    sites: dict[int, Site] = {}
    for row in conn.execute(query):
        sites[row.id] = Site(
            name=row.name, department=row.department, region=row.region, holds_secret=row.holds_secret,
            dv_hub=row.dv_hub, ministerial=row.ministerial, socpa=row.socpa,
            networks=tuple(networks.get(row.id, ())), jurisdiction=row.jurisdiction,
        )
    return sites


def site_ids_by_key(conn: Connection) -> dict[str, int]:
    """Site ids by folded name; a name that two departments use is left out (a row naming it is refused
    as unknown rather than filed at the wrong department's site)."""
    ids: dict[str, int] = {}
    shared: set[str] = set()
    for site_id, key in conn.execute(select(SiteRow.id, SiteRow.name_key)):
        if key in ids:
            shared.add(key)
        ids[key] = site_id
    return {key: site_id for key, site_id in ids.items() if key not in shared}


def find_site(conn: Connection, name: str, department: str | None = None) -> int:
    """The id of the site of this name (in `department`, when given); SiteError when none or several."""
    query = select(SiteRow.id, Department.name).join(Department, Department.id == SiteRow.department_id).where(
        SiteRow.name_key == site_key(name))
    if department is not None:
        query = query.where(Department.name == department)
    found = conn.execute(query).all()
    if not found:
        known = ", ".join(sorted(conn.scalars(select(SiteRow.name)))) or "none yet"
        raise SiteError(f"unknown site {name!r} (known sites: {known[:300]}); add it with 'clearsite site add'")
    if len(found) > 1:
        departments = ", ".join(sorted(str(d) for _, d in found))
        raise SiteError(f"site name {name!r} is used by more than one department ({departments[:300]})")
    return int(found[0][0])
