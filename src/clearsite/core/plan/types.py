"""Inputs to the removal planner, as plain frozen dataclasses.

They are cheap to build by the million (a national estate is ~1M devices), need no database,
and pydantic validates them from YAML or JSON through a TypeAdapter (see `planfile`), so the
types are written once and errors still name the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

DeviceId = int | str


@dataclass(frozen=True, slots=True)
class Period:
    """A closed range of days, both ends included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One device with an open removal finding: the unit of work.

    `group` ties devices that must come out in the same visit (an NVR and its cameras);
    `hazard_cover` marks a camera that covers a hazard and so stays until its replacement
    is fitted, which makes the replacement lead time for its class a release date.
    """

    id: DeviceId
    site: str
    department: str
    region: str
    device_class: str
    risk: float = 1.0
    group: str | None = None
    hazard_cover: bool = False
    not_before: date | None = None  # any other reason it cannot go earlier (e.g. a contract)


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """What the planner needs about a site beyond its devices: when a crew may go in.

    No access windows means the site is open on every working day; blackouts always win.
    """

    name: str
    access: tuple[Period, ...] = ()
    blackouts: tuple[Period, ...] = ()
    sensitive: bool = False


@dataclass(frozen=True, slots=True)
class Crew:
    """A removal crew: a region, a weekly capacity in device-hours, and a working calendar.

    A week's capacity is prorated by the crew's available working days (Mon-Fri, less holidays,
    leave, and days outside start..end), so a bank-holiday week has four fifths of it.
    """

    id: str
    region: str
    hours_per_week: float
    start: date | None = None
    end: date | None = None
    unavailable: tuple[Period, ...] = ()


@dataclass(frozen=True, slots=True)
class ClassRates:
    """Time and money per device of one class: crew hours (removal and fitting the replacement),
    costs in pounds, and how many weeks a replacement takes to arrive once ordered at the start."""

    hours: float
    removal: float = 0.0
    replacement: float = 0.0
    disposal: float = 0.0
    lead_time_weeks: int = 0

    @property
    def cost(self) -> float:
        return self.removal + self.replacement + self.disposal


@dataclass(frozen=True, slots=True)
class CostTable:
    """Rates per device class; `default` covers classes not listed (None: unknown classes are an error)."""

    classes: Mapping[str, ClassRates]
    default: ClassRates | None = None
    visit_cost: float = 0.0  # travel and set-up per visit, in pounds
    travel_hours: float = 0.0  # crew hours per visit on top of the devices
    travel_hours_by_region: Mapping[str, float] = field(default_factory=dict)

    def rates(self, device_class: str) -> ClassRates:
        found = self.classes.get(device_class, self.default)
        if found is None:
            raise KeyError(f"no rates for device class {device_class!r} and no default rates")
        return found

    def travel(self, region: str) -> float:
        return self.travel_hours_by_region.get(region, self.travel_hours)


@dataclass(frozen=True, slots=True)
class Budget:
    """Money for one UK financial year (April to March), named by its first year: 2024 is 2024-25."""

    fy: int
    amount: float


@dataclass(frozen=True, slots=True)
class Milestone:
    """By `date`, at least `target_share` of all affected sites (already clear ones included) are clear."""

    date: date
    target_share: float
    note: str = ""

    def __post_init__(self) -> None:
        if not 0.0 < self.target_share <= 1.0:
            raise ValueError(f"milestone target_share must be in (0, 1], got {self.target_share}")


@dataclass(frozen=True, slots=True)
class PlanSettings:
    """How to plan. `horizon_weeks` None means up to 13 weeks after the last milestone (or a year).

    `milestone_penalty` is the objective cost of each site short of a milestone; None picks four
    times the horizon exposure of an average site, so meeting milestones almost always wins.
    `solver` "auto" runs the heuristic, then CP-SAT on slices of the plan (large-neighbourhood
    search) and, when the whole model fits `cpsat_max_vars`, on the whole model for a proven bound;
    "cpsat" forces the whole model; "heuristic" stops after the heuristic.
    """

    start: date
    horizon_weeks: int | None = None
    time_limit: float = 30.0
    milestone_penalty: float | None = None
    solver: str = "auto"  # auto | cpsat | heuristic
    workers: int = 2
    seed: int = 0
    target_gap: float = 0.0
    cpsat_max_vars: int = 60_000  # above this, CP-SAT only ever sees slices (LNS)
    diagnose: bool = True  # search for the extra capacity/budget that meets unmet milestones

    def __post_init__(self) -> None:
        if self.solver not in ("auto", "cpsat", "heuristic"):
            raise ValueError(f"solver must be auto, cpsat or heuristic, got {self.solver!r}")
        if self.horizon_weeks is not None and self.horizon_weeks < 1:
            raise ValueError("horizon_weeks must be at least 1")
        if self.time_limit <= 0:
            raise ValueError("time_limit must be positive")


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """Everything the planner reads. `already_cleared_sites` counts affected sites cleared before
    the plan starts: the UK milestones are shares of all affected sites, done ones included."""

    work: Sequence[WorkItem]
    crews: Sequence[Crew]
    rates: CostTable
    milestones: Sequence[Milestone] = ()
    budgets: Sequence[Budget] = ()  # a year without a budget is unconstrained
    sites: Mapping[str, SiteInfo] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    already_cleared_sites: int = 0
