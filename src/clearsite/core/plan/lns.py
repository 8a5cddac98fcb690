"""Large-neighbourhood search: re-optimise a few hundred visits at a time with CP-SAT.

The whole model outgrows CP-SAT at around a thousand sites, but any slice of it (one region over
a few weeks, the weeks either side of a financial year's end, the sites that miss a milestone,
a random handful of sites) is small enough to solve to optimality in a second or two, with
everything else held fixed. Each solve starts from the current schedule, so it never gets worse;
we keep going until the time limit, growing the slices while they solve fast.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from clearsite.core.plan.bound import visit_weeks
from clearsite.core.plan.cpsat import solve_cpsat
from clearsite.core.plan.prepare import UNLIMITED, Problem
from clearsite.core.plan.schedule import Schedule, evaluate, site_clear_weeks

SOLVE_SECONDS = 1.0  # per slice: improvements come early, proofs of optimality late
CREWS_PER_VISIT = 3  # crews a free visit may move between in one slice


@dataclass(frozen=True)
class LnsStats:
    iterations: int
    improvements: int
    seconds: float


def improve_lns(
    p: Problem,
    schedule: Schedule,
    deadline: float,
    workers: int = 2,
    seed: int = 0,
    stop_at: float | None = None,
    size: float = 300.0,
    solve_seconds: float = SOLVE_SECONDS,
) -> tuple[Schedule, LnsStats]:
    """Improve `schedule` until `deadline` (monotonic seconds) or its objective reaches `stop_at`."""
    started = time.monotonic()
    rng = np.random.default_rng(seed)
    allowed = visit_weeks(p)
    current = schedule
    objective = evaluate(p, current).objective
    iterations = improvements = 0
    region_weight = np.bincount(p.v_region, minlength=len(p.regions)).astype(np.float64)
    if p.n_visits == 0 or region_weight.sum() == 0:
        return current, LnsStats(0, 0, 0.0)
    region_weight /= region_weight.sum()
    fy_ends = [
        w
        for w in range(1, p.weeks)
        if p.week_fy[w] != p.week_fy[w - 1] and p.fy_budget[p.week_fy[w - 1]] < UNLIMITED
    ]
    while True:
        remaining = deadline - time.monotonic()
        if remaining < 0.3 or (stop_at is not None and objective <= stop_at):
            break
        kinds = ["region_window", "region_window", "region", "sites"]
        late = _late_sites(p, current)
        if late.size:
            kinds += ["late", "late"]
        if fy_ends:
            kinds.append("fy_end")
        kind = kinds[int(rng.integers(len(kinds)))]
        free, week_ok = _neighbourhood(kind, p, current, rng, int(size), region_weight, late, fy_ends)
        if not free.any():
            continue
        limit = min(remaining - 0.2, solve_seconds)
        result = solve_cpsat(
            p,
            current,
            limit,
            workers,
            int(rng.integers(1 << 30)),
            free=free,
            week_ok=week_ok,
            allowed=allowed,
        )
        iterations += 1
        if result.schedule is not None:
            candidate = evaluate(p, result.schedule).objective
            if candidate < objective - 1e-9:
                current, objective = result.schedule, candidate
                improvements += 1
        # grow slices that solve to optimality fast; proofs are hard here (weekly knapsacks), so a
        # slice that only improves is kept at its size rather than shrunk
        if result.status == "optimal" and result.wall_time < 0.3 * limit:
            size = min(size * 1.25, 4000)
        elif result.schedule is None:
            size = max(size * 0.7, 40)
    return current, LnsStats(iterations, improvements, time.monotonic() - started)


def _late_sites(p: Problem, s: Schedule) -> np.ndarray:
    """Sites that count against a missed milestone: clear after its date (or never) though they could make it."""
    ev = evaluate(p, s)
    missed = [m for m, short in enumerate(ev.shortfall) if short > 0 and p.ms_week[m] >= 0]
    if not missed:
        return np.zeros(0, dtype=np.int64)
    clear = site_clear_weeks(p, s)
    week = max(p.ms_week[m] for m in missed)
    return np.flatnonzero(p.site_complete & (clear > week))


def _neighbourhood(
    kind: str,
    p: Problem,
    s: Schedule,
    rng: np.random.Generator,
    size: int,
    region_weight: np.ndarray,
    late: np.ndarray,
    fy_ends: list[int],
) -> tuple[np.ndarray, np.ndarray | None]:
    free = np.zeros(p.n_visits, dtype=bool)
    weeks = np.arange(p.weeks)
    if kind == "sites":
        # a random handful of whole sites, free to go anywhere
        sites = rng.choice(p.n_sites, size=min(p.n_sites, max(1, size // 2)), replace=False)
        for site in sites:
            free[p.site_visits[int(site)]] = True
        return _cap(free, size, rng), None
    if kind == "late" and late.size:
        # sites missing a milestone plus the visits they compete with in their regions before it
        chosen = rng.choice(late, size=min(late.size, max(1, size // 6)), replace=False)
        regions = set()
        for site in chosen:
            free[p.site_visits[int(site)]] = True
            regions.add(int(p.v_region[p.site_visits[int(site)][0]]))
        pool = np.flatnonzero(np.isin(p.v_region, list(regions)) & (s.week >= 0) & ~free)
        if fy_ends and rng.random() < 0.5:
            # money: visits of any region either side of a year's end can shift spend between years
            end = fy_ends[int(rng.integers(len(fy_ends)))]
            pool = np.flatnonzero((s.week >= end - 6) & (s.week < end + 6) & ~free)
        room = size - int(free.sum())
        if pool.size and room > 0:
            free[rng.choice(pool, size=min(pool.size, room), replace=False)] = True
        return free, None
    if kind == "fy_end":
        # the weeks either side of a budget year's end, all regions: where money moves between years
        end = fy_ends[int(rng.integers(len(fy_ends)))]
        span = int(rng.integers(3, 9))
        lo, hi = max(0, end - span), min(p.weeks, end + span)
        pool = np.flatnonzero((s.week >= lo) & (s.week < hi))
        pool = np.concatenate([pool, np.flatnonzero(s.week < 0)])
        if pool.size:
            free[rng.choice(pool, size=min(pool.size, size), replace=False)] = True
        week_ok = np.broadcast_to((weeks >= lo) & (weeks < hi), (p.n_visits, p.weeks))
        return free, week_ok
    r = int(rng.choice(len(region_weight), p=region_weight))
    if kind == "region":
        # a sample of one region's visits, free to go to any week: long moves within a region
        return _cap(p.v_region == r, size, rng), None
    # one region over a window of weeks sized to hold about `size` visits
    in_region = p.v_region == r
    used = np.unique(s.week[in_region & (s.week >= 0)])
    per_week = max(1.0, in_region.sum() / max(used.size, 1))
    length = int(np.clip(size / per_week, 2, 16))
    start = int(rng.integers(0, max(1, p.weeks - length + 1)))
    window = (weeks >= start) & (weeks < start + length)
    free = in_region & (((s.week >= start) & (s.week < start + length)) | (s.week < 0))
    # and some of the region's later visits, which could move into the window
    later = np.flatnonzero(in_region & (s.week >= start + length))
    if later.size:
        free[rng.choice(later, size=min(later.size, max(1, size // 4)), replace=False)] = True
    week_ok = np.broadcast_to(window, (p.n_visits, p.weeks))
    return _cap(free, size, rng), week_ok


def _cap(free: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    idx = np.flatnonzero(free)
    if idx.size <= size:
        return free
    out = np.zeros_like(free)
    out[rng.choice(idx, size=size, replace=False)] = True
    return out
