"""`make_plan`: inputs in, a plan with its lower bound, gap and shortfalls out. Pure: no I/O.

Steps: pack devices into site visits; lower bound (which also orders the heuristic); heuristic
schedules; large-neighbourhood search with CP-SAT; CP-SAT on the whole model when it fits;
diagnose missed milestones. `time_limit` covers all of it: when the heuristic misses a milestone,
the last quarter is kept for the diagnosis, which re-plans with the heuristic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import numpy as np

from clearsite.core.plan.bound import lower_bound, max_sites_by, tighten_by_region
from clearsite.core.plan.calendar import fy_label
from clearsite.core.plan.cpsat import count_variables, solve_cpsat
from clearsite.core.plan.diagnose import diagnose
from clearsite.core.plan.heuristic import Board, heuristic_candidates, heuristic_schedule
from clearsite.core.plan.improve import budget_exchange, swap_improve
from clearsite.core.plan.lns import improve_lns
from clearsite.core.plan.prepare import UNLIMITED, Problem, prepare
from clearsite.core.plan.result import (
    BudgetRow,
    CapacityRow,
    MilestoneResult,
    Plan,
    Shortfall,
    SolverStats,
    UnscheduledDevice,
    Visit,
)
from clearsite.core.plan.scenario import Scenario, apply_scenario
from clearsite.core.plan.schedule import Evaluation, Schedule, evaluate
from clearsite.core.plan.types import PlanInputs, PlanSettings


def make_plan(inputs: PlanInputs, settings: PlanSettings, scenario: Scenario | None = None) -> Plan:
    started = time.monotonic()
    deadline = started + settings.time_limit
    if scenario is not None:
        inputs = apply_scenario(inputs, scenario)
    p = prepare(inputs, settings)
    notes: list[str] = []
    t_prepared = time.monotonic()
    # the bound's budget prices refine by bisection; cap them at a third of the time
    bound = lower_bound(p, deadline=started + settings.time_limit / 3)
    lb = bound.value
    t_bound = time.monotonic()
    candidates = heuristic_candidates(p, bound.alpha)
    t_heuristic = time.monotonic()
    # swaps and budget exchanges are cheap and never make a plan worse: polish the best before
    # any search (slices of the plan cannot move money across a year's end as far as they can)
    # ...except that exchanges fill April's crew time, which search needs to pull late sites in
    # when the plan misses a milestone it could meet: then search gets all the time
    exchange_until = time.monotonic() + 0.15 * settings.time_limit
    if _avoidable_shortfall(p, candidates[0]):
        exchange_until = time.monotonic()
    candidates[0] = _polish(p, candidates[0], started + 0.5 * settings.time_limit, exchange_until)
    notes.append(
        f"seconds: prepare {t_prepared - started:.1f}, bound {t_bound - t_prepared:.1f}, "
        f"heuristic {t_heuristic - t_bound:.1f}, swaps and budget exchanges {time.monotonic() - t_heuristic:.1f}"
    )
    schedule = candidates[0]
    ev = evaluate(p, schedule)
    heuristic_objective = ev.objective
    final_deadline = deadline
    if any(ev.shortfall) and settings.diagnose:
        deadline = started + 0.75 * settings.time_limit  # keep a quarter for the diagnosis
    method, cp_status, cp_vars = "heuristic", None, 0

    if settings.solver != "heuristic" and p.n_visits and _gap(ev.objective, lb) > settings.target_gap:
        cp_vars = count_variables(p)
        whole_fits = cp_vars <= settings.cpsat_max_vars or settings.solver == "cpsat"
        if whole_fits:
            # small enough that each region's whole-visit problem solves in moments: a bound
            # that knows visits are not split across weeks (up to a tenth of the time)
            t_tight = time.monotonic()
            bound = tighten_by_region(
                p, bound, schedule, t_tight + 0.1 * settings.time_limit, settings.workers
            )
            lb = max(lb, bound.value)
            notes.append(f"seconds: bound per region {time.monotonic() - t_tight:.1f}")
        stop_at = lb / (1 - settings.target_gap) if settings.target_gap < 1 else None
        # large-neighbourhood search first (all the time when the whole model is too big, half
        # when it fits and the instance is not tiny), then CP-SAT on the whole model for a bound
        remaining = deadline - time.monotonic()
        lns_until = (
            deadline if not whole_fits else (time.monotonic() + remaining / 2 if p.n_visits > 200 else 0)
        )
        if lns_until > time.monotonic() + 0.5:
            seeds = candidates
            if len(seeds) > 1:
                # the lowest-exposure schedule misses a milestone; give search a quarter of the
                # time to repair it, then carry on from whichever is better
                split = time.monotonic() + (lns_until - time.monotonic()) / 4
                repaired, stats = improve_lns(p, seeds[1], split, settings.workers, settings.seed)
                notes.append(
                    f"LNS repair: {stats.improvements} improvements in {stats.iterations} CP-SAT solves"
                )
                if evaluate(p, repaired).objective < ev.objective:
                    schedule, ev, method = repaired, evaluate(p, repaired), "heuristic+lns"
            improved, stats = improve_lns(
                p, schedule, lns_until, settings.workers, settings.seed + 1, stop_at
            )
            notes.append(
                f"LNS: {stats.improvements} improvements in {stats.iterations} CP-SAT solves, {stats.seconds:.1f}s"
            )
            improved_ev = evaluate(p, improved)
            if improved_ev.objective < ev.objective - 1e-9:
                schedule, ev, method = improved, improved_ev, "heuristic+lns"
        remaining = deadline - time.monotonic()
        if not whole_fits:
            notes.append(
                f"CP-SAT whole model not run: {cp_vars:,} variables exceed the limit of {settings.cpsat_max_vars:,}"
            )
        elif remaining < 0.2:
            notes.append("CP-SAT whole model not run: no time left")
        elif _gap(ev.objective, lb) > settings.target_gap:
            cp = solve_cpsat(p, schedule, remaining, settings.workers, settings.seed, settings.target_gap)
            cp_status = cp.status
            if cp.schedule is not None:
                lb = max(lb, cp.bound)
                cp_ev = evaluate(p, cp.schedule)
                if cp_ev.objective < ev.objective - 1e-9:
                    schedule, ev, method = cp.schedule, cp_ev, "cpsat"

    if lb > ev.objective + 1e-6 * max(1.0, ev.objective):
        # cannot happen if the bounds are right; say so rather than fail a user's plan
        notes.append(f"BUG: lower bound {lb} above the objective {ev.objective}; clamped")
    lb = min(lb, ev.objective)
    gap = _gap(ev.objective, lb)

    shortfalls: list[Shortfall] = []
    if settings.diagnose and any(ev.shortfall):
        replan_settings = replace(settings, solver="heuristic", diagnose=False)
        shortfalls = diagnose(
            inputs,
            settings,
            p,
            schedule,
            ev,
            lambda base, sc: _replan_shortfall(base, replan_settings, sc),
            max(final_deadline, time.monotonic() + 2.0),
        )

    return _build(
        p,
        schedule,
        ev,
        lb,
        gap,
        shortfalls,
        SolverStats(
            method=method,
            lower_bound_method=bound.method
            + ("; CP-SAT bound" if cp_status in ("optimal", "feasible") else ""),
            cpsat_status=cp_status,
            cpsat_variables=cp_vars,
            visits=p.n_visits,
            sites=p.n_sites,
            devices=int(p.site_devices.sum()),
            weeks=p.weeks,
            wall_time=time.monotonic() - started,
            heuristic_objective=heuristic_objective,
            notes=tuple(notes),
        ),
        scenario.name if scenario else None,
    )


def compare_scenarios(
    inputs: PlanInputs, settings: PlanSettings, scenarios: Sequence[Scenario], include_base: bool = True
) -> list[Plan]:
    """One plan per scenario from the same inputs (the base plan first), for side-by-side reading."""
    plans = [replace(make_plan(inputs, settings), scenario="base")] if include_base else []
    plans.extend(make_plan(inputs, settings, sc) for sc in scenarios)
    return plans


def _replan_shortfall(inputs: PlanInputs, settings: PlanSettings, scenario: Scenario) -> list[int]:
    """Sites short of each milestone when the heuristic plans `scenario`. No bound here: it takes
    longer than the heuristic, and the base plan's alpha-points would steer by stale prices."""
    p = prepare(apply_scenario(inputs, scenario), settings)
    return evaluate(p, heuristic_schedule(p)).shortfall


