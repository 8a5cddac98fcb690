"""Charts as plain SVG written here: the burn-down against milestones, and a Gantt-style load view.

Hand-written SVG rather than a plotting library: two simple chart types do not justify a
dependency, the output is small, deterministic (tests compare it) and opens in any browser, and
every text value passes through `_text`/`_attr` (XML escaping), which matters because region,
crew and title strings come from users. Charts take plain numbers and dates, or a plan in its
JSON contract form (so a stored plan can be charted without the planner).
"""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from xml.sax.saxutils import escape, quoteattr

from clearsite.core.plan.result import Plan

WIDTH, HEIGHT = 960, 420
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 70, 220, 50, 60
SITES_COLOUR, DEVICES_COLOUR, TARGET_COLOUR = "#1d70b8", "#d4351c", "#00703c"  # GOV.UK palette


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


def _frame(title: str, width: int = WIDTH, height: int = HEIGHT) -> list[str]:
    return [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label={_attr(title)} font-family="Arial, sans-serif" font-size="12">'
        ),
        f"<title>{_text(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{MARGIN_LEFT}" y="28" font-size="16" font-weight="bold">{_text(title)}</text>',
    ]


def burndown_svg(
    points: Sequence[BurndownPoint],
    milestones: Sequence[MilestoneMark],
    *,
    total_sites: int,
    total_devices: int | None = None,
    title: str = "Affected sites and devices remaining",
) -> str:
    """Share of affected sites (and devices) still to clear over time; milestones as targets.

    Sites are a share of all affected sites (cleared ones included, as the milestones are), devices
    a share of those still open when the data starts. Actual points draw solid, forecast points
    dashed; a milestone is a green diamond at the share that may remain on its date (1 - target)."""
    out = _frame(title)
    days = [p.day for p in points] + [m.day for m in milestones]
    if not days or total_sites <= 0:
        out.append(f'<text x="{MARGIN_LEFT}" y="{HEIGHT // 2}">{_text("No affected sites.")}</text></svg>')
        return "\n".join(out)
    first, last = min(days), max(days)
    if last == first:
        last = first + timedelta(days=7)
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def x(day: date) -> float:
        return MARGIN_LEFT + plot_w * (day - first).days / (last - first).days

    def y(share: float) -> float:
        return MARGIN_TOP + plot_h * (1 - share)

    # axes and grid: share remaining 0-100%
    for pct in range(0, 101, 25):
        yy = y(pct / 100)
        out.append(
            f'<line x1="{MARGIN_LEFT}" y1="{yy:.1f}" x2="{MARGIN_LEFT + plot_w}" y2="{yy:.1f}" stroke="#dddddd"/>'
        )
        out.append(f'<text x="{MARGIN_LEFT - 8}" y="{yy + 4:.1f}" text-anchor="end">{pct}%</text>')
    for tick in _month_ticks(first, last):
        xx = x(tick)
        out.append(
            f'<line x1="{xx:.1f}" y1="{MARGIN_TOP + plot_h}" x2="{xx:.1f}" y2="{MARGIN_TOP + plot_h + 5}" stroke="#505a5f"/>'
        )
        out.append(
            f'<text x="{xx:.1f}" y="{MARGIN_TOP + plot_h + 20}" text-anchor="middle">{_text(tick.strftime("%b %y"))}</text>'
        )
    out.append(
        f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP + plot_h}" x2="{MARGIN_LEFT + plot_w}" y2="{MARGIN_TOP + plot_h}" stroke="#505a5f"/>'
    )
    out.append(
        f'<text x="16" y="{MARGIN_TOP + plot_h / 2:.1f}" transform="rotate(-90 16 {MARGIN_TOP + plot_h / 2:.1f})" '
        f'text-anchor="middle">{_text("share remaining")}</text>'
    )

    ordered = sorted(points, key=lambda p: (p.day, p.forecast))
    series = [("sites", SITES_COLOUR, total_sites, lambda p: p.sites_remaining)]
    if total_devices:
        series.append(("devices", DEVICES_COLOUR, total_devices, lambda p: p.devices_remaining))
    for name, colour, total, value in series:
        for forecast in (False, True):
            # a forecast line starts from the last actual point so the two join up
            chosen = [p for p in ordered if p.forecast == forecast]
            if forecast:
                actual = [p for p in ordered if not p.forecast]
                chosen = actual[-1:] + chosen
            chosen = [p for p in chosen if value(p) is not None]
            if len(chosen) < 2:
                continue
            path = " ".join(f"{x(p.day):.1f},{y(value(p) / total):.1f}" for p in chosen)
            dash = ' stroke-dasharray="6 4"' if forecast else ""
            label = f"{name} {'forecast' if forecast else 'actual'}"
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}>'
                f"<title>{_text(label)}</title></polyline>"
            )
    for m in milestones:
        xx, yy = x(m.day), y(1 - m.target_share)
        label = f"{m.target_share:.0%} of sites clear by {m.day.isoformat()}"
        out.append(
            f'<path d="M {xx:.1f} {yy - 7:.1f} L {xx + 7:.1f} {yy:.1f} L {xx:.1f} {yy + 7:.1f} L {xx - 7:.1f} {yy:.1f} Z" '
            f'fill="{TARGET_COLOUR}"><title>{_text(label)}</title></path>'
        )
        # labels near the right edge read leftwards so they stay inside the chart
        anchor, lx = ("end", xx - 9) if xx > MARGIN_LEFT + plot_w * 0.6 else ("start", xx + 9)
        out.append(
            f'<text x="{lx:.1f}" y="{yy - 9:.1f}" fill="{TARGET_COLOUR}" text-anchor="{anchor}">{_text(label)}</text>'
        )

    legend = [(f"sites ({total_sites:,} affected)", SITES_COLOUR, "")]
    if total_devices:
        legend.append((f"devices ({total_devices:,} open)", DEVICES_COLOUR, ""))
    legend += [("forecast", "#505a5f", ' stroke-dasharray="6 4"'), ("milestone target", TARGET_COLOUR, "")]
    lx = WIDTH - MARGIN_RIGHT + 20
    for i, (label, colour, dash) in enumerate(legend):
        ly = MARGIN_TOP + 10 + 20 * i
        out.append(
            f'<line x1="{lx}" y1="{ly}" x2="{lx + 24}" y2="{ly}" stroke="{colour}" stroke-width="2"{dash}/>'
        )
        out.append(f'<text x="{lx + 30}" y="{ly + 4}">{_text(label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


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


def gantt_svg(plan: Plan, title: str = "Crew load by region and week") -> str:
    """One row per region, one column per week; a cell's shade is the share of the region's crew
    hours used, and its tooltip gives visits, sites and hours. Milestones are vertical lines."""
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
    out = _frame(title, width, height)
    if not regions or not weeks:
        out.append(
            f'<text x="{MARGIN_LEFT}" y="{MARGIN_TOP + 20}">{_text("Nothing scheduled.")}</text></svg>'
        )
        return "\n".join(out)
    week_x = {w: label_w + i * cell_w for i, w in enumerate(weeks)}
    for i, region in enumerate(regions):
        y0 = MARGIN_TOP + i * row_h
        out.append(
            f'<text x="{label_w - 8}" y="{y0 + row_h * 0.65:.1f}" text-anchor="end">{_text(region)}</text>'
        )
        for w in weeks:
            hours, visits = load.get((region, w), (0.0, 0.0))
            cap = capacity.get((region, w), 0.0)
            share = min(1.0, hours / cap) if cap > 0 else (1.0 if hours else 0.0)
            fill = SITES_COLOUR if cap > 0 or not hours else DEVICES_COLOUR
            tip = f"{region}, week of {w.isoformat()}: {int(visits)} visit(s), {hours:.1f} of {cap:.1f} crew hours"
            out.append(
                f'<rect x="{week_x[w]}" y="{y0 + 2}" width="{cell_w - 1}" height="{row_h - 4}" fill="{fill}" '
                f'fill-opacity="{0.08 + 0.92 * share:.2f}"><title>{_text(tip)}</title></rect>'
            )
    bottom = MARGIN_TOP + row_h * len(regions)
    every = max(1, -(-64 // cell_w))  # a label every ~64 px
    for i, w in enumerate(weeks):
        if i % every == 0:
            label = w.strftime("%d %b %y")
            out.append(f'<text x="{week_x[w]}" y="{bottom + 18}" font-size="10">{_text(label)}</text>')
    for m in plan.milestones:
        key = _week_of(m.date, weeks)
        if key is not None:
            xx = week_x[key] + cell_w
            label = f"milestone {m.date.isoformat()}: {m.target_share:.0%} of sites"
            out.append(
                f'<line x1="{xx}" y1="{MARGIN_TOP - 6}" x2="{xx}" y2="{bottom}" stroke="{TARGET_COLOUR}" stroke-width="2">'
                f"<title>{_text(label)}</title></line>"
            )
            out.append(
                f'<text x="{xx + 3}" y="{MARGIN_TOP - 8}" fill="{TARGET_COLOUR}" font-size="10">{_text(m.date.isoformat())}</text>'
            )
    out.append(
        f'<text x="{label_w}" y="{bottom + 40}" font-size="11" fill="#505a5f">'
        f"{_text('Shade: share of the region’s crew hours used that week. Hover for details.')}</text>"
    )
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
