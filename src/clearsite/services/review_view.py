"""How a device's review shows at the doors: the decision in force, the machine's own verdict beside it,
and why it is back with a person (kept apart from services.review, which the device service cannot import)."""

from __future__ import annotations

from datetime import date

from clearsite.core import contracts
from clearsite.core.assess import nil_verdict
from clearsite.core.knowledge import Knowledge
from clearsite.core.review import ReviewState
from clearsite.store.reads import DeviceView

__all__ = ["decision_json", "machine_json", "review_pending_json"]


def decision_json(state: ReviewState | None) -> contracts.ReviewDecision | None:
    """The decision in force, as `devices --format json` shows it (null when the machine's verdict stands)."""
    decision = state.decision if state is not None else None
    if decision is None:
        return None
    return {"nil_subject": decision.nil_subject.value if decision.nil_subject else None,
            "producer": decision.producer_id, "device_class": decision.device_class, "model": decision.model,
            "make": decision.label_brand, "reason": decision.reason, "by": decision.actor,
            "at": decision.decided_at.isoformat(timespec="seconds")}


def review_pending_json(state: ReviewState | None) -> contracts.ReviewPending | None:
    """Why new evidence sent the device back to a person (null when it did not)."""
    flag = state.flag if state is not None else None
    if flag is None:
        return None
    return {"kind": flag.kind, "reason": flag.reason, "since": flag.raised_at.isoformat(timespec="seconds")}


def machine_json(view: DeviceView, knowledge: Knowledge, as_of: date) -> contracts.MachineVerdict | None:
    """The machine's own verdict, shown beside a decided one (null when no person has decided)."""
    if view.machine is None or view.review is None or view.review.decision is None:
        return None
    machine = view.machine
    verdict = nil_verdict(machine, knowledge, as_of, produced=view.install_date)
    return {"producer": machine.producer_id, "nil_subject": verdict.subject.value, "nil_basis": verdict.basis,
            "nil_reasons": list(verdict.reasons), "device_class": machine.device_class,
            "confidence": machine.confidence}
