"""Device × site × network × install date × policy → findings, each with a status, a due date and reasons."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from weakref import WeakKeyDictionary

from pydantic import BaseModel

from clearsite.core.assess.designations import designations_at
from clearsite.core.assess.nil import HkMacau, determine
from clearsite.core.knowledge import Knowledge
from clearsite.core.knowledge.schema import Obligation, Policy, RuleKind, SiteScope
from clearsite.core.models import DeviceFacts, Finding, Identity, Network, NilSubject, Status
from clearsite.core.names import name_key

FIRM_CONFIDENCE = 0.5  # below this a "subject" verdict goes to a human instead


@dataclass(frozen=True, slots=True)
class Verdict:
    """Is this device in a policy's scope, and why."""

    subject: NilSubject
    basis: str | None
    reasons: tuple[str, ...]


def nil_verdict(identity: Identity, knowledge: Knowledge, as_of: date, hong_kong_macau: HkMacau = "review",
                produced: date | None = None) -> Verdict:
    """Was the device produced by a company subject to the National Intelligence Law?

    The determination is made at the production (install) date when known, else at `as_of`. A device
    wearing a contested badge (a line reported as made by a PRC OEM) goes to a person rather than being
    left unknown, with what to check.
    """
    verdict = _nil_verdict(identity, knowledge, as_of, hong_kong_macau, produced)
    contested = _contested_badge(identity.label_brand, knowledge)
    if contested and verdict.subject in (NilSubject.UNKNOWN, NilSubject.REVIEW):
        verdict = Verdict(NilSubject.REVIEW, verdict.basis, (*verdict.reasons, contested))
    if identity.decided_nil is not None:  # a person settled it (core.review): their verdict, their reason first
        if identity.decided_nil == verdict.subject:
            verdict = Verdict(verdict.subject, verdict.basis, (identity.decision_note, *verdict.reasons))
        else:
            verdict = Verdict(identity.decided_nil, REVIEW_DECISION, (identity.decision_note,))
    return _flagged(identity, verdict)


REVIEW_DECISION = "REVIEW_DECISION"  # the basis of a NIL verdict a person settled against the machine's


def _flagged(identity: Identity, verdict: Verdict) -> Verdict:
    """A device sent back to a person goes to review; a verdict of "yes" stands (evidence never weakens it)."""
    if not identity.review_flag or verdict.subject == NilSubject.YES:
        return verdict
    return Verdict(NilSubject.REVIEW, verdict.basis, (f"back in review: {identity.review_flag}", *verdict.reasons))


def _contested_badge(label_brand: str | None, knowledge: Knowledge) -> str | None:
    if not label_brand:
        return None
    brand = knowledge.brand_by_key.get(name_key(label_brand))
    if brand is None or not brand.contested:
        return None
    return f"{brand.name} is a contested badge: {brand.contested}"


