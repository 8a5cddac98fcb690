"""The fast planner: list scheduling by risk density, made milestone-aware by reservations.

Without milestones, minimising sum(risk x week) under weekly capacity is close to Smith's rule:
do the most risk per crew-hour first. Milestones count *sites*, so when that order misses one we
commit the smallest sites that can still make it, reserve them as late as their deadline allows,
and then fill the calendar by risk density around them, pulling committed visits earlier when
room appears. Final passes move every visit to its earliest feasible week.

It works on numpy rows of length `weeks` per visit, so 50k visits take seconds.
"""

from __future__ import annotations

import numpy as np

from clearsite.core.plan.prepare import Problem
from clearsite.core.plan.schedule import NOT_CLEARED, Schedule, evaluate, site_clear_weeks


def latest_week_keeping_milestones(p: Problem, clear: np.ndarray, slack: np.ndarray | list[int], u: int) -> int:
    """The latest week visit u may move to without its site dropping out of a milestone that has no slack."""
    limit = p.weeks - 1
    for m, mw in enumerate(p.ms_week):
        if clear[p.v_site[u]] <= mw and slack[m] <= 0:
            limit = min(limit, mw)
    return limit


class Board:
    """Remaining crew hours and budget while visits are placed and removed."""

    def __init__(self, p: Problem, schedule: Schedule | None = None) -> None:
        self.p = p
        self.rem = p.crew_cap.copy()
        self.region_max = np.zeros((len(p.regions), p.weeks), dtype=np.int64)
        for r, crews in enumerate(p.region_crews):
            if crews:
                self.region_max[r] = self.rem[crews].max(axis=0)
        self.budget = p.fy_budget.copy()
        self.s = Schedule.empty(p) if schedule is None else schedule.copy()
        if schedule is not None:
            for v in np.flatnonzero(self.s.week >= 0):
                w, c = int(self.s.week[v]), int(self.s.crew[v])
                self.rem[c, w] -= p.v_minutes[v]
                self.budget[p.week_fy[w]] -= p.v_pence[v]
            for r, crews in enumerate(p.region_crews):
                if crews:
                    self.region_max[r] = self.rem[crews].max(axis=0)

    def feasible(self, v: int) -> np.ndarray:
        p = self.p
        weeks: np.ndarray = (
            p.masks[p.v_mask[v]]
            & (self.region_max[p.v_region[v]] >= p.v_minutes[v])
            & (self.budget[p.week_fy] >= p.v_pence[v])
        )
        return weeks

    def earliest(self, v: int, upto: int | None = None) -> int:
        ok = self.feasible(v)
        if upto is not None:
            ok[upto + 1 :] = False
        i = int(np.argmax(ok))
        return i if ok[i] else -1

    def latest(self, v: int, upto: int) -> int:
        if upto < 0:
            return -1
        ok = self.feasible(v)[: upto + 1]
        idx = np.flatnonzero(ok)
        return int(idx[-1]) if idx.size else -1

    def place(self, v: int, w: int) -> None:
        p = self.p
        r = int(p.v_region[v])
        need = p.v_minutes[v]
        crews = p.region_crews[r]
        # best fit: the crew with the least room that still fits keeps big gaps for big visits
        best, best_rem = -1, None
        for c in crews:
            rem = self.rem[c, w]
            if rem >= need and (best_rem is None or rem < best_rem):
                best, best_rem = c, rem
        assert best >= 0, "place() called on a week without room"
        self.rem[best, w] -= need
        self.region_max[r, w] = max(self.rem[c, w] for c in crews)
        self.budget[p.week_fy[w]] -= p.v_pence[v]
        self.s.week[v] = w
        self.s.crew[v] = best

    def remove(self, v: int) -> None:
        p = self.p
        w, c = int(self.s.week[v]), int(self.s.crew[v])
        if w < 0:
            return
        r = int(p.v_region[v])
        self.rem[c, w] += p.v_minutes[v]
        self.region_max[r, w] = max(self.region_max[r, w], self.rem[c, w])
        self.budget[p.week_fy[w]] += p.v_pence[v]
        self.s.week[v] = -1
        self.s.crew[v] = -1


