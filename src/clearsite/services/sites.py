"""Departments' sites and their networks: add one (audited), list them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from clearsite.core import contracts
from clearsite.core.models import Network, Site
from clearsite.store import audit
from clearsite.store.sites import NetworkPolicy, load_sites
from clearsite.store.sites import add_site as store_site

__all__ = ["AddedSite", "add_site", "list_sites"]


@dataclass(frozen=True, slots=True)
class AddedSite:
    id: int
    site: Site


def add_site(engine: Engine, actor: str, *, name: str, department: str, region: str | None = None,
             holds_secret: bool = False, dv_hub: bool = False, ministerial: bool = False, socpa: bool = False,
             networks: list[str] | None = None, core_networks: list[str] | None = None, allow_wide: bool = False,
             allow_special: bool = False, allow_overlap: bool = False) -> AddedSite:
    """Store a new site and record `site.add` in the audit log, in one transaction.

    The allow_… flags are an administrator's (the command line's) to give: networks wider than /16 or
    /48, special ranges (loopback, link-local, multicast, IPv4-mapped …), overlaps with another
    department's networks. Each one given is recorded in the audit entry.
    """
    nets = tuple(Network(c) for c in networks or []) + tuple(Network(c, core=True) for c in core_networks or [])
    site = Site(name, department, region, holds_secret, dv_hub, ministerial, socpa, nets)
    policy = NetworkPolicy(allow_wide=allow_wide, allow_special=allow_special, allow_overlap=allow_overlap)
    allowed = [flag for flag, given in (("wide", allow_wide), ("special", allow_special), ("overlap", allow_overlap))
               if given]
    with engine.begin() as conn:
        site_id = store_site(conn, site, policy)
        audit.record(conn, actor, "site.add", f"site:{site_id}", None,
                     {"name": site.name, "department": site.department, "region": site.region,
                      "criteria": list(site.sensitivity_criteria),
                      "networks": [{"cidr": n.cidr, "core": n.core} for n in site.networks]}
                     | ({"allowed": allowed} if allowed else {}))
    return AddedSite(site_id, site)


def list_sites(engine: Engine) -> list[contracts.SiteListRow]:
    """Every site in id order, in the `site list --format json` shape."""
    with engine.connect() as conn:
        sites = load_sites(conn)
    return [{"id": site_id, "name": s.name, "department": s.department, "region": s.region, "sensitive": s.sensitive,
             "criteria": list(s.sensitivity_criteria),
             "networks": [{"cidr": n.cidr, "core": n.core} for n in s.networks]}
            for site_id, s in sorted(sites.items())]
