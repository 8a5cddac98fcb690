"""The estate as one department (or everyone) sees it: sites, findings, the dashboard, and the small
changes people make by hand. Every function takes the caller's `SiteScope`; a record outside it is
"not found", so its existence is not revealed either.

The web pages and /api/v1 call these; each change is one transaction with its audit entry.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any, cast

from sqlalchemy import Engine

from clearsite.core import contracts
from clearsite.core.errors import InputError, NotFoundError
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import OUTSTANDING as OUTSTANDING_STATUSES
from clearsite.core.models import STATUSES_BY_SEVERITY, Network, Site
from clearsite.services.timeline import ProgrammeTimeline, programme_timeline, timeline_summary
from clearsite.store import audit
from clearsite.store.changes import (
    insert_attestation,
    update_site_columns,
)
from clearsite.store.finding_list import FindingFilter, filtered_findings
from clearsite.store.reads import SiteScope
from clearsite.store.site_reads import (
    department_name,
    device_counts_by_site,
    finding_counts_by_site,
    get_site,
    list_sites,
    site_summaries,
)
from clearsite.store.sites import add_site
from clearsite.store.transactions import write_transaction

__all__ = ["OUTSTANDING", "STATUSES", "add_attestation", "create_site", "dashboard", "findings",
           "site", "site_domain", "sites", "update_site"]

# Finding statuses, most severe first (the order pages show them in); the first three are outstanding.
STATUSES = tuple(s.value for s in STATUSES_BY_SEVERITY)
OUTSTANDING = tuple(s.value for s in OUTSTANDING_STATUSES)


def _not_found(what: str) -> NotFoundError:
    return NotFoundError(f"{what} not found")


# --------------------------------------------------------------------------- reading


def sites(engine: Engine, scope: SiteScope) -> list[dict[str, Any]]:
    """Sites in the scope with their device count and findings by status (the /api/v1/sites shape)."""
    with engine.connect() as conn:
        rows = list_sites(conn, scope)
        if not rows:
            return []
        devices = device_counts_by_site(conn, scope)
        statuses = finding_counts_by_site(conn, scope)
    return [{**r, "devices": devices.get(r["id"], 0), "findings": {s: statuses[r["id"]][s] for s in STATUSES}}
            for r in rows]


def site(engine: Engine, scope: SiteScope, site_id: int) -> dict[str, Any]:
    """One site in the scope (NotFoundError when absent or outside it)."""
    with engine.connect() as conn:
        found = get_site(conn, scope, site_id)
    if found is None:
        raise _not_found("site")
    return found


def site_domain(site: dict[str, Any]) -> Site:
    """A site as read here, as the core's `Site` (for screening and scope checks)."""
    return Site(site["name"], site["department"], site["region"], site["holds_secret"], site["dv_hub"],
                site["ministerial"], site["socpa"], tuple(Network(n["cidr"], n["core"]) for n in site["networks"]),
                site["jurisdiction"])


def findings(engine: Engine, scope: SiteScope, site_id: int | None = None, status: str | None = None,
             after: int = 0, limit: int = 200, *, policy: str | None = None, obligation: str | None = None,
             sort: str = "id", descending: bool = False, after_key: tuple[Any, int] | None = None
             ) -> list[dict[str, Any]]:
    """Stored findings in the scope in `sort` order, `limit` after id `after` (id order) or after the keyset
    `after_key` (services.finding_list.finding_cursor); services.finding_list counts and exports the same filter."""
    with engine.connect() as conn:
        return filtered_findings(conn, scope, FindingFilter(site_id, status, policy, obligation), after, limit,
                                 sort=sort, descending=descending, after_key=after_key)


