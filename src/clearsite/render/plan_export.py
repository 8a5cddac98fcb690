"""Plans as JSON (the contract), CSV and XLSX schedules, and plain-text tables.

Site, department, region and crew names come from registers and users, so every text cell in
CSV/XLSX is neutralised: a leading = + - @ tab or CR would make a spreadsheet run it as a formula.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

from clearsite.core import contracts
from clearsite.core.plan.result import Plan
from clearsite.core.timeline import MilestoneProgress
from clearsite.render.spreadsheets import neutralise
from clearsite.render.wording import long_date, money, plan_headline, plural, share, shortfall_sentence


def plan_to_json(plan: Plan, indent: int | None = 2) -> str:
    return json.dumps(plan.to_dict(), indent=indent, ensure_ascii=False)


SCHEDULE_COLUMNS = ("week", "region", "crew", "site", "department", "devices", "device_ids", "hours", "cost")


def _schedule_rows(plan: Plan) -> list[list[Any]]:
    return [
        [
            v.week.isoformat(),
            v.region,
            v.crew,
            v.site,
            v.department,
            len(v.devices),
            ";".join(str(d) for d in v.devices),
            round(v.hours, 2),
            round(v.cost, 2),
        ]
        for v in plan.visits
    ]


def plan_to_csv(plan: Plan) -> str:
    """The schedule, one row per site visit (site/week/crew)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SCHEDULE_COLUMNS)
    for row in _schedule_rows(plan):
        writer.writerow([neutralise(c) for c in row])
    return buf.getvalue()


def plan_to_xlsx(plan: Plan, target: str | Path | IO[bytes]) -> None:
    """A workbook: summary, schedule, capacity, milestones, shortfalls, unscheduled, budget."""
    import xlsxwriter  # loaded by the first workbook, not by every process that imports this

    book = xlsxwriter.Workbook(target if not isinstance(target, Path) else str(target), {"in_memory": True})
    bold = book.add_format({"bold": True})

    def sheet(name: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        ws = book.add_worksheet(name)
        ws.write_row(0, 0, header, bold)
        for i, row in enumerate(rows, start=1):
            for j, cell in enumerate(row):
                if isinstance(cell, str):
                    ws.write_string(i, j, str(neutralise(cell)))  # never a formula
                elif cell is None:
                    ws.write_blank(i, j, None)
                else:
                    ws.write_number(i, j, float(cell))
        ws.freeze_panes(1, 0)
        ws.set_column(0, len(header) - 1, 16)

    d = plan.to_dict()
    sheet(
        "Summary",
        ("item", "value"),
        [
            ("summary", plan_headline(plan)),
            ("solver status", plan.status),
            ("cost score", plan.objective),
            ("best possible cost score (bound)", plan.lower_bound),
            ("distance from the best possible", plan.gap),
            ("start", plan.start.isoformat()),
            ("weeks", plan.weeks),
            ("solver", plan.solver.method),
            *[(k.replace("_", " "), v) for k, v in plan.totals.items()],
        ],
    )
    sheet("Schedule", SCHEDULE_COLUMNS, _schedule_rows(plan))
    sheet(
        "Capacity",
        ("region", "week", "hours", "used"),
        [(c.region, c.week.isoformat(), c.hours, c.used) for c in plan.capacity],
    )
    sheet(
        "Milestones",
        ("date", "target share", "forecast share", "met", "target sites", "forecast sites"),
        [
            (
                m["date"],
                m["target_share"],
                m["forecast_share"],
                "yes" if m["met"] else "no",
                m["target_sites"],
                m["forecast_sites"],
            )
            for m in d["milestones"]
        ],
    )
    sheet(
        "Shortfalls",
        ("milestone", "kind", "region", "fy", "from", "to", "extra crews", "extra hours", "extra budget", "minimum", "verified", "reason"),
        [
            (s["milestone"], s["kind"], s["region"] or "", s["fy"] or "", s["period_start"] or "", s["period_end"] or "",
             s["extra_crews"], s["extra_hours"], s["extra_budget"], s["minimum"], "yes" if s["verified"] else "no", s["reason"])
            for s in d["shortfalls"]
        ],
    )  # fmt: skip
    sheet(
        "Unscheduled",
        ("device", "site", "reason"),
        [(str(u.device), u.site, u.reason) for u in plan.unscheduled],
    )
    sheet("Budget", ("financial year", "budget", "spend"), [(b.fy, b.budget, b.spend) for b in plan.budget])
    book.close()


def site_clear_dates(plan: Plan) -> dict[str, date | None]:
    """When each planned site is forecast clear: the Friday of its last visit, None if some device
    there is unscheduled. Feeds the public statement's forecast."""
    out: dict[str, date | None] = {}
    for v in plan.visits:
        done = v.week + timedelta(days=4)
        prev = out.get(v.site)
        out[v.site] = done if prev is None or done > prev else prev
    for u in plan.unscheduled:
        out[u.site] = None
    return out


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    text = [[str(h) for h in header]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in text) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in text]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def plan_to_table(plan: Plan, max_visits: int = 50, milestones: Sequence[MilestoneProgress] | None = None,
                  problems: Sequence[str] | None = None) -> str:
    """A readable summary in plain words: what the plan achieves, the milestones (the programme
    timeline's when given, else the plan's own forecast), why a milestone cannot be met, the budget
    and the first visits. The precise solver figures are in --format json."""
    scheduled = int(plan.totals.get("devices", 0)) - len(plan.unscheduled)
    parts = [
        plan_headline(plan),
        (f"{plural(int(plan.totals.get('devices', 0)), 'device')} to remove at "
         f"{plural(int(plan.totals.get('sites', 0)), 'site')}; {scheduled:,} scheduled in "
         f"{plural(len(plan.visits), 'visit')}."),
        "",
    ]
    if milestones is not None:
        parts.append(_table(("milestone", "target", "sites clear by then", "status"),
                            [(long_date(m.date), share(m.target_share),
                              f"{share(m.share)} ({m.sites:,} of the {m.target_sites:,} sites needed)"
                              + (" forecast" if m.basis == "forecast" else ""), m.status)
                             for m in milestones]))
    else:
        parts.append(_table(("milestone", "target", "forecast", "status"),
                            [(long_date(m.date), share(m.target_share),
                              f"{share(m.forecast_share)} ({m.forecast_sites:,} of the {m.target_sites:,} sites needed)",
                              "on track" if m.met else "at risk") for m in plan.milestones]))
    sentences = list(problems) if problems is not None else [shortfall_sentence(s) for s in plan.shortfalls]
    if sentences:
        parts += ["", *sentences]
    parts += ["", _table(("financial year", "budget", "spend"),
                         [(b.fy, "no limit" if b.budget is None else money(b.budget), money(b.spend))
                          for b in plan.budget])]
    if plan.visits:
        rows = [(long_date(v.week), v.region, v.crew, v.site, len(v.devices), f"{v.hours:.1f}", money(v.cost))
                for v in plan.visits[:max_visits]]
        parts += ["", _table(("week of", "region", "crew", "site", "devices", "hours", "cost"), rows)]
        if len(plan.visits) > max_visits:
            parts.append(f"… {plural(len(plan.visits) - max_visits, 'more visit')} (use --format csv)")
    parts += ["", f"Solver: {plan.solver.method}, {plan.solver.wall_time:.1f} s; the plan's cost score is within "
                  f"{plan.gap:.1%} of the best possible."]
    return "\n".join(parts)


