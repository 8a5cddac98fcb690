"""What-if scenarios: extra crews, more money, a later deadline, applied to plan inputs.

A scenario is data (so a plan file can name several) and applying one is a pure function, so a
comparison is just one plan per scenario from the same inputs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from clearsite.core.plan.calendar import parse_fy
from clearsite.core.plan.types import Budget, Crew, Milestone, PlanInputs


@dataclass(frozen=True, slots=True)
class ExtraCrew:
    """`count` more crews in `region`, each `hours_per_week` (None: the region's largest crew),
    working from the week of `start` to `end` (None: open-ended)."""

    region: str
    start: date
    count: int = 1
    hours_per_week: float | None = None
    end: date | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    extra_crews: tuple[ExtraCrew, ...] = ()
    budget_delta: Mapping[int, float] = field(default_factory=dict)  # fy -> extra pounds
    deadline: date | None = None  # moves the last milestone to this date


def apply_scenario(inputs: PlanInputs, scenario: Scenario) -> PlanInputs:
    crews = list(inputs.crews)
    for k, extra in enumerate(scenario.extra_crews):
        if extra.count < 1:
            raise ValueError(
                f"scenario {scenario.name!r}: extra crews in {extra.region} must number at least 1"
            )
        hours = extra.hours_per_week
        if hours is None:
            existing = [c.hours_per_week for c in inputs.crews if c.region == extra.region]
            if not existing:
                raise ValueError(
                    f"scenario {scenario.name!r}: region {extra.region!r} has no crew to copy; give hours_per_week"
                )
            hours = max(existing)
        for i in range(extra.count):
            crews.append(
                Crew(
                    id=f"{scenario.name}:{extra.region}:{k + 1}.{i + 1}",
                    region=extra.region,
                    hours_per_week=hours,
                    start=extra.start,
                    end=extra.end,
                )
            )
    budgets = {b.fy: b.amount for b in inputs.budgets}
    for fy, amount in scenario.budget_delta.items():
        if fy not in budgets:
            raise ValueError(f"scenario {scenario.name!r}: financial year {fy} has no budget to add to")
        budgets[fy] += amount
    milestones = list(inputs.milestones)
    if scenario.deadline is not None and milestones:
        last = max(range(len(milestones)), key=lambda i: milestones[i].date)
        milestones[last] = replace(milestones[last], date=scenario.deadline)
    elif scenario.deadline is not None:
        milestones = [Milestone(scenario.deadline, 1.0, "deadline set by scenario")]
    return replace(
        inputs,
        crews=tuple(crews),
        budgets=tuple(Budget(fy, amount) for fy, amount in sorted(budgets.items())),
        milestones=tuple(milestones),
    )


_CREWS = re.compile(
    r"^crews?:(?P<region>[^+]+)\+(?P<count>\d+)(?:x(?P<hours>[\d.]+))?(?:@(?P<start>\d{4}-\d\d-\d\d))?$"
)
_BUDGET = re.compile(r"^budget:(?P<fy>(?:FY)?\d{4}(?:-\d\d)?)\+(?P<amount>[\d.]+)$", re.IGNORECASE)
_DEADLINE = re.compile(r"^deadline:(?P<date>\d{4}-\d\d-\d\d)$")


def parse_scenario(text: str, start: date, name: str | None = None) -> Scenario:
    """A scenario from a short CLI form, parts joined by ',':
    `crews:North+2@2024-07-01` (two more crews in North from that week; `+2x120` sets their hours),
    `budget:2024-25+500000`, `deadline:2025-10-31`."""
    extra: list[ExtraCrew] = []
    money: dict[int, float] = {}
    deadline: date | None = None
    for part in filter(None, (p.strip() for p in text.split(","))):
        if m := _CREWS.match(part):
            extra.append(
                ExtraCrew(
                    region=m["region"].strip(),
                    count=int(m["count"]),
                    hours_per_week=float(m["hours"]) if m["hours"] else None,
                    start=date.fromisoformat(m["start"]) if m["start"] else start,
                )
            )
        elif m := _BUDGET.match(part):
            fy = parse_fy(m["fy"])
            money[fy] = money.get(fy, 0.0) + float(m["amount"])
        elif m := _DEADLINE.match(part):
            deadline = date.fromisoformat(m["date"])
        else:
            raise ValueError(
                f"scenario part {part!r} not understood; use crews:REGION+N[xHOURS][@YYYY-MM-DD], "
                "budget:YYYY-YY+AMOUNT or deadline:YYYY-MM-DD"
            )
    return Scenario(name or text, tuple(extra), money, deadline)


def extra_crew_weeks(
    region: str, crew_weeks: int, weeks: list[date], last_week: int, hours: float
) -> ExtraCrew:
    """`crew_weeks` of one region's crew time ending at week `last_week`, as extra crews over a period."""
    span = last_week + 1
    count = -(-crew_weeks // span) if crew_weeks > span else 1
    length = min(crew_weeks if count == 1 else span, span)
    first = last_week - length + 1
    return ExtraCrew(
        region=region,
        start=weeks[first],
        end=weeks[last_week] + timedelta(days=4),
        count=count,
        hours_per_week=hours,
    )
