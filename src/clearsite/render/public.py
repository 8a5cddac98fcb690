"""The public progress statement (HTML and open-data JSON), redacted by construction.

Site lists and locations are withheld on security grounds (PQ answer of 9 Apr 2024), so the
public view is built in two steps:

1. `build_public_statement` reads per-site records and keeps only three fields from each:
   department, cleared date and forecast date. It returns a `PublicStatement` made of counts,
   shares, dates and department names: no field of it can hold a site name, address, coordinate,
   IP, MAC, serial or model, whatever the records carried. Departments with fewer than
   `min_department_sites` affected sites are folded into "Other departments", and the time series
   is monthly, so neither a small department nor a planned visit week can be singled out.
2. The renderers (`render_public_html`, `render_public_json`, `public_burndown_svg`) only ever
   see a `PublicStatement`. The HTML goes through Jinja2 with autoescape on.

`build_internal_report` / `render_internal_html` give the full detail for internal use.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from jinja2 import Environment, select_autoescape

from clearsite.core.plan.result import Plan
from clearsite.render.charts import BurndownPoint, MilestoneMark, burndown_svg, gantt_svg, plan_burndown_svg

OTHER = "Other departments"
SCHEMA = "clearsite.public-progress/1"


@dataclass(frozen=True, slots=True)
class SiteProgress:
    """One affected site as the shell knows it. `site` and `extra` go into the internal report
    only; the public statement reads `department`, `cleared_on` and `forecast_on`."""

    site: str
    department: str
    cleared_on: date | None = None  # actually cleared (verified)
    forecast_on: date | None = None  # planned clear date (the Friday of the site's last visit)
    region: str | None = None
    devices: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)  # anything else, internal only


@dataclass(frozen=True, slots=True)
class MilestoneStatus:
    date: date
    target_share: float
    share: float  # actual share at the date if it has passed, else the forecast
    basis: str  # "actual" | "forecast"
    met: bool


@dataclass(frozen=True, slots=True)
class DepartmentRow:
    department: str
    affected_sites: int
    cleared_sites: int

    @property
    def share(self) -> float:
        return self.cleared_sites / self.affected_sites if self.affected_sites else 1.0


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    month_end: date
    cleared_sites: int
    share: float
    basis: str  # "actual" | "forecast"


@dataclass(frozen=True, slots=True)
class PublicStatement:
    """Aggregates only. Strings here are the title, the programme and department names."""

    title: str
    programme: str
    as_of: date
    affected_sites: int
    cleared_sites: int
    milestones: tuple[MilestoneStatus, ...]
    departments: tuple[DepartmentRow, ...]
    series: tuple[SeriesPoint, ...]
    forecast_complete: date | None  # when the plan has every affected site clear, if it does
    min_department_sites: int

    @property
    def share(self) -> float:
        return self.cleared_sites / self.affected_sites if self.affected_sites else 1.0


def _read(record: SiteProgress | Mapping[str, Any]) -> tuple[str, date | None, date | None]:
    """The only fields of a record the public view ever reads."""
    if isinstance(record, SiteProgress):
        return record.department, record.cleared_on, record.forecast_on
    return str(record["department"]), _date(record.get("cleared_on")), _date(record.get("forecast_on"))


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _month_end(day: date) -> date:
    nxt = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def build_public_statement(
    records: Iterable[SiteProgress | Mapping[str, Any]],
    *,
    as_of: date,
    milestones: Sequence[tuple[date, float]] = (),
    title: str = "Removal of surveillance equipment: progress",
    programme: str = "",
    min_department_sites: int = 5,
) -> PublicStatement:
    """Aggregate per-site records into the public statement. Names go in, only counts come out.

    A site counts as cleared when `cleared_on` is on or before `as_of`; forecasts count only after
    `as_of` (a past forecast that did not happen is not progress)."""
    rows = [_read(r) for r in records]
    affected = len(rows)
    cleared_dates = sorted(c for _, c, _ in rows if c is not None and c <= as_of)
    # when each site is expected to be clear: done already, or its forecast (if after as_of)
    expected: list[date] = []
    for _, c, f in rows:
        if c is not None and c <= as_of:
            expected.append(c)
        elif f is not None:
            expected.append(max(f, as_of + timedelta(days=1)))
    expected.sort()

    dept_affected: Counter[str] = Counter()
    dept_cleared: Counter[str] = Counter()
    for dept, c, _ in rows:
        dept_affected[dept] += 1
        dept_cleared[dept] += c is not None and c <= as_of
    shown: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for dept, n in dept_affected.items():
        key = dept if n >= min_department_sites else OTHER
        shown[key][0] += n
        shown[key][1] += dept_cleared[dept]
    departments = tuple(
        DepartmentRow(d, a, c) for d, (a, c) in sorted(shown.items(), key=lambda kv: (kv[0] == OTHER, kv[0]))
    )

    def count_by(day: date, dates: list[date]) -> int:
        lo, hi = 0, len(dates)
        while lo < hi:  # bisect_right without importing for one use
            mid = (lo + hi) // 2
            if dates[mid] <= day:
                lo = mid + 1
            else:
                hi = mid
        return lo

    statuses = []
    for day, target in sorted(milestones):
        if day <= as_of:
            n, basis = count_by(day, cleared_dates), "actual"
        else:
            n, basis = count_by(day, expected), "forecast"
        share = n / affected if affected else 1.0
        statuses.append(MilestoneStatus(day, target, share, basis, share + 1e-9 >= target))

    series: list[SeriesPoint] = []
    all_days = cleared_dates + expected + [d for d, _ in milestones]
    if all_days and affected:
        month = _month_end(min(all_days))
        end = _month_end(max(all_days + [as_of]))
        while month <= end:
            if month <= _month_end(as_of):
                day = min(month, as_of)
                n, basis = count_by(day, cleared_dates), "actual"
            else:
                n, basis = count_by(month, expected), "forecast"
            series.append(SeriesPoint(month, n, n / affected, basis))
            month = _month_end(month + timedelta(days=1))
    complete = expected[-1] if affected and len(expected) == affected else None
    return PublicStatement(
        title=title,
        programme=programme,
        as_of=as_of,
        affected_sites=affected,
        cleared_sites=len(cleared_dates),
        milestones=tuple(statuses),
        departments=departments,
        series=tuple(series),
        forecast_complete=complete,
        min_department_sites=min_department_sites,
    )


def statement_to_dict(st: PublicStatement) -> dict[str, Any]:
    """The open-data JSON form."""
    return {
        "schema": SCHEMA,
        "title": st.title,
        "programme": st.programme,
        "as_of": st.as_of.isoformat(),
        "affected_sites": st.affected_sites,
        "cleared_sites": st.cleared_sites,
        "cleared_share": round(st.share, 4),
        "forecast_complete": st.forecast_complete.isoformat() if st.forecast_complete else None,
        "milestones": [
            {
                "date": m.date.isoformat(),
                "target_share": m.target_share,
                "share": round(m.share, 4),
                "basis": m.basis,
                "met": m.met,
            }
            for m in st.milestones
        ],
        "departments": [
            {
                "department": d.department,
                "affected_sites": d.affected_sites,
                "cleared_sites": d.cleared_sites,
                "cleared_share": round(d.share, 4),
            }
            for d in st.departments
        ],
        "series": [
            {
                "month_end": p.month_end.isoformat(),
                "cleared_sites": p.cleared_sites,
                "share": round(p.share, 4),
                "basis": p.basis,
            }
            for p in st.series
        ],
        "notes": [
            "Site names and locations are withheld on security grounds; figures are counts of sites.",
            f"Departments with fewer than {st.min_department_sites} affected sites are shown together as '{OTHER}'.",
            "Figures after the as-of date are a forecast from the removal plan.",
        ],
    }


def render_public_json(st: PublicStatement) -> str:
    return json.dumps(statement_to_dict(st), indent=2, ensure_ascii=False)


def public_burndown_svg(st: PublicStatement) -> str:
    """Sites remaining over time against the milestones, from the statement's monthly series."""
    points = [
        BurndownPoint(p.month_end, st.affected_sites - p.cleared_sites, None, forecast=p.basis == "forecast")
        for p in st.series
    ]
    marks = [MilestoneMark(m.date, m.target_share) for m in st.milestones]
    return burndown_svg(points, marks, total_sites=st.affected_sites, title="Affected sites remaining")


