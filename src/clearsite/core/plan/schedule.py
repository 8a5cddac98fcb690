"""A schedule on a prepared problem (week and crew per visit), its objective and its milestone counts.

This is the planner's own bookkeeping; the tests check plans with an independent checker.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clearsite.core.plan.prepare import Problem

NOT_CLEARED = 1 << 30


@dataclass
class Schedule:
    week: np.ndarray  # per visit, -1 when not scheduled
    crew: np.ndarray  # per visit, -1 when not scheduled

    @classmethod
    def empty(cls, p: Problem) -> Schedule:
        return cls(np.full(p.n_visits, -1, dtype=np.int64), np.full(p.n_visits, -1, dtype=np.int64))

    def copy(self) -> Schedule:
        return Schedule(self.week.copy(), self.crew.copy())


@dataclass(frozen=True)
class Evaluation:
    exposure: float
    penalty: float
    cleared: list[int]  # sites the plan clears by each milestone
    shortfall: list[int]  # sites short of each milestone's need

    @property
    def objective(self) -> float:
        return self.exposure + self.penalty


def site_clear_weeks(p: Problem, s: Schedule) -> np.ndarray:
    """Week each site is fully clear, NOT_CLEARED when it never is within the plan."""
    clear = np.full(p.n_sites, -1, dtype=np.int64)
    weeks = np.where(s.week >= 0, s.week, NOT_CLEARED)
    np.maximum.at(clear, p.v_site, weeks)
    clear[~p.site_complete] = NOT_CLEARED
    clear[clear < 0] = NOT_CLEARED  # a site whose every device went unscheduled at preparation
    return clear


def evaluate(p: Problem, s: Schedule) -> Evaluation:
    horizon = p.horizon_exposure()
    done = s.week >= 0
    exposure = float(np.dot(p.v_risk[done], s.week[done] + 1.0))
    exposure += float(p.v_risk[~done].sum()) * horizon + p.unscheduled_risk * horizon
    clear = site_clear_weeks(p, s)
    cleared = [int(np.count_nonzero(clear <= w)) if w >= 0 else 0 for w in p.ms_week]
    shortfall = [max(0, need - c) for need, c in zip(p.ms_need, cleared, strict=True)]
    return Evaluation(exposure, p.penalty * sum(shortfall), cleared, shortfall)
