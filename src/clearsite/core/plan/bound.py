"""Lower bounds on the planner's objective, so every plan can report an honest gap.

Objective = exposure + milestone penalty; each part gets its own bound and the sum bounds the sum.

- Exposure: drop integrality, crews (keep each region's total hours per week), and budgets (or
  price them with Lagrange multipliers). What remains is, per region, a transport problem:
  visits ship crew-minutes to the weeks they may use, at cost risk-per-minute x (week + 1), or to
  "after the horizon" at (weeks + 1). Min-cost flow solves it exactly; costs are rounded *down*
  to integers so the bound stays valid.
- A milestone that needs every site (the final "all by" date) goes into the same flow: a site
  with a fraction f of its minutes after the date is charged f x penalty, which is at most what
  the plan pays (the whole penalty for any late site).
- Other milestones: a milestone needs N sites; no plan clears more sites by its date than fit in
  each region's crew-hours up to then (smallest sites first), nor than the budget of the years up
  to then buys (cheapest sites first). The shortfall below the smaller of the two is unavoidable.
- When the model is small, CP-SAT re-solves each region's part of the priced relaxation with whole
  visits in whole weeks (`tighten_by_region`); a region keeps the larger of its two bounds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
from ortools.graph.python import min_cost_flow
from ortools.sat.python import cp_model

from clearsite.core.plan.prepare import UNLIMITED, Problem
from clearsite.core.plan.schedule import Schedule

COST_CEILING = 1_000_000_000  # largest integer arc cost; min-cost flow scales costs by the node count


@dataclass(frozen=True)
class Bound:
    exposure: float  # exposure, plus the penalty of milestones that need every site
    penalty: float  # penalty floor of the other milestones
    method: str
    alpha: np.ndarray | None = None  # the relaxation's alpha-point per visit (orders the heuristic)
    detail: ExposureBound | None = None  # the exposure bound's prices and parts per region

    @property
    def value(self) -> float:
        return self.exposure + self.penalty


def region_initial_max(p: Problem) -> np.ndarray:
    out = np.zeros((len(p.regions), p.weeks), dtype=np.int64)
    for r, crews in enumerate(p.region_crews):
        if crews:
            out[r] = p.crew_cap[crews].max(axis=0)
    return out


def visit_weeks(p: Problem) -> np.ndarray:
    """(visits, weeks) bool: weeks a visit could use at all: site open and one crew-week big enough."""
    rmax = region_initial_max(p)
    weeks: np.ndarray = p.masks[p.v_mask] & (rmax[p.v_region] >= p.v_minutes[:, None])
    return weeks


class _FlowBound:
    """Per-region transport problems, re-solvable with new budget prices."""

    def __init__(self, p: Problem) -> None:
        self.p = p
        self.allowed = visit_weeks(p)
        self.region_cap = np.zeros((len(p.regions), p.weeks), dtype=np.int64)
        for r, crews in enumerate(p.region_crews):
            if crews:
                self.region_cap[r] = p.crew_cap[crews].sum(axis=0)
        self.rho = p.v_risk / np.maximum(p.v_minutes, 1)  # risk per crew-minute
        self.kappa = p.v_pence / np.maximum(p.v_minutes, 1)  # pence per crew-minute
        self.week_factor = np.arange(1, p.weeks + 1, dtype=np.float64)
        # all-sites milestones: penalty per late minute of a site, times how many such dates a week misses
        self.all_sites = all_sites_milestones(p)
        site_minutes = np.zeros(p.n_sites, dtype=np.int64)
        np.add.at(site_minutes, p.v_site, p.v_minutes)
        complete = p.site_complete[p.v_site]
        self.late_rate = np.where(complete, p.penalty / np.maximum(site_minutes[p.v_site], 1), 0.0)
        self.missed = np.array(
            [sum(1 for m in self.all_sites if w > p.ms_week[m]) for w in range(p.weeks)], dtype=np.float64
        )
        # sites that can never clear pay the whole penalty for each such milestone
        self.const = p.penalty * len(self.all_sites) * int((~p.site_complete).sum())

    def solve(self, price: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Min over the relaxation of exposure + sum(price[fy] x spend[fy]).

        Returns (value, spend per fy in pence, alpha-point per visit): the week by which the
        relaxation has done half of a visit (weeks when it never does), which orders the heuristic."""
        value, spend, alpha, _ = self.solve_by_region(price)
        return value, spend, alpha

    def solve_by_region(self, price: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """As `solve`, and each region's own part of the value (without the constant)."""
        p = self.p
        H = p.weeks
        total = 0.0
        by_region = np.zeros(len(p.regions))
        spend = np.zeros(len(p.fys))
        alpha = np.full(p.n_visits, float(H))
        week_price = price[p.week_fy]  # per week
        for r in range(len(p.regions)):
            vs = np.flatnonzero(p.v_region == r)
            if vs.size == 0:
                continue
            # per-minute cost of visit v in week w, and after the horizon
            cost = (
                self.rho[vs, None] * self.week_factor[None, :]
                + self.kappa[vs, None] * week_price[None, :]
                + self.late_rate[vs, None] * self.missed[None, :]
            )
            late = self.rho[vs] * (H + 1) + self.late_rate[vs] * len(self.all_sites)
            top = max(float(cost[self.allowed[vs]].max(initial=0.0)), float(late.max(initial=0.0)), 1e-12)
            scale = COST_CEILING / top
            vi, wi = np.nonzero(self.allowed[vs])  # sorted by visit, then week
            n = vs.size
            late_node, sink = n + H, n + H + 1
            tails = np.concatenate([vi, np.arange(n), n + np.arange(H), [late_node]])
            heads = np.concatenate([n + wi, np.full(n, late_node), np.full(H, sink), [sink]])
            minutes = p.v_minutes[vs]
            total_minutes = int(minutes.sum())
            caps = np.concatenate([minutes[vi], minutes, self.region_cap[r], [total_minutes]])
            unit = np.concatenate(
                [np.floor(cost[vi, wi] * scale), np.floor(late * scale), np.zeros(H), [0.0]]
            ).astype(np.int64)
            flow = min_cost_flow.SimpleMinCostFlow()
            arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, unit)
            supplies = np.concatenate([minutes, np.zeros(H + 1, dtype=np.int64), [-total_minutes]])
            flow.set_nodes_supplies(np.arange(n + H + 2), supplies)
            status = flow.solve()
            if status != flow.OPTIMAL:
                raise RuntimeError(f"lower-bound flow for region {p.regions[r]} failed: status {status}")
            by_region[r] = flow.optimal_cost() / scale
            total += by_region[r]
            f = flow.flows(arcs[: vi.size]).astype(np.float64)
            np.add.at(spend, p.week_fy[wi], f * self.kappa[vs][vi])
            # alpha-point: first week where the visit's cumulative flow reaches half its minutes
            cum = np.cumsum(f)
            seg_start = np.searchsorted(vi, np.arange(n))
            before = np.where(seg_start > 0, cum[np.maximum(seg_start - 1, 0)], 0.0)
            hit = (cum - before[vi]) >= 0.5 * minutes[vi]
            first_v, first_i = np.unique(vi[hit], return_index=True)
            alpha[vs[first_v]] = wi[np.flatnonzero(hit)[first_i]]
        return total + self.const, spend, alpha, by_region


