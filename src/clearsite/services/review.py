"""Review: people settle the verdicts the machine cannot, and new evidence can send a device back to them.

`decide` records a decision for one device or many (a filtered set), audited as `review.decide`
(`review.withdraw` for an undo), and re-assesses those devices in the same transaction, so the
decided producer, class and NIL verdict reach findings, the plan and the published figures as an
identity would (the device reader lays the decision in force over the machine's identity:
core.review.settled_identity). `notice_new_evidence` is what every intake calls after identifying
a batch: a decision the machine's new verdict contradicts, or an agent's push that names another
maker for an identified device, flags the device for review (audited as `review.flag`, and an
`evidence_conflict` alert), keeping the decided value recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from clearsite.core import contracts
from clearsite.core.assess import nil_verdict
from clearsite.core.errors import InputError, NotFoundError
from clearsite.core.identify.engine import PUSHED_CLAIM
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import DEVICE_CLASSES, Identity, NilSubject
from clearsite.core.review import (
    CONTRADICTED_DECISION,
    EVIDENCE_CONFLICT,
    SETTLE,
    WITHDRAW,
    Decision,
    ReviewState,
    contradiction,
)
from clearsite.core.text import clean_text
from clearsite.formats.guard import read_input_file
from clearsite.services.assessment import reassess_touched
from clearsite.services.identification import link_evidence
from clearsite.services.review_view import decision_json, machine_json, review_pending_json
from clearsite.store import audit
from clearsite.store.decisions import (
    NewDecision,
    add_decision,
    decision_history,
    decisions_in_force,
    raise_flag,
    review_states,
)
from clearsite.store.devices import devices_with_contradiction
from clearsite.store.reads import EVERYTHING, DeviceView, SiteScope, read_devices
from clearsite.store.sites import find_site
from clearsite.store.transactions import write_transaction

__all__ = ["EVERYTHING", "DecisionRequest", "ReviewError", "Selection", "UnknownProducer", "check_request", "decide", "decision_json",
           "history", "history_json", "history_view", "ids_from_file",
           "machine_json", "notice_new_evidence", "pending", "recorded_json", "review_pending_json",
           "select_devices"]

MAX_REASON = 2000
MAX_BULK = 10_000  # devices one decision may settle
MAX_IDS_FILE = 1_000_000  # bytes
DECIDED_NIL = ("yes", "no", "review")


class ReviewError(InputError, ValueError):
    """A decision that cannot be recorded as asked; the message says which field and why."""


class UnknownProducer(ReviewError):
    """A producer id the knowledge base does not hold."""


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    """What a person decided. Omitted fields keep the machine's value (resolved when the decision is made)."""

    reason: str
    nil_subject: str | None = None
    producer: str | None = None
    device_class: str | None = None
    model: str | None = None  # the model seen on site
    make: str | None = None  # the make (badge) seen on site
    withdraw: bool = False  # undo: the machine's verdict stands again


@dataclass(frozen=True, slots=True)
class Selection:
    """A filtered set of devices to decide on at once (every given filter must hold)."""

    site: str | None = None
    producer: str | None = None  # the producer as shown now ("none" for no producer)
    nil_subject: str | None = None  # the NIL verdict as shown now
    pending: bool = False  # only devices waiting for a person (review, unknown, or flagged)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def ids_from_file(path: Path) -> list[int]:
    """Device ids, one a line (blank lines and # comments skipped), or ReviewError naming the line."""
    text = read_input_file(path, ReviewError, limit=MAX_IDS_FILE, what="list of device ids").decode("utf-8", "replace")
    ids: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        item = line.split("#", 1)[0].strip()
        if not item:
            continue
        if not item.isdigit() or not 0 < int(item) < 2**63:
            raise ReviewError(f"{path.name}: line {number}: {clean_text(item)[:40]!r} is not a device id")
        ids.append(int(item))
    if not ids:
        raise ReviewError(f"{path.name}: no device ids in it")
    return ids


