"""The public progress statement (HTML and open-data JSON), redacted by construction, and the internal
progress report beside it.

Site lists and locations are withheld on security grounds (PQ answer of 9 Apr 2024), so the
public view is built in two steps:

1. `build_public_statement` reads per-site records and keeps only four fields from each:
   department, cleared date, claimed date and forecast date. The figures come from
   `core.timeline.compute_timeline`, the rules every other view of the timeline uses. It returns a
   `PublicStatement` made of counts, shares, dates, department names and the publication's own
   details: no field of it can hold a site name, address, coordinate, IP, MAC, serial or model,
   whatever the records carried. Departments with fewer than `min_department_sites` affected sites
   are folded into "Other departments" (unless the statement covers a single department, which is
   then named: folding it would hide nothing and mislead), and the time series is monthly, so
   neither a small department nor a planned visit week can be singled out.
2. The renderers (`render_public_html`, `render_public_json`, `public_burndown_svg`) only ever
   see a `PublicStatement`. The HTML goes through Jinja2 with autoescape on. It follows the GOV.UK
   statistics presentation conventions: a clear title, the date published and the next update, the
   main points as bullets, numbered tables with their units, and notes on the source and method.

`build_internal_report` / `render_internal_html` give the full detail for internal use.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from clearsite.core.plan.result import Plan
from clearsite.core.timeline import MilestoneProgress, MilestoneTarget, SiteClearance, compute_timeline
from clearsite.render.charts import crew_load_svg, gantt_svg, plan_burndown_svg, timeline_burndown_svg
from clearsite.render.wording import long_date, money, plural, share

OTHER = "Other departments"
SCHEMA = "clearsite.public-progress/1"
OGL = ("Open Government Licence v3.0", "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/")


@dataclass(frozen=True, slots=True)
class Publication:
    """Who publishes the statement and on what terms (the `[publication]` settings, or `publish` options)."""

    programme: str = ""
    publisher: str = ""  # the publishing department
    contact: str = ""  # an email address or a web page for questions
    licence: str = OGL[0]
    licence_url: str = OGL[1]
    published: date | None = None  # the date of publication; the as-of date when not given
    next_update: str = ""  # "March 2027", or a date; "" when none is planned
    source: str = ("Departmental asset registers and network scans, assessed by clearsite; a removal counts "
                   "once a later scan or survey has verified it.")


@dataclass(frozen=True, slots=True)
class SiteProgress:
    """One affected site as the shell knows it. `site`, `region`, `devices` and `extra` go into the
    internal report only; the public statement reads `department` and the three dates."""

    site: str
    department: str
    cleared_on: date | None = None  # verified clear
    forecast_on: date | None = None  # planned clear date (the Friday of the site's last visit)
    region: str | None = None
    devices: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)  # anything else, internal only
    claimed_on: date | None = None  # every device claimed removed, some not yet verified


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
    """Aggregates only. Strings here are the title, the programme, department names and the
    publication's own details."""

    title: str
    programme: str
    as_of: date
    affected_sites: int
    cleared_sites: int
    milestones: tuple[MilestoneProgress, ...]
    departments: tuple[DepartmentRow, ...]
    series: tuple[SeriesPoint, ...]
    forecast_complete: date | None  # when the plan has every affected site clear, if it does
    min_department_sites: int
    publication: Publication

    @property
    def share(self) -> float:
        return self.cleared_sites / self.affected_sites if self.affected_sites else 1.0

    @property
    def published(self) -> date:
        return self.publication.published or self.as_of


def _read(record: SiteProgress | SiteClearance | Mapping[str, Any]) -> SiteClearance:
    """The only fields of a record the public view ever reads: department and three dates."""
    if isinstance(record, SiteProgress | SiteClearance):
        return SiteClearance("", record.department, record.cleared_on, record.claimed_on, record.forecast_on)
    return SiteClearance("", str(record["department"]), _date(record.get("cleared_on")),
                         _date(record.get("claimed_on")), _date(record.get("forecast_on")))


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _targets(milestones: Sequence[tuple[date, float] | MilestoneTarget]) -> list[MilestoneTarget]:
    return [m if isinstance(m, MilestoneTarget) else MilestoneTarget(m[0], m[1]) for m in milestones]


