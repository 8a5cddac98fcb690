"""Charts as plain SVG written here: the burn-down against milestones (a step chart), a Gantt of
site visits coloured by crew, and the crew-load heat map.

Hand-written SVG rather than a plotting library: three simple chart types do not justify a
dependency, the output is small, deterministic (tests compare it), opens in any browser and can be
put inline in a page. Every chart has a <title> and a <desc> (named by aria-labelledby) and pages
give its figures as a table too. Every text value passes through `_text`/`_attr` (XML escaping),
which matters because site, region, crew and title strings come from users. A legend lists only the
marks its chart drew.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from hashlib import sha1
from itertools import pairwise
from xml.sax.saxutils import escape, quoteattr

from clearsite.core.plan.result import Plan
from clearsite.core.timeline import MilestoneProgress
from clearsite.render.wording import long_date, short_date

WIDTH, HEIGHT = 960, 420
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 70, 220, 50, 60
SITES_COLOUR, DEVICES_COLOUR, TARGET_COLOUR, TODAY_COLOUR = "#1d70b8", "#d4351c", "#00703c", "#505a5f"  # GOV.UK
# GOV.UK palette colours that read on white, for crews in the Gantt (they cycle past twelve)
CREW_COLOURS = ("#1d70b8", "#00703c", "#f47738", "#4c2c92", "#d53880", "#28a197", "#b58840", "#6f72af",
                "#d4351c", "#003078", "#85994b", "#912b88")


@dataclass(frozen=True, slots=True)
class BurndownPoint:
    """Remaining work on a day; `devices_remaining` None when only sites are charted."""

    day: date
    sites_remaining: int
    devices_remaining: int | None = None
    forecast: bool = False


@dataclass(frozen=True, slots=True)
class MilestoneMark:
    day: date
    target_share: float  # share of affected sites clear by `day`


def _text(value: object) -> str:
    return escape(str(value))


def _attr(value: object) -> str:
    return quoteattr(str(value))


def _frame(title: str, description: str, width: int = WIDTH, height: int = HEIGHT) -> list[str]:
    """The SVG root with a title and a description a screen reader reads; ids are derived from the
    text, so two charts on one page do not clash and the same chart is the same bytes."""
    key = sha1(f"{title}\n{description}".encode()).hexdigest()[:10]
    return [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-labelledby="t-{key} d-{key}" font-family="Arial, sans-serif" font-size="12" '
            f'class="clearsite-chart">'
        ),
        f'<title id="t-{key}">{_text(title)}</title>',
        f'<desc id="d-{key}">{_text(description)}</desc>',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{MARGIN_LEFT}" y="28" font-size="16" font-weight="bold">{_text(title)}</text>',
    ]


def _legend(out: list[str], entries: Sequence[tuple[str, str, str]], x: float, y: float) -> None:
    """Legend rows (label, colour, kind) for the marks drawn: kind 'line', 'dashed', 'diamond', 'box' or 'today'."""
    for i, (label, colour, kind) in enumerate(entries):
        ly = y + 20 * i
        if kind == "diamond":
            out.append(f'<path d="M {x + 12} {ly - 6} L {x + 18} {ly} L {x + 12} {ly + 6} L {x + 6} {ly} Z" '
                       f'fill="{colour}"/>')
        elif kind == "box":
            out.append(f'<rect x="{x + 2}" y="{ly - 6}" width="20" height="12" fill="{colour}"/>')
        else:
            dash = ' stroke-dasharray="6 4"' if kind == "dashed" else ' stroke-dasharray="2 3"' if kind == "today" else ""
            out.append(f'<line x1="{x}" y1="{ly}" x2="{x + 24}" y2="{ly}" stroke="{colour}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{x + 30}" y="{ly + 4}">{_text(label)}</text>')


def _steps(points: Sequence[tuple[float, float]]) -> str:
    """A step line: each value holds until the next point's day, then drops (a burn-down never slopes,
    so a milestone between two points reads the value that really held on its date)."""
    parts = [f"M {points[0][0]:.1f} {points[0][1]:.1f}"]
    for (_, y0), (x1, y1) in pairwise(points):
        parts.append(f"H {x1:.1f}")
        if y1 != y0:
            parts.append(f"V {y1:.1f}")
    return " ".join(parts)


def burndown_svg(
    points: Sequence[BurndownPoint],
    milestones: Sequence[MilestoneMark],
    *,
    total_sites: int,
    total_devices: int | None = None,
    title: str = "Affected sites and devices remaining",
    today: date | None = None,
    unit: str = "sites",
) -> str:
    """Share of affected sites (and devices) still to clear over time, as steps; milestones as targets.

    Sites are a share of all affected sites (cleared ones included, as the milestones are), devices
    a share of those still open when the data starts. Actual steps are solid, forecast steps dashed;
    a milestone is a green diamond at the share that may remain on its date (1 - target); `today`
    draws a dotted line on the as-of date. The legend names only what was drawn."""
    days = [p.day for p in points] + [m.day for m in milestones]
    description = _burndown_description(points, milestones, total_sites, unit)
    out = _frame(title, description)
    if not days or total_sites <= 0:
        out.append(f'<text x="{MARGIN_LEFT}" y="{HEIGHT // 2}">{_text("No affected sites.")}</text></svg>')
        return "\n".join(out)
    first, last = min(days), max(days)
    if last == first:
        last = first + timedelta(days=7)
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def x(day: date) -> float:
        return MARGIN_LEFT + plot_w * (min(max(day, first), last) - first).days / (last - first).days

    def y(share: float) -> float:
        return MARGIN_TOP + plot_h * (1 - share)

    for pct in range(0, 101, 25):  # axes and grid: share remaining 0-100%
        yy = y(pct / 100)
        out.append(f'<line x1="{MARGIN_LEFT}" y1="{yy:.1f}" x2="{MARGIN_LEFT + plot_w}" y2="{yy:.1f}" stroke="#dddddd"/>')
        out.append(f'<text x="{MARGIN_LEFT - 8}" y="{yy + 4:.1f}" text-anchor="end">{pct}%</text>')
    for tick in _month_ticks(first, last):
        xx = x(tick)
        out.append(f'<line x1="{xx:.1f}" y1="{MARGIN_TOP + plot_h}" x2="{xx:.1f}" y2="{MARGIN_TOP + plot_h + 5}" '
                   f'stroke="#505a5f"/>')
        out.append(f'<text x="{xx:.1f}" y="{MARGIN_TOP + plot_h + 20}" text-anchor="middle">'
                   f'{_text(tick.strftime("%b %Y"))}</text>')
    out.append(f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP + plot_h}" x2="{MARGIN_LEFT + plot_w}" '
               f'y2="{MARGIN_TOP + plot_h}" stroke="#505a5f"/>')
    out.append(f'<text x="16" y="{MARGIN_TOP + plot_h / 2:.1f}" transform="rotate(-90 16 {MARGIN_TOP + plot_h / 2:.1f})" '
               f'text-anchor="middle">{_text(f"share of {unit} remaining")}</text>')

    legend: list[tuple[str, str, str]] = []
    ordered = sorted(points, key=lambda p: (p.day, p.forecast))
    series = [(unit, SITES_COLOUR, total_sites, lambda p: p.sites_remaining,
               f"{unit} ({total_sites:,} affected)")]
    if total_devices:
        series.append(("devices", DEVICES_COLOUR, total_devices, lambda p: p.devices_remaining,
                       f"devices ({total_devices:,} to remove)"))
    drew_forecast = False
    for name, colour, total, value, label in series:
        drew_actual = False
        for forecast in (False, True):
            chosen = [p for p in ordered if p.forecast == forecast]
            if forecast:  # a forecast starts from the last actual point so the two join up
                chosen = [p for p in ordered if not p.forecast][-1:] + chosen
            chosen = [p for p in chosen if value(p) is not None]
            if len(chosen) < 2 or chosen[-1].day == chosen[0].day:  # nothing to see: not drawn, not in the legend
                continue
            path = _steps([(x(p.day), y(value(p) / total)) for p in chosen])
            dash = ' stroke-dasharray="6 4"' if forecast else ""
            out.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}>'
                       f"<title>{_text(name + (' forecast' if forecast else ' actual'))}</title></path>")
            drew_forecast |= forecast
            drew_actual |= not forecast
        if drew_actual:
            legend.append((label, colour, "line"))
        elif any(value(p) is not None for p in ordered):
            legend.append((label + ", forecast", colour, "dashed"))
    if drew_forecast and any(kind == "line" for _, _, kind in legend):
        legend.append(("forecast (removal plan)", "#505a5f", "dashed"))
    if today is not None and first <= today <= last:
        xx = x(today)
        out.append(f'<line x1="{xx:.1f}" y1="{MARGIN_TOP}" x2="{xx:.1f}" y2="{MARGIN_TOP + plot_h}" '
                   f'stroke="{TODAY_COLOUR}" stroke-width="1" stroke-dasharray="2 3"/>')
        legend.append((f"as of {long_date(today)}", TODAY_COLOUR, "today"))
    for m in milestones:
        xx, yy = x(m.day), y(1 - m.target_share)
        label = f"{m.target_share:.0%} of {unit} clear by {long_date(m.day)}"
        out.append(f'<path d="M {xx:.1f} {yy - 7:.1f} L {xx + 7:.1f} {yy:.1f} L {xx:.1f} {yy + 7:.1f} L {xx - 7:.1f} '
                   f'{yy:.1f} Z" fill="{TARGET_COLOUR}"><title>{_text(label)}</title></path>')
        anchor, lx = ("end", xx - 9) if xx > MARGIN_LEFT + plot_w * 0.6 else ("start", xx + 9)  # stay inside
        out.append(f'<text x="{lx:.1f}" y="{yy - 9:.1f}" fill="{TARGET_COLOUR}" text-anchor="{anchor}">'
                   f'{_text(label)}</text>')
    if milestones:
        legend.append(("milestone target", TARGET_COLOUR, "diamond"))
    _legend(out, legend, WIDTH - MARGIN_RIGHT + 20, MARGIN_TOP + 10)
    out.append("</svg>")
    return "\n".join(out)


def _burndown_description(points: Sequence[BurndownPoint], milestones: Sequence[MilestoneMark], total: int,
                          unit: str) -> str:
    if not points or total <= 0:
        return "No affected sites."
    last = max(points, key=lambda p: p.day)
    parts = [f"Step chart of {unit} remaining out of {total:,}, from {long_date(min(p.day for p in points))} "
             f"to {long_date(last.day)}, when {last.sites_remaining:,} remain"
             f"{' (forecast)' if last.forecast else ''}."]
    parts += [f"Milestone: {m.target_share:.0%} clear by {long_date(m.day)}." for m in milestones]
    return " ".join(parts)


def _month_ticks(first: date, last: date) -> list[date]:
    ticks: list[date] = []
    day = date(first.year, first.month, 1)
    step = max(1, ((last - first).days // 30) // 10 + 1)  # at most ~10 labels
    while day <= last:
        if day >= first:
            ticks.append(day)
        month = day.month - 1 + step
        day = date(day.year + month // 12, month % 12 + 1, 1)
    return ticks


def burndown_from_plan(
    plan: Plan, actual: Sequence[BurndownPoint] = ()
) -> tuple[list[BurndownPoint], list[MilestoneMark], int, int]:
    """Forecast burn-down from a plan: a site is clear on the Friday of its last visit, a device on
    the Friday of its visit. Returns (points, milestones, total sites, devices)."""
    total_sites = int(plan.totals.get("affected_sites", 0))
    already = int(plan.totals.get("already_cleared_sites", 0))
    devices_total = int(plan.totals.get("devices", 0))
    unscheduled_sites = {u.site for u in plan.unscheduled}
    site_last: dict[str, date] = {}
    devices_by_day: dict[date, int] = defaultdict(int)
    for v in plan.visits:
        done = v.week + timedelta(days=4)
        devices_by_day[done] += len(v.devices)
        if v.site not in site_last or done > site_last[v.site]:
            site_last[v.site] = done
    sites_by_day: dict[date, int] = defaultdict(int)
    for site, done in site_last.items():
        if site not in unscheduled_sites:
            sites_by_day[done] += 1
    points = [BurndownPoint(plan.start, total_sites - already, devices_total, forecast=not actual)]
    sites_left, devices_left = total_sites - already, devices_total
    for day in sorted(set(sites_by_day) | set(devices_by_day)):
        sites_left -= sites_by_day.get(day, 0)
        devices_left -= devices_by_day.get(day, 0)
        points.append(BurndownPoint(day, sites_left, devices_left, forecast=True))
    marks = [MilestoneMark(m.date, m.target_share) for m in plan.milestones]
    return [*actual, *points], marks, total_sites, devices_total


def plan_burndown_svg(plan: Plan, title: str = "Removal plan: affected sites and devices remaining") -> str:
    points, marks, sites, devices = burndown_from_plan(plan)
    return burndown_svg(points, marks, total_sites=sites, total_devices=devices, title=title)


def timeline_points(months: Sequence[tuple[date, int, str]], affected: int, cleared_now: int,
                    as_of: date) -> list[BurndownPoint]:
    """Burn-down points from month-end figures (month end, sites clear, basis): the start, each actual
    month, the as-of date (actual to date), then the forecast months."""
    if not months:
        return []
    start = months[0][0].replace(day=1)
    points = [BurndownPoint(start, affected, None)]
    points += [BurndownPoint(day, affected - n, None) for day, n, basis in months if basis == "actual"]
    if as_of >= start:
        points.append(BurndownPoint(as_of, affected - cleared_now, None))
    points += [BurndownPoint(day, affected - n, None, forecast=True) for day, n, basis in months
               if basis == "forecast" and day > as_of]
    return points


def timeline_burndown_svg(months: Sequence[tuple[date, int, str]], milestones: Sequence[MilestoneProgress],
                          affected: int, cleared_now: int, as_of: date,
                          title: str = "Affected sites remaining") -> str:
    """The programme timeline's burn-down: sites remaining at each month end, actual then forecast."""
    points = timeline_points(months, affected, cleared_now, as_of)
    marks = [MilestoneMark(m.date, m.target_share) for m in milestones]
    return burndown_svg(points, marks, total_sites=affected, title=title, today=as_of)


