"""The life of a removal claim, as a pure state machine: what a later observation does to it.

A removal recorded by a person is only a *claim*. Later observations decide it:

* claimed → verified: an observation after the claim covered the device's last known address (a
  scan or agent scan whose targets included it, or a switch MAC/ARP table of its site for a device
  known by its MAC) and did not see the device; and its replacement, when one was named by serial
  or MAC, has been seen and is cleared.
* claimed → contradicted: the same device (its MAC, its serial, or its address with the same
  identity) was seen after the claim.
* verified → reappeared: the same device was seen after it was verified removed.
* contradicted/reappeared → claimed: a person records the removal again (a new claim).

No other move exists: in particular nothing reaches *verified* without a covering observation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Event", "RemovalStatus", "Step", "next_status"]


class RemovalStatus(StrEnum):
    CLAIMED = "claimed"
    VERIFIED = "verified"
    CONTRADICTED = "contradicted"
    REAPPEARED = "reappeared"


class Event(StrEnum):
    CLAIM = "claim"  # a person records the removal (again)
    SEEN = "seen"  # the device was observed after the claim
    COVERED_UNSEEN = "covered_unseen"  # an observation covered its address and did not see it
    COVERED_UNSEEN_REPLACEMENT_PENDING = "covered_unseen_replacement_pending"  # … but the replacement is not cleared


@dataclass(frozen=True, slots=True)
class Step:
    status: RemovalStatus
    changed: bool
    alert: str | None = None  # the alert kind this move raises


def next_status(current: RemovalStatus | None, event: Event) -> Step:
    """Where a claim goes on an event (None: no claim yet). Unknown moves leave it where it is."""
    if event == Event.CLAIM:
        return Step(RemovalStatus.CLAIMED, current != RemovalStatus.CLAIMED)
    if current is None:
        raise ValueError("no claim to move: a removal must be claimed first")
    if event == Event.SEEN:
        if current == RemovalStatus.CLAIMED:
            return Step(RemovalStatus.CONTRADICTED, True, "contradicted")
        if current == RemovalStatus.VERIFIED:
            return Step(RemovalStatus.REAPPEARED, True, "reappeared")
        return Step(current, False)
    if event == Event.COVERED_UNSEEN and current == RemovalStatus.CLAIMED:
        return Step(RemovalStatus.VERIFIED, True)
    return Step(current, False)