def _comparison_rows(plans: Sequence[Plan]) -> list[contracts.PlanScenario]:
    rows: list[contracts.PlanScenario] = []
    for p in plans:
        last = max((v.week for v in p.visits), default=None)
        rows.append(
            {
                "scenario": p.scenario or "base",
                "status": p.status,
                "objective": round(p.objective, 3),
                "gap": round(p.gap, 6),
                "milestones_met": sum(m.met for m in p.milestones),
                "milestones": len(p.milestones),
                "forecast_shares": [round(m.forecast_share, 4) for m in p.milestones],
                "last_visit_week": last.isoformat() if last else None,
                "unscheduled_devices": len(p.unscheduled),
                "spend": {b.fy: round(b.spend, 2) for b in p.budget},
                "crews": len({v.crew for v in p.visits}),
            }
        )
    return rows


def comparison_to_json(plans: Sequence[Plan], indent: int | None = 2) -> str:
    return json.dumps({"scenarios": _comparison_rows(plans)}, indent=indent)


def comparison_to_table(plans: Sequence[Plan]) -> str:
    rows = _comparison_rows(plans)
    return _table(
        ("scenario", "milestones met", "sites clear by each", "last visit", "not scheduled", "cost score",
         "within best"),
        [(r["scenario"], f"{r['milestones_met']} of {r['milestones']}", " ".join(share(s) for s in r["forecast_shares"]),
          long_date(date.fromisoformat(r["last_visit_week"])) if r["last_visit_week"] else "-",
          plural(r["unscheduled_devices"], "device"), f"{r['objective']:,.0f}", f"{r['gap']:.1%}")
         for r in rows],
    )
