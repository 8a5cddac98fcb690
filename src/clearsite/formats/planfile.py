"""The plan file (YAML): crews, rates, budgets, milestones, site access and named scenarios.

    start: 2024-05-06
    time_limit: 30
    policy: uk-hcws386/O3          # milestones from the knowledge base, or list `milestones:`
    already_cleared_sites: 40
    holidays: england-and-wales    # or a list of dates
    crews:
      - {id: north-1, region: North, hours_per_week: 120, unavailable: [{start: 2024-08-05, end: 2024-08-16}]}
    rates:
      travel_hours: 3
      visit_cost: 250
      default: {hours: 1.0, removal: 80, replacement: 500, disposal: 10}
      classes:
        ip_camera: {hours: 0.75, removal: 60, replacement: 420, disposal: 10, lead_time_weeks: 6}
    budgets: {"2024-25": 1500000, "2025-26": 400000}
    sites:
      "HQ Building": {access: [{start: 2024-06-01, end: 2024-09-30}], blackouts: []}
      "Annex": {hazard_cover: [1041], together: [[1040, 1041, 1042]], not_before: 2024-07-01}
    scenarios:
      two-more-crews: {extra_crews: [{region: North, count: 2, start: 2024-07-01}]}
      more-money: {budget_delta: {"2024-25": 250000}}
      later: {deadline: 2025-10-31}

Unknown keys are errors (a typo must not silently drop a constraint); every error names its field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from clearsite.core.errors import InputError
from clearsite.core.plan import types as t
from clearsite.core.plan.calendar import parse_fy
from clearsite.core.plan.scenario import ExtraCrew, Scenario


class PlanFileError(InputError, ValueError):
    """The plan file is wrong; `errors` holds one "field.path: problem" line per mistake."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: " + "; ".join(errors))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Period(_Strict):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> _Period:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class _Crew(_Strict):
    id: str
    region: str
    hours_per_week: Annotated[float, Field(gt=0)]
    start: date | None = None
    end: date | None = None
    unavailable: list[_Period] = []


class _Rates(_Strict):
    hours: Annotated[float, Field(gt=0)]
    removal: Annotated[float, Field(ge=0)] = 0.0
    replacement: Annotated[float, Field(ge=0)] = 0.0
    disposal: Annotated[float, Field(ge=0)] = 0.0
    lead_time_weeks: Annotated[int, Field(ge=0)] = 0


class _CostTable(_Strict):
    classes: dict[str, _Rates] = {}
    default: _Rates | None = None
    visit_cost: Annotated[float, Field(ge=0)] = 0.0
    travel_hours: Annotated[float, Field(ge=0)] = 0.0
    travel_hours_by_region: dict[str, Annotated[float, Field(ge=0)]] = {}


class _Milestone(_Strict):
    date: date
    target_share: Annotated[float, Field(gt=0, le=1)]
    note: str = ""


class _Site(_Strict):
    access: list[_Period] = []
    blackouts: list[_Period] = []
    hazard_cover: list[int | str] = []  # devices that stay until their replacement is fitted
    together: list[list[int | str]] = []  # devices that must come out in one visit (an NVR and its cameras)
    not_before: date | None = None  # no work at the site before this day


class _ExtraCrew(_Strict):
    region: str
    start: date
    count: Annotated[int, Field(ge=1)] = 1
    hours_per_week: Annotated[float, Field(gt=0)] | None = None
    end: date | None = None


def _fy_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {parse_fy(k): v for k, v in value.items()}
    return value


class _Scenario(_Strict):
    extra_crews: list[_ExtraCrew] = []
    budget_delta: dict[int, float] = {}
    deadline: date | None = None

    _keys = field_validator("budget_delta", mode="before")(_fy_keys)