@dataclass(frozen=True)
class ExposureBound:
    value: float
    method: str
    alpha: np.ndarray  # alpha-points of the relaxation at the best prices
    prices: np.ndarray  # pence price per fy (0 when the budget does not bind)
    region_values: np.ndarray | None = None  # each region's flow value at `prices` (None: not kept)

    @property
    def constant(self) -> float:
        """The part of `value` that is no region's: value - sum(region_values)."""
        return self.value - float(self.region_values.sum()) if self.region_values is not None else 0.0


def exposure_bound(p: Problem, deadline: float | None = None) -> ExposureBound:
    """Valid lower bound on exposure. When budgets bind, their Lagrange prices are found by
    bisection, one year at a time: L(price) = flow(price) - sum(price x budget) is concave and a
    valid bound at every price, and its slope (spend - budget) falls as the price rises."""
    fb = _FlowBound(p)
    const = p.unscheduled_risk * p.horizon_exposure()
    price = np.zeros(len(p.fys))
    best, spend, alpha, regions_best = fb.solve_by_region(price)
    best_price = price.copy()
    limited = p.fy_budget < UNLIMITED
    budget = np.where(limited, p.fy_budget, 0).astype(np.float64)
    binding = np.flatnonzero(limited & (spend > budget))
    method = "flow relaxation per region (capacity, access" + (", final milestone)" if fb.all_sites else ")")
    if binding.size == 0:
        return ExposureBound(best + const, method, alpha, price, regions_best)
    # above this price no visit is worth paying for (every arc costs more than "after the horizon")
    paying = p.v_pence > 0
    late = fb.rho * (p.weeks + 1) + fb.late_rate * len(fb.all_sites)
    top = float((late[paying] / fb.kappa[paying]).max()) if paying.any() else 1.0
    for _sweep in range(2 if binding.size > 1 else 1):
        for f in binding:
            lo, hi = 0.0, top
            for _ in range(12):
                if deadline is not None and time.monotonic() > deadline:
                    break
                mid = (lo * hi) ** 0.5 if lo > 0 else hi / 1024
                price[f] = mid
                value, spend, a, by_region = fb.solve_by_region(price)
                value -= float(np.dot(price, budget))
                if value > best:
                    best, alpha, best_price, regions_best = value, a, price.copy(), by_region
                if spend[f] > budget[f]:
                    lo = mid
                else:
                    hi = mid
            price[f] = best_price[f]
    return ExposureBound(
        best + const, method + " + Lagrangian budget prices", alpha, best_price, regions_best
    )