def _nil_verdict(identity: Identity, knowledge: Knowledge, as_of: date, hong_kong_macau: HkMacau,
                 produced: date | None) -> Verdict:
    at = produced or as_of
    if identity.producer_id is None:
        candidates = [(p, s) for p, s in identity.alternatives if s >= 0.15]
        subject_candidates = [p for p, _ in candidates
                              if determine(p, at, knowledge, hong_kong_macau).result == NilSubject.YES]
        if subject_candidates:
            return Verdict(NilSubject.REVIEW, None, (
                "producer not settled; the evidence allows "
                + ", ".join(knowledge.companies[p].name for p in subject_candidates)
                + ", which are subject to the National Intelligence Law",
            ))
        return Verdict(NilSubject.UNKNOWN, None, ("producer unknown: not enough evidence",))

    det = determine(identity.producer_id, at, knowledge, hong_kong_macau)
    reasons = det.reasons
    rivals = [(p, s) for p, s in identity.alternatives if s >= 0.3]
    if det.result == NilSubject.YES and identity.confidence < FIRM_CONFIDENCE and rivals and all(
            determine(p, at, knowledge, hong_kong_macau).result == NilSubject.YES
            for p, _ in rivals) and max(s for _, s in rivals) + identity.confidence >= FIRM_CONFIDENCE:
        # The evidence disagrees on which maker, but every maker it allows is subject: the verdict stands.
        names = ", ".join(knowledge.companies[p].name for p, _ in rivals)
        return Verdict(NilSubject.YES, det.basis, (*reasons, f"the maker is unsettled ({names} also possible), "
                                                             "but every candidate is subject to the law"))
    if det.result == NilSubject.YES and identity.confidence < FIRM_CONFIDENCE:
        return Verdict(NilSubject.REVIEW, det.basis,
                       (*reasons, f"identification is weak (confidence {identity.confidence:.2f}); confirm on site"))
    if det.result == NilSubject.NO:
        subject_alternatives = [
            p for p, s in identity.alternatives
            if s >= 0.3 and determine(p, at, knowledge, hong_kong_macau).result == NilSubject.YES
        ]
        if subject_alternatives:
            names = ", ".join(knowledge.companies[p].name for p in subject_alternatives)
            return Verdict(NilSubject.REVIEW, det.basis, (*reasons, f"but evidence also points to {names}"))
        if identity.confidence < FIRM_CONFIDENCE:
            return Verdict(NilSubject.UNKNOWN, det.basis,
                           (*reasons, f"identification is weak (confidence {identity.confidence:.2f})"))
    return Verdict(det.result, det.basis, reasons)


def policy_verdict(facts: DeviceFacts, policy: Policy, knowledge: Knowledge, as_of: date) -> Verdict:
    """Is the device within the policy's subject test?

    Reads only the identity's producer, confidence, alternatives, label brand and review fields and the
    install date (the Assessment memo key): keep it so, or widen that key.
    """
    test = policy.subject_test
    if test.kind == "nil":
        return nil_verdict(facts.identity, knowledge, as_of, test.hong_kong_macau, facts.install_date)
    return _flagged(facts.identity, _listed_verdict(facts, policy, knowledge, as_of))


def _listed_verdict(facts: DeviceFacts, policy: Policy, knowledge: Knowledge, as_of: date) -> Verdict:
    """A designation or named-entity subject test (a settled producer counts; a settled NIL verdict does not)."""
    test = policy.subject_test
    identity = facts.identity
    if identity.producer_id is None:
        return Verdict(NilSubject.UNKNOWN, None, ("producer unknown: not enough evidence",))
    at = facts.install_date or as_of
    if test.kind == "designation":
        covered = designations_at(identity.producer_id, as_of, knowledge, set(test.programs))
        reasons = tuple(c.describe(knowledge, identity.producer_id) for c in covered)
    else:
        chain = {identity.producer_id, *knowledge.controllers(identity.producer_id, at)}
        named = [e for e in test.entities if e in chain]
        reasons = tuple(f"produced by {knowledge.companies[e].name} or a company it controls" for e in named)
    if not reasons:
        name = knowledge.companies[identity.producer_id].name
        return Verdict(NilSubject.NO, None, (f"{name} is not covered by {policy.id}",))
    if identity.confidence < FIRM_CONFIDENCE:
        return Verdict(NilSubject.REVIEW, None,
                       (*reasons, f"identification is weak (confidence {identity.confidence:.2f}); confirm on site"))
    return Verdict(NilSubject.YES, None, reasons)


def _in_scope_at(obligation: Obligation, sensitive: bool) -> bool:
    if obligation.sites == SiteScope.SENSITIVE:
        return sensitive
    if obligation.sites == SiteScope.NOT_SENSITIVE:
        return not sensitive
    return True


def _situation(obligation: Obligation, facts: DeviceFacts) -> Hashable:
    """All that the obligation's rule reads from the device: _rule sees only this, so it is also a memo key."""
    if obligation.rule == RuleKind.NO_NEW_DEPLOYMENT:
        return facts.install_date
    if obligation.rule == RuleKind.NO_CORE_CONNECTION:
        if not facts.ip:
            return ("no ip", facts.site.has_core_network)
        return ("ip", facts.site.network_for(facts.ip))
    return None


