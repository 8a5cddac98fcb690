"""Review decisions: a person settles a verdict the machine could not, and new evidence can unsettle it.

A decision is history, not an edit: the machine's identity stays as computed from the evidence, and
the decision in force (the newest for the device; a withdrawal returns to the machine) is laid over
it by `settled_identity`, so assessment, planning and publication read the settled values through
the same `Identity` they always read. When later evidence contradicts a decision, or an agent's
push contradicts an identified device, a flag sends the device back to a person: the verdict goes
to review, except that a verdict of "yes" stands (unverified evidence never weakens a finding).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from clearsite.core.models import Identity, NilSubject

__all__ = ["CONTRADICTED_DECISION", "EVIDENCE_CONFLICT", "SETTLE", "WITHDRAW", "Decision", "ReviewFlag", "ReviewState",
           "contradiction", "decision_note", "people_date", "settled_identity"]

SETTLE = "settle"  # confirm, or override producer / NIL verdict / class / make and model seen
WITHDRAW = "withdraw"  # undo: the machine's verdict stands again
CONTRADICTED_DECISION = "contradicted_decision"  # later evidence disagrees with a decision
EVIDENCE_CONFLICT = "evidence_conflict"  # an agent's push disagrees with an identified device


@dataclass(frozen=True, slots=True)
class Decision:
    """One review decision, as recorded. Omitted fields were resolved to the machine's values when made."""

    id: int
    device_id: int
    action: str  # SETTLE or WITHDRAW
    nil_subject: NilSubject | None
    producer_id: str | None
    device_class: str | None
    model: str | None  # the model seen on site, if recorded
    label_brand: str | None  # the make seen on site, if recorded
    reason: str
    actor: str
    decided_at: datetime
    machine_producer: str | None  # the machine's verdict the decision was made against
    machine_nil: str | None


@dataclass(frozen=True, slots=True)
class ReviewFlag:
    """Why a device is back with a person."""

    kind: str  # CONTRADICTED_DECISION or EVIDENCE_CONFLICT
    reason: str
    raised_at: datetime


@dataclass(frozen=True, slots=True)
class ReviewState:
    """What people have said of one device: the decision in force (None: the machine's verdict), any flag."""

    decision: Decision | None
    flag: ReviewFlag | None


def people_date(when: datetime) -> str:
    """3 December 2026, as people write dates."""
    return f"{when.day} {when:%B %Y}"


def decision_note(decision: Decision) -> str:
    """The line a settled verdict gives as its first reason."""
    return f"settled on review by {decision.actor} on {people_date(decision.decided_at)}: {decision.reason}"


def settled_identity(machine: Identity, state: ReviewState) -> Identity:
    """The identity assessment uses: the machine's, with the decision in force and any flag laid over it.

    A decision settles who made it (the confidence of a person who looked: 1.0, no rival makers), the
    class, the make and model seen, and the NIL verdict; the machine's evidence and contradictions stay.
    """
    identity = machine
    decision = state.decision
    if decision is not None and decision.action == SETTLE:
        identity = replace(machine, producer_id=decision.producer_id,
                           device_class=decision.device_class or machine.device_class,
                           model=decision.model or machine.model,
                           label_brand=decision.label_brand or machine.label_brand,
                           confidence=1.0, alternatives=(), decided_nil=decision.nil_subject,
                           decision_note=decision_note(decision))
    if state.flag is not None:
        identity = replace(identity, review_flag=state.flag.reason)
    return identity


def contradiction(decision: Decision, producer: str | None, nil_subject: str) -> str | None:
    """Why the machine's new verdict (producer, NIL verdict) contradicts a decision; None when it does not.

    A verdict the decision was made against is no news (the person overrode it knowingly), and one
    that agrees with the decision confirms it.
    """
    if decision.action != SETTLE:
        return None
    if (producer, nil_subject) == (decision.machine_producer, decision.machine_nil):
        return None
    decided_nil = decision.nil_subject.value if decision.nil_subject else None
    if producer == decision.producer_id and nil_subject == decided_nil:
        return None
    return (f"new evidence says {producer or 'maker unknown'} (NIL verdict {nil_subject}); the decision of "
            f"{people_date(decision.decided_at)} by {decision.actor} said {decision.producer_id or 'maker unknown'} "
            f"({decided_nil})")
