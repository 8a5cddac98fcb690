"""Plain words for pages: money as "£23,485", dates as "3 December 2026", times without microseconds,
and titles for the codes the data carries (PRC_INCORPORATED, holds_secret, breach …).

Jinja filters, registered once in pages._environment; every page template may use them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from clearsite.core.plain import BASIS_TITLES

SITE_FLAG_TITLES = {
    "holds_secret": "Holds SECRET or above",
    "dv_hub": "Hub for developed-vetting (DV) staff",
    "ministerial": "Used by ministers",
    "socpa": "Designated under SOCPA section 128",
}
STATUS_TITLES = {
    "breach": "Breach", "overdue": "Overdue", "due": "Due", "review": "Needs review", "advisory": "Advisory",
    "compliant": "Compliant", "none": "No findings",
}
SENSITIVITY_TITLES = {"high": "High", "medium": "Medium", "low": "Low", "standard": "Standard"}


def money(value: Any, pence: bool = False) -> str:
    """£23,485 (pounds, rounded) or, with pence=True, a value held in pence."""
    if value is None or value == "":
        return "—"
    amount = float(value) / (100 if pence else 1)
    return f"-£{-amount:,.0f}" if amount < 0 else f"£{amount:,.0f}"


def _as_datetime(value: Any) -> date | datetime | None:
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value or " " in value.strip() \
                else date.fromisoformat(value)
        except ValueError:
            return None
    return None


def long_date(value: Any) -> str:
    """3 December 2026 (GOV.UK style: no leading zero, month in full)."""
    moment = _as_datetime(value)
    if moment is None:
        return str(value) if value else "—"
    return f"{moment.day} {moment:%B %Y}"


def when(value: Any) -> str:
    """3 December 2026, 14:05 (seconds and microseconds are noise on a page)."""
    moment = _as_datetime(value)
    if moment is None:
        return str(value) if value else "—"
    if not isinstance(moment, datetime):
        return long_date(moment)
    return f"{moment.day} {moment:%B %Y}, {moment:%H:%M}"


def basis_title(code: Any) -> str:
    return BASIS_TITLES.get(str(code), str(code).replace("_", " ").capitalize()) if code else "—"


def flag_title(code: Any) -> str:
    return SITE_FLAG_TITLES.get(str(code), str(code).replace("_", " "))


def status_title(code: Any) -> str:
    return STATUS_TITLES.get(str(code), str(code).replace("_", " ").capitalize()) if code else "None"


def yes_no(value: Any, unknown: str = "Not known") -> str:
    return unknown if value is None else ("Yes" if value else "No")


def count(value: Any, singular: str, plural: str | None = None) -> str:
    """'1 device', '2,345 devices'."""
    number = int(value or 0)
    return f"{number:,} {singular if number == 1 else (plural or singular + 's')}"


STATUS_TAGS = {"breach": "govuk-tag--red", "overdue": "govuk-tag--red", "due": "govuk-tag--orange",
               "review": "govuk-tag--yellow", "advisory": "govuk-tag--blue", "compliant": "govuk-tag--green"}
NIL_TITLES = {"yes": "Yes", "no": "No", "review": "Needs review", "unknown": "Not known"}
NIL_TAGS = {"yes": "govuk-tag--red", "no": "govuk-tag--green", "review": "govuk-tag--yellow",
            "unknown": "govuk-tag--grey"}


def status_tag(code: Any) -> str:
    return STATUS_TAGS.get(str(code), "govuk-tag--grey")


def nil_title(code: Any) -> str:
    return NIL_TITLES.get(str(code), str(code))


def nil_tag(code: Any) -> str:
    return NIL_TAGS.get(str(code), "govuk-tag--grey")


def class_title(code: Any) -> str:
    """ip_camera → IP camera."""
    text = str(code or "unknown").replace("_", " ")
    for short in ("ip", "ptz", "anpr", "nvr", "dvr", "vms"):
        text = " ".join(short.upper() if word == short else word for word in text.split())
    return text[0].upper() + text[1:] if text else text


FILTERS = {"money": money, "long_date": long_date, "when": when, "basis_title": basis_title,
           "flag_title": flag_title, "status_title": status_title, "yes_no": yes_no, "count": count,
           "status_tag": status_tag, "nil_title": nil_title, "nil_tag": nil_tag, "class_title": class_title}
