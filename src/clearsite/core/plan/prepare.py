"""Turn planner inputs into a compact problem: devices packed into site visits, on a week grid.

The decision the solvers make is only which week (and crew) each visit happens in, so the model
size follows sites, not devices: 1M devices on 50k sites is ~50k visits.

Time is held in whole minutes and money in whole pence, rounded so that a plan feasible in
these units is feasible in the inputs' hours and pounds: work rounds up, capacity and budget down.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from clearsite.core.plan.calendar import Grid, monday
from clearsite.core.plan.types import DeviceId, Milestone, PlanInputs, PlanSettings, WorkItem

UNLIMITED = 1 << 60  # budget of a financial year with no budget set


@dataclass(frozen=True, slots=True)
class Unscheduled:
    device: DeviceId
    site: str
    reason: str


@dataclass
class Problem:
    grid: Grid
    weeks: int
    regions: list[str]
    crew_ids: list[str]
    crew_region: np.ndarray  # (crews,) region index
    crew_cap: np.ndarray  # (crews, weeks) minutes
    crew_hours: np.ndarray  # (crews, weeks) exact hours, for reporting
    region_crews: list[list[int]]
    # visits
    v_site: np.ndarray  # site index
    v_region: np.ndarray
    v_minutes: np.ndarray  # int64
    v_pence: np.ndarray  # int64
    v_risk: np.ndarray  # float64, sum of device risks
    v_mask: np.ndarray  # index into masks
    masks: np.ndarray  # (n_masks, weeks) bool
    v_devices: list[tuple[DeviceId, ...]]
    v_hours: list[float]  # exact, for reporting
    v_cost: list[float]
    # sites
    site_names: list[str]
    site_department: list[str]
    site_region: list[str]
    site_visits: list[list[int]]
    site_complete: np.ndarray  # bool: every open device of the site is in a visit
    site_devices: np.ndarray  # int: open devices per site
    # money
    fys: list[int]
    fy_budget: np.ndarray  # pence per fy index, UNLIMITED when not set
    week_fy: np.ndarray  # fy index per week
    # milestones
    milestones: list[Milestone]
    ms_week: list[int]  # last week counted by each milestone (-1: none)
    ms_need: list[int]  # sites the plan must clear by then
    total_sites: int
    already_cleared: int
    penalty: float
    unscheduled: list[Unscheduled] = field(default_factory=list)
    unscheduled_risk: float = 0.0  # risk of devices no visit can hold: exposed for the whole horizon

    @property
    def n_visits(self) -> int:
        return len(self.v_devices)

    @property
    def n_sites(self) -> int:
        return len(self.site_names)

    def horizon_exposure(self) -> float:
        """Exposure charged to work not done within the horizon: weeks + 1 per unit risk."""
        return float(self.weeks + 1)


def default_horizon(settings: PlanSettings, milestones: Sequence[Milestone]) -> int:
    if settings.horizon_weeks is not None:
        return settings.horizon_weeks
    first = monday(settings.start)
    last = max([m.date for m in milestones] + [settings.start + timedelta(weeks=52)])
    return (last - first).days // 7 + 1 + 13


def _minutes_up(hours: float) -> int:
    return math.ceil(hours * 60 - 1e-9)


def _pence_up(pounds: float) -> int:
    return math.ceil(pounds * 100 - 1e-9)


def _pence_down(pounds: float) -> int:
    return math.floor(pounds * 100 + 1e-9)


def prepare(inputs: PlanInputs, settings: PlanSettings) -> Problem:
    milestones = sorted(inputs.milestones, key=lambda m: m.date)
    weeks = default_horizon(settings, milestones)
    grid = Grid(settings.start, weeks, inputs.holidays)

    # crews and capacity per region
    regions: list[str] = sorted({c.region for c in inputs.crews} | {w.region for w in inputs.work})
    region_index = {r: i for i, r in enumerate(regions)}
    seen_crews: set[str] = set()
    for c in inputs.crews:
        if c.id in seen_crews:
            raise ValueError(f"crew id {c.id!r} appears twice")
        if c.hours_per_week < 0:
            raise ValueError(f"crew {c.id!r}: hours_per_week must not be negative")
        seen_crews.add(c.id)
    crew_hours = np.array([grid.crew_capacity(c) for c in inputs.crews], dtype=np.float64).reshape(-1, weeks)
    crew_cap = np.floor(crew_hours * 60 + 1e-9).astype(np.int64)
    crew_region = np.array([region_index[c.region] for c in inputs.crews], dtype=np.int64)
    region_crews: list[list[int]] = [[] for _ in regions]
    for i, c in enumerate(inputs.crews):
        region_crews[region_index[c.region]].append(i)
    # the largest visit a region can take is one crew's best week
    region_visit_limit = [int(crew_cap[cs].max()) if cs else 0 for cs in region_crews]

    # group devices by site, then by group; validate as we go
    rates_cache: dict[str, tuple[float, float, int]] = {}
    site_items: dict[str, list[WorkItem]] = defaultdict(list)
    seen_ids: set[DeviceId] = set()
    for item in inputs.work:
        if item.id in seen_ids:
            raise ValueError(f"device {item.id!r} appears twice in the work")
        seen_ids.add(item.id)
        if item.device_class not in rates_cache:
            try:
                class_rates = inputs.rates.rates(item.device_class)
            except KeyError as exc:
                raise ValueError(f"device {item.id!r}: {exc.args[0]}") from None
            rates_cache[item.device_class] = (class_rates.hours, class_rates.cost, class_rates.lead_time_weeks)
        if item.risk < 0:
            raise ValueError(f"device {item.id!r}: risk must not be negative")
        site_items[item.site].append(item)

    masks: list[list[bool]] = []
    mask_index: dict[tuple[str | None, date | None], int] = {}
    all_open = [True] * weeks

    def mask_for(site: str, release: date | None) -> int:
        info = inputs.sites.get(site)
        key = (site if info is not None and (info.access or info.blackouts) else None, release)
        found = mask_index.get(key)
        if found is None:
            if key[0] is None and release is None:
                m = all_open
            else:
                m = grid.access_mask(info.access if info else (), info.blackouts if info else (), release)
            found = mask_index[key] = len(masks)
            masks.append(m)
        return found

    v_site: list[int] = []
    v_region: list[int] = []
    v_minutes: list[int] = []
    v_pence: list[int] = []
    v_risk: list[float] = []
    v_mask: list[int] = []
    v_devices: list[tuple[DeviceId, ...]] = []
    v_hours: list[float] = []
    v_cost: list[float] = []
    site_names: list[str] = []
    site_department: list[str] = []
    site_region: list[str] = []
    site_visits: list[list[int]] = []
    site_complete: list[bool] = []
    site_devices: list[int] = []
    unscheduled: list[Unscheduled] = []
    unscheduled_risk = 0.0

    for site in sorted(site_items):
        items = site_items[site]
        first = items[0]
        for it in items:
            if it.region != first.region or it.department != first.department:
                raise ValueError(
                    f"device {it.id!r} at site {site!r} has region/department "
                    f"{it.region!r}/{it.department!r}, others there have {first.region!r}/{first.department!r}"
                )
        s = len(site_names)
        site_names.append(site)
        site_department.append(first.department)
        site_region.append(first.region)
        site_visits.append([])
        site_devices.append(len(items))
        r = region_index[first.region]
        travel_h = inputs.rates.travel(first.region)
        travel_m = _minutes_up(travel_h)
        limit = region_visit_limit[r] - travel_m
        complete = True

        groups: dict[object, list[WorkItem]] = defaultdict(list)
        for it in items:
            groups[it.group if it.group is not None else ("__device__", it.id)].append(it)
        # buckets of groups by release date: a hazard camera waiting for its replacement should not
        # hold back the rest of the site, so each release date gets its own visit(s)
        buckets: dict[date | None, list[tuple[int, list[WorkItem]]]] = defaultdict(list)
        for members in groups.values():
            release: date | None = None
            hours = 0.0
            for it in members:
                h, _, lead = rates_cache[it.device_class]
                hours += h
                rel = settings.start + timedelta(weeks=lead) if it.hazard_cover and lead > 0 else None
                if it.not_before is not None and (rel is None or it.not_before > rel):
                    rel = it.not_before
                if rel is not None and (release is None or rel > release):
                    release = rel
            minutes = _minutes_up(hours)
            if not region_crews[r]:
                reason = f"no crew in region {first.region}"
            elif minutes > limit:
                reason = (
                    f"{len(members)} device(s) that go together need {hours:.1f} h plus {travel_h:g} h travel, "
                    f"more than any crew's week in region {first.region} ({region_visit_limit[r] / 60:.1f} h)"
                )
            else:
                buckets[release].append((minutes, members))
                continue
            complete = False
            for it in members:
                unscheduled.append(Unscheduled(it.id, site, reason))
                unscheduled_risk += it.risk

        for release in sorted(buckets, key=lambda d: (d is not None, d or date.min)):
            mask = mask_for(site, release)
            if not any(masks[mask]):
                complete = False
                for _, members in buckets[release]:
                    for it in members:
                        unscheduled.append(Unscheduled(it.id, site, _no_access_reason(release, grid)))
                        unscheduled_risk += it.risk
                continue
            # first fit decreasing into visits no bigger than one crew-week
            bins: list[tuple[int, list[WorkItem]]] = []
            for minutes, members in sorted(buckets[release], key=lambda b: -b[0]):
                for bi, (used, content) in enumerate(bins):
                    if used + minutes <= limit:
                        content.extend(members)
                        bins[bi] = (used + minutes, content)
                        break
                else:
                    bins.append((minutes, list(members)))
            for _, content in bins:
                hours = travel_h + sum(rates_cache[it.device_class][0] for it in content)
                cost = inputs.rates.visit_cost + sum(rates_cache[it.device_class][1] for it in content)
                site_visits[s].append(len(v_devices))
                v_site.append(s)
                v_region.append(r)
                v_minutes.append(_minutes_up(hours))
                v_pence.append(_pence_up(cost))
                v_risk.append(sum(it.risk for it in content))
                v_mask.append(mask)
                v_devices.append(tuple(it.id for it in content))
                v_hours.append(hours)
                v_cost.append(cost)
        site_complete.append(complete)

    # money by financial year
    fys = sorted(set(grid.fy_of_week))
    budgets = {b.fy: b for b in inputs.budgets}
    fy_budget = np.array(
        [_pence_down(budgets[f].amount) if f in budgets else UNLIMITED for f in fys], dtype=np.int64
    )
    fy_pos = {f: i for i, f in enumerate(fys)}
    week_fy = np.array([fy_pos[f] for f in grid.fy_of_week], dtype=np.int64)

    n_sites = len(site_names)
    total_sites = n_sites + inputs.already_cleared_sites
    ms_week = [grid.last_week_done_by(m.date) for m in milestones]
    ms_need = [
        max(0, math.ceil(m.target_share * total_sites - 1e-9) - inputs.already_cleared_sites)
        for m in milestones
    ]

    total_risk = sum(v_risk) + unscheduled_risk
    if settings.milestone_penalty is not None:
        penalty = settings.milestone_penalty
    else:
        penalty = 4.0 * (total_risk / max(n_sites, 1)) * (weeks + 1)
        penalty = max(penalty, 1.0)

    return Problem(
        grid=grid,
        weeks=weeks,
        regions=regions,
        crew_ids=[c.id for c in inputs.crews],
        crew_region=crew_region,
        crew_cap=crew_cap,
        crew_hours=crew_hours,
        region_crews=region_crews,
        v_site=np.array(v_site, dtype=np.int64),
        v_region=np.array(v_region, dtype=np.int64),
        v_minutes=np.array(v_minutes, dtype=np.int64),
        v_pence=np.array(v_pence, dtype=np.int64),
        v_risk=np.array(v_risk, dtype=np.float64),
        v_mask=np.array(v_mask, dtype=np.int64),
        masks=np.array(masks, dtype=bool).reshape(len(masks), weeks),
        v_devices=v_devices,
        v_hours=v_hours,
        v_cost=v_cost,
        site_names=site_names,
        site_department=site_department,
        site_region=site_region,
        site_visits=site_visits,
        site_complete=np.array(site_complete, dtype=bool),
        site_devices=np.array(site_devices, dtype=np.int64),
        fys=fys,
        fy_budget=fy_budget,
        week_fy=week_fy,
        milestones=milestones,
        ms_week=ms_week,
        ms_need=ms_need,
        total_sites=total_sites,
        already_cleared=inputs.already_cleared_sites,
        penalty=penalty,
        unscheduled=unscheduled,
        unscheduled_risk=unscheduled_risk,
    )


def _no_access_reason(release: date | None, grid: Grid) -> str:
    end = grid.mondays[-1] + timedelta(days=4)
    if release is not None and release > end:
        return f"cannot start before {release.isoformat()} (replacement lead time or not-before date), after the horizon"
    return f"no working day with site access between {grid.start.isoformat()} and {end.isoformat()}"