def check_request(request: DecisionRequest, knowledge: Knowledge) -> DecisionRequest:
    """The request with its text cleaned, or ReviewError naming the first bad field."""
    reason = clean_text(request.reason or "").strip()
    if not reason:
        raise ReviewError("reason: say why (a decision needs a reason)")
    if len(reason) > MAX_REASON:
        raise ReviewError(f"reason: at most {MAX_REASON} characters")
    if request.withdraw:
        if any((request.nil_subject, request.producer, request.device_class, request.model, request.make)):
            raise ReviewError("withdraw: a withdrawal returns to the machine's verdict; give only a reason")
        return DecisionRequest(reason, withdraw=True)
    nil = (request.nil_subject or "").strip().lower() or None
    if nil is not None and nil not in DECIDED_NIL:
        raise ReviewError(f"nil_subject: {request.nil_subject!r} is not one of {', '.join(DECIDED_NIL)}")
    producer = (request.producer or "").strip() or None
    if producer is not None and producer not in knowledge.companies:
        raise UnknownProducer(f"producer: {producer!r} is not a producer id in the knowledge base")
    device_class = (request.device_class or "").strip() or None
    if device_class is not None and device_class not in DEVICE_CLASSES:
        raise ReviewError(f"device_class: {device_class!r} is not a device class "
                          f"(known: {', '.join(sorted(DEVICE_CLASSES))})")
    model, make = (_short(request.model, "model"), _short(request.make, "make"))
    return DecisionRequest(reason, nil, producer, device_class, model, make)


def _short(value: str | None, name: str) -> str | None:
    text = clean_text(value or "").strip()
    if len(text) > 120:
        raise ReviewError(f"{name}: at most 120 characters")
    return text or None


def _machine(view: DeviceView) -> Identity:
    return view.machine if view.machine is not None else view.identity


def _verdict_of(identity: Identity, knowledge: Knowledge, as_of: date, installed: date | None) -> str:
    return nil_verdict(identity, knowledge, as_of, produced=installed).subject.value


def _resolve(view: DeviceView, request: DecisionRequest, knowledge: Knowledge, as_of: date, actor: str,
             at: datetime) -> NewDecision:
    """The decision as stored: omitted fields take the machine's values now, so it does not drift later."""
    machine = _machine(view)
    machine_nil = _verdict_of(machine, knowledge, as_of, view.install_date)
    if request.withdraw:
        return NewDecision(view.id, WITHDRAW, None, None, None, None, None, request.reason, actor, at,
                           machine.producer_id, machine_nil)
    producer = request.producer or machine.producer_id
    nil = request.nil_subject
    if nil is None:  # what the settled maker means, now a person has confirmed it
        settled = Identity(request.make or machine.label_brand, producer, machine.model, machine.device_class, 1.0, ())
        nil = _verdict_of(settled, knowledge, as_of, view.install_date)
        if nil == NilSubject.UNKNOWN.value:
            raise ReviewError(f"nil_subject: device {view.id} has no known maker; say yes, no or review")
    return NewDecision(view.id, SETTLE, nil, producer, request.device_class or machine.device_class, request.model,
                       request.make, request.reason, actor, at, machine.producer_id, machine_nil)


def _device(conn: Connection, scope: SiteScope, device_id: int) -> DeviceView:
    view = next((v for v, _ in read_devices(conn, scope, with_evidence=False, device_id=device_id)), None)
    if view is None:
        raise NotFoundError(f"device {device_id} not found")
    return view


