"""The exact model: CP-SAT over (visit, crew, week) booleans, warm-started from a schedule.

The same builder serves the whole problem (every visit free: the bound it proves is a bound on the
plan) and large-neighbourhood search (a few hundred visits free, the rest fixed: their crew time,
money and cleared sites are taken as given).

Risk and the milestone penalty are scaled to integers and rounded *down*, so CP-SAT's proven
bound, scaled back, is still a valid lower bound on the true objective; with risks that are
multiples of 1/RISK_SCALE the rounding is exact and "optimal" means optimal.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from clearsite.core.plan.bound import visit_weeks
from clearsite.core.plan.prepare import UNLIMITED, Problem
from clearsite.core.plan.schedule import NOT_CLEARED, Schedule, site_clear_weeks

RISK_SCALE = 1000


@dataclass(frozen=True)
class CpResult:
    schedule: Schedule | None
    bound: float  # lower bound on the true objective (only when every visit was free)
    status: str  # optimal | feasible | unknown | infeasible | model_invalid
    variables: int
    wall_time: float


def count_variables(p: Problem) -> int:
    """How many (visit, crew, week) booleans the full model would have, checked before building."""
    allowed = visit_weeks(p)
    total = 0
    for r, crews in enumerate(p.region_crews):
        vs = np.flatnonzero(p.v_region == r)
        if vs.size == 0 or not crews:
            continue
        fits = p.crew_cap[crews][None, :, :] >= p.v_minutes[vs][:, None, None]  # (v, c, w)
        total += int((fits & allowed[vs][:, None, :]).sum())
    return total


def solve_cpsat(
    p: Problem,
    hint: Schedule,
    time_limit: float,
    workers: int = 2,
    seed: int = 0,
    target_gap: float = 0.0,
    free: np.ndarray | None = None,
    week_ok: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    crews_per_visit: int | None = None,
) -> CpResult:
    """Optimise the weeks and crews of the `free` visits (all when None), the rest held as in `hint`.

    `week_ok` (visits x weeks) narrows where free visits may go, and `crews_per_visit` how many of
    its region's crews each may use (its own and others at random: regions with many alike crews
    would otherwise multiply the model); a free visit may always stay put."""
    model = cp_model.CpModel()
    H = p.weeks
    allowed = visit_weeks(p) if allowed is None else allowed
    free = np.ones(p.n_visits, dtype=bool) if free is None else free
    free_idx = np.flatnonzero(free)
    whole = bool(free.all())
    risk_int = np.floor(p.v_risk * RISK_SCALE + 1e-9).astype(np.int64)
    penalty_int = math.floor(p.penalty * RISK_SCALE + 1e-9)

    # what the fixed visits leave: crew minutes, money, and which sites they already keep late
    cap = p.crew_cap.copy()
    budget = p.fy_budget.copy()
    fixed = np.flatnonzero(~free & (hint.week >= 0))
    np.subtract.at(cap, (hint.crew[fixed], hint.week[fixed]), p.v_minutes[fixed])
    np.subtract.at(budget, p.week_fy[hint.week[fixed]], p.v_pence[fixed])
    fixed_weeks = np.where(hint.week >= 0, hint.week, NOT_CLEARED)
    fixed_late = np.full(p.n_sites, -1, dtype=np.int64)  # latest fixed visit per site
    np.maximum.at(fixed_late, p.v_site[~free], fixed_weeks[~free])

    x: dict[tuple[int, int, int], cp_model.IntVar] = {}
    by_crew_week: dict[tuple[int, int], list[tuple[cp_model.IntVar, int]]] = defaultdict(list)
    by_fy: dict[int, list[tuple[cp_model.IntVar, int]]] = defaultdict(list)
    obj_vars: list[cp_model.IntVar] = []
    obj_coefs: list[int] = []
    unscheduled: dict[int, cp_model.IntVar] = {}
    done_by: list[dict[int, list[cp_model.IntVar]]] = [defaultdict(list) for _ in p.ms_week]

    rng = np.random.default_rng(seed)
    for v in map(int, free_idx):
        r = int(p.v_region[v])
        ok = allowed[v] if week_ok is None else allowed[v] & week_ok[v]
        choices: list[cp_model.IntVar] = []
        current = (int(hint.crew[v]), int(hint.week[v])) if hint.week[v] >= 0 else None
        crews = p.region_crews[r]
        if crews_per_visit is not None and len(crews) > crews_per_visit:
            others = [c for c in crews if current is None or c != current[0]]
            picked = rng.choice(others, size=crews_per_visit - (current is not None), replace=False)
            crews = sorted({*(int(c) for c in picked), *([current[0]] if current else [])})
        for w in map(int, np.flatnonzero(ok)):
            for c in crews:
                if cap[c, w] < p.v_minutes[v] and (c, w) != current:
                    continue
                choices.append(_option(model, v, c, w, x, by_crew_week, by_fy, done_by, p))
        if current is not None and (v, *current) not in x:
            choices.append(_option(model, v, current[0], current[1], x, by_crew_week, by_fy, done_by, p))
        u = model.new_bool_var(f"u{v}")
        unscheduled[v] = u
        obj_vars.append(u)
        obj_coefs.append(int(risk_int[v]) * (H + 1))
        model.add_exactly_one([*choices, u])
    for (v, _, w), var in x.items():
        obj_vars.append(var)
        obj_coefs.append(int(risk_int[v]) * (w + 1))

    for (c, w), pairs in by_crew_week.items():
        if sum(m for _, m in pairs) > cap[c, w]:
            model.add(
                cp_model.LinearExpr.weighted_sum([v for v, _ in pairs], [m for _, m in pairs])
                <= int(cap[c, w])
            )
    for f, pairs in by_fy.items():
        if p.fy_budget[f] < UNLIMITED and sum(pence for _, pence in pairs) > budget[f]:
            model.add(
                cp_model.LinearExpr.weighted_sum([v for v, _ in pairs], [pence for _, pence in pairs])
                <= int(budget[f])
            )

    # milestones: sites with no free visit count as they are; the others are decided here
    touched = np.zeros(p.n_sites, dtype=bool)
    touched[p.v_site[free_idx]] = True
    base_clear = site_clear_weeks(p, hint)
    shorts: list[tuple[int, cp_model.IntVar, dict[int, cp_model.IntVar]]] = []
    for m, (mw, need) in enumerate(zip(p.ms_week, p.ms_need, strict=True)):
        if need <= 0:
            continue
        already = int(np.count_nonzero((base_clear <= mw) & ~touched)) if mw >= 0 else 0
        if already >= need:
            continue
        done: dict[int, cp_model.IntVar] = {}
        if mw >= 0:
            for s in map(int, np.flatnonzero(touched & p.site_complete & (fixed_late <= mw))):
                vs = [v for v in p.site_visits[s] if free[v]]
                if any(not done_by[m][v] for v in vs):
                    continue  # some free visit of the site cannot be done by then
                d = model.new_bool_var(f"d{m}_{s}")
                for v in vs:
                    model.add(d <= sum(done_by[m][v]))
                done[s] = d
        short = model.new_int_var(0, need - already, f"short{m}")
        model.add(sum(done.values()) + short >= need - already)
        obj_vars.append(short)
        obj_coefs.append(penalty_int)
        shorts.append((m, short, done))

    model.minimize(cp_model.LinearExpr.weighted_sum(obj_vars, obj_coefs))

    for (v, c, w), var in x.items():
        model.add_hint(var, bool(hint.week[v] == w and hint.crew[v] == c))
    for v, u in unscheduled.items():
        model.add_hint(u, bool(hint.week[v] < 0))
    for m, short, done in shorts:
        got = 0
        for s, d in done.items():
            ok = bool(base_clear[s] <= p.ms_week[m])
            got += ok
            model.add_hint(d, ok)
        already = int(np.count_nonzero((base_clear <= p.ms_week[m]) & ~touched)) if p.ms_week[m] >= 0 else 0
        model.add_hint(short, max(0, p.ms_need[m] - already - got))

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(time_limit, 0.05)
    solver.parameters.num_workers = max(1, workers)
    solver.parameters.random_seed = seed
    if target_gap > 0:
        solver.parameters.relative_gap_limit = target_gap
    status = solver.solve(model)
    name = {
        cp_model.OPTIMAL: "optimal",
        cp_model.FEASIBLE: "feasible",
        cp_model.INFEASIBLE: "infeasible",
        cp_model.MODEL_INVALID: "model_invalid",
    }.get(status, "unknown")
    schedule: Schedule | None = None
    bound = 0.0
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        schedule = hint.copy()
        schedule.week[free_idx] = -1
        schedule.crew[free_idx] = -1
        for (v, c, w), var in x.items():
            if solver.boolean_value(var):
                schedule.week[v] = w
                schedule.crew[v] = c
        if whole:
            bound = solver.best_objective_bound / RISK_SCALE + p.unscheduled_risk * p.horizon_exposure()
    return CpResult(schedule, bound, name, len(x), solver.wall_time)


def _option(
    model: cp_model.CpModel,
    v: int,
    c: int,
    w: int,
    x: dict[tuple[int, int, int], cp_model.IntVar],
    by_crew_week: dict[tuple[int, int], list[tuple[cp_model.IntVar, int]]],
    by_fy: dict[int, list[tuple[cp_model.IntVar, int]]],
    done_by: list[dict[int, list[cp_model.IntVar]]],
    p: Problem,
) -> cp_model.IntVar:
    var = model.new_bool_var(f"x{v}_{c}_{w}")
    x[v, c, w] = var
    by_crew_week[c, w].append((var, int(p.v_minutes[v])))
    by_fy[int(p.week_fy[w])].append((var, int(p.v_pence[v])))
    for m, mw in enumerate(p.ms_week):
        if w <= mw:
            done_by[m][v].append(var)
    return var