def crew_colours(plan: Plan) -> dict[str, str]:
    """One colour per crew, in order of the crews' first visits (the Gantt and its key agree)."""
    crews = dict.fromkeys(v.crew for v in sorted(plan.visits, key=lambda v: (v.week, v.crew)))
    return {crew: CREW_COLOURS[i % len(CREW_COLOURS)] for i, crew in enumerate(crews)}


def gantt_svg(plan: Plan, title: str = "Site visits by week, coloured by crew", max_sites: int = 80) -> str:
    """A Gantt chart: one row per site (in order of its first visit), one column per week, a bar for
    each visit in its crew's colour; milestones as vertical lines. At most `max_sites` rows (the
    earliest visited; the rest are counted under the chart and listed in the schedule)."""
    visits = sorted(plan.visits, key=lambda v: (v.week, v.site))
    first_visit: dict[str, date] = {}
    for v in visits:
        first_visit.setdefault(v.site, v.week)
    sites = sorted(first_visit, key=lambda s: (first_visit[s], s))
    shown, hidden = sites[:max_sites], len(sites) - max_sites
    weeks = sorted({v.week for v in visits})
    colours = crew_colours(plan)
    description = (f"Gantt chart of {len(visits):,} site visits at {len(sites):,} sites over {len(weeks)} weeks "
                   f"by {len(colours)} crews" + (f"; the first {max_sites} sites are shown." if hidden > 0 else "."))
    if not visits:
        out = _frame(title, "Nothing scheduled.", WIDTH, 140)
        out.append(f'<text x="{MARGIN_LEFT}" y="{MARGIN_TOP + 30}">{_text("Nothing scheduled.")}</text></svg>')
        return "\n".join(out)
    first, last = weeks[0], weeks[-1]
    span = (last - first).days // 7 + 1
    row_h, label_w = 18, 230
    cell_w = max(4, min(24, 620 // span))
    key_w = 200
    width = label_w + cell_w * span + key_w
    height = MARGIN_TOP + row_h * len(shown) + 70
    out = _frame(title, description, width, max(height, MARGIN_TOP + 24 * len(colours) + 40))

    def week_x(week: date) -> int:
        return label_w + ((week - first).days // 7) * cell_w

    for i, site in enumerate(shown):
        y0 = MARGIN_TOP + i * row_h
        if i % 2:
            out.append(f'<rect x="0" y="{y0}" width="{label_w + cell_w * span}" height="{row_h}" fill="#f3f2f1"/>')
        name = site if len(site) <= 34 else site[:33] + "…"
        out.append(f'<text x="{label_w - 8}" y="{y0 + row_h * 0.7:.1f}" text-anchor="end">{_text(name)}</text>')
    row_of = {site: i for i, site in enumerate(shown)}
    for v in visits:
        if v.site not in row_of:
            continue
        y0 = MARGIN_TOP + row_of[v.site] * row_h
        tip = (f"{v.site}: week of {long_date(v.week)}, crew {v.crew} ({v.region}), "
               f"{len(v.devices)} device{'s' if len(v.devices) != 1 else ''}, {v.hours:.1f} hours")
        out.append(f'<rect x="{week_x(v.week)}" y="{y0 + 3}" width="{cell_w - 1}" height="{row_h - 6}" '
                   f'fill="{colours[v.crew]}"><title>{_text(tip)}</title></rect>')
    bottom = MARGIN_TOP + row_h * len(shown)
    every = max(1, -(-64 // cell_w))  # a label every ~64 px
    for i in range(0, span, every):
        week = first + timedelta(weeks=i)
        out.append(f'<text x="{week_x(week)}" y="{bottom + 16}" font-size="10">{_text(short_date(week))}</text>')
    for m in plan.milestones:
        if first <= m.date <= last + timedelta(days=6):
            xx = label_w + (m.date - first).days * cell_w / 7
            label = f"milestone {long_date(m.date)}: {m.target_share:.0%} of sites"
            out.append(f'<line x1="{xx:.1f}" y1="{MARGIN_TOP - 6}" x2="{xx:.1f}" y2="{bottom}" stroke="{TARGET_COLOUR}" '
                       f'stroke-width="2"><title>{_text(label)}</title></line>')
            out.append(f'<text x="{xx + 3:.1f}" y="{MARGIN_TOP - 8}" fill="{TARGET_COLOUR}" font-size="10">'
                       f'{_text(short_date(m.date))}</text>')
    if hidden > 0:
        out.append(f'<text x="{label_w}" y="{bottom + 36}" font-size="11" fill="#505a5f">'
                   f'{_text(f"and {hidden:,} more sites (the schedule lists every visit)")}</text>')
    _legend(out, [(f"crew {crew}", colour, "box") for crew, colour in colours.items()],
            label_w + cell_w * span + 16, MARGIN_TOP + 6)
    out.append("</svg>")
    return "\n".join(out)


def crew_load_svg(plan: Plan, title: str = "Crew load by region and week") -> str:
    """One row per region, one column per week; a cell's shade is the share of the region's crew
    hours used, and its tooltip gives visits and hours. Milestones are vertical lines."""
    capacity: dict[tuple[str, date], float] = {}
    for c in plan.capacity:
        capacity[c.region, c.week] = c.hours
    load: dict[tuple[str, date], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for v in plan.visits:
        cell = load[v.region, v.week]
        cell[0] += v.hours
        cell[1] += 1
    regions = sorted({r for r, _ in capacity} | {r for r, _ in load})
    weeks = sorted({w for _, w in capacity} | {w for _, w in load})
    row_h, label_w, cell_w = 24, 190, max(6, min(18, 640 // max(len(weeks), 1)))
    width = label_w + cell_w * len(weeks) + 40
    height = MARGIN_TOP + row_h * len(regions) + 70
    description = (f"Heat map of crew hours used, {len(regions)} regions by {len(weeks)} weeks; darker is busier; "
                   "red where work is planned with no crew hours.")
    out = _frame(title, description if regions and weeks else "Nothing scheduled.", max(width, 480), height)
    if not regions or not weeks:
        out.append(f'<text x="{MARGIN_LEFT}" y="{MARGIN_TOP + 20}">{_text("Nothing scheduled.")}</text></svg>')
        return "\n".join(out)
    week_x = {w: label_w + i * cell_w for i, w in enumerate(weeks)}
    for i, region in enumerate(regions):
        y0 = MARGIN_TOP + i * row_h
        out.append(f'<text x="{label_w - 8}" y="{y0 + row_h * 0.65:.1f}" text-anchor="end">{_text(region)}</text>')
        for w in weeks:
            hours, visits = load.get((region, w), (0.0, 0.0))
            cap = capacity.get((region, w), 0.0)
            share = min(1.0, hours / cap) if cap > 0 else (1.0 if hours else 0.0)
            fill = SITES_COLOUR if cap > 0 or not hours else DEVICES_COLOUR
            tip = (f"{region}, week of {long_date(w)}: {int(visits)} visit{'s' if visits != 1 else ''}, "
                   f"{hours:.1f} of {cap:.1f} crew hours")
            out.append(f'<rect x="{week_x[w]}" y="{y0 + 2}" width="{cell_w - 1}" height="{row_h - 4}" fill="{fill}" '
                       f'fill-opacity="{0.08 + 0.92 * share:.2f}"><title>{_text(tip)}</title></rect>')
    bottom = MARGIN_TOP + row_h * len(regions)
    every = max(1, -(-64 // cell_w))  # a label every ~64 px
    for i, w in enumerate(weeks):
        if i % every == 0:
            out.append(f'<text x="{week_x[w]}" y="{bottom + 18}" font-size="10">{_text(short_date(w))}</text>')
    for m in plan.milestones:
        key = _week_of(m.date, weeks)
        if key is not None:
            xx = week_x[key] + cell_w
            label = f"milestone {long_date(m.date)}: {m.target_share:.0%} of sites"
            out.append(f'<line x1="{xx}" y1="{MARGIN_TOP - 6}" x2="{xx}" y2="{bottom}" stroke="{TARGET_COLOUR}" '
                       f'stroke-width="2"><title>{_text(label)}</title></line>')
            out.append(f'<text x="{xx + 3}" y="{MARGIN_TOP - 8}" fill="{TARGET_COLOUR}" font-size="10">'
                       f'{_text(short_date(m.date))}</text>')
    out.append(f'<text x="{label_w}" y="{bottom + 40}" font-size="11" fill="#505a5f">'
               f"{_text('Shade: share of the region’s crew hours used that week.')}</text>")
    out.append("</svg>")
    return "\n".join(out)


def _week_of(target: date, weeks: Sequence[date]) -> date | None:
    """The last charted week whose Friday is on or before `target`."""
    found = None
    for w in weeks:
        if w + timedelta(days=4) <= target:
            found = w
    return found


def svg_to_png(svg: str, scale: float = 1.0) -> bytes:
    """Rasterise one of our charts with librsvg's `rsvg-convert` (Debian: librsvg2-bin), which
    renders SVG faithfully and needs no Python dependency; raises RuntimeError when it is missing."""
    tool = shutil.which("rsvg-convert")
    if tool is None:
        raise RuntimeError(
            "PNG output needs rsvg-convert (apt-get install librsvg2-bin); the SVG is written anyway"
        )
    done = subprocess.run(
        [tool, "--format", "png", "--zoom", str(scale)],
        input=svg.encode("utf-8"),
        capture_output=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"rsvg-convert failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout
