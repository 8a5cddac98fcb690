"""Local search on a schedule: swap a riskier late visit with a less risky earlier one.

Exchanging the weeks (and crews) of visits u (week a) and v (week b > a) changes exposure by
(b - a) x (risk_u - risk_v), so any swap that brings the riskier visit forward pays, provided both
fit the other's crew-week, both sites are open then, the money still balances when the weeks lie
in different financial years, and u's site does not drop out of a milestone that has no sites to
spare. List scheduling leaves many such pairs behind when big visits block a week; each pass
checks every visit against all earlier visits of its region at once (numpy), so a pass over 50k
visits takes seconds.
"""

from __future__ import annotations

import math
import time

import numpy as np

from clearsite.core.plan.heuristic import (
    Board,
    _forward,
    _restore,
    density_order,
    latest_week_keeping_milestones,
)
from clearsite.core.plan.prepare import UNLIMITED, Problem
from clearsite.core.plan.schedule import NOT_CLEARED, Schedule, evaluate, site_clear_weeks


def swap_improve(p: Problem, schedule: Schedule, deadline: float, passes: int = 6) -> Schedule:
    board = Board(p, schedule)
    s = board.s
    clear = site_clear_weeks(p, s)
    ev = evaluate(p, s)
    slack = np.array([c - need for c, need in zip(ev.cleared, p.ms_need, strict=True)], dtype=np.int64)
    ms_week = np.array(p.ms_week, dtype=np.int64)
    minutes, pence, risk = p.v_minutes, p.v_pence, p.v_risk
    for _ in range(passes):
        swaps = 0
        for r in range(len(p.regions)):
            in_region = np.flatnonzero((p.v_region == r) & (s.week >= 0))
            for v in in_region[np.argsort(-risk[in_region], kind="stable")]:
                if time.monotonic() > deadline:
                    return _finish(p, board)
                swaps += _best_swap(p, board, int(v), in_region, clear, slack, ms_week, minutes, pence, risk)
        _forward(board, density_order(p))
        clear = site_clear_weeks(p, s)
        if swaps == 0:
            break
    return _finish(p, board)


def _finish(p: Problem, board: Board) -> Schedule:
    return board.s.copy()


def _best_swap(
    p: Problem,
    board: Board,
    v: int,
    region: np.ndarray,
    clear: np.ndarray,
    slack: np.ndarray,
    ms_week: np.ndarray,
    minutes: np.ndarray,
    pence: np.ndarray,
    risk: np.ndarray,
) -> int:
    s = board.s
    b, cv = int(s.week[v]), int(s.crew[v])
    if b <= 0:
        return 0
    u = region[
        (s.week[region] < b)
        & (s.week[region] >= 0)
        & (risk[region] < risk[v])
        & (p.v_site[region] != p.v_site[v])
    ]
    if u.size == 0:
        return 0
    a, cu = s.week[u], s.crew[u]
    ok = board.rem[cu, a] + minutes[u] >= minutes[v]  # v fits u's crew-week once u leaves
    ok &= board.rem[cv, b] + minutes[v] >= minutes[u]  # and u fits v's
    ok &= p.masks[p.v_mask[v], a] & p.masks[p.v_mask[u], b]
    fa, fb = p.week_fy[a], p.week_fy[b]
    other_year = fa != fb
    ok &= ~other_year | (
        (board.budget[fa] + pence[u] >= pence[v]) & (board.budget[fb] + pence[v] >= pence[u])
    )
    if not ok.any():
        return 0
    # u's site is clear later when u becomes its last visit; it must not leave a milestone
    # that has no sites to spare
    site_u = p.v_site[u]
    new_clear = np.maximum(clear[site_u], b)
    loses = (clear[site_u][:, None] <= ms_week[None, :]) & (new_clear[:, None] > ms_week[None, :])
    ok &= ~(loses & (slack[None, :] <= 0)).any(axis=1)
    if not ok.any():
        return 0
    gain = np.where(ok, (b - a) * (risk[v] - risk[u]), -1.0)
    k = int(np.argmax(gain))
    if gain[k] <= 1e-12:
        return 0
    uu, aa, cuu = int(u[k]), int(a[k]), int(cu[k])
    slack -= loses[k].astype(np.int64)
    # apply: v takes (cu, a), u takes (cv, b)
    board.rem[cuu, aa] += minutes[uu] - minutes[v]
    board.rem[cv, b] += minutes[v] - minutes[uu]
    board.budget[p.week_fy[aa]] += pence[uu] - pence[v]
    board.budget[p.week_fy[b]] += pence[v] - pence[uu]
    r = int(p.v_region[v])
    crews = p.region_crews[r]
    board.region_max[r, aa] = board.rem[crews, aa].max()
    board.region_max[r, b] = board.rem[crews, b].max()
    s.week[v], s.crew[v] = aa, cuu
    s.week[uu], s.crew[uu] = b, cv
    # v's site may now be clear earlier: count milestones it gains
    sv = int(p.v_site[v])
    weeks = s.week[p.site_visits[sv]]
    if p.site_complete[sv] and (weeks >= 0).all():
        before, after = clear[sv], int(weeks.max())
        slack += ((after <= ms_week) & (before > ms_week)).astype(np.int64)
        clear[sv] = after
    clear[int(p.v_site[uu])] = int(new_clear[k])
    return 1


