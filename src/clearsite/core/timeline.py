"""The programme's one timeline, computed: sites proven clear, claimed and forecast, month by month,
and how each milestone stands on a date.

Pure: `services.timeline` reads the store, the removal proof and the current plan and hands the
facts in; the dashboard, /plan, the public statement (web preview and `publish`) and the internal
report all show what `compute_timeline` returns, so they cannot tell different stories.

The rules, in one place:
- a site is *clear* only when every affected device there is verified removed (`cleared_on` is the
  day the last one went); *claimed* when every one is removed by someone's word but some removal is
  not yet verified; otherwise it is *outstanding*;
- months that ended before the as-of month are *actual*; the as-of month and later ones are
  *forecast*: sites clear by the as-of date, plus claimed sites (expected to be verified), plus sites
  the plan clears in time (a plan date already passed without the site clear is late, not progress);
- a milestone on or before the as-of date is judged on actual figures (met or missed), a later one on
  the forecast (on track or at risk).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

__all__ = ["Basis", "MilestoneProgress", "MilestoneTarget", "MonthPoint", "SiteClearance", "TimelineFigures",
           "compute_timeline", "month_end"]

Basis = Literal["actual", "forecast"]


@dataclass(frozen=True, slots=True)
class MilestoneTarget:
    date: date
    target_share: float  # share of affected sites clear by `date`
    note: str = ""


@dataclass(frozen=True, slots=True)
class SiteClearance:
    """An affected site. `site`, `region` and `devices` are for internal views only."""

    site: str
    department: str
    cleared_on: date | None = None  # every affected device verified removed: the day the last went
    claimed_on: date | None = None  # every affected device claimed removed, some not yet verified
    forecast_on: date | None = None  # the plan's date (the Friday of the site's last visit)
    region: str | None = None
    devices: int = 0  # affected devices not yet removed
    claimed_devices: int = 0  # removed by claim, not yet verified

    @property
    def state(self) -> str:
        return "clear" if self.cleared_on is not None else "claimed" if self.claimed_on is not None else "outstanding"


@dataclass(frozen=True, slots=True)
class MilestoneProgress:
    date: date
    target_share: float
    note: str
    target_sites: int  # sites that must be clear (the target share of the affected sites, rounded up)
    sites: int  # sites clear by the date: actual if it has passed, else forecast
    share: float
    basis: Basis
    met: bool

    @property
    def status(self) -> str:
        """Plain words: met / missed (past), on track / at risk (future)."""
        if self.basis == "actual":
            return "met" if self.met else "missed"
        return "on track" if self.met else "at risk"


@dataclass(frozen=True, slots=True)
class MonthPoint:
    month_end: date
    basis: Basis
    cleared: int  # actual: sites clear by the month's end; forecast: sites expected clear by then
    claimed: int  # actual months: sites claimed but not verified (internal views); forecast months: 0


@dataclass(frozen=True, slots=True)
class TimelineFigures:
    as_of: date
    affected: int
    cleared: int
    claimed: int
    outstanding: int
    late: int  # outstanding sites whose planned date has passed
    unplanned: int  # outstanding sites with no planned date
    milestones: tuple[MilestoneProgress, ...]
    months: tuple[MonthPoint, ...]
    forecast_complete: date | None  # when every affected site is expected clear, if the plan has them all

    @property
    def share(self) -> float:
        return self.cleared / self.affected if self.affected else 0.0


def month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def compute_timeline(sites: Sequence[SiteClearance], milestones: Sequence[MilestoneTarget],
                     as_of: date) -> TimelineFigures:
    """The figures for these sites on `as_of`. Reads only each site's three dates."""
    affected = len(sites)
    cleared = sorted(s.cleared_on for s in sites if s.cleared_on is not None and s.cleared_on <= as_of)
    claimed = sum(1 for s in sites if s.state == "claimed")
    claimed_dates = sorted(s.claimed_on for s in sites if s.claimed_on is not None and s.cleared_on is None)
    outstanding = [s for s in sites if s.state == "outstanding"]
    planned = sorted(s.forecast_on for s in outstanding if s.forecast_on is not None and s.forecast_on > as_of)
    late = sum(1 for s in outstanding if s.forecast_on is not None and s.forecast_on <= as_of)
    unplanned = sum(1 for s in outstanding if s.forecast_on is None)
    base = len(cleared) + claimed  # expected clear from the as-of date on

    def actual_by(day: date) -> int:
        return bisect_right(cleared, day)

    def forecast_by(day: date) -> int:
        return base + bisect_right(planned, day)

    progress = []
    for m in sorted(milestones, key=lambda m: m.date):
        basis: Basis = "actual" if m.date <= as_of else "forecast"
        count = actual_by(m.date) if basis == "actual" else forecast_by(m.date)
        target = math.ceil(m.target_share * affected - 1e-9)
        progress.append(MilestoneProgress(m.date, m.target_share, m.note, target, count,
                                          count / affected if affected else 0.0, basis, count >= target))

    months: list[MonthPoint] = []
    if affected:
        days = [*cleared, *planned, *(m.date for m in milestones), as_of]
        month, last = month_end(min(days)), month_end(max(days))
        current = month_end(as_of)
        while month <= last:
            if month < current:
                months.append(MonthPoint(month, "actual", actual_by(month), bisect_right(claimed_dates, month)))
            else:
                months.append(MonthPoint(month, "forecast", forecast_by(month), 0))
            month = month_end(month + timedelta(days=1))
    complete = None  # unknown while a site is late, unplanned, or waits only for its removal to be verified
    if affected and not late and not unplanned:
        if planned:
            complete = planned[-1]
        elif not claimed and cleared:
            complete = cleared[-1]
    return TimelineFigures(as_of, affected, len(cleared), claimed, len(outstanding), late, unplanned,
                           tuple(progress), tuple(months), complete)