def dashboard(engine: Engine, scope: SiteScope, knowledge: Knowledge, as_of: date,
              timeline: ProgrammeTimeline | None = None) -> contracts.Dashboard:
    """Counts by status, by department and by site sensitivity, and progress against each removal timeline."""
    with engine.connect() as conn:
        summaries = site_summaries(conn, scope)
        devices = device_counts_by_site(conn, scope)
        statuses = finding_counts_by_site(conn, scope)

    def blank() -> dict[str, int]:
        return {"sites": 0, "devices": 0, **{s: 0 for s in STATUSES}}

    by_department: dict[str, dict[str, int]] = defaultdict(blank)
    by_sensitivity: dict[str, dict[str, int]] = {"sensitive": blank(), "other": blank()}
    status_counts: Counter[str] = Counter()
    for site_id, (department, sensitive) in summaries.items():
        kind = "sensitive" if sensitive else "other"
        for group in (by_department[department], by_sensitivity[kind]):
            group["sites"] += 1
            group["devices"] += devices.get(site_id, 0)
            for status, count in statuses.get(site_id, Counter()).items():
                group[status] = group.get(status, 0) + count
        status_counts.update(statuses.get(site_id, Counter()))
    # the programme's one timeline (services.timeline), as /plan, the public preview and publish show it
    timeline = timeline or programme_timeline(engine, knowledge, scope, as_of)
    progress = [timeline_summary(timeline)] if timeline.figures.affected else []
    return {"as_of": as_of.isoformat(),
            "statuses": cast(contracts.StatusCounts, {s: status_counts.get(s, 0) for s in STATUSES}),
            "by_department": cast("dict[str, contracts.DashboardCounts]", dict(sorted(by_department.items()))),
            "by_sensitivity": cast(contracts.DashboardSensitivity, by_sensitivity),
            "timelines": progress}


# --------------------------------------------------------------------------- changing


def create_site(engine: Engine, actor: str, scope: SiteScope, *, name: str, department: str | None,
                region: str | None = None, holds_secret: bool = False, dv_hub: bool = False,
                ministerial: bool = False, socpa: bool = False,
                networks: list[tuple[str, bool]] | None = None) -> dict[str, Any]:
    """Add a site; a caller scoped to one department adds it to that department, whatever was asked."""
    with write_transaction(engine) as conn:
        if scope.department_id is not None or scope.nothing:
            department = department_name(conn, scope.department_id)
        if not department:
            raise InputError("a site needs a department")
        new = Site(name, department, region, holds_secret, dv_hub, ministerial, socpa,
                   tuple(Network(cidr, core) for cidr, core in networks or []))
        site_id = add_site(conn, new)
        created = get_site(conn, scope, site_id)
        audit.record(conn, actor, "site.add", f"site:{site_id}", None, created)
    assert created is not None
    return created


def update_site(engine: Engine, actor: str, scope: SiteScope, site_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Change a site's region or sensitivity flags; audited with the fields that changed, before and after."""
    with write_transaction(engine) as conn:
        before = get_site(conn, scope, site_id)
        if before is None:
            raise _not_found("site")
        update_site_columns(conn, site_id, values)
        after = get_site(conn, scope, site_id)
        assert after is not None
        changed = {k: before[k] for k in values if before[k] != after[k]}
        if changed:
            audit.record(conn, actor, "site.update", f"site:{site_id}", changed, {k: after[k] for k in changed})
    return after


def add_attestation(engine: Engine, actor: str, department_id: int | None, values: dict[str, Any]) -> int:
    """Store a supplier's attestation for the caller's department (everyone's when department_id is None)."""
    from clearsite.core.screen import Statement  # refuse a statement screening would not understand

    try:
        Statement(values["statement"])
    except ValueError as exc:
        known = "; ".join(s.value for s in Statement)
        raise InputError(f"statement {values['statement']!r} is not one screening knows ({known})") from exc
    if values["expires"] <= values["signed"]:
        raise InputError("an attestation must expire after it was signed")
    with write_transaction(engine) as conn:
        attestation_id = insert_attestation(conn, values, department_id=department_id, recorded_by=actor)
        audit.record(conn, actor, "attestation.add", f"attestation:{attestation_id}", None, values)
    return attestation_id
