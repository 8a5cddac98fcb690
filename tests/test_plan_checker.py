"""An independent checker for removal plans, and tests that it catches broken plans.

It reads a plan only in its JSON contract form and re-derives everything from the raw inputs with
its own small code (calendar, capacity, access, money, milestones, objective), so a bug in the
planner's bookkeeping cannot hide itself. Other plan tests import `check_plan`.
"""

from __future__ import annotations

import copy
import math
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import pytest

from clearsite.core.plan import (
    Budget,
    ClassRates,
    CostTable,
    Crew,
    Milestone,
    Period,
    PlanInputs,
    PlanSettings,
    SiteInfo,
    WorkItem,
    make_plan,
)

TOL = 1e-6


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _fy(d: date) -> int:
    return d.year if d.month >= 4 else d.year - 1


def _workdays(week: date, start: date, holidays: frozenset[date]) -> list[date]:
    days = [week + timedelta(days=i) for i in range(5)]
    return [d for d in days if d >= start and d not in holidays]


def _crew_hours(crew: Crew, week: date, start: date, holidays: frozenset[date]) -> float:
    n = 0
    for d in _workdays(week, start, holidays):
        if crew.start and d < crew.start:
            continue
        if crew.end and d > crew.end:
            continue
        if any(p.start <= d <= p.end for p in crew.unavailable):
            continue
        n += 1
    return crew.hours_per_week * n / 5


def _release(item: WorkItem, rates: CostTable, start: date) -> date | None:
    rel = None
    lead = rates.rates(item.device_class).lead_time_weeks
    if item.hazard_cover and lead > 0:
        rel = start + timedelta(weeks=lead)
    if item.not_before and (rel is None or item.not_before > rel):
        rel = item.not_before
    return rel