class _PlanFile(_Strict):
    start: date
    horizon_weeks: Annotated[int, Field(ge=1)] | None = None
    time_limit: Annotated[float, Field(gt=0)] = 30.0
    milestone_penalty: Annotated[float, Field(ge=0)] | None = None
    solver: str = "auto"
    workers: Annotated[int, Field(ge=1)] = 2
    seed: int = 0
    target_gap: Annotated[float, Field(ge=0)] = 0.0
    policy: str | None = None
    milestones: list[_Milestone] = []
    already_cleared_sites: Annotated[int, Field(ge=0)] = 0
    holidays: str | list[date] = []
    crews: Annotated[list[_Crew], Field(min_length=1)]
    rates: _CostTable
    budgets: dict[int, Annotated[float, Field(ge=0)]] = {}
    sites: dict[str, _Site] = {}
    scenarios: dict[str, _Scenario] = {}

    _keys = field_validator("budgets", mode="before")(_fy_keys)

    @field_validator("solver")
    @classmethod
    def _solver(cls, v: str) -> str:
        if v not in ("auto", "cpsat", "heuristic"):
            raise ValueError("must be auto, cpsat or heuristic")
        return v

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, v: str | list[date]) -> str | list[date]:
        if isinstance(v, str) and v != "england-and-wales":
            raise ValueError("a list of dates, or 'england-and-wales'")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> _PlanFile:
        ids = [c.id for c in self.crews]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"crews: duplicate id(s) {', '.join(dupes)}")
        if self.policy and self.milestones:
            raise ValueError("give either policy or milestones, not both")
        regions = {c.region for c in self.crews}
        for name, sc in self.scenarios.items():
            for e in sc.extra_crews:
                if e.region not in regions and e.hours_per_week is None:
                    raise ValueError(
                        f"scenarios.{name}: region {e.region!r} has no crews; give hours_per_week"
                    )
            for fy in sc.budget_delta:
                if fy not in self.budgets:
                    raise ValueError(f"scenarios.{name}.budget_delta: financial year {fy} has no budget")
        return self


@dataclass(frozen=True)
class PlanFile:
    """A loaded plan file: settings, resources and scenarios, waiting for the work."""

    settings: t.PlanSettings
    crews: tuple[t.Crew, ...]
    rates: t.CostTable
    milestones: tuple[t.Milestone, ...]
    budgets: tuple[t.Budget, ...]
    site_access: Mapping[str, t.SiteInfo]
    holidays: frozenset[date]
    already_cleared_sites: int
    scenarios: Mapping[str, Scenario] = field(default_factory=dict)
    site_work: Mapping[str, _Site] = field(default_factory=dict)  # per-device facts the register lacks

    def inputs(
        self, work: Sequence[t.WorkItem], sites: Mapping[str, t.SiteInfo] | None = None
    ) -> t.PlanInputs:
        """Planner inputs for this work. Access windows from the file win over `sites` (from the
        database); the file's hazard_cover, together and not_before lists amend the work items."""
        merged = dict(sites or {})
        for name, access in self.site_access.items():
            base = merged.get(name)
            merged[name] = replace(access, sensitive=base.sensitive) if base else access
        if self.site_work:
            work = [self._amend(w) for w in work]
        return t.PlanInputs(
            work=work,
            crews=self.crews,
            rates=self.rates,
            milestones=self.milestones,
            budgets=self.budgets,
            sites=merged,
            holidays=self.holidays,
            already_cleared_sites=self.already_cleared_sites,
        )

    def _amend(self, item: t.WorkItem) -> t.WorkItem:
        extra = self.site_work.get(item.site)
        if extra is None:
            return item
        key = str(item.id)
        changes: dict[str, Any] = {}
        if key in {str(d) for d in extra.hazard_cover}:
            changes["hazard_cover"] = True
        for i, members in enumerate(extra.together):
            if key in {str(d) for d in members}:
                changes["group"] = f"plan-file:{i}"
        if extra.not_before and (item.not_before is None or extra.not_before > item.not_before):
            changes["not_before"] = extra.not_before
        return replace(item, **changes) if changes else item

    def with_settings(self, **overrides: Any) -> PlanFile:
        """CLI overrides (time_limit=..., solver=..., start=...), validated like the file."""
        return replace(
            self, settings=replace(self.settings, **{k: v for k, v in overrides.items() if v is not None})
        )


def load_plan_file(path: str | Path) -> PlanFile:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanFileError(str(path), [f"cannot read: {exc.strerror}"]) from None
    return parse_plan_file(text, source=str(path))