def _rule(obligation: Obligation, situation: Any, as_of: date) -> tuple[Status, date | None, str]:
    """The status a subject device gets under one obligation, from its _situation."""
    start = obligation.valid_from
    if obligation.rule == RuleKind.NO_NEW_DEPLOYMENT:
        installed: date | None = situation
        if installed is None:
            return Status.REVIEW, None, f"install date unknown: cannot tell whether it was deployed on or after {start}"
        if start is None or installed >= start:
            return Status.BREACH, None, f"installed {installed}, on or after {start}"
        return Status.COMPLIANT, None, f"installed {installed}, before {start}"
    if obligation.rule == RuleKind.NO_CORE_CONNECTION:
        kind, detail = situation
        if kind == "no ip":
            if detail:  # the site has a core network
                return Status.REVIEW, None, "no IP address recorded, and the site has a departmental core network"
            return Status.COMPLIANT, None, "the site has no declared core network"
        network: Network | None = detail
        if network is None:
            return Status.REVIEW, None, "its address is in none of the site's declared networks"
        if network.core:
            return Status.BREACH, None, f"its address is on the departmental core network {network.cidr}"
        return Status.COMPLIANT, None, f"its address is on {network.cidr}, not a core network"
    if obligation.rule == RuleKind.REMOVE_BY:
        if obligation.deadline is None:
            return Status.DUE, None, "removal required; no deadline published"
        if as_of > obligation.deadline:
            return Status.OVERDUE, obligation.deadline, f"still in place after the {obligation.deadline} deadline"
        return Status.DUE, obligation.deadline, f"remove by {obligation.deadline}"
    return Status.ADVISORY, None, obligation.action


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finding without the device it is about: what one obligation says, and why."""

    obligation: str
    status: Status
    due: date | None
    reasons: tuple[str, ...]


def _applies(obligation: Obligation, sensitive: bool, as_of: date) -> bool:
    """Does the obligation bind at `as_of` at a site of this sensitivity?"""
    return not (obligation.valid_from and as_of < obligation.valid_from) and _in_scope_at(obligation, sensitive)


def _removed(facts: DeviceFacts, as_of: date) -> date | None:
    return facts.removed_on if facts.removed_on and facts.removed_on <= as_of else None


def _outcome(obligation: Obligation, verdict: Verdict, removed: date | None, situation: Any, as_of: date) -> Outcome:
    """One obligation's finding for a device with this verdict, removal date and rule situation."""
    label = f"{obligation.id}: {obligation.title}"

    def outcome(status: Status, due: date | None, *reasons: str) -> Outcome:
        return Outcome(obligation.id, status, due, (label, *reasons))

    if removed:
        return outcome(Status.COMPLIANT, None, f"removed on {removed}")
    if verdict.subject == NilSubject.NO:
        return outcome(Status.COMPLIANT, None, *verdict.reasons)
    if verdict.subject in (NilSubject.REVIEW, NilSubject.UNKNOWN):
        return outcome(Status.REVIEW, obligation.deadline, *verdict.reasons)
    status, due, why = _rule(obligation, situation, as_of)
    return outcome(status, due, why, *verdict.reasons,
                   *(() if status == Status.COMPLIANT else (f"action: {obligation.action}",)))


def assess_device(facts: DeviceFacts, policy: Policy, knowledge: Knowledge, as_of: date) -> list[Finding]:
    """One finding per obligation of the policy that applies to this device's site at `as_of`."""
    verdict: Verdict | None = None
    findings: list[Finding] = []
    removed = _removed(facts, as_of)
    for obligation in policy.obligations:
        if not _applies(obligation, facts.site.sensitive, as_of):
            continue
        if verdict is None:
            verdict = policy_verdict(facts, policy, knowledge, as_of)
        o = _outcome(obligation, verdict, removed, _situation(obligation, facts), as_of)
        findings.append(Finding(facts.device_id, facts.site.name, policy.id, o.obligation, o.status, o.due, o.reasons))
    return findings


