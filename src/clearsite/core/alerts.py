"""Alert kinds, defined once: what the store accepts, what the doors list and what delivery sends.

An alert says that something needs a person: a device that should be gone was seen again, a new
NIL-subject device appeared at a sensitive site, a work order ran late. Each kind has a title for
people; the set is closed so a misspelt kind fails where it is raised, not silently at delivery.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ALERT_KINDS", "ALERT_TITLES", "REMOVAL_KINDS", "is_alert_kind"]

# The five kinds the removal work raises, then those other parts of clearsite raise.
REMOVAL_KINDS: Final = ("new_deployment", "reappeared", "contradicted", "replacement_not_cleared", "order_overdue")

ALERT_TITLES: Final[dict[str, str]] = {
    "new_deployment": "New NIL-subject or unidentified device at a sensitive site",
    "reappeared": "A device verified as removed was seen again",
    "contradicted": "A device claimed as removed is still there",
    "replacement_not_cleared": "A replacement is NIL-subject or not identified",
    "order_overdue": "A work order is past its due date",
    "evidence_conflict": "Evidence about a device conflicts with a review decision",
    "agent_refused": "A site agent's push was refused",
    "site_silent": "A site agent has not reported on time",
}

ALERT_KINDS: Final = frozenset(ALERT_TITLES)


def is_alert_kind(kind: str) -> bool:
    return kind in ALERT_KINDS