def all_sites_milestones(p: Problem) -> list[int]:
    """Milestones that need every site in the plan: their penalty is bounded inside the flow."""
    return [m for m, need in enumerate(p.ms_need) if p.n_sites > 0 and need >= p.n_sites]


def eligible_sites(p: Problem, upto_week: int) -> np.ndarray:
    """Sites whose every visit has a usable week on or before `upto_week`."""
    if upto_week < 0:
        return np.zeros(p.n_sites, dtype=bool)
    ok_visit = visit_weeks(p)[:, : upto_week + 1].any(axis=1)
    ok = np.ones(p.n_sites, dtype=bool)
    np.logical_and.at(ok, p.v_site, ok_visit)
    has_visit = np.zeros(p.n_sites, dtype=bool)
    has_visit[p.v_site] = True
    eligible: np.ndarray = ok & p.site_complete & has_visit
    return eligible


def site_totals(p: Problem) -> tuple[np.ndarray, np.ndarray]:
    minutes = np.zeros(p.n_sites, dtype=np.int64)
    pence = np.zeros(p.n_sites, dtype=np.int64)
    np.add.at(minutes, p.v_site, p.v_minutes)
    np.add.at(pence, p.v_site, p.v_pence)
    return minutes, pence


def max_sites_by(p: Problem, upto_week: int) -> tuple[int, int, int]:
    """Upper bounds on sites clearable by a week: (access, capacity, budget)."""
    eligible = eligible_sites(p, upto_week)
    n_access = int(eligible.sum())
    if upto_week < 0:
        return 0, 0, 0
    minutes, pence = site_totals(p)
    site_region_idx = np.zeros(p.n_sites, dtype=np.int64)
    site_region_idx[p.v_site] = p.v_region
    n_cap = 0
    for r, crews in enumerate(p.region_crews):
        if not crews:
            continue
        cap = int(p.crew_cap[crews, : upto_week + 1].sum())
        sizes = np.sort(minutes[eligible & (site_region_idx == r)])
        n_cap += int(np.searchsorted(np.cumsum(sizes), cap, side="right"))
    fys = np.unique(p.week_fy[: upto_week + 1])
    if (p.fy_budget[fys] >= UNLIMITED).any():
        n_budget = n_access
    else:
        money = int(p.fy_budget[fys].sum())
        n_budget = int(np.searchsorted(np.cumsum(np.sort(pence[eligible])), money, side="right"))
    return n_access, n_cap, n_budget


def penalty_bound(p: Problem) -> tuple[float, list[int]]:
    """Penalty floor for the milestones the flow does not cover."""
    shortfalls: list[int] = []
    in_flow = set(all_sites_milestones(p))
    for m, (week, need) in enumerate(zip(p.ms_week, p.ms_need, strict=True)):
        if m in in_flow:
            shortfalls.append(0)
            continue
        most = min(max_sites_by(p, week))
        shortfalls.append(max(0, need - most))
    return p.penalty * sum(shortfalls), shortfalls


def lower_bound(p: Problem, deadline: float | None = None) -> Bound:
    exposure = exposure_bound(p, deadline)
    penalty, _ = penalty_bound(p)
    return Bound(
        exposure.value,
        penalty,
        exposure.method + "; milestone counts by capacity, budget and access",
        exposure.alpha,
        exposure,
    )


