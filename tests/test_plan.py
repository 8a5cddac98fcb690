"""The removal planner: contract, constraints (independent checker), optimality on tiny instances
against brute force, diagnosis of missed milestones, scenarios, the plan file and exports."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import random
from dataclasses import replace
from datetime import date, timedelta

import pytest

from clearsite.core.plan import (
    Budget,
    ClassRates,
    CostTable,
    Crew,
    ExtraCrew,
    Milestone,
    Period,
    Plan,
    PlanInputs,
    PlanSettings,
    Scenario,
    SiteInfo,
    WorkItem,
    apply_scenario,
    compare_scenarios,
    make_plan,
    parse_scenario,
)
from clearsite.core.plan.synthetic import make_instance
from clearsite.formats.planfile import PlanFileError, parse_plan_file
from clearsite.render.plan_export import (
    comparison_to_json,
    comparison_to_table,
    plan_to_csv,
    plan_to_json,
    plan_to_table,
    plan_to_xlsx,
    site_clear_dates,
)
from tests.test_plan_checker import START, check_plan, small_instance

RATES = CostTable(
    classes={
        "nvr": ClassRates(2.0, 100, 900, 20),
        "ip_camera": ClassRates(1.0, 50, 300, 10, lead_time_weeks=3),
    },
    visit_cost=100,
    travel_hours=1,
)


def random_instance(seed: int) -> tuple[PlanInputs, PlanSettings]:
    """Small instances with every feature switched on at random."""
    rng = random.Random(seed)
    regions = ["North", "South", "West"][: rng.randint(1, 3)]
    work: list[WorkItem] = []
    sites: dict[str, SiteInfo] = {}
    n_sites = rng.randint(3, 14)
    for s in range(n_sites):
        name = f"S{s}"
        region = rng.choice(regions)
        dept = rng.choice(["A", "B"])
        for k in range(rng.randint(1, 9)):
            work.append(
                WorkItem(
                    f"{s}.{k}",
                    name,
                    dept,
                    region,
                    "nvr" if k == 0 else "ip_camera",
                    risk=rng.choice([0.5, 1.0, 2.0, 6.0]),
                    group="g" if k < 3 and rng.random() < 0.6 else None,
                    hazard_cover=rng.random() < 0.1,
                    not_before=START + timedelta(days=rng.randint(0, 30)) if rng.random() < 0.05 else None,
                )
            )
        if rng.random() < 0.3:
            a = START + timedelta(days=rng.randint(0, 40))
            sites[name] = SiteInfo(name, access=(Period(a, a + timedelta(days=rng.randint(5, 40))),))
        elif rng.random() < 0.3:
            b = START + timedelta(days=rng.randint(0, 40))
            sites[name] = SiteInfo(name, blackouts=(Period(b, b + timedelta(days=rng.randint(3, 20))),))
    crews = [
        Crew(
            f"{r}-{i}",
            r,
            rng.choice([8, 12, 20]),
            start=START + timedelta(days=rng.choice([0, 0, 7])),
            unavailable=(Period(START + timedelta(days=14), START + timedelta(days=16)),)
            if rng.random() < 0.3
            else (),
        )
        for r in regions
        for i in range(rng.randint(1, 2))
    ]
    budgets = [Budget(2024, rng.choice([3000, 8000, 50000]))] if rng.random() < 0.7 else []
    milestones = [
        Milestone(START + timedelta(days=rng.randint(10, 40)), rng.choice([0.5, 0.7])),
        Milestone(START + timedelta(days=60), 1.0),
    ]
    inputs = PlanInputs(
        work=work,
        crews=crews,
        rates=RATES,
        milestones=milestones,
        budgets=budgets,
        sites=sites,
        holidays=frozenset({date(2024, 5, 27)}),
        already_cleared_sites=rng.randint(0, 5),
    )
    return inputs, PlanSettings(
        start=START, horizon_weeks=rng.randint(6, 12), time_limit=2, milestone_penalty=40.0, seed=seed
    )


# --- contract and constraints ------------------------------------------------------------------


def test_a_plan_read_back_from_its_json_contract_is_the_same_plan() -> None:
    inputs, settings = small_instance()
    plan = make_plan(inputs, settings)
    stored = json.loads(plan_to_json(plan))
    again = Plan.from_dict(stored)
    assert again.to_dict() == stored
    assert again.visits and again.visits[0].week == plan.visits[0].week  # dates come back as dates


def test_plan_json_has_the_contract_keys() -> None:
    inputs, settings = small_instance()
    out = json.loads(plan_to_json(make_plan(inputs, settings)))
    for key in (
        "objective",
        "lower_bound",
        "gap",
        "status",
        "capacity",
        "visits",
        "milestones",
        "shortfalls",
        "unscheduled",
    ):
        assert key in out
    assert out["status"] in ("optimal", "feasible", "infeasible")
    assert set(out["capacity"][0]) >= {"region", "week", "hours"}
    assert set(out["visits"][0]) >= {"site", "region", "week", "crew", "hours", "cost", "devices"}
    assert set(out["milestones"][0]) >= {"date", "target_share", "forecast_share", "met"}
    assert date.fromisoformat(out["visits"][0]["week"]).weekday() == 0


@pytest.mark.parametrize("seed", range(12))
def test_random_plans_keep_every_constraint(seed: int) -> None:
    inputs, settings = random_instance(seed)
    plan = make_plan(inputs, settings).to_dict()
    assert check_plan(plan, inputs, settings) == []


@pytest.mark.parametrize("seed", range(12, 18))
def test_heuristic_alone_keeps_every_constraint(seed: int) -> None:
    inputs, settings = random_instance(seed)
    plan = make_plan(inputs, replace(settings, solver="heuristic")).to_dict()
    assert check_plan(plan, inputs, settings) == []
    assert plan["solver"]["method"] == "heuristic"


def test_an_nvr_and_its_cameras_go_in_one_visit_and_a_hazard_camera_waits_for_its_replacement() -> None:
    work = [
        WorkItem("nvr", "S", "D", "R", "nvr", group="rack"),
        WorkItem("c1", "S", "D", "R", "ip_camera", group="rack"),
    ]
    work += [
        WorkItem("c2", "S", "D", "R", "ip_camera"),
        WorkItem("haz", "S", "D", "R", "ip_camera", hazard_cover=True),
    ]
    inputs = PlanInputs(work=work, crews=[Crew("c", "R", 40)], rates=RATES)
    settings = PlanSettings(start=START, horizon_weeks=8, time_limit=2)
    plan = make_plan(inputs, settings)
    assert check_plan(plan.to_dict(), inputs, settings) == []
    by_device = {d: v for v in plan.visits for d in v.devices}
    assert by_device["nvr"] is by_device["c1"]
    # the hazard camera's replacement takes 3 weeks: it comes out in its own, later visit
    assert by_device["haz"].week >= START + timedelta(weeks=3) - timedelta(days=START.weekday())
    assert by_device["c2"].week < by_device["haz"].week


def test_work_too_big_for_any_crew_week_is_unscheduled_with_a_reason() -> None:
    work = [WorkItem(f"c{i}", "Big", "D", "R", "ip_camera", group="one rack") for i in range(30)]
    work.append(WorkItem("x", "Small", "D", "R", "ip_camera"))
    inputs = PlanInputs(
        work=work,
        crews=[Crew("c", "R", 20)],
        rates=RATES,
        milestones=[Milestone(START + timedelta(weeks=4), 1.0)],
    )
    settings = PlanSettings(start=START, horizon_weeks=6, time_limit=1)
    plan = make_plan(inputs, settings)
    assert check_plan(plan.to_dict(), inputs, settings) == []
    assert {u.device for u in plan.unscheduled} == {f"c{i}" for i in range(30)}
    assert "more than any crew's week" in plan.unscheduled[0].reason
    assert plan.status == "infeasible"


def test_inputs_that_do_not_add_up_are_refused_with_the_device_named() -> None:
    inputs = PlanInputs(
        work=[WorkItem(1, "S", "D", "R", "drone")], crews=[Crew("c", "R", 10)], rates=CostTable(classes={})
    )
    with pytest.raises(ValueError, match="device 1: no rates for device class 'drone'"):
        make_plan(inputs, PlanSettings(start=START))
    with pytest.raises(ValueError, match="appears twice"):
        make_plan(
            replace(inputs, work=[WorkItem(1, "S", "D", "R", "nvr")] * 2, rates=RATES),
            PlanSettings(start=START),
        )


def test_an_empty_programme_plans_nothing_and_meets_its_milestones() -> None:
    inputs = PlanInputs(
        work=[],
        crews=[Crew("c", "R", 10)],
        rates=RATES,
        milestones=[Milestone(START, 1.0)],
        already_cleared_sites=3,
    )
    plan = make_plan(inputs, PlanSettings(start=START, horizon_weeks=4))
    assert plan.visits == () and plan.status == "optimal" and plan.milestones[0].met


# --- optimality against brute force ------------------------------------------------------------


def tiny_instance(seed: int) -> tuple[PlanInputs, PlanSettings]:
    """Four single-visit sites, one or two crews, four weeks: small enough to enumerate."""
    rng = random.Random(seed)
    work = []
    for s in range(4):
        for k in range(rng.randint(1, 4)):
            work.append(
                WorkItem(
                    f"{s}.{k}",
                    f"S{s}",
                    "D",
                    "R",
                    "ip_camera",
                    risk=rng.choice([1.0, 2.0, 3.5, 5.0]),
                    group="g",
                )
            )
    crews = [Crew("a", "R", rng.choice([6, 8])), Crew("b", "R", 5)][: rng.randint(1, 2)]
    sites = (
        {"S1": SiteInfo("S1", blackouts=(Period(START, START + timedelta(days=6)),))}
        if rng.random() < 0.5
        else {}
    )
    inputs = PlanInputs(
        work=work,
        crews=crews,
        rates=RATES,
        milestones=[
            Milestone(START + timedelta(days=rng.choice([4, 11])), rng.choice([0.5, 0.75])),
            Milestone(START + timedelta(days=25), 1.0),
        ],
        budgets=[Budget(2024, rng.choice([1500, 2500, 99999]))],
        sites=sites,
    )
    return inputs, PlanSettings(
        start=START, horizon_weeks=4, time_limit=10, milestone_penalty=30.0, solver="cpsat"
    )


def brute_force_objective(inputs: PlanInputs, settings: PlanSettings, visits: list[dict]) -> float:
    """Try every (crew, week) or "not scheduled" for each visit; the best plan the checker accepts."""
    weeks = [START + timedelta(weeks=k) for k in range(settings.horizon_weeks or 0)]
    options = [None, *itertools.product([c.id for c in inputs.crews], weeks)]
    best = math.inf
    for choice in itertools.product(options, repeat=len(visits)):
        plan_visits, unscheduled = [], []
        for v, opt in zip(visits, choice, strict=True):
            if opt is None:
                unscheduled += [{"device": d, "site": v["site"], "reason": "x"} for d in v["devices"]]
            else:
                plan_visits.append({**v, "crew": opt[0], "week": opt[1].isoformat()})
        candidate = _as_plan(inputs, settings, plan_visits, unscheduled)
        if not [
            b
            for b in check_plan(candidate, inputs, settings)
            if not b.startswith(("objective", "status", "gap", "lower"))
        ]:
            best = min(best, candidate["objective"])
    return best


def _as_plan(inputs: PlanInputs, settings: PlanSettings, visits: list[dict], unscheduled: list[dict]) -> dict:
    """A plan dict with milestones and objective filled in the checker's own way."""
    first = START
    risk = {w.id: w.risk for w in inputs.work}
    H = settings.horizon_weeks or 0
    exposure = sum(
        risk[d] * ((date.fromisoformat(v["week"]) - first).days // 7 + 1)
        for v in visits
        for d in v["devices"]
    )
    exposure += sum(risk[u["device"]] * (H + 1) for u in unscheduled)
    clear: dict[str, date] = {}
    for v in visits:
        clear[v["site"]] = max(
            clear.get(v["site"], date.min), date.fromisoformat(v["week"]) + timedelta(days=4)
        )
    late_sites = {u["site"] for u in unscheduled}
    total = len({w.site for w in inputs.work})
    milestones, short = [], 0
    for m in sorted(inputs.milestones, key=lambda m: m.date):
        n = sum(1 for s, d in clear.items() if d <= m.date and s not in late_sites)
        need = math.ceil(m.target_share * total - 1e-9)
        short += max(0, need - n)
        milestones.append({"date": m.date.isoformat(), "forecast_share": n / total, "met": n >= need})
    return {
        "weeks": H,
        "visits": visits,
        "unscheduled": unscheduled,
        "capacity": [],
        "milestones": milestones,
        "objective": exposure + (settings.milestone_penalty or 0) * short,
        "lower_bound": 0.0,
        "gap": 1.0,
        "status": "",
        "milestone_penalty": settings.milestone_penalty,
        "solver": {"notes": []},
    }


@pytest.mark.parametrize("seed", range(8))
def test_cpsat_is_optimal_on_tiny_instances(seed: int) -> None:
    inputs, settings = tiny_instance(seed)
    plan = make_plan(inputs, settings)
    d = plan.to_dict()
    assert check_plan(d, inputs, settings) == []
    visits = [{k: v[k] for k in ("site", "region", "hours", "cost", "devices")} for v in d["visits"]]
    # unscheduled visits are re-formed from the groups (one group per site here)
    for site in sorted({u["site"] for u in d["unscheduled"]}):
        devices = [u["device"] for u in d["unscheduled"] if u["site"] == site]
        visits.append(
            {
                "site": site,
                "region": "R",
                "hours": 1.0 + len(devices),
                "cost": 100 + 360.0 * len(devices),
                "devices": devices,
            }
        )
    assert len(visits) == 4
    best = brute_force_objective(inputs, settings, visits)
    assert plan.objective == pytest.approx(best, abs=1e-6)
    assert plan.status in ("optimal", "infeasible") and plan.gap == pytest.approx(0.0, abs=1e-9)
    heuristic = make_plan(inputs, replace(settings, solver="heuristic"))
    assert heuristic.objective >= best - 1e-6
    assert heuristic.lower_bound <= best + 1e-6


# --- missed milestones: which, why, and what would fix them ------------------------------------


def two_region_instance(north_hours: float = 8) -> tuple[PlanInputs, PlanSettings]:
    work = []
    for s in range(8):
        region = "North" if s < 5 else "South"
        for k in range(4):
            work.append(WorkItem(f"{s}.{k}", f"S{s}", "D", region, "ip_camera", group="g"))
    inputs = PlanInputs(
        work=work,
        crews=[Crew("n", "North", north_hours), Crew("s", "South", 20)],
        rates=RATES,
        milestones=[Milestone(START + timedelta(days=18), 1.0)],
        holidays=frozenset({START}),
    )
    return inputs, PlanSettings(start=START, horizon_weeks=8, time_limit=2)


def test_a_capacity_shortfall_names_the_region_and_enough_extra_crew() -> None:
    inputs, settings = two_region_instance()
    plan = make_plan(inputs, settings)
    assert plan.status == "infeasible" and not plan.milestones[0].met
    assert [s.region for s in plan.shortfalls] == ["North"]
    short = plan.shortfalls[0]
    assert short.kind == "capacity" and short.verified and short.extra_hours >= short.minimum > 0
    assert "North" in short.reason
    # applying it as a scenario meets the milestone (checked independently)
    fixed = Scenario(
        "fix",
        (
            ExtraCrew(
                "North",
                short.period_start,
                short.extra_crews,
                short.extra_hours / short.extra_crews / _weeks(short),
                short.period_end,
            ),
        ),
    )
    again = make_plan(inputs, settings, fixed)
    assert again.milestones[0].met
    assert check_plan(again.to_dict(), apply_scenario(inputs, fixed), settings) == []


def _weeks(short) -> int:
    return (short.period_end - short.period_start).days // 7 + 1


def test_the_capacity_floor_is_the_hours_relaxation() -> None:
    # North: 5 sites x (4 cameras + 1 h travel) = 25 h to do by Friday of week 3; its crew has
    # 8 h/week, 6.4 h in the bank-holiday week: 22.4 h. No plan can do with less than 2.6 h more.
    inputs, settings = two_region_instance()
    short = make_plan(inputs, settings).shortfalls[0]
    assert short.minimum == pytest.approx(2.6)
    assert short.extra_hours >= short.minimum


def test_a_budget_shortfall_names_the_year_and_the_money() -> None:
    inputs, settings = two_region_instance(north_hours=40)
    inputs = replace(inputs, budgets=[Budget(2024, 5000)])
    plan = make_plan(inputs, settings)
    kinds = {s.kind for s in plan.shortfalls}
    assert kinds == {"budget"}
    short = plan.shortfalls[0]
    assert short.fy == "2024-25" and short.verified and short.extra_budget >= short.minimum > 0
    again = make_plan(inputs, settings, Scenario("money", budget_delta={2024: short.extra_budget}))
    assert again.milestones[0].met


def test_an_access_shortfall_says_money_cannot_fix_it_and_gives_the_earliest_date() -> None:
    inputs, settings = two_region_instance(north_hours=40)
    late = START + timedelta(weeks=5)
    inputs = replace(inputs, sites={"S0": SiteInfo("S0", access=(Period(late, late + timedelta(days=10)),))})
    plan = make_plan(inputs, settings)
    short = plan.shortfalls[0]
    assert short.kind == "access" and "cannot fix" in short.reason
    assert short.later_date is not None and short.later_date >= late
    assert make_plan(inputs, settings, Scenario("later", deadline=short.later_date)).milestones[0].met


# --- scenarios ---------------------------------------------------------------------------------


def test_scenarios_add_crews_money_and_move_the_deadline() -> None:
    inputs, _ = small_instance()
    sc = parse_scenario("crews:North+2@2024-06-03, budget:2024-25+1000, deadline:2024-07-31", start=START)
    out = apply_scenario(inputs, sc)
    extra = [c for c in out.crews if c.id.startswith(sc.name)]
    assert len(extra) == 2 and all(
        c.region == "North" and c.hours_per_week == 12 and c.start == date(2024, 6, 3) for c in extra
    )
    assert out.budgets[0].amount == inputs.budgets[0].amount + 1000
    assert max(m.date for m in out.milestones) == date(2024, 7, 31)
    with pytest.raises(ValueError, match="not understood"):
        parse_scenario("crews:North", start=START)


def test_comparing_scenarios_gives_one_plan_each_and_more_crews_never_hurt() -> None:
    inputs, settings = two_region_instance()
    settings = replace(settings, time_limit=1)
    plans = compare_scenarios(inputs, settings, [parse_scenario("crews:North+1", start=START, name="more")])
    assert [p.scenario for p in plans] == ["base", "more"]
    assert plans[1].objective <= plans[0].objective + 1e-6
    assert sum(m.met for m in plans[1].milestones) >= sum(m.met for m in plans[0].milestones)
    table = comparison_to_table(plans)
    assert "base" in table and "more" in table
    assert json.loads(comparison_to_json(plans))["scenarios"][1]["scenario"] == "more"


# --- plan file ---------------------------------------------------------------------------------

PLAN_FILE = """
start: 2024-05-06
time_limit: 5
policy: uk-hcws386/O3
already_cleared_sites: 4
holidays: england-and-wales
crews:
  - {id: n1, region: North, hours_per_week: 30, unavailable: [{start: 2024-08-05, end: 2024-08-16}]}
  - {id: s1, region: South, hours_per_week: 30}
rates:
  travel_hours: 2
  visit_cost: 150
  default: {hours: 1.0, removal: 80, replacement: 500, disposal: 10}
  classes:
    ip_camera: {hours: 0.75, removal: 60, replacement: 420, disposal: 10, lead_time_weeks: 6}
budgets: {"2024-25": 150000, "2025-26": 40000}
sites:
  "S1": {blackouts: [{start: 2024-06-01, end: 2024-06-30}]}
  "S2": {hazard_cover: [2], together: [[6, 10]], not_before: 2024-07-01}
scenarios:
  two-more: {extra_crews: [{region: North, count: 2, start: 2024-07-01}]}
  more-money: {budget_delta: {"2024-25": 25000}}
  later: {deadline: 2025-10-31}
"""


def test_the_plan_file_loads_policy_milestones_calendar_and_scenarios() -> None:
    pf = parse_plan_file(PLAN_FILE)
    assert [(m.date, m.target_share) for m in pf.milestones] == [
        (date(2024, 10, 31), 0.7),
        (date(2025, 4, 30), 1.0),
    ]
    assert date(2024, 8, 26) in pf.holidays
    assert pf.crews[0].unavailable[0].end == date(2024, 8, 16)
    assert {b.fy: b.amount for b in pf.budgets} == {2024: 150000, 2025: 40000}
    assert set(pf.scenarios) == {"two-more", "more-money", "later"}
    assert pf.scenarios["more-money"].budget_delta == {2024: 25000}
    work = [WorkItem(i, f"S{i % 4}", "D", "North" if i % 2 else "South", "ip_camera") for i in range(12)]
    inputs = pf.inputs(work, sites={"S1": SiteInfo("S1", sensitive=True)})
    assert inputs.sites["S1"].sensitive and inputs.sites["S1"].blackouts
    amended = {w.id: w for w in inputs.work}
    assert amended[2].hazard_cover and amended[6].group == amended[10].group is not None
    assert amended[2].not_before == date(2024, 7, 1) and amended[1].not_before is None
    settings = pf.with_settings(time_limit=1, solver=None).settings
    assert settings.time_limit == 1 and settings.solver == "auto"
    assert check_plan(make_plan(inputs, settings).to_dict(), inputs, settings) == []


@pytest.mark.parametrize(
    "change, field",
    [
        (
            ("id: s1, region: South, hours_per_week: 30", "id: s1, region: South, hours_per_week: -3"),
            "crews[1].hours_per_week",
        ),
        (("hours: 0.75,", "hours: 0.75, hurs: 1,"), "rates.classes.ip_camera.hurs"),
        (('"2024-25": 150000', '"2024-26": 150000'), "budgets"),
        (("policy: uk-hcws386/O3", "policy: nope/O3"), "no policy 'nope'"),
        (
            ("{start: 2024-06-01, end: 2024-06-30}", "{start: 2024-06-30, end: 2024-06-01}"),
            "sites.S1.blackouts[0]",
        ),
        (("region: North, count: 2", "region: Mars, count: 2"), "scenarios.two-more"),
    ],
)
def test_plan_file_errors_name_the_field(change: tuple[str, str], field: str) -> None:
    with pytest.raises(PlanFileError) as err:
        parse_plan_file(PLAN_FILE.replace(*change), source="plan.yaml")
    assert field in str(err.value) and str(err.value).startswith("plan.yaml:")


# --- exports -----------------------------------------------------------------------------------


def test_exports_neutralise_formulas_and_agree_with_the_plan(tmp_path) -> None:
    inputs, settings = small_instance()
    evil = '=HYPERLINK("http://x")'
    inputs = replace(
        inputs, work=[replace(w, site=evil if w.site == "Site 0" else w.site) for w in inputs.work]
    )
    plan = make_plan(inputs, settings)
    rows = list(csv.DictReader(io.StringIO(plan_to_csv(plan))))
    assert len(rows) == len(plan.visits)
    assert all(not r["site"].startswith("=") for r in rows)
    assert any(r["site"] == "'" + evil for r in rows)
    plan_to_xlsx(plan, tmp_path / "plan.xlsx")
    assert (tmp_path / "plan.xlsx").stat().st_size > 1000
    table = plan_to_table(plan)
    assert "milestone" in table and "objective" not in table and "lower bound" not in table  # plain words; JSON keeps them
    clear = site_clear_dates(plan)
    assert all(d is None or d.weekday() == 4 for d in clear.values())


@pytest.mark.slow
def test_a_thousand_site_programme_plans_within_its_time_limit() -> None:
    inst = make_instance(1000, seed=3, time_limit=20)
    plan = make_plan(inst.inputs, inst.settings)
    assert check_plan(plan.to_dict(), inst.inputs, inst.settings) == []
    assert plan.solver.wall_time < 20 + 15  # solving plus diagnosis
    assert plan.gap < 0.05


@pytest.mark.parametrize("seed", range(20, 32))
def test_the_per_region_bound_never_passes_the_best_schedule_found(seed: int) -> None:
    """CP-SAT per region at the flow's budget prices is a Lagrangian bound: below the optimum, so below
    every schedule. Compared with the best schedule CP-SAT finds in its time: the optimum when it proves
    one, and on a loaded machine, where it may not, still a schedule no bound may exceed."""
    from clearsite.core.plan.bound import lower_bound, tighten_by_region
    from clearsite.core.plan.cpsat import solve_cpsat
    from clearsite.core.plan.heuristic import heuristic_schedule
    from clearsite.core.plan.prepare import prepare
    from clearsite.core.plan.schedule import evaluate

    inputs, settings = random_instance(seed)
    p = prepare(inputs, settings)
    hint = heuristic_schedule(p)
    flow = lower_bound(p)
    tight = tighten_by_region(p, flow, hint, deadline=float("inf"))
    best = solve_cpsat(p, hint, time_limit=20)
    assert best.status in ("optimal", "feasible")
    assert flow.value - 1e-6 <= tight.value <= evaluate(p, best.schedule).objective + 1e-6


def test_budget_exchange_pulls_risky_work_into_a_spent_year_without_breaking_limits() -> None:
    """A risky visit left for April because the year's money went first comes forward, paid for by
    pushing the least risky visits per pound into April; crew time, budgets and access still hold."""
    from clearsite.core.plan.bound import lower_bound
    from clearsite.core.plan.heuristic import Board, heuristic_candidates
    from clearsite.core.plan.improve import budget_exchange, swap_improve
    from clearsite.core.plan.prepare import prepare
    from clearsite.core.plan.schedule import evaluate

    inst = make_instance(300, seed=1)
    p = prepare(inst.inputs, inst.settings)
    start = swap_improve(p, heuristic_candidates(p, lower_bound(p).alpha)[0], deadline=float("inf"))
    exchanged = budget_exchange(p, start, deadline=float("inf"))
    before, after = evaluate(p, start), evaluate(p, exchanged)
    assert after.objective < before.objective
    assert sum(after.shortfall) <= sum(before.shortfall)
    board = Board(p, exchanged)
    assert (board.rem >= 0).all() and (board.budget >= 0).all()
    done = exchanged.week >= 0
    assert p.masks[p.v_mask[done], exchanged.week[done]].all()