def density_order(p: Problem) -> np.ndarray:
    """Visits by risk per crew-minute, highest first; ties by index for determinism."""
    density = p.v_risk / np.maximum(p.v_minutes, 1)
    return np.lexsort((np.arange(p.n_visits), -density))


def _forward(board: Board, order: np.ndarray) -> None:
    for v in order:
        v = int(v)
        current = int(board.s.week[v])
        if current >= 0:
            board.remove(v)
            w = board.earliest(v, upto=current)
            board.place(v, w if w >= 0 else current)
        else:
            w = board.earliest(v)
            if w >= 0:
                board.place(v, w)


def _site_ready(p: Problem) -> np.ndarray:
    """Earliest week each site could possibly be clear (every visit has some open week by then)."""
    first_open = np.array(
        [int(np.argmax(row)) if row.any() else NOT_CLEARED for row in p.masks], dtype=np.int64
    )
    ready = np.full(p.n_sites, -1, dtype=np.int64)
    np.maximum.at(ready, p.v_site, first_open[p.v_mask])
    ready[(~p.site_complete) | (ready < 0)] = NOT_CLEARED
    return ready


def _try_site(board: Board, p: Problem, s: int, upto: int) -> bool:
    """Place every visit of site `s` as late as possible by week `upto`, or none of them."""
    placed: list[int] = []
    for v in sorted(p.site_visits[s], key=lambda v: -p.v_minutes[v]):
        w = board.latest(v, upto)
        if w < 0:
            for u in placed:
                board.remove(u)
            return False
        board.place(v, w)
        placed.append(v)
    return True


def _reserve_for_milestones(
    p: Problem, board: Board, rank: np.ndarray, constrained_first: bool = True
) -> None:
    """Commit enough sites to each milestone and reserve them as late as its date allows.

    Sites are chosen in `rank` order (lowest first) and placed in reverse, so the ones the order
    would do last take the last weeks before the date, as in the relaxation it came from."""
    ready = _site_ready(p)
    candidates = np.argsort(rank, kind="stable")
    committed = np.zeros(p.n_sites, dtype=bool)
    open_weeks = np.cumsum(p.masks, axis=1)[p.v_mask]  # per visit, open weeks up to each week
    count = 0
    for m_week, need in zip(p.ms_week, p.ms_need, strict=True):
        if m_week < 0 or count >= need:
            continue
        pool = [int(s) for s in candidates if not committed[s] and ready[s] <= m_week]
        chosen, rest = pool[: need - count], pool[need - count :]
        # sites with closed weeks go first, fewest open weeks first (most constrained first);
        # the rest in reverse rank
        flex = np.full(p.n_sites, p.weeks, dtype=np.int64)
        np.minimum.at(flex, p.v_site, open_weeks[:, m_week])
        full = m_week + 1
        position = {s: i for i, s in enumerate(chosen)}
        keys = {
            s: (int(flex[s]) if constrained_first and flex[s] < full else full, -position[s]) for s in chosen
        }
        for s in sorted(chosen, key=keys.__getitem__):
            if _try_site(board, p, s, m_week):
                committed[s] = True
                count += 1
        failures = 0
        for s in rest:  # replacements for the ones that did not fit
            if count >= need or failures > 2000:
                break
            if _try_site(board, p, s, m_week):
                committed[s] = True
                count += 1
                failures = 0
            else:
                failures += 1


def _site_rank(p: Problem, key: np.ndarray) -> np.ndarray:
    """A per-site rank from a per-visit key: the site's largest key."""
    rank = np.full(p.n_sites, -np.inf)
    np.maximum.at(rank, p.v_site, key.astype(np.float64))
    return rank