def check_plan(plan: dict[str, Any], inputs: PlanInputs, settings: PlanSettings) -> list[str]:
    """Every rule a plan must keep; returns the violations (empty when the plan is sound)."""
    bad: list[str] = []
    start = settings.start
    first = _monday(start)
    weeks = plan["weeks"]
    last_week = first + timedelta(weeks=weeks - 1)
    holidays = frozenset(inputs.holidays)
    items = {w.id: w for w in inputs.work}
    crews = {c.id: c for c in inputs.crews}
    rates = inputs.rates

    # 1. every device exactly once: in a visit or unscheduled with a reason
    seen: dict[Any, int] = defaultdict(int)
    for v in plan["visits"]:
        for d in v["devices"]:
            seen[d] += 1
    for u in plan["unscheduled"]:
        seen[u["device"]] += 1
        if not u["reason"]:
            bad.append(f"device {u['device']} unscheduled without a reason")
    for d in items:
        if seen.get(d, 0) != 1:
            bad.append(f"device {d} appears {seen.get(d, 0)} times")
    for d in seen:
        if d not in items:
            bad.append(f"unknown device {d} in the plan")

    load: dict[tuple[str, date], float] = defaultdict(float)
    region_load: dict[tuple[str, date], float] = defaultdict(float)
    spend: dict[int, float] = defaultdict(float)
    device_week: dict[Any, date] = {}
    for v in plan["visits"]:
        week = date.fromisoformat(v["week"])
        members = [items[d] for d in v["devices"] if d in items]
        if not members:
            bad.append(f"visit at {v['site']} has no devices")
            continue
        # 2. where and when
        if week.weekday() != 0 or not first <= week <= last_week:
            bad.append(f"visit at {v['site']}: week {week} is not a Monday of the plan")
        if any(m.site != v["site"] for m in members):
            bad.append(f"visit at {v['site']} holds devices of another site")
        if any(m.region != v["region"] for m in members):
            bad.append(f"visit at {v['site']}: region mismatch")
        crew = crews.get(v["crew"])
        if crew is None or crew.region != v["region"]:
            bad.append(f"visit at {v['site']}: crew {v['crew']} is not a crew of region {v['region']}")
        # 3. hours and money
        hours = rates.travel(v["region"]) + sum(rates.rates(m.device_class).hours for m in members)
        cost = rates.visit_cost + sum(rates.rates(m.device_class).cost for m in members)
        if abs(hours - v["hours"]) > 1e-4 or abs(cost - v["cost"]) > 1e-4:
            bad.append(f"visit at {v['site']}: hours/cost {v['hours']}/{v['cost']} should be {hours}/{cost}")
        # 5. access: a working day in the week that is open, outside blackouts, after every release
        info = inputs.sites.get(v["site"]) or SiteInfo(v["site"])
        releases = [r for m in members if (r := _release(m, rates, start)) is not None]
        release = max(releases) if releases else None
        ok_days = [
            d
            for d in _workdays(week, start, holidays)
            if (not info.access or any(p.start <= d <= p.end for p in info.access))
            and not any(p.start <= d <= p.end for p in info.blackouts)
            and (release is None or d >= release)
        ]
        if not ok_days:
            bad.append(f"visit at {v['site']} in week {week}: no open working day")
        load[v["crew"], week] += v["hours"]
        region_load[v["region"], week] += v["hours"]
        spend[_fy(week)] += v["cost"]
        for m in members:
            device_week[m.id] = week

    # 4. devices that go together stay together
    group_visit: dict[tuple[str, str], set[Any]] = defaultdict(set)
    where = {d: (v["site"], v["week"], v["crew"]) for v in plan["visits"] for d in v["devices"]}
    for w in inputs.work:
        if w.group is not None:
            group_visit[w.site, w.group].add(where.get(w.id, "unscheduled"))
    for key, places in group_visit.items():
        if len(places) > 1:
            bad.append(f"group {key} is split across {places}")

    # 6. crew capacity, from the calendar
    for (crew_id, week), hours in load.items():
        crew = crews.get(crew_id)
        if crew is not None and hours > _crew_hours(crew, week, start, holidays) + TOL:
            bad.append(f"crew {crew_id} over capacity in week {week}: {hours:.2f} h")
    # 7. the capacity rows tell the truth
    for row in plan["capacity"]:
        week = date.fromisoformat(row["week"])
        want = sum(_crew_hours(c, week, start, holidays) for c in inputs.crews if c.region == row["region"])
        if abs(want - row["hours"]) > 1e-4:
            bad.append(f"capacity row {row['region']} {week}: {row['hours']} should be {want}")
        if region_load[row["region"], week] > row["hours"] + TOL:
            bad.append(f"region {row['region']} over capacity in week {week}")
    # 8. budgets per UK financial year
    for b in inputs.budgets:
        if spend[b.fy] > b.amount + TOL:
            bad.append(f"financial year {b.fy} overspent: {spend[b.fy]:.2f} > {b.amount}")

    # 9. milestones, recomputed
    unscheduled_sites = {u["site"] for u in plan["unscheduled"]}
    clear: dict[str, date] = {}
    for v in plan["visits"]:
        done = date.fromisoformat(v["week"]) + timedelta(days=4)
        clear[v["site"]] = max(clear.get(v["site"], done), done)
    sites = {w.site for w in inputs.work}
    total = len(sites) + inputs.already_cleared_sites
    shortfalls = []
    for m, row in zip(sorted(inputs.milestones, key=lambda m: m.date), plan["milestones"], strict=True):
        n = sum(1 for s in sites if s not in unscheduled_sites and s in clear and clear[s] <= m.date)
        forecast = inputs.already_cleared_sites + n
        need = math.ceil(m.target_share * total - 1e-9)
        shortfalls.append(max(0, need - forecast))
        if row["date"] != m.date.isoformat() or abs(row["forecast_share"] - forecast / total) > 1e-5:
            bad.append(f"milestone {m.date}: forecast {row['forecast_share']} should be {forecast / total}")
        if row["met"] != (forecast >= need):
            bad.append(f"milestone {m.date}: met={row['met']} but {forecast} of {need} sites")

    # 10. the objective, recomputed: risk x weeks exposed, plus the penalty per site short
    exposure = 0.0
    for d, item in items.items():
        if d in device_week:
            exposure += item.risk * ((device_week[d] - first).days // 7 + 1)
        else:
            exposure += item.risk * (weeks + 1)
    objective = exposure + plan["milestone_penalty"] * sum(shortfalls)
    if abs(objective - plan["objective"]) > 1e-4 * max(1.0, objective):
        bad.append(f"objective {plan['objective']} should be {objective}")
    # 11. bound and gap
    if plan["lower_bound"] > plan["objective"] + 1e-6 * max(1.0, plan["objective"]):
        bad.append(f"lower bound {plan['lower_bound']} above objective {plan['objective']}")
    want_gap = (plan["objective"] - plan["lower_bound"]) / plan["objective"] if plan["objective"] > 0 else 0.0
    if abs(plan["gap"] - want_gap) > 1e-5:
        bad.append(f"gap {plan['gap']} should be {want_gap}")
    # 12. status
    missed = any(not m["met"] for m in plan["milestones"]) or bool(plan["unscheduled"])
    if (plan["status"] == "infeasible") != missed:
        bad.append(f"status {plan['status']} but milestones missed/unscheduled = {missed}")
    if any("BUG" in n for n in plan["solver"]["notes"]):
        bad.append(f"planner notes a bug: {plan['solver']['notes']}")
    return bad


# ---------------------------------------------------------------------------------------------
# a small instance with every kind of constraint, shared by the tests below and elsewhere

START = date(2024, 5, 6)  # a bank holiday Monday


def small_instance() -> tuple[PlanInputs, PlanSettings]:
    rates = CostTable(
        classes={
            "nvr": ClassRates(hours=2.0, removal=100, replacement=900, disposal=20),
            "ip_camera": ClassRates(hours=1.0, removal=50, replacement=300, disposal=10, lead_time_weeks=2),
        },
        visit_cost=100,
        travel_hours=2,
    )
    work = []
    for s in range(6):
        site, region = f"Site {s}", "North" if s < 4 else "South"
        work.append(
            WorkItem(f"{s}-nvr", site, "Dept A" if s % 2 else "Dept B", region, "nvr", risk=2.0, group="g")
        )
        for k in range(3 + s):
            work.append(
                WorkItem(
                    f"{s}-cam{k}",
                    site,
                    "Dept A" if s % 2 else "Dept B",
                    region,
                    "ip_camera",
                    risk=1.0 + (s == 2) * 4,
                    group="g" if k < 2 else None,
                    hazard_cover=(s == 3 and k == 4),
                )
            )
    inputs = PlanInputs(
        work=work,
        crews=[
            Crew("n1", "North", 12, unavailable=(Period(date(2024, 5, 13), date(2024, 5, 14)),)),
            Crew("s1", "South", 16, start=date(2024, 5, 13)),
        ],
        rates=rates,
        milestones=[Milestone(date(2024, 5, 24), 0.5), Milestone(date(2024, 6, 14), 1.0)],
        budgets=[Budget(2024, 30000)],
        sites={"Site 1": SiteInfo("Site 1", blackouts=(Period(date(2024, 5, 6), date(2024, 5, 17)),))},
        holidays=frozenset({date(2024, 5, 6), date(2024, 5, 27)}),
        already_cleared_sites=2,
    )
    return inputs, PlanSettings(start=START, horizon_weeks=8, time_limit=3, milestone_penalty=50.0)


def test_small_instance_plan_passes_the_checker() -> None:
    inputs, settings = small_instance()
    plan = make_plan(inputs, settings).to_dict()
    assert check_plan(plan, inputs, settings) == []


@pytest.mark.parametrize(
    "breakage, complaint",
    [
        (lambda p: p["visits"][0]["devices"].pop(), "appears 0 times"),
        (lambda p: p["visits"][1]["devices"].append(p["visits"][0]["devices"][0]), "appears 2 times"),
        (lambda p: p["visits"][0].update(week="2024-05-07"), "not a Monday"),
        (
            lambda p: p["visits"][0].update(crew="s1" if p["visits"][0]["region"] == "North" else "n1"),
            "is not a crew",
        ),
        (lambda p: p["visits"][0].update(hours=p["visits"][0]["hours"] - 1), "hours/cost"),
        (lambda p: p.update(objective=p["objective"] + 1), "objective"),
        (lambda p: p.update(lower_bound=p["objective"] * 2), "lower bound"),
        (lambda p: p["milestones"][0].update(met=not p["milestones"][0]["met"]), "met="),
    ],
)
def test_checker_catches_a_broken_plan(breakage: Any, complaint: str) -> None:
    inputs, settings = small_instance()
    plan = copy.deepcopy(make_plan(inputs, settings).to_dict())
    breakage(plan)
    assert any(complaint in b for b in check_plan(plan, inputs, settings))


def test_checker_catches_overbooked_crews_and_blackouts() -> None:
    inputs, settings = small_instance()
    plan = copy.deepcopy(make_plan(inputs, settings).to_dict())
    north = [v for v in plan["visits"] if v["region"] == "North"]
    for v in north:  # everything in one week: over capacity, and Site 1 is blacked out then
        v["week"] = "2024-05-13"
    problems = check_plan(plan, inputs, settings)
    assert any("over capacity" in b for b in problems)
    assert any("Site 1" in b and "no open working day" in b for b in problems)
