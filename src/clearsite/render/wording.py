"""Plain words for what people read: dates as people write them, money with separators, counts with
the right plural, and the planner's findings as sentences ("The 8 March 2027 milestone cannot be met:
£19,380 short in 2026-27"). The JSON keeps the precise numbers; these are for pages, reports and charts.
"""

from __future__ import annotations

from datetime import date

from clearsite.core.plan.result import Plan, Shortfall

__all__ = ["long_date", "money", "plan_headline", "plural", "share", "short_date", "shortfall_sentence"]


def long_date(day: date | None) -> str:
    """8 March 2027 (no leading zero, month in full)."""
    return f"{day.day} {day:%B %Y}" if day is not None else ""


def short_date(day: date) -> str:
    """8 Mar 2027, for chart axes and tooltips where space is short."""
    return f"{day.day} {day:%b %Y}"


def money(amount: float | None) -> str:
    """£19,380: whole pounds with separators."""
    if amount is None:
        return "no limit"
    return f"-£{-amount:,.0f}" if amount < 0 else f"£{amount:,.0f}"


def plural(count: int, one: str, many: str | None = None) -> str:
    """'1 site', '3 sites', '1 more reason'."""
    return f"{count:,} {one if count == 1 else many or one + 's'}"


def share(value: float) -> str:
    return f"{100 * value:.0f}%"


def shortfall_sentence(shortfall: Shortfall) -> str:
    """Why a milestone cannot be met and what would meet it, in one sentence."""
    head = f"The {long_date(shortfall.milestone)} milestone cannot be met"
    if shortfall.kind == "budget" and shortfall.extra_budget > 0:
        where = f" in {shortfall.fy}" if shortfall.fy else ""
        tail = "; re-planning with it meets the milestone" if shortfall.verified else ""
        return f"{head}: {money(shortfall.extra_budget)} short{where}{tail}."
    if shortfall.kind == "capacity" and (shortfall.extra_crews or shortfall.extra_hours):
        where = f" in {shortfall.region}" if shortfall.region else ""
        extra = (plural(shortfall.extra_crews, "more crew") if shortfall.extra_crews
                 else f"{shortfall.extra_hours:,.0f} more crew hours")
        start = f" from {long_date(shortfall.period_start)}" if shortfall.period_start else ""
        return f"{head} with the crews planned: it needs {extra}{where}{start}."
    if shortfall.kind in ("access", "date") and shortfall.later_date is not None:
        return f"{head}: enough sites can be cleared by {long_date(shortfall.later_date)} at the earliest."
    reason = shortfall.reason.rstrip(".")
    return f"{head}: {reason[:1].lower() + reason[1:]}." if reason else f"{head}."


def plan_headline(plan: Plan) -> str:
    """What the plan achieves, in a sentence (status, objective and gap stay in the JSON)."""
    missed = [m for m in plan.milestones if not m.met]
    visits = plural(len(plan.visits), "site visit")
    if not plan.milestones:
        text = f"The plan makes {visits} from {long_date(plan.start)}."
    elif not missed:
        text = f"The plan meets every milestone with {visits} from {long_date(plan.start)}."
    else:
        names = ", ".join(long_date(m.date) for m in missed)
        text = (f"The plan makes {visits} from {long_date(plan.start)} but cannot meet "
                f"{'the ' + names + ' milestone' if len(missed) == 1 else 'the milestones of ' + names}.")
    if plan.unscheduled:
        text += f" {plural(len(plan.unscheduled), 'device')} could not be scheduled."
    return text