def build_public_statement(
    records: Iterable[SiteProgress | SiteClearance | Mapping[str, Any]],
    *,
    as_of: date,
    milestones: Sequence[tuple[date, float] | MilestoneTarget] = (),
    title: str = "Removal of surveillance equipment: progress",
    programme: str = "",
    min_department_sites: int = 5,
    publication: Publication | None = None,
) -> PublicStatement:
    """Aggregate per-site records into the public statement. Names go in, only counts come out."""
    rows = [_read(r) for r in records]
    figures = compute_timeline(rows, _targets(milestones), as_of)
    dept_affected: Counter[str] = Counter()
    dept_cleared: Counter[str] = Counter()
    for row in rows:
        dept_affected[row.department] += 1
        dept_cleared[row.department] += row.cleared_on is not None and row.cleared_on <= as_of
    shown: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    single = len(dept_affected) == 1
    for dept, n in dept_affected.items():
        key = dept if single or n >= min_department_sites else OTHER
        shown[key][0] += n
        shown[key][1] += dept_cleared[dept]
    departments = tuple(
        DepartmentRow(d, a, c) for d, (a, c) in sorted(shown.items(), key=lambda kv: (kv[0] == OTHER, kv[0]))
    )
    affected = figures.affected
    series = tuple(SeriesPoint(p.month_end, p.cleared, p.cleared / affected if affected else 0.0, p.basis)
                   for p in figures.months)
    publication = publication or Publication(programme=programme)
    return PublicStatement(
        title=title,
        programme=programme or publication.programme,
        as_of=as_of,
        affected_sites=affected,
        cleared_sites=figures.cleared,
        milestones=figures.milestones,
        departments=departments,
        series=series,
        forecast_complete=figures.forecast_complete,
        min_department_sites=min_department_sites,
        publication=publication,
    )


def _notes(st: PublicStatement) -> list[str]:
    notes = [
        "Site names and locations are withheld on security grounds; all figures are counts of sites.",
        "A site is counted as clear once every affected device there has been removed and the removal "
        "verified by a later scan or survey.",
        f"Figures from {long_date(st.as_of.replace(day=1))} on are a forecast from the removal plan, by month; "
        "earlier months are actual.",
    ]
    if any(d.department == OTHER for d in st.departments):
        notes.insert(1, f"Departments with fewer than {st.min_department_sites} affected sites are shown "
                        f"together as “{OTHER}”.")
    return notes