def heuristic_schedule(p: Problem, alpha: np.ndarray | None = None, quick: bool = False) -> Schedule:
    """The heuristic's best schedule by objective."""
    return heuristic_candidates(p, alpha, quick)[0]


def heuristic_candidates(p: Problem, alpha: np.ndarray | None = None, quick: bool = False) -> list[Schedule]:
    """Several list schedules, best objective first; the last is the lowest-exposure one when it
    misses a milestone (a good place for search to start repairing from).

    Orders: risk density, and (when given) the lower bound's alpha-points, which know about budgets,
    access windows and the final deadline. When an order misses a milestone, it is run again after
    reserving milestone sites, chosen by the order itself, smallest-first (most sites per
    crew-hour), and money-heavy-last (when a year's budget binds). `quick` keeps only the runs in
    the last order (alpha when given): for re-planning what-ifs in a diagnosis."""
    density = p.v_risk / np.maximum(p.v_minutes, 1)
    site_minutes = np.zeros(p.n_sites, dtype=np.int64)
    np.add.at(site_minutes, p.v_site, p.v_minutes)
    runs: list[tuple[np.ndarray, np.ndarray]] = [(density_order(p), _site_rank(p, -density))]
    if alpha is not None:
        order = np.lexsort((np.arange(p.n_visits), -density, alpha))
        runs.append((order, _site_rank(p, alpha)))
    if quick:
        runs = runs[-1:]
    found: list[tuple[float, float, Schedule]] = []  # (objective, exposure, schedule)

    def consider(s: Schedule) -> None:
        ev = evaluate(p, s)
        found.append((ev.objective, ev.exposure, s.copy()))

    for order, _ in runs:
        board = Board(p)
        _forward(board, order)
        _forward(board, order)
        consider(board.s)
    if any(evaluate(p, s).shortfall for *_, s in found):
        site_pence = np.zeros(p.n_sites)
        np.add.at(site_pence, p.v_site, p.v_pence.astype(np.float64))
        site_risk = np.zeros(p.n_sites)
        np.add.at(site_risk, p.v_site, p.v_risk)
        # money-heavy, low-risk sites last: reserved first into the last weeks before a date, which
        # moves the most spend into a later year when this year's budget is what binds
        money_last = site_pence / np.maximum(site_risk, 1e-9)
        reserve_runs = [
            (runs[-1][0], runs[-1][1], False),
            *[(order, rank, True) for order, rank in runs],
            (runs[0][0], site_minutes.astype(np.float64), True),
            (runs[-1][0], money_last, True),
        ]
        if quick:
            reserve_runs = [reserve_runs[1], reserve_runs[-1]]
        for order, rank, constrained_first in reserve_runs:
            board = Board(p)
            _reserve_for_milestones(p, board, rank, constrained_first)
            _forward(board, order)
            _forward(board, order)
            consider(board.s)
    found.sort(key=lambda f: f[0])
    best = found[0][2]
    if any(evaluate(p, best).shortfall):
        board = Board(p, best)
        _repair_milestones(p, board)
        _forward(board, runs[-1][0])
        consider(board.s)
        found.sort(key=lambda f: f[0])
    out = [found[0][2]]
    closest = min(found, key=lambda f: f[1])
    if closest[2] is not out[0] and closest[0] > found[0][0]:
        out.append(closest[2])
    return out