def _polish(p: Problem, schedule: Schedule, swap_until: float, exchange_until: float) -> Schedule:
    """Swaps, then budget exchanges and swaps again while they still pay."""
    schedule = swap_improve(p, schedule, swap_until)
    objective = evaluate(p, schedule).objective
    while time.monotonic() < exchange_until:
        exchanged = budget_exchange(p, schedule, exchange_until)
        exchanged = swap_improve(p, exchanged, exchange_until)
        better = evaluate(p, exchanged).objective
        if better >= objective - 1e-9:
            break
        schedule, objective = exchanged, better
    return schedule


def _avoidable_shortfall(p: Problem, schedule: Schedule) -> bool:
    """Whether the schedule misses a milestone by more sites than access, crews or money force."""
    for m, short in enumerate(evaluate(p, schedule).shortfall):
        if short > max(0, p.ms_need[m] - min(max_sites_by(p, p.ms_week[m]))):
            return True
    return False


def _gap(objective: float, bound: float) -> float:
    if objective <= 0:
        return 0.0
    return max(0.0, (objective - bound) / objective)


def _why_unscheduled(p: Problem, board: Board, v: int) -> str:
    """Name the constraint that keeps a visit out of the plan, in the plan's final state."""
    end = p.grid.mondays[-1] + timedelta(days=4)
    what = f"visit of {len(p.v_devices[v])} device(s), {p.v_hours[v]:.1f} h, £{p.v_cost[v]:,.0f}"
    open_weeks = p.masks[p.v_mask[v]]
    crew_room = board.region_max[p.v_region[v]] >= p.v_minutes[v]
    money = board.budget[p.week_fy] >= p.v_pence[v]
    if not open_weeks.any():
        return f"no week with site access by {end} ({what})"
    if not (open_weeks & crew_room).any():
        return (
            f"crews in {p.regions[int(p.v_region[v])]} are fully booked in every open week by {end} ({what})"
        )
    if not (open_weeks & crew_room & money).any():
        years = sorted({fy_label(p.fys[int(p.week_fy[w])]) for w in np.flatnonzero(open_weeks & crew_room)})
        return f"the budget for {', '.join(years)} is spent in the weeks with access and crew time ({what})"
    return f"left out to meet other commitments within the horizon to {end} ({what})"