def statement_to_dict(st: PublicStatement) -> dict[str, Any]:
    """The open-data JSON form."""
    pub = st.publication
    return {
        "schema": SCHEMA,
        "title": st.title,
        "programme": st.programme,
        "publisher": pub.publisher,
        "published": st.published.isoformat(),
        "next_update": pub.next_update or None,
        "contact": pub.contact,
        "licence": {"name": pub.licence, "url": pub.licence_url},
        "as_of": st.as_of.isoformat(),
        "affected_sites": st.affected_sites,
        "cleared_sites": st.cleared_sites,
        "cleared_share": round(st.share, 4),
        "forecast_complete": st.forecast_complete.isoformat() if st.forecast_complete else None,
        "milestones": [
            {
                "date": m.date.isoformat(),
                "target_share": m.target_share,
                "target_sites": m.target_sites,
                "sites": m.sites,
                "share": round(m.share, 4),
                "basis": m.basis,
                "met": m.met,
                "status": m.status,
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
        "notes": _notes(st),
    }


def render_public_json(st: PublicStatement) -> str:
    return json.dumps(statement_to_dict(st), indent=2, ensure_ascii=False)


def public_burndown_svg(st: PublicStatement) -> str:
    """Sites remaining over time against the milestones, from the statement's monthly series."""
    return timeline_burndown_svg([(p.month_end, p.cleared_sites, p.basis) for p in st.series], st.milestones,
                                 st.affected_sites, st.cleared_sites, st.as_of)


def main_points(st: PublicStatement) -> list[str]:
    """The summary bullets, in plain words."""
    points = [f"On {long_date(st.as_of)}, {st.cleared_sites:,} of the {plural(st.affected_sites, 'affected site')} "
              f"({share(st.share)}) were clear of the equipment."]
    for m in st.milestones:
        target = f"the {long_date(m.date)} milestone ({share(m.target_share)} of sites clear)"
        if m.basis == "actual":
            points.append(f"{target[0].upper()}{target[1:]} was {'met' if m.met else 'missed'}: "
                          f"{share(m.share)} of sites were clear on that date.")
        else:
            points.append(f"{target[0].upper()}{target[1:]} is {m.status}: {share(m.share)} of sites are "
                          "expected to be clear by then.")
    if st.forecast_complete:
        points.append(f"The removal plan has every affected site clear by {long_date(st.forecast_complete)}.")
    elif st.affected_sites and st.cleared_sites < st.affected_sites:
        points.append("The removal plan does not yet give a date for every affected site.")
    return points


_ENV = Environment(
    autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True, lstrip_blocks=True
)
_ENV.filters["long_date"] = long_date
_ENV.filters["share"] = share
_ENV.filters["money"] = money

# The statement's body: the same fragment in the published file and in the web app's preview page
# (whose stylesheet is GOV.UK Frontend; the file carries a few rules for the classes it uses).
_BODY = _ENV.from_string(
    """<div class="clearsite-statement">
{% if st.programme %}<span class="govuk-caption-l">{{ st.programme }}</span>{% endif %}
<h1 class="govuk-heading-l">{{ st.title }}</h1>
<dl class="govuk-summary-list govuk-summary-list--no-border clearsite-statement__meta">
<div class="govuk-summary-list__row"><dt class="govuk-summary-list__key">Published</dt><dd class="govuk-summary-list__value"><time datetime="{{ st.published.isoformat() }}">{{ st.published|long_date }}</time></dd></div>
<div class="govuk-summary-list__row"><dt class="govuk-summary-list__key">Next update</dt><dd class="govuk-summary-list__value">{{ pub.next_update or "None planned" }}</dd></div>
{% if pub.publisher %}<div class="govuk-summary-list__row"><dt class="govuk-summary-list__key">From</dt><dd class="govuk-summary-list__value">{{ pub.publisher }}</dd></div>{% endif %}
<div class="govuk-summary-list__row"><dt class="govuk-summary-list__key">Figures as at</dt><dd class="govuk-summary-list__value"><time datetime="{{ st.as_of.isoformat() }}">{{ st.as_of|long_date }}</time></dd></div>
</dl>

<h2 class="govuk-heading-m">Main points</h2>
<ul class="govuk-list govuk-list--bullet" data-testid="main-points">
{% for p in points %}<li>{{ p }}</li>
{% endfor %}
</ul>
<p class="govuk-body"><strong data-testid="public-share">{{ st.share|share }}</strong> of affected sites cleared ({{ st.cleared_sites }} of {{ st.affected_sites }}).</p>

<h2 class="govuk-heading-m">Milestones</h2>
<table class="govuk-table">
<caption class="govuk-table__caption govuk-table__caption--s">Table 1: Milestones, and the share of affected sites clear by each (per cent of sites)</caption>
<thead class="govuk-table__head"><tr class="govuk-table__row"><th scope="col" class="govuk-table__header">Milestone date</th><th scope="col" class="govuk-table__header govuk-table__header--numeric">Target (%)</th><th scope="col" class="govuk-table__header govuk-table__header--numeric">Sites clear (%)</th><th scope="col" class="govuk-table__header">Basis</th><th scope="col" class="govuk-table__header">Status</th></tr></thead>
<tbody class="govuk-table__body">
{% for m in st.milestones %}
<tr class="govuk-table__row"><td class="govuk-table__cell"><time datetime="{{ m.date.isoformat() }}">{{ m.date|long_date }}</time></td><td class="govuk-table__cell govuk-table__cell--numeric">{{ "%.0f"|format(m.target_share * 100) }}</td><td class="govuk-table__cell govuk-table__cell--numeric">{{ "%.0f"|format(m.share * 100) }}</td><td class="govuk-table__cell">{{ "Actual" if m.basis == "actual" else "Forecast" }}</td><td class="govuk-table__cell"><strong class="govuk-tag {{ 'govuk-tag--green' if m.met else 'govuk-tag--red' }}">{{ m.status|capitalize }}</strong></td></tr>
{% else %}
<tr class="govuk-table__row"><td class="govuk-table__cell" colspan="5">No milestones are set.</td></tr>
{% endfor %}
</tbody>
</table>

<h2 class="govuk-heading-m">Progress month by month</h2>
<figure class="clearsite-figure">{{ chart }}<figcaption class="govuk-body-s">Chart 1: affected sites remaining at each month end. Solid: actual; dashed: forecast from the removal plan; diamonds: milestone targets; dotted line: the date of these figures.</figcaption></figure>
<details class="govuk-details">
<summary class="govuk-details__summary"><span class="govuk-details__summary-text">Chart 1 as a table</span></summary>
<div class="govuk-details__text">
<table class="govuk-table">
<caption class="govuk-table__caption govuk-table__caption--s">Table 2: Affected sites clear at each month end (number of sites)</caption>
<thead class="govuk-table__head"><tr class="govuk-table__row"><th scope="col" class="govuk-table__header">Month end</th><th scope="col" class="govuk-table__header govuk-table__header--numeric">Sites clear</th><th scope="col" class="govuk-table__header govuk-table__header--numeric">Sites remaining</th><th scope="col" class="govuk-table__header">Basis</th></tr></thead>
<tbody class="govuk-table__body">
{% for p in st.series %}<tr class="govuk-table__row"><td class="govuk-table__cell">{{ p.month_end|long_date }}</td><td class="govuk-table__cell govuk-table__cell--numeric">{{ "{:,}".format(p.cleared_sites) }}</td><td class="govuk-table__cell govuk-table__cell--numeric">{{ "{:,}".format(st.affected_sites - p.cleared_sites) }}</td><td class="govuk-table__cell">{{ "Actual" if p.basis == "actual" else "Forecast" }}</td></tr>
{% endfor %}
</tbody>
</table>
</div>
</details>

<h2 class="govuk-heading-m">By department</h2>
<table class="govuk-table">
<caption class="govuk-table__caption govuk-table__caption--s">Table 3: Affected and clear sites by department (number of sites; clear as per cent of affected)</caption>
<thead class="govuk-table__head"><tr class="govuk-table__row"><th scope="col" class="govuk-table__header">Department</th><th scope="col" class="govuk-table__header govuk-table__header--numeric">Affected sites</th><th scope="col" class="govuk-table__header govuk-table__header--numeric">Clear</th><th scope="col" class="govuk-table__header govuk-table__header--numeric">Clear (%)</th></tr></thead>
<tbody class="govuk-table__body">
{% for d in st.departments %}
<tr class="govuk-table__row"><td class="govuk-table__cell">{{ d.department }}</td><td class="govuk-table__cell govuk-table__cell--numeric">{{ "{:,}".format(d.affected_sites) }}</td><td class="govuk-table__cell govuk-table__cell--numeric">{{ "{:,}".format(d.cleared_sites) }}</td><td class="govuk-table__cell govuk-table__cell--numeric">{{ "%.0f"|format(d.share * 100) }}</td></tr>
{% endfor %}
</tbody>
</table>

<h2 class="govuk-heading-m">About these figures</h2>
<ul class="govuk-list govuk-list--bullet">
{% for n in notes %}<li>{{ n }}</li>
{% endfor %}
<li>Source: {{ pub.source }}</li>
<li>The same figures are published as open data in <a class="govuk-link" href="progress.json">progress.json</a>.</li>
</ul>
{% if pub.contact %}<h2 class="govuk-heading-m">Contact</h2>
<p class="govuk-body">Questions about these figures: {% if "@" in pub.contact and " " not in pub.contact %}<a class="govuk-link" href="mailto:{{ pub.contact }}">{{ pub.contact }}</a>{% else %}{{ pub.contact }}{% endif %}</p>{% endif %}
<p class="govuk-body-s clearsite-licence">{% if pub.publisher %}© {{ pub.publisher }}. {% endif %}This publication is available under the <a class="govuk-link" rel="license" href="{{ pub.licence_url }}">{{ pub.licence }}</a>, except where otherwise stated.</p>
{#- The signature block: a signature over progress.json and the signing key's fingerprint, when the statement is signed. -#}
{% if signature %}<section class="clearsite-signature" aria-labelledby="signature-heading"><h2 class="govuk-heading-s" id="signature-heading">Signature</h2>{{ signature }}</section>{% endif %}
</div>
"""
)

_PUBLIC = _ENV.from_string(
    """<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ st.title }}</title>
<style>
body { font-family: Arial, sans-serif; margin: 2rem auto; max-width: 60rem; color: #0b0c0c; line-height: 1.4; padding: 0 1rem; }
.govuk-caption-l { color: #505a5f; font-size: 1.2rem; display: block; } .govuk-heading-l { font-size: 2rem; margin: .2rem 0 1rem; }
.govuk-heading-m { font-size: 1.4rem; margin-top: 2rem; } dl { margin: 0 0 1rem; } .govuk-summary-list__row { display: flex; gap: 1rem; }
dt { font-weight: bold; min-width: 9rem; } dd { margin: 0; }
table { border-collapse: collapse; margin: 1rem 0; } caption { text-align: left; font-weight: bold; padding-bottom: .4rem; }
th, td { border-bottom: 1px solid #b1b4b6; padding: .4rem .8rem; text-align: left; }
.govuk-table__header--numeric, .govuk-table__cell--numeric { text-align: right; }
.govuk-tag { padding: .1rem .4rem; font-weight: bold; } .govuk-tag--green { background: #cce2d8; color: #005a30; } .govuk-tag--red { background: #f4cdc6; color: #942514; }
figure { margin: 1.5rem 0; } figure svg { max-width: 100%; height: auto; } a { color: #1d70b8; }
</style>
</head>
<body>
<main>
{{ body }}
</main>
</body>
</html>
"""
)


def render_public_body(st: PublicStatement, signature: Markup | None = None) -> Markup:
    """The statement's body as an HTML fragment (GOV.UK Frontend classes), for the file and the web preview.
    `signature`: an already-escaped block (signature and key fingerprint) to show in its place."""
    # the chart is our own SVG built from the statement with every text escaped; mark it safe
    return Markup(_BODY.render(st=st, pub=st.publication, chart=Markup(public_burndown_svg(st)),
                               points=main_points(st), notes=_notes(st), signature=signature))


def render_public_html(st: PublicStatement, signature: Markup | None = None) -> str:
    return _PUBLIC.render(st=st, body=render_public_body(st, signature))


def public_files(st: PublicStatement, signature: Markup | None = None) -> dict[str, str]:
    """File name -> content for `clearsite publish --public DIR`. `signature`: the signature block
    (signature over progress.json and the key's fingerprint, escaped HTML) shown at the statement's end."""
    return {
        "index.html": render_public_html(st, signature),
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
    problems: tuple[str, ...] = ()  # the plan's shortfalls as sentences
    claimed_sites: int = 0


def build_internal_report(
    records: Iterable[SiteProgress],
    *,
    as_of: date,
    milestones: Sequence[tuple[date, float] | MilestoneTarget] = (),
    plan: Plan | None = None,
    title: str = "Removal of surveillance equipment: internal progress",
    problems: Sequence[str] = (),
    publication: Publication | None = None,
) -> InternalReport:
    sites = tuple(
        sorted(
            records, key=lambda s: (s.department, s.cleared_on is not None, s.forecast_on or date.max, s.site)
        )
    )
    public = build_public_statement(sites, as_of=as_of, milestones=milestones, min_department_sites=1,
                                    publication=publication)
    claimed = sum(1 for s in sites if s.cleared_on is None and s.claimed_on is not None)
    return InternalReport(as_of, title, sites, public, plan, tuple(problems), claimed)


_INTERNAL = _ENV.from_string(
    """<!doctype html>
<html lang="en-GB">
<head><meta charset="utf-8"><title>{{ r.title }}</title>
<style>
body { font-family: Arial, sans-serif; margin: 2rem; color: #0b0c0c; } table { border-collapse: collapse; }
caption { text-align: left; font-weight: bold; padding-bottom: .4rem; }
th, td { border-bottom: 1px solid #b1b4b6; padding: .3rem .6rem; text-align: left; font-size: .9rem; } td.n, th.n { text-align: right; }
.banner { background: #d4351c; color: #fff; padding: .5rem 1rem; font-weight: bold; } figure svg { max-width: 100%; height: auto; }
.problem { border-left: 5px solid #d4351c; padding-left: 1rem; }
</style></head>
<body>
<p class="banner">OFFICIAL-SENSITIVE: contains site names. Do not publish.</p>
<h1>{{ r.title }}</h1>
<p>On {{ r.as_of|long_date }}: {{ r.public.cleared_sites }} of {{ r.public.affected_sites }} affected sites clear (removal verified){% if r.claimed_sites %}; {{ r.claimed_sites }} more claimed clear, waiting for verification{% endif %}.</p>
<ul>{% for p in points %}<li>{{ p }}</li>{% endfor %}</ul>
{% for p in r.problems %}<p class="problem">{{ p }}</p>{% endfor %}
{% for chart in charts %}<figure>{{ chart }}</figure>{% endfor %}
<table>
<caption>Sites (devices: affected devices still to remove)</caption>
<thead><tr><th>Department</th><th>Site</th><th>Region</th><th class="n">Devices</th><th>State</th><th>Cleared</th><th>Claimed</th><th>Forecast</th>{% for k in extra_keys %}<th>{{ k }}</th>{% endfor %}</tr></thead>
<tbody>
{% for s in r.sites %}
<tr><td>{{ s.department }}</td><td>{{ s.site }}</td><td>{{ s.region or "" }}</td><td class="n">{{ s.devices }}</td>
<td>{{ "clear" if s.cleared_on else "claimed, not verified" if s.claimed_on else "outstanding" }}</td>
<td>{{ s.cleared_on|long_date }}</td><td>{{ s.claimed_on|long_date }}</td><td>{{ s.forecast_on|long_date }}</td>
{% for k in extra_keys %}<td>{{ s.extra.get(k, "") }}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
</body></html>
"""
)


def render_internal_html(report: InternalReport) -> str:
    charts = [Markup(public_burndown_svg(report.public))]
    if report.plan is not None:
        charts += [Markup(gantt_svg(report.plan)), Markup(crew_load_svg(report.plan))]
    extra_keys = sorted({k for s in report.sites for k in s.extra})
    return _INTERNAL.render(r=report, charts=charts, extra_keys=extra_keys, points=main_points(report.public))


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
        files["crew-load.svg"] = crew_load_svg(report.plan)
    return files


__all__ = [
    "OGL",
    "OTHER",
    "SCHEMA",
    "DepartmentRow",
    "InternalReport",
    "PublicStatement",
    "Publication",
    "SeriesPoint",
    "SiteProgress",
    "build_internal_report",
    "build_public_statement",
    "internal_files",
    "main_points",
    "public_burndown_svg",
    "public_files",
    "render_internal_html",
    "render_public_body",
    "render_public_html",
    "render_public_json",
    "statement_to_dict",
]
