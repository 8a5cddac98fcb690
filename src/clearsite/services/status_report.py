"""`clearsite status-report`: the programme office's periodic statement, from proof rather than claims.

Per site: not started / in progress / claimed / verified (services.removal.SiteClearance), the share
of affected devices verified removed, spend against budget per UK financial year (the current
plan's budget and planned spend, the orders' estimates, the actual costs recorded with removals),
and extension requests by outcome.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from clearsite.core import contracts
from clearsite.core.plan.calendar import fiscal_year, fy_label
from clearsite.formats.outputs import output_set
from clearsite.render.status_report import status_report_html
from clearsite.services.removal import site_clearance
from clearsite.store.orders import order_extensions, read_orders
from clearsite.store.plans import current_plan
from clearsite.store.reads import EVERYTHING, SiteScope
from clearsite.store.removals import read_removals
from clearsite.store.site_reads import list_sites

__all__ = ["build_status_report", "write_status_report"]


def build_status_report(engine: Engine, scope: SiteScope = EVERYTHING, today: date | None = None
                        ) -> contracts.StatusReport:
    today = today or date.today()
    with engine.connect() as conn:
        clearance = site_clearance(conn, scope)
        departments = {s["id"]: s["department"] for s in list_sites(conn, scope)}
        orders = read_orders(conn, scope)
        removals = read_removals(conn, scope)
        extensions = order_extensions(conn, [o.id for o in orders]) if orders else []
        stored = current_plan(conn)
    started = {o.site_id for o in orders if o.status in ("in_progress", "completed", "verified")}
    sites: list[contracts.StatusReportSite] = []
    for c in clearance.values():
        state = c.state
        if state == "not_started" and c.site_id in started:
            state = "in_progress"
        sites.append({"site": c.site, "department": departments.get(c.site_id, ""), "state": state,
                      "affected": c.affected, "claimed": c.claimed, "verified": c.verified,
                      "contradicted": c.contradicted,
                      "share_removed": round(c.verified / c.affected, 4) if c.affected else 0.0})
    states = Counter(s["state"] for s in sites)
    affected = sum(s["affected"] for s in sites)
    verified = sum(s["verified"] for s in sites)
    totals = {"sites": len(sites), "sites_not_started": states["not_started"],
              "sites_in_progress": states["in_progress"], "sites_claimed": states["claimed"],
              "sites_verified": states["verified"], "affected": affected, "verified": verified,
              "claimed": sum(s["claimed"] for s in sites), "contradicted": sum(s["contradicted"] for s in sites)}
    spend: dict[str, dict[str, float | None]] = defaultdict(
        lambda: {"budget": None, "planned": 0.0, "ordered": 0.0, "actual": 0.0})
    if stored is not None:
        for row in stored.plan.budget:
            spend[row.fy]["budget"] = row.budget
            spend[row.fy]["planned"] = round(row.spend, 2)
    for order in orders:
        if order.status != "cancelled":
            year = spend[fy_label(fiscal_year(order.week))]
            year["ordered"] = round((year["ordered"] or 0.0) + order.est_cost, 2)
    for removal in removals:
        if removal.cost:
            year = spend[fy_label(fiscal_year(removal.removed_on))]
            year["actual"] = round((year["actual"] or 0.0) + removal.cost, 2)
    by_status = Counter(e.status for e in extensions)
    return {
        "as_of": today.isoformat(),
        "sites": sorted(sites, key=lambda s: (s["department"], s["site"])),
        "totals": totals,
        "share_removed": round(verified / affected, 4) if affected else 0.0,
        "share_sites_verified": round(states["verified"] / len(sites), 4) if sites else 0.0,
        "spend": [{"fy": fy, "budget": v["budget"], "planned": v["planned"] or 0.0, "ordered": v["ordered"] or 0.0,
                   "actual": v["actual"] or 0.0} for fy, v in sorted(spend.items())],
        "extensions": {"requested": len(extensions), "approved": by_status["approved"],
                       "refused": by_status["refused"], "waiting": by_status["requested"]},
    }


def write_status_report(report: contracts.StatusReport, out_dir: Path) -> list[Path]:
    """status-report.html and status-report.json in `out_dir`, written whole or not at all."""
    import json

    names = {"status-report.html": status_report_html(report),
             "status-report.json": json.dumps(report, indent=2, ensure_ascii=False) + "\n"}
    with output_set(out_dir, names) as outputs:
        for name, text in names.items():
            outputs.write_text(name, text)
    return [out_dir / name for name in names]