def _build(
    p: Problem,
    s: Schedule,
    ev: Evaluation,
    lb: float,
    gap: float,
    shortfalls: list[Shortfall],
    stats: SolverStats,
    scenario: str | None,
) -> Plan:
    g = p.grid
    visits: list[Visit] = []
    used = np.zeros((len(p.regions), p.weeks))
    spend = np.zeros(len(p.fys))
    for v in np.lexsort((np.arange(p.n_visits), s.crew, s.week)):
        w = int(s.week[v])
        if w < 0:
            continue
        site = int(p.v_site[v])
        r = int(p.v_region[v])
        used[r, w] += p.v_hours[v]
        spend[p.week_fy[w]] += p.v_cost[v]
        visits.append(
            Visit(
                site=p.site_names[site],
                department=p.site_department[site],
                region=p.regions[r],
                week=g.mondays[w],
                crew=p.crew_ids[int(s.crew[v])],
                hours=p.v_hours[v],
                cost=p.v_cost[v],
                devices=p.v_devices[v],
            )
        )
    capacity: list[CapacityRow] = []
    for r, crews in enumerate(p.region_crews):
        hours = p.crew_hours[crews].sum(axis=0) if crews else np.zeros(p.weeks)
        capacity.extend(
            CapacityRow(p.regions[r], g.mondays[w], float(hours[w]), float(used[r, w]))
            for w in range(p.weeks)
        )

    unscheduled = [UnscheduledDevice(u.device, u.site, u.reason) for u in p.unscheduled]
    board = Board(p, s)
    for v in np.flatnonzero(s.week < 0):
        reason = _why_unscheduled(p, board, int(v))
        site_name = p.site_names[int(p.v_site[v])]
        unscheduled.extend(UnscheduledDevice(d, site_name, reason) for d in p.v_devices[v])

    milestones = []
    for m, ms in enumerate(p.milestones):
        forecast = p.already_cleared + ev.cleared[m]
        share = forecast / p.total_sites if p.total_sites else 1.0
        milestones.append(
            MilestoneResult(
                date=ms.date,
                target_share=ms.target_share,
                forecast_share=share,
                met=ev.shortfall[m] == 0,
                target_sites=math.ceil(ms.target_share * p.total_sites - 1e-9),
                forecast_sites=forecast,
                note=ms.note,
            )
        )

    budget = [
        BudgetRow(
            fy_label(f), None if p.fy_budget[i] >= UNLIMITED else int(p.fy_budget[i]) / 100, float(spend[i])
        )
        for i, f in enumerate(p.fys)
    ]
    missed = any(ev.shortfall) or bool(unscheduled)
    status = "infeasible" if missed else ("optimal" if gap <= 1e-9 else "feasible")
    n_devices = int(p.site_devices.sum())
    return Plan(
        status=status,
        objective=ev.objective,
        lower_bound=lb,
        gap=gap,
        exposure=ev.exposure,
        penalty=ev.penalty,
        start=g.start,
        weeks=p.weeks,
        capacity=tuple(capacity),
        visits=tuple(visits),
        milestones=tuple(milestones),
        shortfalls=tuple(shortfalls),
        unscheduled=tuple(unscheduled),
        budget=tuple(budget),
        solver=stats,
        totals={
            "affected_sites": p.total_sites,
            "already_cleared_sites": p.already_cleared,
            "sites": p.n_sites,
            "devices": n_devices,
            "scheduled_devices": n_devices - len(unscheduled),
            "unscheduled_devices": len(unscheduled),
        },
        scenario=scenario,
        milestone_penalty=p.penalty,
    )
