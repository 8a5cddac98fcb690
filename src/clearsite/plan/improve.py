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

import time

import numpy as np

from clearsite.plan.heuristic import Board, _forward, density_order
from clearsite.plan.prepare import Problem
from clearsite.plan.schedule import Schedule, evaluate, site_clear_weeks


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