def tighten_by_region(
    p: Problem, bound: Bound, hint: Schedule, deadline: float, workers: int = 2, max_vars: int = 20_000
) -> Bound:
    """Raise the exposure bound region by region with CP-SAT, keeping the flow's budget prices.

    At fixed prices the Lagrangian splits into one problem per region (crews and access are
    regional; money is priced; the all-sites milestone is charged per site). The flow solves each
    with visits split across weeks; CP-SAT solves the same problem with whole visits in whole weeks
    (crews pooled per region: a relaxation), and its proven bound is as valid as the flow's, so
    each region keeps the larger of the two. Small regions solve to optimality in well under a
    second, which closes most of the flow's integrality gap; regions too big for the time left
    keep the flow's value."""
    detail = bound.detail
    if detail is None or detail.region_values is None or p.n_visits == 0:
        return bound
    allowed = visit_weeks(p)
    order = sorted(range(len(p.regions)), key=lambda r: int(allowed[p.v_region == r].sum()))
    best = detail.region_values.copy()
    solved = 0
    for i, r in enumerate(order):
        remaining = deadline - time.monotonic()
        if remaining < 0.05:
            break
        vs = np.flatnonzero(p.v_region == r)
        if vs.size == 0 or int(allowed[vs].sum()) > max_vars:
            continue
        value = _region_cpsat_bound(
            p, r, vs, allowed, detail.prices, hint, remaining / (len(order) - i), workers
        )
        if value is not None and value > best[r]:
            best[r] = value
            solved += 1
    if solved == 0:
        return bound
    gain = float(best.sum() - detail.region_values.sum())
    return replace(
        bound,
        exposure=bound.exposure + gain,
        method=bound.method
        + f"; CP-SAT per region at the same prices ({solved} of {len(p.regions)} regions)",
    )


def _region_cpsat_bound(
    p: Problem,
    r: int,
    vs: np.ndarray,
    allowed: np.ndarray,
    price: np.ndarray,
    hint: Schedule,
    time_limit: float,
    workers: int,
) -> float | None:
    """Proven lower bound on region r's part of the Lagrangian at `price` (coefficients rounded down)."""
    scale = 1000.0
    H = p.weeks
    crews = p.region_crews[r]
    cap = p.crew_cap[crews].sum(axis=0) if crews else np.zeros(H, dtype=np.int64)
    biggest = p.crew_cap[crews].max(axis=0) if crews else np.zeros(H, dtype=np.int64)
    all_sites = all_sites_milestones(p)
    model = cp_model.CpModel()
    terms: list[cp_model.IntVar] = []
    coefs: list[int] = []
    by_week: dict[int, list[tuple[cp_model.IntVar, int]]] = {}
    late_after: dict[int, list[tuple[int, cp_model.IntVar]]] = {}  # site -> (week or H, var)
    hints: list[tuple[cp_model.IntVar, bool]] = []
    for v in map(int, vs):
        choices = []
        for w in map(int, np.flatnonzero(allowed[v] & (biggest >= p.v_minutes[v]))):
            x = model.new_bool_var(f"x{v}_{w}")
            choices.append(x)
            by_week.setdefault(w, []).append((x, int(p.v_minutes[v])))
            cost = p.v_risk[v] * (w + 1) + price[p.week_fy[w]] * p.v_pence[v]
            terms.append(x)
            coefs.append(math.floor(cost * scale))
            late_after.setdefault(int(p.v_site[v]), []).append((w, x))
            hints.append((x, bool(hint.week[v] == w)))
        u = model.new_bool_var(f"u{v}")
        terms.append(u)
        coefs.append(math.floor(p.v_risk[v] * (H + 1) * scale))
        late_after.setdefault(int(p.v_site[v]), []).append((H, u))
        hints.append((u, bool(hint.week[v] < 0)))
        model.add_exactly_one([*choices, u])
    for w, pairs in by_week.items():
        if sum(m for _, m in pairs) > cap[w]:
            model.add(
                cp_model.LinearExpr.weighted_sum([x for x, _ in pairs], [m for _, m in pairs]) <= int(cap[w])
            )
    penalty = math.floor(p.penalty * scale)
    for site, options in late_after.items():
        if not p.site_complete[site]:
            continue  # never clear: the constant outside the regions pays for it
        for m in all_sites:
            late = model.new_bool_var(f"late{site}_{m}")
            for w, x in options:
                if w > p.ms_week[m]:
                    model.add_implication(x, late)
            terms.append(late)
            coefs.append(penalty)
    model.minimize(cp_model.LinearExpr.weighted_sum(terms, coefs))
    for x, value in hints:
        model.add_hint(x, value)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(time_limit, 0.05)
    solver.parameters.num_workers = max(1, workers)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return solver.best_objective_bound / scale


__all__ = ["Bound", "eligible_sites", "lower_bound", "max_sites_by", "site_totals", "tighten_by_region"]