_ENV = Environment(
    autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True, lstrip_blocks=True
)
_ENV.filters["long_date"] = lambda d: f"{d.day} {d:%B %Y}"  # "31 October 2024" on every platform

_PUBLIC = _ENV.from_string(
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ st.title }}</title>
<style>
body { font-family: Arial, sans-serif; margin: 2rem auto; max-width: 60rem; color: #0b0c0c; line-height: 1.4; padding: 0 1rem; }
table { border-collapse: collapse; margin: 1rem 0; } th, td { border-bottom: 1px solid #b1b4b6; padding: .4rem .8rem; text-align: left; }
td.n, th.n { text-align: right; } .met { color: #00703c; font-weight: bold; } .missed { color: #d4351c; font-weight: bold; }
.lead { font-size: 1.25rem; } figure { margin: 1.5rem 0; } figure svg { max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>{{ st.title }}</h1>
{% if st.programme %}<p>{{ st.programme }}</p>{% endif %}
<p class="lead">As of {{ st.as_of|long_date }}, <strong>{{ st.cleared_sites }}</strong> of the
<strong>{{ st.affected_sites }}</strong> affected sites ({{ "%.0f"|format(st.share * 100) }}%) are clear.
{% if st.forecast_complete %}The plan has every affected site clear by {{ st.forecast_complete|long_date }}.{% endif %}</p>

<h2>Milestones</h2>
<table>
<thead><tr><th>Date</th><th class="n">Target</th><th class="n">Sites clear</th><th>Basis</th><th>Status</th></tr></thead>
<tbody>
{% for m in st.milestones %}
<tr><td>{{ m.date|long_date }}</td><td class="n">{{ "%.0f"|format(m.target_share * 100) }}%</td>
<td class="n">{{ "%.0f"|format(m.share * 100) }}%</td><td>{{ m.basis }}</td>
<td class="{{ 'met' if m.met else 'missed' }}">{% if m.basis == 'actual' %}{{ 'met' if m.met else 'missed' }}{% else %}{{ 'on track' if m.met else 'at risk' }}{% endif %}</td></tr>
{% endfor %}
</tbody>
</table>

<figure>{{ chart }}<figcaption>Affected sites remaining, month by month; dashed: forecast from the removal plan; diamonds: milestone targets.</figcaption></figure>

<h2>By department</h2>
<table>
<thead><tr><th>Department</th><th class="n">Affected sites</th><th class="n">Clear</th><th class="n">Share</th></tr></thead>
<tbody>
{% for d in st.departments %}
<tr><td>{{ d.department }}</td><td class="n">{{ d.affected_sites }}</td><td class="n">{{ d.cleared_sites }}</td><td class="n">{{ "%.0f"|format(d.share * 100) }}%</td></tr>
{% endfor %}
</tbody>
</table>

<h2>Notes</h2>
<ul>
<li>Site names and locations are withheld on security grounds; all figures are counts of sites.</li>
<li>Departments with fewer than {{ st.min_department_sites }} affected sites are shown together as “{{ other }}”.</li>
<li>Figures after {{ st.as_of|long_date }} are a forecast from the removal plan, by month.</li>
<li>The same figures are published as open data in <a href="progress.json">progress.json</a>.</li>
</ul>
</body>
</html>
"""
)


def render_public_html(st: PublicStatement) -> str:
    # the chart is our own SVG built from the statement with every text escaped; mark it safe
    from markupsafe import Markup

    return _PUBLIC.render(st=st, chart=Markup(public_burndown_svg(st)), other=OTHER)


def public_files(st: PublicStatement) -> dict[str, str]:
    """File name -> content for `clearsite publish --public DIR`."""
    return {
        "index.html": render_public_html(st),
        "progress.json": render_public_json(st),
        "burndown.svg": public_burndown_svg(st),
    }


# ---------------------------------------------------------------------------------------------
# internal: the full detail


@dataclass(frozen=True, slots=True)
class InternalReport:
    as_of: date
    title: str
    sites: tuple[SiteProgress, ...]
    public: PublicStatement  # the same aggregates, for comparison
    plan: Plan | None


def build_internal_report(
    records: Iterable[SiteProgress],
    *,
    as_of: date,
    milestones: Sequence[tuple[date, float]] = (),
    plan: Plan | None = None,
    title: str = "Removal of surveillance equipment: internal progress",
) -> InternalReport:
    sites = tuple(
        sorted(
            records, key=lambda s: (s.department, s.cleared_on is not None, s.forecast_on or date.max, s.site)
        )
    )
    public = build_public_statement(sites, as_of=as_of, milestones=milestones, min_department_sites=1)
    return InternalReport(as_of, title, sites, public, plan)


_INTERNAL = _ENV.from_string(
    """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ r.title }}</title>
<style>
body { font-family: Arial, sans-serif; margin: 2rem; color: #0b0c0c; } table { border-collapse: collapse; }
th, td { border-bottom: 1px solid #b1b4b6; padding: .3rem .6rem; text-align: left; font-size: .9rem; } td.n { text-align: right; }
.banner { background: #d4351c; color: #fff; padding: .5rem 1rem; font-weight: bold; } figure svg { max-width: 100%; height: auto; }
</style></head>
<body>
<p class="banner">OFFICIAL-SENSITIVE: contains site names. Do not publish.</p>
<h1>{{ r.title }}</h1>
<p>As of {{ r.as_of.isoformat() }}: {{ r.public.cleared_sites }} of {{ r.public.affected_sites }} affected sites clear.</p>
{% for chart in charts %}<figure>{{ chart }}</figure>{% endfor %}
<h2>Sites</h2>
<table>
<thead><tr><th>Department</th><th>Site</th><th>Region</th><th class="n">Devices</th><th>Cleared</th><th>Forecast</th>{% for k in extra_keys %}<th>{{ k }}</th>{% endfor %}</tr></thead>
<tbody>
{% for s in r.sites %}
<tr><td>{{ s.department }}</td><td>{{ s.site }}</td><td>{{ s.region or "" }}</td><td class="n">{{ s.devices }}</td>
<td>{{ s.cleared_on.isoformat() if s.cleared_on else "" }}</td><td>{{ s.forecast_on.isoformat() if s.forecast_on else "" }}</td>
{% for k in extra_keys %}<td>{{ s.extra.get(k, "") }}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
</body></html>
"""
)


def render_internal_html(report: InternalReport) -> str:
    from markupsafe import Markup

    charts = []
    if report.plan is not None:
        charts = [Markup(plan_burndown_svg(report.plan)), Markup(gantt_svg(report.plan))]
    extra_keys = sorted({k for s in report.sites for k in s.extra})
    return _INTERNAL.render(r=report, charts=charts, extra_keys=extra_keys)


def internal_files(report: InternalReport) -> dict[str, str]:
    """File name -> content for `clearsite publish --internal DIR`."""
    files = {
        "index.html": render_internal_html(report),
        "sites.json": json.dumps(
            [
                {**{k: v for k, v in asdict(s).items() if k != "extra"}, "extra": dict(s.extra)}
                for s in report.sites
            ],
            indent=2,
            default=str,
        ),
    }
    if report.plan is not None:
        files["burndown.svg"] = plan_burndown_svg(report.plan)
        files["gantt.svg"] = gantt_svg(report.plan)
    return files