def decide(engine: Engine, knowledge: Knowledge, scope: SiteScope, device_ids: Sequence[int],
           request: DecisionRequest, actor: str, *, as_of: date | None = None,
           at: datetime | None = None) -> list[Decision]:
    """Record one decision for each device (all or none: a device outside the scope refuses the lot),
    audit each, and re-assess them. A withdrawal skips devices with no decision in force."""
    request = check_request(request, knowledge)
    ids = list(dict.fromkeys(device_ids))
    if not ids:
        raise ReviewError("no devices to decide on")
    if len(ids) > MAX_BULK:
        raise ReviewError(f"at most {MAX_BULK} devices in one decision ({len(ids)} given)")
    as_of = as_of or date.today()
    at = at or _now()
    made: list[Decision] = []
    with write_transaction(engine) as conn:
        found: dict[int, DeviceView] = {}
        for start in range(0, len(ids), _READ_PAGE):  # a page of devices a query, the scope applied by the reader
            found.update((v.id, v) for v, _ in read_devices(conn, scope, with_evidence=False,
                                                             id_list=sorted(ids[start : start + _READ_PAGE])))
        missing = next((i for i in ids if i not in found), None)
        if missing is not None:
            raise NotFoundError(f"device {missing} not found")
        views = [found[i] for i in ids]
        for view in views:
            in_force = view.review.decision if view.review is not None else None
            if request.withdraw and in_force is None:
                if len(views) == 1:
                    raise ReviewError(f"device {view.id} has no decision to withdraw")
                continue
            decision = add_decision(conn, _resolve(view, request, knowledge, as_of, actor, at))
            audit.record(conn, actor, f"review.{decision.action}", f"device:{view.id}",
                         _summary(in_force) if in_force else {"machine": {"producer": decision.machine_producer,
                                                                         "nil_subject": decision.machine_nil}},
                         _summary(decision))
            made.append(decision)
        if made:
            reassess_touched(conn, knowledge, [d.device_id for d in made], actor, "review")
    return made


def _summary(decision: Decision) -> dict[str, Any]:
    return {"decision": decision.id, "action": decision.action,
            "nil_subject": decision.nil_subject.value if decision.nil_subject else None,
            "producer": decision.producer_id, "device_class": decision.device_class, "model": decision.model,
            "make": decision.label_brand, "reason": decision.reason}


def select_devices(engine: Engine, knowledge: Knowledge, scope: SiteScope, selection: Selection, *,
                   as_of: date | None = None, limit: int = MAX_BULK + 1) -> list[int]:
    """The ids of the devices in the scope that the selection picks, in id order."""
    as_of = as_of or date.today()
    with engine.connect() as conn:
        site_id = find_site(conn, selection.site) if selection.site else None
        return [view.id for view in _matching(conn, knowledge, scope, selection, site_id, as_of, limit)]


def _matching(conn: Connection, knowledge: Knowledge, scope: SiteScope, selection: Selection, site_id: int | None,
              as_of: date, limit: int, after: int = 0) -> Iterator[DeviceView]:
    found = 0
    for view, _ in read_devices(conn, scope, with_evidence=False, site_id=site_id, after=after):
        identity = view.identity
        if selection.producer and (identity.producer_id or "none") != selection.producer:
            continue
        nil = _verdict_of(identity, knowledge, as_of, view.install_date)
        if selection.nil_subject and nil != selection.nil_subject:
            continue
        if selection.pending and not _is_pending(view, nil):
            continue
        yield view
        found += 1
        if found >= limit:
            return


def _is_pending(view: DeviceView, nil: str) -> bool:
    flagged = view.review is not None and view.review.flag is not None
    return flagged or nil in (NilSubject.REVIEW.value, NilSubject.UNKNOWN.value)


def pending(engine: Engine, knowledge: Knowledge, scope: SiteScope, *, site: str | None = None,
            site_id: int | None = None, as_of: date | None = None, after: int = 0, limit: int = 50
            ) -> list[DeviceView]:
    """Devices waiting for a person: verdict review or unknown, or sent back by new evidence; a page of them,
    optionally of one site (by name or id)."""
    as_of = as_of or date.today()
    with engine.connect() as conn:
        if site:
            site_id = find_site(conn, site)
        found = list(_matching(conn, knowledge, scope, Selection(pending=True), site_id, as_of, limit, after))
        ids = [v.id for v in found]
    if not ids:
        return []
    with engine.connect() as conn:  # again with evidence, for the page
        return [v for v, _ in read_devices(conn, scope, ids=range(ids[0], ids[-1] + 1), link_evidence=link_evidence)
                if v.id in set(ids)]


def history_view(engine: Engine, scope: SiteScope, device_id: int) -> DeviceView:
    """The device with its evidence, for a page beside its decisions (NotFoundError outside the scope)."""
    with engine.connect() as conn:
        view = next((v for v, _ in read_devices(conn, scope, device_id=device_id, link_evidence=link_evidence)), None)
    if view is None:
        raise NotFoundError(f"device {device_id} not found")
    return view


