"""Weeks, working days and UK financial years: the time grid the planner works on.

Conventions (the tests' independent checker re-derives them, so keep them simple):
- week k starts on Monday `monday(start) + 7k`; days before `start` are not working days;
- a working day is Monday to Friday and not a holiday;
- a visit in week k is done by that week's Friday (milestones) and a device removed in week k
  counts as exposed for k + 1 weeks (objective);
- money spent in a week falls in the UK financial year (April-March) of its Monday.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from clearsite.core.plan.types import Crew, Period

WEEK = timedelta(days=7)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def friday(week_monday: date) -> date:
    return week_monday + timedelta(days=4)


def fiscal_year(day: date) -> int:
    """The UK financial year holding `day`, named by its first year (2024-25 is 2024)."""
    return day.year if day.month >= 4 else day.year - 1


def fy_label(fy: int) -> str:
    return f"{fy}-{(fy + 1) % 100:02d}"


def parse_fy(value: int | str) -> int:
    """Accept 2024, "2024", "2024-25" or "FY2024-25"; reject a second year that does not follow."""
    text = str(value).strip().upper().removeprefix("FY").strip()
    first, _, second = text.partition("-")
    fy = int(first)
    if second and int(second) % 100 != (fy + 1) % 100:
        raise ValueError(f"financial year {value!r}: {second} does not follow {first}")
    return fy


class Grid:
    """The weeks of a plan and the working days in each."""

    def __init__(self, start: date, weeks: int, holidays: Iterable[date] = ()) -> None:
        self.start = start
        self.first_monday = monday(start)
        self.weeks = weeks
        self.holidays = frozenset(holidays)
        self.mondays = [self.first_monday + k * WEEK for k in range(weeks)]
        self.fy_of_week = [fiscal_year(m) for m in self.mondays]
        # working days per week, as lists of dates, computed once
        self.days: list[list[date]] = [
            [d for i in range(5) if self._working(d := m + timedelta(days=i))] for m in self.mondays
        ]

    def _working(self, day: date) -> bool:
        return day >= self.start and day not in self.holidays

    def week_of(self, day: date) -> int:
        """Week index holding `day` (may be negative or >= weeks)."""
        return (day - self.first_monday).days // 7

    def last_week_done_by(self, day: date) -> int:
        """The last week whose Friday is on or before `day`; -1 when none is."""
        k = self.week_of(day)
        if friday(self.first_monday + k * WEEK) > day:
            k -= 1
        return min(k, self.weeks - 1)

    def crew_capacity(self, crew: Crew) -> list[float]:
        """Hours per week: the weekly hours times the share of the five weekdays the crew works."""
        out: list[float] = []
        for days in self.days:
            n = sum(1 for d in days if _crew_works(crew, d))
            out.append(crew.hours_per_week * n / 5.0)
        return out

    def access_mask(
        self, access: Sequence[Period], blackouts: Sequence[Period], release: date | None
    ) -> list[bool]:
        """Weeks with at least one working day a crew may enter: inside an access window (if any),
        outside every blackout, and on or after the release date."""
        mask: list[bool] = []
        for days in self.days:
            ok = False
            for d in days:
                if release is not None and d < release:
                    continue
                if access and not any(p.contains(d) for p in access):
                    continue
                if any(p.contains(d) for p in blackouts):
                    continue
                ok = True
                break
            mask.append(ok)
        return mask


def _crew_works(crew: Crew, day: date) -> bool:
    if crew.start is not None and day < crew.start:
        return False
    if crew.end is not None and day > crew.end:
        return False
    return not any(p.contains(day) for p in crew.unavailable)