def _repair_milestones(p: Problem, board: Board, tries: int = 200) -> None:
    """Pull late sites in before a missed milestone by freeing money: when a late visit has crew
    time before the date only in a year whose budget is spent, move the least risky visit that
    pays for it into another year that has both room and money (before its own deadline).

    Budgets are the usual reason a list schedule misses the final date: it spends a year's money
    on whatever comes first and leaves the rest for the few weeks of the next year."""
    ev = evaluate(p, board.s)
    ms_order = np.argsort(p.ms_week)
    ready = _site_ready(p)
    for m in ms_order:
        W, short = p.ms_week[m], ev.shortfall[m]
        if W < 0 or short <= 0:
            continue
        clear = site_clear_weeks(p, board.s)
        slack = [c - need for c, need in zip(evaluate(p, board.s).cleared, p.ms_need, strict=True)]
        site_minutes = np.zeros(p.n_sites, dtype=np.int64)
        np.add.at(site_minutes, p.v_site, p.v_minutes)
        late = [int(x) for x in np.argsort(site_minutes, kind="stable") if clear[x] > W and ready[x] <= W]
        for site in late:
            if short <= 0:
                break
            if _pull_in(p, board, site, W, slack, tries):
                short -= 1
        ev = evaluate(p, board.s)


def _pull_in(p: Problem, board: Board, site: int, W: int, slack: list[int], tries: int) -> bool:
    """Bring every visit of `site` to a week <= W, moving others for money if needed; all or nothing."""
    saved, saved_slack = board.s.copy(), list(slack)
    for v in p.site_visits[site]:
        if 0 <= board.s.week[v] <= W:
            continue
        board.remove(v)
        w = board.earliest(v, upto=W)
        if w < 0 and _free_money(p, board, v, site, W, slack, tries):
            w = board.earliest(v, upto=W)
        if w < 0:
            _restore(board, saved)
            slack[:] = saved_slack
            return False
        board.place(v, w)
    return True


def _free_money(p: Problem, board: Board, v: int, site: int, W: int, slack: list[int], tries: int) -> bool:
    open_weeks = p.masks[p.v_mask[v]][: W + 1] & (board.region_max[p.v_region[v]][: W + 1] >= p.v_minutes[v])
    if not open_weeks.any():
        return False
    for f in np.unique(p.week_fy[: W + 1][open_weeks]):
        deficit = int(p.v_pence[v] - board.budget[f])
        in_year = np.flatnonzero((board.s.week >= 0) & (p.week_fy[np.maximum(board.s.week, 0)] == f))
        in_year = in_year[(p.v_site[in_year] != site) & (p.v_pence[in_year] >= deficit)]
        clear = site_clear_weeks(p, board.s)
        for u in in_year[np.argsort(p.v_risk[in_year], kind="stable")][:tries]:
            u = int(u)
            current = int(board.s.week[u])
            limit = latest_week_keeping_milestones(p, clear, slack, u)
            board.remove(u)
            ok = board.feasible(u)
            ok[limit + 1 :] = False
            ok &= p.week_fy != f
            target = np.flatnonzero(ok)
            if target.size:
                # the nearest week to where it was keeps the exposure increase small
                w = int(target[np.argmin(np.abs(target - current))])
                board.place(u, w)
                _update_slack(p, board, slack, u, current, w, clear)
                return True
            board.place(u, current)
    return False


def _update_slack(
    p: Problem, board: Board, slack: list[int], u: int, old: int, new: int, clear: np.ndarray
) -> None:
    now = site_clear_weeks(p, board.s)[p.v_site[u]]
    for m, mw in enumerate(p.ms_week):
        if clear[p.v_site[u]] <= mw < now:
            slack[m] -= 1


def _restore(board: Board, saved: Schedule) -> None:
    for v in np.flatnonzero(board.s.week >= 0):
        board.remove(int(v))
    for v in np.flatnonzero(saved.week >= 0):
        board.s.week[v] = -1
        w, c = int(saved.week[v]), int(saved.crew[v])
        board.rem[c, w] -= board.p.v_minutes[v]
        board.budget[board.p.week_fy[w]] -= board.p.v_pence[v]
        board.s.week[v], board.s.crew[v] = w, c
    for r, crews in enumerate(board.p.region_crews):
        if crews:
            board.region_max[r] = board.rem[crews].max(axis=0)


__all__ = ["Board", "heuristic_candidates", "heuristic_schedule"]