def parse_plan_file(text: str, source: str = "plan file") -> PlanFile:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlanFileError(source, [f"not valid YAML: {exc}"]) from None
    if not isinstance(raw, dict):
        raise PlanFileError(source, ["expected a mapping of settings at the top level"])
    try:
        model = _PlanFile.model_validate(raw)
    except ValidationError as exc:
        raise PlanFileError(source, [_error_line(e) for e in exc.errors()]) from None
    try:
        return _convert(model)
    except (ValueError, KeyError) as exc:
        raise PlanFileError(source, [str(exc)]) from None


def _error_line(error: Mapping[str, Any]) -> str:
    where = ""
    for part in error["loc"]:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return f"{where or '(top level)'}: {error['msg']}"


def _period(p: _Period) -> t.Period:
    return t.Period(p.start, p.end)


def _rates(r: _Rates) -> t.ClassRates:
    return t.ClassRates(r.hours, r.removal, r.replacement, r.disposal, r.lead_time_weeks)


def _policy_milestones(ref: str) -> tuple[t.Milestone, ...]:
    from clearsite.formats.knowledge import load_knowledge  # the knowledge base is only needed for `policy:`

    policy_id, _, obligation_id = ref.partition("/")
    policy = load_knowledge().policies.get(policy_id)
    if policy is None:
        raise ValueError(f"policy: no policy {policy_id!r} in the knowledge base")
    found = [
        o
        for o in policy.obligations
        if (o.id == obligation_id if obligation_id else bool(o.milestones or o.deadline))
    ]
    if not found:
        raise ValueError(f"policy: {ref!r} has no obligation with milestones or a deadline")
    ob = found[0]
    if ob.milestones:
        return tuple(t.Milestone(m.date, m.target_share, m.note) for m in ob.milestones)
    assert ob.deadline is not None
    return (t.Milestone(ob.deadline, 1.0, ob.title),)


def _convert(m: _PlanFile) -> PlanFile:
    from clearsite.core.plan.synthetic import ENGLAND_WALES_BANK_HOLIDAYS

    settings = t.PlanSettings(
        start=m.start,
        horizon_weeks=m.horizon_weeks,
        time_limit=m.time_limit,
        milestone_penalty=m.milestone_penalty,
        solver=m.solver,
        workers=m.workers,
        seed=m.seed,
        target_gap=m.target_gap,
    )
    crews = tuple(
        t.Crew(c.id, c.region, c.hours_per_week, c.start, c.end, tuple(_period(p) for p in c.unavailable))
        for c in m.crews
    )
    rates = t.CostTable(
        classes={k: _rates(v) for k, v in m.rates.classes.items()},
        default=_rates(m.rates.default) if m.rates.default else None,
        visit_cost=m.rates.visit_cost,
        travel_hours=m.rates.travel_hours,
        travel_hours_by_region=dict(m.rates.travel_hours_by_region),
    )
    milestones = (
        _policy_milestones(m.policy)
        if m.policy
        else tuple(t.Milestone(x.date, x.target_share, x.note) for x in m.milestones)
    )
    # The only text the validator lets through is "england-and-wales".
    holidays = ENGLAND_WALES_BANK_HOLIDAYS if isinstance(m.holidays, str) else frozenset(m.holidays)
    scenarios = {
        name: Scenario(
            name,
            tuple(ExtraCrew(e.region, e.start, e.count, e.hours_per_week, e.end) for e in sc.extra_crews),
            dict(sc.budget_delta),
            sc.deadline,
        )
        for name, sc in m.scenarios.items()
    }
    return PlanFile(
        settings=settings,
        crews=crews,
        rates=rates,
        milestones=milestones,
        budgets=tuple(t.Budget(fy, amount) for fy, amount in sorted(m.budgets.items())),
        site_access={
            name: t.SiteInfo(
                name, tuple(_period(p) for p in s.access), tuple(_period(p) for p in s.blackouts)
            )
            for name, s in m.sites.items()
            if s.access or s.blackouts
        },
        holidays=holidays,
        already_cleared_sites=m.already_cleared_sites,
        scenarios=scenarios,
        site_work={name: s for name, s in m.sites.items() if s.hazard_cover or s.together or s.not_before},
    )
