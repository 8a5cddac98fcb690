"""Why a milestone is missed, and the smallest extra capacity or money that would meet it.

For each missed milestone:
1. access: if fewer sites can be reached by the date than it needs (windows, blackouts, lead
   times), no amount of crews or money helps; we say so and give the earliest date that could work;
2. otherwise the relaxations in `bound` give a floor: the least extra crew-hours per region (the
   smallest sites first, allocated across regions by marginal cost, which is optimal because each
   region's need grows convexly) and the least extra money in the years up to the date;
3. we then re-plan with that extra, as crews working the weeks just before the date and money in
   the milestone's year, growing it until the milestone is met or time runs out, and report
   whether the amount was shown to be enough (`verified`).
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable

import numpy as np

from clearsite.core.plan.bound import eligible_sites, max_sites_by, site_totals, visit_weeks
from clearsite.core.plan.calendar import friday, fy_label
from clearsite.core.plan.prepare import UNLIMITED, Problem
from clearsite.core.plan.result import Shortfall
from clearsite.core.plan.scenario import Scenario, extra_crew_weeks
from clearsite.core.plan.schedule import NOT_CLEARED, Evaluation, Schedule, site_clear_weeks
from clearsite.core.plan.types import PlanInputs, PlanSettings

# re-plans a scenario and returns the sites short of each milestone
Replanner = Callable[[PlanInputs, Scenario], list[int]]


def site_ready_weeks(p: Problem) -> np.ndarray:
    """The first week by which each site could be clear (every visit has a usable week)."""
    allowed = visit_weeks(p)
    first = np.where(allowed.any(axis=1), allowed.argmax(axis=1), NOT_CLEARED)
    ready = np.full(p.n_sites, -1, dtype=np.int64)
    np.maximum.at(ready, p.v_site, first)
    ready[(~p.site_complete) | (ready < 0)] = NOT_CLEARED
    return ready


def capacity_floor(p: Problem, week: int, need: int) -> dict[int, int]:
    """Least extra crew-minutes per region so `need` sites fit in crew time up to `week`."""
    eligible = eligible_sites(p, week)
    minutes, _ = site_totals(p)
    site_region = np.zeros(p.n_sites, dtype=np.int64)
    site_region[p.v_site] = p.v_region
    sizes: dict[int, np.ndarray] = {}
    caps: dict[int, int] = {}
    for r, crews in enumerate(p.region_crews):
        if not crews:
            continue
        sizes[r] = np.sort(minutes[eligible & (site_region == r)])
        caps[r] = int(p.crew_cap[crews, : week + 1].sum())
    taken = {r: 0 for r in sizes}
    used = {r: 0 for r in sizes}

    def marginal(r: int) -> int:
        k = taken[r]
        before = max(0, used[r] - caps[r])
        after = max(0, used[r] + int(sizes[r][k]) - caps[r])
        return after - before

    heap = [(marginal(r), r) for r in sizes if sizes[r].size]
    heapq.heapify(heap)
    extra: dict[int, int] = {}
    for _ in range(need):
        if not heap:
            break
        cost, r = heapq.heappop(heap)
        if cost:
            extra[r] = extra.get(r, 0) + cost
        used[r] += int(sizes[r][taken[r]])
        taken[r] += 1
        if taken[r] < sizes[r].size:
            heapq.heappush(heap, (marginal(r), r))
    return extra


def budget_floor(p: Problem, week: int, need: int) -> int:
    """Least extra pence across the limited years up to `week` so `need` sites can be paid for."""
    fys = np.unique(p.week_fy[: week + 1])
    if (p.fy_budget[fys] >= UNLIMITED).any():
        return 0
    _, pence = site_totals(p)
    cheapest = np.sort(pence[eligible_sites(p, week)])[:need]
    return max(0, int(cheapest.sum()) - int(p.fy_budget[fys].sum()))


def diagnose(
    inputs: PlanInputs,
    settings: PlanSettings,
    p: Problem,
    schedule: Schedule,
    evaluation: Evaluation,
    replan: Replanner,
    deadline: float,
) -> list[Shortfall]:
    out: list[Shortfall] = []
    clear = site_clear_weeks(p, schedule)
    done = schedule.week >= 0
    spend = np.bincount(p.week_fy[schedule.week[done]], weights=p.v_pence[done], minlength=len(p.fys))
    for m, short in enumerate(evaluation.shortfall):
        if short <= 0:
            continue
        ms = p.milestones[m]
        week, need = p.ms_week[m], p.ms_need[m]
        if week < 0:
            out.append(
                Shortfall(
                    ms.date,
                    "date",
                    f"{ms.date} falls before the end of the plan's first week ({friday(p.grid.first_monday)}); "
                    f"only the {p.already_cleared} sites already clear count towards it",
                )
            )
            continue
        n_access, n_cap, n_budget = max_sites_by(p, week)
        if n_access < need:
            ready = np.sort(site_ready_weeks(p))
            k = int(ready[need - 1]) if need <= ready.size else NOT_CLEARED
            later = friday(p.grid.mondays[k]) if k < p.weeks else None
            out.append(
                Shortfall(
                    ms.date,
                    "access",
                    f"{need} more sites must be clear by {ms.date}, but only {n_access} can be reached by then "
                    "(access windows, blackouts, replacement lead times, or work too big for one crew-week); "
                    "more crews or money cannot fix this"
                    + (f"; the earliest date enough sites can be reached is {later}" if later else ""),
                    later_date=later,
                )
            )
            continue
        out.extend(_extra_for(inputs, settings, p, m, clear, spend, n_cap, n_budget, replan, deadline))
    return out


def _extra_for(
    inputs: PlanInputs,
    settings: PlanSettings,
    p: Problem,
    m: int,
    clear: np.ndarray,
    spend: np.ndarray,
    n_cap: int,
    n_budget: int,
    replan: Replanner,
    deadline: float,
) -> list[Shortfall]:
    week, need = p.ms_week[m], p.ms_need[m]
    cap_floor = capacity_floor(p, week, need)
    money_floor = budget_floor(p, week, need)
    crew_hours = {
        r: max(c.hours_per_week for c in inputs.crews if c.region == p.regions[r])
        for r in range(len(p.regions))
        if p.region_crews[r]
    }
    # money goes to the limited year with the most weeks before the date: the most room to use it
    years = [int(f) for f in np.unique(p.week_fy[: week + 1]) if p.fy_budget[f] < UNLIMITED]
    fy = max(years, key=lambda f: int(np.count_nonzero(p.week_fy[: week + 1] == f))) if years else None
    remedies: list[tuple[dict[int, int], int]] = []  # (crew-weeks per region, pence)
    floor_weeks = {r: math.ceil(mins / 60 / crew_hours[r]) for r, mins in cap_floor.items() if mins > 0}
    if floor_weeks or money_floor:
        remedies.append((floor_weeks, money_floor if fy is not None else 0))
    else:
        # the relaxations allow it, the plan still misses (weekly packing, money by year, access
        # by week): try paying for the late sites earlier, then crew time for them before the date
        late = eligible_sites(p, week) & (clear > week)
        late_visits = np.flatnonzero(late[p.v_site])
        spent = [f for f in years if spend[f] >= 0.99 * p.fy_budget[f]]
        if spent and fy is not None:
            remedies.append(({}, int(p.v_pence[late_visits].sum())))
        late_minutes = np.bincount(
            p.v_region[late_visits], weights=p.v_minutes[late_visits], minlength=len(p.regions)
        )
        crew_weeks = {
            r: max(1, math.ceil(late_minutes[r] / 60 / crew_hours[r]))
            for r in crew_hours
            if late_minutes[r] > 0
        }
        if crew_weeks:
            remedies.append((crew_weeks, 0))
    verified = False
    scenario = Scenario("shortfall")
    for i, (crew_weeks, money) in enumerate(remedies):
        share_end = time.monotonic() + (deadline - time.monotonic()) / (len(remedies) - i)
        verified, scenario = _grow_until_met(
            inputs, p, m, week, crew_weeks, money, fy, crew_hours, replan, share_end
        )
        if verified:
            break
    short = need - int(np.count_nonzero(clear <= week))
    return _describe(p, m, scenario, cap_floor, money_floor, n_cap, n_budget, verified, short)


def _grow_until_met(
    inputs: PlanInputs,
    p: Problem,
    m: int,
    week: int,
    crew_weeks: dict[int, int],
    money: int,
    fy: int | None,
    crew_hours: dict[int, float],
    replan: Replanner,
    deadline: float,
) -> tuple[bool, Scenario]:
    """Re-plan with the remedy, growing it by a quarter each time, until the milestone is met."""
    scenario = Scenario("shortfall")
    for _ in range(8):
        if time.monotonic() > deadline:
            break
        scenario = Scenario(
            "shortfall",
            tuple(
                extra_crew_weeks(p.regions[r], k, p.grid.mondays, week, crew_hours[r])
                for r, k in crew_weeks.items()
            ),
            {p.fys[fy]: money / 100} if money and fy is not None else {},
        )
        try:
            shortfall = replan(inputs, scenario)
        except ValueError:
            break
        if shortfall[m] == 0:
            return True, scenario
        crew_weeks = {r: k + max(1, k // 4) for r, k in crew_weeks.items()}
        if money and fy is not None:
            money += max(money // 4, int(p.fy_budget[fy]) // 100)
    return False, scenario


def _describe(
    p: Problem,
    m: int,
    scenario: Scenario,
    cap_floor: dict[int, int],
    money_floor: int,
    n_cap: int,
    n_budget: int,
    verified: bool,
    short: int,
) -> list[Shortfall]:
    ms = p.milestones[m]
    need = p.ms_need[m]
    out: list[Shortfall] = []
    status = (
        "re-planning with it meets the milestone"
        if verified
        else "not shown to be enough in the time allowed"
    )
    if cap_floor or money_floor:
        why_cap = f"the crews planned have time for at most {n_cap}"
        why_money = f"the budgets up to then pay for at most {n_budget}"
    else:
        # the hours and money would do if work could be split freely; the way it cannot is the reason
        why_cap = why_money = (
            f"the plan clears {need - short}: crew hours and money up to then would cover all {need} if work "
            "could be split freely, but visits fill whole crew-weeks, sites open only in some weeks, and money "
            "is per financial year"
        )
    region_index = {name: i for i, name in enumerate(p.regions)}
    for extra in scenario.extra_crews:
        r = region_index[extra.region]
        weeks = (extra.end - extra.start).days // 7 + 1 if extra.end else 1
        hours = (extra.hours_per_week or 0) * extra.count * weeks
        floor_h = cap_floor.get(r, 0) / 60
        floor_text = (
            f"at least {floor_h:,.0f} more device-hours are needed in {extra.region}; " if floor_h else ""
        )
        out.append(
            Shortfall(
                ms.date,
                "capacity",
                f"{need} more sites must be clear by {ms.date}; {why_cap}. {floor_text}"
                f"{extra.count} extra crew(s) of {extra.hours_per_week:g} h/week in {extra.region} from {extra.start} "
                f"to {extra.end} ({hours:,.0f} h): {status}",
                region=extra.region,
                period_start=extra.start,
                period_end=extra.end,
                extra_crews=extra.count,
                extra_hours=hours,
                minimum=floor_h,
                verified=verified,
            )
        )
    for fy, amount in scenario.budget_delta.items():
        floor_text = f"at least £{money_floor / 100:,.0f} more is needed; " if money_floor else ""
        out.append(
            Shortfall(
                ms.date,
                "budget",
                f"{need} more sites must be clear by {ms.date}; {why_money}. {floor_text}"
                f"£{amount:,.0f} more in {fy_label(fy)}: {status}",
                fy=fy_label(fy),
                extra_budget=amount,
                minimum=money_floor / 100,
                verified=verified,
            )
        )
    if not out:
        out.append(
            Shortfall(
                ms.date,
                "capacity",
                f"{need} more sites must be clear by {ms.date}; no extra capacity or budget was found that meets it",
            )
        )
    return out


__all__ = ["budget_floor", "capacity_floor", "diagnose", "site_ready_weeks"]
