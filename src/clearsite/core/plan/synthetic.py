"""Synthetic planning instances shaped like the UK programme, for benchmarks, tests and the demo.

The shape follows the public timeline (research §1.1): the plan starts in May 2024 with about
half of the affected sites already clear, 70% of sites are due by 31 Oct 2024 and all by
30 Apr 2025. Crews are sized so the work fills most of the time to the deadline, and the
2024-25 budget does not quite cover all of it, so some work waits for April 2025.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from clearsite.core.plan.risk import RiskWeights
from clearsite.core.plan.types import (
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
)

# England and Wales bank holidays (gov.uk/bank-holidays), used as an example working calendar
ENGLAND_WALES_BANK_HOLIDAYS = frozenset(
    date.fromisoformat(d)
    for d in [
        "2024-01-01", "2024-03-29", "2024-04-01", "2024-05-06", "2024-05-27", "2024-08-26", "2024-12-25", "2024-12-26",
        "2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25", "2025-12-25", "2025-12-26",
        "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28",
    ]
)  # fmt: skip

UK_MILESTONES = (
    Milestone(date(2024, 10, 31), 0.7, "~70% of affected sites clear by October 2024 (WMS 29 Apr 2024)"),
    Milestone(date(2025, 4, 30), 1.0, "all remaining sites by April 2025 (WMS 29 Apr 2024)"),
)

REGIONS = (
    "London", "South East", "South West", "East of England", "West Midlands", "East Midlands",
    "Yorkshire and the Humber", "North West", "North East", "Wales", "Scotland", "Northern Ireland",
)  # fmt: skip

RATES = CostTable(
    classes={
        "nvr": ClassRates(hours=2.0, removal=120, replacement=1400, disposal=25),
        "ip_camera": ClassRates(hours=0.75, removal=60, replacement=420, disposal=10, lead_time_weeks=6),
        "ptz_camera": ClassRates(hours=1.5, removal=110, replacement=1600, disposal=15, lead_time_weeks=8),
        "thermal_camera": ClassRates(
            hours=1.25, removal=110, replacement=2600, disposal=15, lead_time_weeks=10
        ),
        "video_intercom": ClassRates(hours=1.0, removal=70, replacement=380, disposal=10, lead_time_weeks=4),
    },
    default=ClassRates(hours=1.0, removal=80, replacement=500, disposal=10),
    visit_cost=250.0,
    travel_hours=3.0,
)

_CAMERA_CLASSES = ("ip_camera", "ptz_camera", "thermal_camera", "video_intercom")
_CAMERA_P = (0.82, 0.08, 0.04, 0.06)


@dataclass(frozen=True)
class Instance:
    inputs: PlanInputs
    settings: PlanSettings
    site_names: list[str]


def make_instance(
    n_sites: int,
    seed: int = 0,
    *,
    mean_devices: float = 20.0,
    start: date = date(2024, 5, 6),
    load: float = 0.85,
    budget_cover: float = 0.95,
    time_limit: float = 30.0,
) -> Instance:
    """`n_sites` sites still to clear (as many again already clear), ~`mean_devices` each; crews
    sized so the work is `load` of their time to the final milestone; the 2024-25 budget pays for
    `budget_cover` of the work."""
    rng = np.random.default_rng(seed)
    n_dept = max(3, min(24, n_sites // 4))
    dept_weights = rng.pareto(1.2, n_dept) + 0.05
    dept_weights /= dept_weights.sum()
    departments = [f"Department {i + 1:02d}" for i in range(n_dept)]
    region_weights = np.array([3.0, 2.0, 1.2, 1.2, 1.2, 1.0, 1.1, 1.4, 0.7, 0.8, 1.2, 0.5])
    region_weights /= region_weights.sum()

    site_dept = rng.choice(n_dept, size=n_sites, p=dept_weights)
    site_region = rng.choice(len(REGIONS), size=n_sites, p=region_weights)
    n_devices = np.maximum(1, np.round(rng.gamma(1.5, (mean_devices - 1) / 1.5, size=n_sites) + 1)).astype(
        int
    )
    sensitive = rng.random(n_sites) < 0.6
    core_site = rng.random(n_sites) < 0.15
    late_site = rng.random(n_sites) < 0.3
    weights = RiskWeights()

    work: list[WorkItem] = []
    sites: dict[str, SiteInfo] = {}
    names = [f"Site {i:06d}" for i in range(n_sites)]
    hours_by_region = np.zeros(len(REGIONS))
    total_cost = 0.0
    device_id = 0
    for i in range(n_sites):
        name, dept, region = names[i], departments[site_dept[i]], REGIONS[site_region[i]]
        n = int(n_devices[i])
        n_nvr = max(1, math.ceil(n / 17)) if n > 3 else 0
        classes = rng.choice(len(_CAMERA_CLASSES), size=n, p=_CAMERA_P)
        on_core = rng.random(n) < (0.5 if core_site[i] else 0.02)
        hazard = rng.random(n) < 0.03
        standalone = rng.random(n) < 0.2
        base_risk = weights.weight(
            sensitive=bool(sensitive[i]), late=bool(late_site[i]), on_core_network=False
        )
        core_risk = weights.weight(
            sensitive=bool(sensitive[i]), late=bool(late_site[i]), on_core_network=True
        )
        for k in range(n):
            is_nvr = k < n_nvr
            cls = "nvr" if is_nvr else _CAMERA_CLASSES[classes[k]]
            group = f"{name}/nvr{k % n_nvr}" if n_nvr and (is_nvr or not standalone[k]) else None
            work.append(
                WorkItem(
                    id=device_id,
                    site=name,
                    department=dept,
                    region=region,
                    device_class=cls,
                    risk=core_risk if on_core[k] else base_risk,
                    group=group,
                    hazard_cover=bool(hazard[k]) and not is_nvr,
                )
            )
            device_id += 1
            rates = RATES.rates(cls)
            hours_by_region[site_region[i]] += rates.hours
            total_cost += rates.cost
        hours_by_region[site_region[i]] += RATES.travel_hours * (1 + n // 60)
        total_cost += RATES.visit_cost * (1 + n // 60)
        access: tuple[Period, ...] = ()
        blackouts: tuple[Period, ...] = ()
        roll = rng.random()
        if roll < 0.08:  # open only for a stretch (e.g. a building shut for works otherwise)
            a = start + timedelta(weeks=int(rng.integers(0, 30)))
            access = (Period(a, a + timedelta(weeks=int(rng.integers(6, 20)))),)
        elif roll < 0.25:  # a blackout (events, ministerial use)
            b = start + timedelta(weeks=int(rng.integers(0, 45)))
            blackouts = (Period(b, b + timedelta(days=int(rng.integers(7, 35)))),)
        if access or blackouts or sensitive[i]:
            sites[name] = SiteInfo(name, access=access, blackouts=blackouts, sensitive=bool(sensitive[i]))

    # crews: enough in each region for the work to be `load` of their time up to the deadline
    deadline = UK_MILESTONES[-1].date
    working_weeks = ((deadline - start).days // 7) * (1 - 8 / 260)
    crew_hours = 120.0
    crews: list[Crew] = []
    for r, region in enumerate(REGIONS):
        if hours_by_region[r] == 0:
            continue
        n_crews = max(1, math.ceil(hours_by_region[r] / (crew_hours * working_weeks * load)))
        for c in range(n_crews):
            crews.append(Crew(id=f"{region}-{c + 1}", region=region, hours_per_week=crew_hours))

    budgets = (Budget(2024, round(total_cost * budget_cover, -3)), Budget(2025, round(total_cost * 0.5, -3)))
    inputs = PlanInputs(
        work=work,
        crews=crews,
        rates=RATES,
        milestones=UK_MILESTONES,
        budgets=budgets,
        sites=sites,
        holidays=ENGLAND_WALES_BANK_HOLIDAYS,
        already_cleared_sites=n_sites,
    )
    settings = PlanSettings(start=start, horizon_weeks=60, time_limit=time_limit)
    return Instance(inputs, settings, names)