def _dates_in(value: object, found: set[date]) -> None:
    """Every date anywhere in a piece of knowledge (pydantic models, and the containers holding them)."""
    if isinstance(value, date):
        found.add(value)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _dates_in(getattr(value, name), found)
    elif isinstance(value, dict):
        for item in value.values():
            _dates_in(item, found)
    elif isinstance(value, tuple | list | set | frozenset):
        for item in value:
            _dates_in(item, found)


_DATES: WeakKeyDictionary[Knowledge, tuple[list[date], frozenset[date]]] = WeakKeyDictionary()


def _date_slot(when: date | None, knowledge: Knowledge) -> object:
    """What a subject test can tell of a date: where it falls among the dates the knowledge names.

    The tests compare a production date only with knowledge dates (ownerships, flags, relabel windows), by
    <, <=, > or >=, and never write it into a reason; so two dates with no knowledge date between them, and
    neither one of them, get the same verdict. A date that is one gets a slot of its own.
    """
    if when is None:
        return None
    known = _DATES.get(knowledge)
    if known is None:
        found: set[date] = set()
        for part in (knowledge.companies, knowledge.brands, knowledge.programs, knowledge.designations,
                     knowledge.policies):
            _dates_in(part, found)
        known = _DATES[knowledge] = (sorted(found), frozenset(found))
    ordered, named = known
    return (bisect_left(ordered, when), when if when in named else None)


class Assessment:
    """assess_device for a whole estate under one policy, each distinct combination of inputs worked out once.

    A million devices share a few thousand identities, install dates and networks. The memo keys are
    exactly what the pure pieces read: policy_verdict reads the identity's producer, confidence,
    alternatives and label brand and the install date (only as far as _date_slot tells it apart); _outcome
    reads the verdict, the removal date and the _situation.
    """

    def __init__(self, policy: Policy, knowledge: Knowledge, as_of: date) -> None:
        self.policy, self.knowledge, self.as_of = policy, knowledge, as_of
        self._verdicts: dict[tuple[object, ...], Verdict] = {}
        self._distinct: dict[Verdict, Verdict] = {}
        self._binding: dict[bool, list[Obligation]] = {}  # obligations in force, by site sensitivity
        self._outcomes: dict[tuple[object, ...], Outcome] = {}

    def outcomes(self, facts: DeviceFacts) -> list[Outcome]:
        """The same findings as assess_device(facts, policy, …), less the device id and site name."""
        found: list[Outcome] = []
        verdict: Verdict | None = None
        removed = _removed(facts, self.as_of)
        sensitive = facts.site.sensitive
        obligations = self._binding.get(sensitive)
        if obligations is None:
            obligations = self._binding[sensitive] = [
                o for o in self.policy.obligations if _applies(o, sensitive, self.as_of)]
        for obligation in obligations:
            if verdict is None:
                identity = facts.identity
                verdict_key = (identity.producer_id, identity.confidence, identity.alternatives, identity.label_brand,
                               _date_slot(facts.install_date, self.knowledge), identity.decided_nil,
                               identity.decision_note, identity.review_flag)
                verdict = self._verdicts.get(verdict_key)
                if verdict is None:
                    # Many keys give equal verdicts (every date before an ownership change): one object each,
                    # so the outcome memo, keyed on the verdict's id, is shared by all of them.
                    found_verdict = policy_verdict(facts, self.policy, self.knowledge, self.as_of)
                    verdict = self._verdicts[verdict_key] = self._distinct.setdefault(found_verdict, found_verdict)
            # The situation matters only when the rule is reached; computing it (an address lookup) for every
            # device would cost more than the memo saves.
            situation = _situation(obligation, facts) if not removed and verdict.subject == NilSubject.YES else None
            key = (obligation.id, id(verdict), removed, situation)
            outcome = self._outcomes.get(key)
            if outcome is None:
                outcome = self._outcomes[key] = _outcome(obligation, verdict, removed, situation, self.as_of)
            found.append(outcome)
        return found


def assess(devices: Iterable[DeviceFacts], policies: Iterable[Policy], knowledge: Knowledge, as_of: date) -> Iterator[Finding]:
    """All findings for many devices under many policies."""
    policy_list = list(policies)
    for facts in devices:
        for policy in policy_list:
            yield from assess_device(facts, policy, knowledge, as_of)
