"""`clearsite site add|list`: departments' sites and their networks."""

from __future__ import annotations

from typing import Annotated

import typer

from clearsite.cli.errors import HandledGroup
from clearsite.cli.options import (
    DbOption,
    Format,
    FormatOption,
    actor,
    add_data_row,
    data_table,
    open_engine,
    print_json,
    print_table,
    say,
)

app = typer.Typer(cls=HandledGroup, help="Departments' sites and their networks.")


@app.command("add")
def site_add(
    name: Annotated[str, typer.Argument(help="Site name (kept internal; never published).")],
    department: Annotated[str, typer.Option("--department", help="Owning department.")],
    region: Annotated[str | None, typer.Option("--region")] = None,
    holds_secret: Annotated[bool, typer.Option("--holds-secret", help="Routinely holds SECRET or above.")] = False,
    dv_hub: Annotated[bool, typer.Option("--dv-hub", help="Hosts a significant share of DV-cleared staff.")] = False,
    ministerial: Annotated[bool, typer.Option("--ministerial", help="Routinely used by Ministers.")] = False,
    socpa: Annotated[bool, typer.Option("--socpa", help="A SOCPA 2005 designated site.")] = False,
    network: Annotated[list[str] | None, typer.Option("--network", help="A network of the site (CIDR).")] = None,
    core_network: Annotated[list[str] | None, typer.Option("--core-network", help="A departmental core network.")] = None,
    allow_wide: Annotated[bool, typer.Option("--allow-wide", help="Allow networks wider than /16 (IPv4) or /48 (IPv6).")] = False,
    allow_special: Annotated[bool, typer.Option("--allow-special", help="Allow loopback, link-local, multicast, "
                                                "unspecified, reserved and IPv4-mapped ranges.")] = False,
    allow_overlap: Annotated[bool, typer.Option("--allow-overlap", help="Allow networks overlapping another "
                                                "department's sites.")] = False,
    db: DbOption = None,
) -> None:
    """Add a site; it is sensitive when any of the four UK criteria holds. Networks must be /16 (IPv4) or
    /48 (IPv6) or narrower, not special ranges, and not overlap another department's, unless allowed here."""
    from clearsite.services.sites import add_site

    added = add_site(open_engine(db), actor(), name=name, department=department, region=region,
                     holds_secret=holds_secret, dv_hub=dv_hub, ministerial=ministerial, socpa=socpa,
                     networks=network, core_networks=core_network, allow_wide=allow_wide,
                     allow_special=allow_special, allow_overlap=allow_overlap)
    site = added.site
    sensitivity = "sensitive (" + ", ".join(site.sensitivity_criteria) + ")" if site.sensitive else "not sensitive"
    say(f"added site {added.id}: {name!r}, {sensitivity}, {len(site.networks)} network(s)")


@app.command("list")
def site_list(db: DbOption = None, format: FormatOption = Format.table) -> None:
    """List sites with their sensitivity and networks."""
    from clearsite.services.sites import list_sites

    rows = list_sites(open_engine(db))
    if format == Format.json:
        print_json(rows)
        return
    table = data_table("id", "site", "department", "region", "sensitive", "networks")
    for r in rows:
        nets = ", ".join(n["cidr"] + (" (core)" if n["core"] else "") for n in r["networks"])
        add_data_row(table, str(r["id"]), r["name"], r["department"], r["region"] or "",
                     ", ".join(r["criteria"]) or "no", nets)
    print_table(table)