def budget_exchange(p: Problem, schedule: Schedule, deadline: float, donors_per_move: int = 80) -> Schedule:
    """Bring risky visits forward into a year whose budget is spent, paying for them by pushing
    cheap-to-delay visits (least risk per pound) into the next year.

    List scheduling spends a year's money on whatever comes first; a risky visit that can only go
    later (an access window, a replacement's lead time) then finds the year's money gone and waits
    for April. Pulling it back needs money moved out of the year, which neither a swap nor a slice
    of a few weeks can do: the visits that should give way sit months earlier."""
    limited = p.fy_budget < UNLIMITED
    if not limited.any() or p.n_visits == 0:
        return schedule
    board = Board(p, schedule)
    s = board.s
    clear = site_clear_weeks(p, s)
    ev = evaluate(p, s)
    slack = [c - need for c, need in zip(ev.cleared, p.ms_need, strict=True)]
    horizon = p.weeks  # an unscheduled visit counts as done in week `weeks` (exposure weeks + 1)
    risk, pence = p.v_risk, p.v_pence
    order = np.flatnonzero(risk > 0)
    order = order[np.argsort(-risk[order], kind="stable")]
    for v in map(int, order):
        if time.monotonic() > deadline:
            break
        current = int(s.week[v])
        at = current if current >= 0 else horizon
        if at == 0:
            continue
        r = int(p.v_region[v])
        room = p.masks[p.v_mask[v]] & (board.region_max[r] >= p.v_minutes[v])
        room[at:] = False
        weeks = np.flatnonzero(room)
        if weeks.size == 0:
            continue
        saved = s.copy()
        saved_slack = list(slack)
        board.remove(v)
        w = int(weeks[0])
        f = int(p.week_fy[w])
        gain = risk[v] * (at - w)
        cost = 0.0
        if board.budget[f] < pence[v]:
            cost = _pay_for(p, board, v, f, w, clear, slack, gain, donors_per_move)
        if cost < gain - 1e-9 and board.budget[f] >= pence[v] and board.region_max[r, w] >= p.v_minutes[v]:
            board.place(v, w)
            _refresh_clear(p, board, clear, slack, int(p.v_site[v]))
        else:
            _restore(board, saved)
            slack[:] = saved_slack
            clear = site_clear_weeks(p, s)
    out = board.s.copy()
    if evaluate(p, out).objective < evaluate(p, schedule).objective - 1e-9:
        return out
    return schedule


def _pay_for(
    p: Problem,
    board: Board,
    v: int,
    f: int,
    w: int,
    clear: np.ndarray,
    slack: list[int],
    gain: float,
    donors: int,
) -> float:
    """Move visits out of year f until it can pay for v in week w; returns the exposure added
    (stops early, leaving the year short, once that exceeds `gain`)."""
    s = board.s
    site = int(p.v_site[v])
    weeks = np.maximum(s.week, 0)
    in_year = np.flatnonzero((s.week >= 0) & (p.week_fy[weeks] == f) & (p.v_site != site))
    if in_year.size == 0:
        return math.inf
    # cheapest to delay per pound first; a visit's move is at least to the year's end
    year_end = int(np.flatnonzero(p.week_fy == f)[-1]) + 1
    per_pound = (
        p.v_risk[in_year] * np.maximum(year_end - s.week[in_year], 1) / np.maximum(p.v_pence[in_year], 1)
    )
    cost = 0.0
    for u in in_year[np.argsort(per_pound, kind="stable")][:donors]:
        if board.budget[f] >= p.v_pence[v]:
            break
        if cost >= gain:
            return cost
        u = int(u)
        current = int(s.week[u])
        limit = latest_week_keeping_milestones(p, clear, slack, u)
        board.remove(u)
        ok = board.feasible(u)
        ok[limit + 1 :] = False
        ok[: current + 1] = False
        ok &= p.week_fy != f
        target = np.flatnonzero(ok)
        if target.size == 0:
            board.place(u, current)
            continue
        t = int(target[0])
        board.place(u, t)
        cost += p.v_risk[u] * (t - current)
        _refresh_clear(p, board, clear, slack, int(p.v_site[u]))
    return cost if board.budget[f] >= p.v_pence[v] else math.inf


def _refresh_clear(p: Problem, board: Board, clear: np.ndarray, slack: list[int], site: int) -> None:
    weeks = board.s.week[p.site_visits[site]]
    now = int(weeks.max()) if p.site_complete[site] and (weeks >= 0).all() else NOT_CLEARED
    before = int(clear[site])
    for m, mw in enumerate(p.ms_week):
        slack[m] += int(now <= mw) - int(before <= mw)
    clear[site] = now