def history(engine: Engine, scope: SiteScope, device_id: int) -> list[Decision]:
    """Every decision about a device in the scope, newest first (NotFoundError outside it)."""
    with engine.connect() as conn:
        _device(conn, scope, device_id)
        return decision_history(conn, device_id)


# --------------------------------------------------------------------------- what the doors show


def history_json(decisions: Sequence[Decision]) -> list[contracts.ReviewHistoryEntry]:
    """A device's decisions, newest first (`review --history --format json`)."""
    return [{"action": d.action, "nil_subject": d.nil_subject.value if d.nil_subject else None,
             "producer": d.producer_id, "device_class": d.device_class, "model": d.model, "make": d.label_brand,
             "reason": d.reason, "by": d.actor, "at": d.decided_at.isoformat(timespec="seconds"),
             "machine_producer": d.machine_producer, "machine_nil_subject": d.machine_nil} for d in decisions]


def recorded_json(decisions: Sequence[Decision], withdraw: bool) -> contracts.DecisionRecorded:
    """What `decide` recorded, in the `review --format json` shape."""
    devices: list[contracts.DecidedDevice] = []
    for d in decisions:
        settled = d.action == SETTLE
        nil = (d.nil_subject.value if d.nil_subject else "unknown") if settled else (d.machine_nil or "unknown")
        devices.append({"id": d.device_id, "nil_subject": nil,
                        "decision": decision_json(ReviewState(d, None)) if settled else None})
    return {"action": WITHDRAW if withdraw else SETTLE, "decided": len(decisions), "devices": devices}



# --------------------------------------------------------------------------- new evidence


_READ_PAGE = 500


def notice_new_evidence(conn: Connection, knowledge: Knowledge, device_ids: Iterable[int], source_kind: str,
                        actor: str, *, as_of: date | None = None, at: datetime | None = None) -> int:
    """Flag devices whose new identification contradicts a decision, or whose agent push names another
    maker than the rest of the evidence; audited, with an alert each. The devices flagged."""
    touched = set(device_ids)
    check = touched & decisions_in_force(conn)
    if source_kind == "agent":  # only those whose identity sets aside a maker the push named can be flagged for it
        check |= devices_with_contradiction(conn, sorted(touched - check), PUSHED_CLAIM)
    if not check:
        return 0
    as_of = as_of or date.today()
    at = at or _now()
    states = review_states(conn, check)
    flagged = 0
    ordered = sorted(check)
    views: dict[int, DeviceView] = {}  # read a page of devices a query, not one device a query: an agent's batch touches hundreds
    for start in range(0, len(ordered), _READ_PAGE):
        views.update((v.id, v) for v, _ in read_devices(conn, EVERYTHING, with_evidence=False,
                                                         id_list=ordered[start : start + _READ_PAGE]))
    for device_id in ordered:
        view = views.get(device_id)
        if view is None:
            continue
        machine = _machine(view)
        state = states.get(device_id)
        reason, kind = None, CONTRADICTED_DECISION
        if state is not None and state.decision is not None:
            reason = contradiction(state.decision, machine.producer_id,
                                   _verdict_of(machine, knowledge, as_of, view.install_date))
        if reason is None and source_kind == "agent":
            reason = next((c for c in machine.contradictions if c.startswith(PUSHED_CLAIM)), None)
            kind = EVIDENCE_CONFLICT
        if reason is None or (state is not None and state.flag is not None):
            continue  # nothing new, or already waiting for a person (who will see the evidence as it is now)
        raise_flag(conn, device_id, kind, reason, at)
        audit.record(conn, actor, "review.flag", f"device:{device_id}", None, {"kind": kind, "reason": reason})
        _alert(conn, view, reason, at)
        flagged += 1
    return flagged


def _alert(conn: Connection, view: DeviceView, reason: str, at: datetime) -> None:
    try:
        from clearsite.services.alerts import raise_alert
    except ImportError:  # until the alerts service is in place (issue 14 work in progress): the flag stands alone
        return
    raise_alert(conn, kind="evidence_conflict", site_id=view.site_id, device_id=view.id,
                detail=f"device {view.id} at {view.site}: {reason}", at=at,
                dedupe_key=f"evidence_conflict:device={view.id}:{at.isoformat()}")  # one alert per flag
