"""Device × site × network × install date × policy → findings, each with a status, a due date and reasons."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from clearsite.assess.designations import designations_at
from clearsite.assess.nil import determine
from clearsite.knowledge import Knowledge
from clearsite.knowledge.schema import Obligation, Policy, RuleKind, SiteScope
from clearsite.models import DeviceFacts, Finding, Identity, NilSubject, Status

FIRM_CONFIDENCE = 0.5  # below this a "subject" verdict goes to a human instead


@dataclass(frozen=True, slots=True)
class Verdict:
    """Is this device in a policy's scope, and why."""

    subject: NilSubject
    basis: str | None
    reasons: tuple[str, ...]


def nil_verdict(identity: Identity, knowledge: Knowledge, as_of: date, hong_kong_macau: str = "review",
                produced: date | None = None) -> Verdict:
    """Was the device produced by a company subject to the National Intelligence Law?

    The determination is made at the production (install) date when known, else at `as_of`.
    """
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

    det = determine(identity.producer_id, at, knowledge, hong_kong_macau)  # type: ignore[arg-type]
    reasons = det.reasons
    rivals = [(p, s) for p, s in identity.alternatives if s >= 0.3]
    if det.result == NilSubject.YES and identity.confidence < FIRM_CONFIDENCE and rivals and all(
            determine(p, at, knowledge, hong_kong_macau).result == NilSubject.YES  # type: ignore[arg-type]
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
            if s >= 0.3 and determine(p, at, knowledge, hong_kong_macau).result == NilSubject.YES  # type: ignore[arg-type]
        ]
        if subject_alternatives:
            names = ", ".join(knowledge.companies[p].name for p in subject_alternatives)
            return Verdict(NilSubject.REVIEW, det.basis, (*reasons, f"but evidence also points to {names}"))
        if identity.confidence < FIRM_CONFIDENCE:
            return Verdict(NilSubject.UNKNOWN, det.basis,
                           (*reasons, f"identification is weak (confidence {identity.confidence:.2f})"))
    return Verdict(det.result, det.basis, reasons)


def policy_verdict(facts: DeviceFacts, policy: Policy, knowledge: Knowledge, as_of: date) -> Verdict:
    """Is the device within the policy's subject test?"""
    test = policy.subject_test
    if test.kind == "nil":
        return nil_verdict(facts.identity, knowledge, as_of, test.hong_kong_macau, facts.install_date)
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


def _in_scope(obligation: Obligation, facts: DeviceFacts) -> bool:
    if obligation.sites == SiteScope.SENSITIVE:
        return facts.site.sensitive
    if obligation.sites == SiteScope.NOT_SENSITIVE:
        return not facts.site.sensitive
    return True


def _rule(obligation: Obligation, facts: DeviceFacts, as_of: date) -> tuple[Status, date | None, str]:
    """The status a subject device gets under one obligation."""
    start = obligation.valid_from
    if obligation.rule == RuleKind.NO_NEW_DEPLOYMENT:
        if facts.install_date is None:
            return Status.REVIEW, None, f"install date unknown: cannot tell whether it was deployed on or after {start}"
        if start is None or facts.install_date >= start:
            return Status.BREACH, None, f"installed {facts.install_date}, on or after {start}"
        return Status.COMPLIANT, None, f"installed {facts.install_date}, before {start}"
    if obligation.rule == RuleKind.NO_CORE_CONNECTION:
        if not facts.ip:
            if facts.site.has_core_network:
                return Status.REVIEW, None, "no IP address recorded, and the site has a departmental core network"
            return Status.COMPLIANT, None, "the site has no declared core network"
        network = facts.site.network_for(facts.ip)
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


def assess_device(facts: DeviceFacts, policy: Policy, knowledge: Knowledge, as_of: date) -> list[Finding]:
    """One finding per obligation of the policy that applies to this device's site at `as_of`."""
    verdict: Verdict | None = None
    findings: list[Finding] = []
    for obligation in policy.obligations:
        if (obligation.valid_from and as_of < obligation.valid_from) or not _in_scope(obligation, facts):
            continue
        if verdict is None:
            verdict = policy_verdict(facts, policy, knowledge, as_of)
        label = f"{obligation.id}: {obligation.title}"

        def finding(status: Status, due: date | None, *reasons: str) -> Finding:
            return Finding(facts.device_id, facts.site.name, policy.id, obligation.id, status, due, (label, *reasons))

        if facts.removed_on and facts.removed_on <= as_of:
            findings.append(finding(Status.COMPLIANT, None, f"removed on {facts.removed_on}"))
        elif verdict.subject == NilSubject.NO:
            findings.append(finding(Status.COMPLIANT, None, *verdict.reasons))
        elif verdict.subject in (NilSubject.REVIEW, NilSubject.UNKNOWN):
            findings.append(finding(Status.REVIEW, obligation.deadline, *verdict.reasons))
        else:
            status, due, why = _rule(obligation, facts, as_of)
            findings.append(finding(status, due, why, *verdict.reasons,
                                    *(() if status == Status.COMPLIANT else (f"action: {obligation.action}",))))
    return findings


def assess(devices: Iterable[DeviceFacts], policies: Iterable[Policy], knowledge: Knowledge, as_of: date) -> Iterator[Finding]:
    """All findings for many devices under many policies."""
    policy_list = list(policies)
    for facts in devices:
        for policy in policy_list:
            yield from assess_device(facts, policy, knowledge, as_of)
