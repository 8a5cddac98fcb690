"""Quote lines × delivery site × date → allow, review or deny, each with its reasons.

The rules, strictest wins:
- A line that cannot be identified is review, never allow (a passive accessory or a service,
  whose nature is known, is the one exception: the producer test is about equipment).
- UK HCWS386 (the NIL test): a NIL-subject producer is deny for a sensitive delivery site (O1),
  deny anywhere when the line says it joins a departmental core network (O2), and review with
  advice elsewhere (O4). A contested or weakly identified producer is review.
- Designation policies (US s.889) and entity policies (AU Defence) deny what they cover.
- The debarment list of the site's jurisdiction (UK Procurement Act 2023) denies a listed
  supplier; a listed producer goes to review.
- The supplier itself being NIL-subject or designated is review: the Act asks for the supplier's
  national-security risk to be assessed, which is a person's call.
- Attestations are reasons. A lapsed one, or one the line contradicts, never clears anything.

Everything about a product (identity, NIL verdict, designations) is memoised on the line's text,
so a quote of a thousand lines with fifty distinct products does fifty identifications.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from clearsite.core.assess import Coverage, designations_at, nil_verdict
from clearsite.core.assess.nil import HkMacau, determine
from clearsite.core.identify import identify
from clearsite.core.knowledge import Knowledge
from clearsite.core.knowledge.schema import Policy, RuleKind, SiteScope
from clearsite.core.models import Identity, NilSubject, Site
from clearsite.core.names import name_key
from clearsite.core.screen.attestations import index_attestations, supplier_key
from clearsite.core.screen.lines import Kind, clip, core_in_text, line_evidence, line_kind
from clearsite.core.screen.suppliers import match_supplier
from clearsite.core.screen.types import (
    Attestation,
    Decision,
    Producer,
    QuoteLine,
    ScreenDecision,
    ScreenError,
    Statement,
    strictest,
)

# Lists whose membership contradicts a "does not provide covered equipment" representation.
COVERED_PROGRAMS = frozenset({"US-NDAA889", "US-FCC-COVERED"})
DEBARMENT_KIND = "procurement_debarment"
FIRM_CONFIDENCE = 0.5  # as in assessment: below this a covered producer goes to a person


@dataclass(frozen=True, slots=True)
class _Product:
    """What a line's brand, model, SKU and description say, independent of site, supplier and line number."""

    identity: Identity
    subject: NilSubject
    nil_reasons: tuple[str, ...]
    kind: Kind
    producer: Producer | None
    designations: tuple[Coverage, ...]
    identification: tuple[str, ...]  # reasons


@dataclass(frozen=True, slots=True)
class _Supplier:
    company_id: str | None
    exact: bool
    subject: NilSubject
    reasons: tuple[str, ...]
    designations: tuple[Coverage, ...]


@dataclass(frozen=True, slots=True)
class _Context:
    site: Site
    knowledge: Knowledge
    on: date
    policies: tuple[Policy, ...]
    hong_kong_macau: HkMacau
    attestations: dict[str, tuple[Attestation, ...]]
    debarment: frozenset[str]  # programme ids of the site's jurisdiction's debarment lists
    wants_representation: bool  # a designation policy applies: a FAR 52.204-24 representation is expected


def screen(
    lines: Sequence[QuoteLine],
    site: Site,
    knowledge: Knowledge,
    on: date,
    attestations: Sequence[Attestation] = (),
    policy_ids: Sequence[str] | None = None,
) -> list[ScreenDecision]:
    """Screen quote lines for delivery to `site` on `on`; one decision per line, in input order.

    `policy_ids` None means every policy of the site's jurisdiction (GB: uk-hcws386).
    Raises ScreenError for an unknown policy id.
    """
    policies = _policies(knowledge, policy_ids, site.jurisdiction)
    nil_policies = [p for p in policies if p.subject_test.kind == "nil"]
    context = _Context(
        site=site,
        knowledge=knowledge,
        on=on,
        policies=tuple(policies),
        hong_kong_macau=nil_policies[0].subject_test.hong_kong_macau if nil_policies else "review",
        attestations=index_attestations(attestations),
        debarment=_debarment_programs(knowledge, site.jurisdiction),
        wants_representation=any(p.subject_test.kind == "designation" for p in policies),
    )
    return [_screen_line(number, line, context) for number, line in enumerate(lines, start=1)]


def _policies(knowledge: Knowledge, policy_ids: Sequence[str] | None, jurisdiction: str) -> list[Policy]:
    if policy_ids is None:
        return [p for p in knowledge.policies.values() if p.jurisdiction == jurisdiction]
    unknown = [p for p in policy_ids if p not in knowledge.policies]
    if unknown:
        raise ScreenError(f"unknown policy {unknown[0]!r} (known: {', '.join(sorted(knowledge.policies))})")
    return [knowledge.policies[p] for p in dict.fromkeys(policy_ids)]


@lru_cache(maxsize=64)
def _debarment_programs(knowledge: Knowledge, jurisdiction: str) -> frozenset[str]:
    return frozenset(p.id for p in knowledge.programs.values()
                     if p.kind == DEBARMENT_KIND and p.jurisdiction == jurisdiction)


# --------------------------------------------------------------------------- one line


def _screen_line(number: int, line: QuoteLine, ctx: _Context) -> ScreenDecision:
    supplier, brand, model = clip(line.supplier), clip(line.brand), clip(line.model)
    sku, description = clip(line.sku), clip(line.description)
    errors = [*line.problems, *_line_errors(line, brand, model, sku, description)]
    verdict = _Verdict()
    for error in errors:
        verdict.add(Decision.REVIEW, f"line error: {error}")

    product: _Product | None = None
    if brand or model or sku or description:
        product = _product(brand, model, sku, description, ctx.on, ctx.knowledge, ctx.hong_kong_macau)
        connects = line.connects_to_core if line.connects_to_core is not None else (
            core_in_text(description) if description else None)
        _judge_product(product, connects, ctx, verdict)
    _judge_supplier(supplier, product, ctx, verdict)
    _judge_attestations(supplier, product, ctx, verdict)

    return ScreenDecision(
        line=number, supplier=supplier, brand=brand, model=model, sku=sku,
        quantity=line.quantity if isinstance(line.quantity, int) else None,
        decision=verdict.decision, producer=product.producer if product else None,
        nil_subject=product.subject if product else NilSubject.UNKNOWN,
        reasons=tuple(verdict.reasons), errors=tuple(errors), source=line.source,
        summary=verdict.decisive if verdict.decisive and verdict.decision != Decision.ALLOW
        else _allow_summary(product),
    )


def _allow_summary(product: _Product | None) -> str:
    if product is None:
        return "nothing to screen"
    if product.producer is None:
        return f"a {product.kind.value} line, not visual surveillance equipment"
    return f"made by {product.producer.name}, which is not subject to the National Intelligence Law" \
        if product.subject == NilSubject.NO else f"made by {product.producer.name}; no policy in force denies it"


class _Verdict:
    """The decision so far and the reasons, in the order they were found."""

    __slots__ = ("decision", "decisive", "reasons")

    def __init__(self) -> None:
        self.decision = Decision.ALLOW
        self.reasons: list[str] = []
        self.decisive: str | None = None  # the first reason for the strictest decision so far

    def add(self, decision: Decision, reason: str) -> None:
        if decision.severity > self.decision.severity or self.decisive is None:
            self.decisive = reason
        self.decision = strictest(self.decision, decision)
        self.reasons.append(reason)

    def note(self, reason: str) -> None:
        self.reasons.append(reason)


def _line_errors(line: QuoteLine, *texts: str | None) -> list[str]:
    errors: list[str] = []
    if not any(texts):
        errors.append("empty line: no brand, model, SKU or description to screen")
    quantity = line.quantity
    if quantity is not None:
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            errors.append(f"quantity {quantity!r} is not a whole number")
        elif quantity <= 0:
            errors.append(f"quantity {quantity} must be at least 1")
    return errors


# --------------------------------------------------------------------------- the product


@lru_cache(maxsize=65536)
def _product(brand: str | None, model: str | None, sku: str | None, description: str | None, on: date,
             knowledge: Knowledge, hong_kong_macau: HkMacau) -> _Product:
    evidence = line_evidence(brand, model, sku, description, knowledge)
    identity = identify(evidence, knowledge, on)  # a new purchase is produced about now
    verdict = nil_verdict(identity, knowledge, on, hong_kong_macau)
    kind = line_kind(" ".join(t for t in (description, model, sku) if t))
    producer: Producer | None = None
    designations: tuple[Coverage, ...] = ()
    reasons: list[str] = []
    if identity.producer_id:
        company = knowledge.companies[identity.producer_id]
        producer = Producer(company.id, company.name, company.incorporated_in)
        reasons.append(f"producer: {company.name} ({company.incorporated_in}), "
                       f"identification confidence {identity.confidence:.2f}")
        owner = _brand_owner(identity.label_brand, knowledge)
        if owner and owner != identity.producer_id and not knowledge.same_group(owner, identity.producer_id, on):
            reasons.append(f"relabel: {identity.label_brand} products are made by {company.name}")
        designations = tuple(_designations(identity.producer_id, on, knowledge))
    else:
        reasons.append("producer unknown: " + _why_unknown(brand, model or sku, identity))
    reasons.extend(f"identification: {c}" for c in identity.contradictions)
    return _Product(identity, verdict.subject, verdict.reasons, kind, producer, designations, tuple(reasons))


def _brand_owner(label: str | None, knowledge: Knowledge) -> str | None:
    brand = knowledge.brand_by_key.get(name_key(label)) if label else None
    return brand.owner if brand else None


def _why_unknown(brand: str | None, model: str | None, identity: Identity) -> str:
    if identity.alternatives:
        return "the evidence does not settle who made it"
    parts = []
    if brand:
        parts.append(f"brand {brand!r}" + (" is known but its maker for this product is not"
                                          if identity.label_brand else " is not in the knowledge base"))
    if model:
        parts.append(f"model {model!r} matches no known pattern")
    return "; ".join(parts) if parts else "nothing on the line names a maker"


@lru_cache(maxsize=16384)
def _designations(company_id: str, on: date, knowledge: Knowledge) -> tuple[Coverage, ...]:
    return tuple(designations_at(company_id, on, knowledge))


def _describe(coverage: Coverage, company_id: str, knowledge: Knowledge) -> str:
    program = knowledge.programs[coverage.designation.program]
    return f"({program.jurisdiction}) {coverage.describe(knowledge, company_id)}"


def _judge_product(product: _Product, connects: bool | None, ctx: _Context, verdict: _Verdict) -> None:
    knowledge = ctx.knowledge
    for reason in product.identification:
        verdict.note(reason)
    subject = product.subject
    verdict.note(f"NIL test: {subject.value}: " + "; ".join(product.nil_reasons))
    # Unidentified whether nothing names a maker (NIL unknown) or the names fit several makers (NIL
    # review): either way no policy can clear the equipment, even on a date before any is in force.
    unidentified = product.producer is None
    if unidentified and product.kind == Kind.EQUIPMENT:
        verdict.add(Decision.REVIEW, "cannot identify the producer of this equipment: a person must check it "
                                     "before it is bought")
    elif unidentified and subject == NilSubject.UNKNOWN:
        verdict.note(f"a {product.kind.value} line, not visual surveillance equipment: the producer test does not apply")
    elif unidentified:
        verdict.note(f"a {product.kind.value} line, not visual surveillance equipment: an unsettled producer alone "
                     "does not stop it")

    for policy in ctx.policies:
        kind = policy.subject_test.kind
        if kind == "nil":
            _nil_policy(policy, product, connects, ctx, verdict)
        else:
            _listed_policy(policy, product, ctx, verdict)
    if not ctx.policies and subject in (NilSubject.YES, NilSubject.REVIEW):
        verdict.add(Decision.REVIEW, f"no policy is held for jurisdiction {ctx.site.jurisdiction!r}: "
                                     "a NIL-subject or contested producer goes to a person")
    if ctx.site.sensitive and subject == NilSubject.YES and verdict.decision == Decision.ALLOW:
        # Whatever the jurisdiction's policies say, clearsite never clears NIL-subject kit for a sensitive site.
        verdict.add(Decision.REVIEW, "the site is sensitive and the producer is subject to the National Intelligence "
                                     "Law: no policy in force denies it, so a person must decide")

    if product.producer:
        for coverage in product.designations:
            verdict.note("designation: " + _describe(coverage, product.producer.id, knowledge))
        listed = [c for c in product.designations if c.designation.program in ctx.debarment]
        for _ in listed:
            verdict.add(Decision.REVIEW, f"debarment list: the producer {product.producer.name} is listed; check "
                                         "whether it is an associated person or intended sub-contractor of the supplier")


def _in_scope(scope: SiteScope, site: Site) -> bool:
    return scope == SiteScope.ANY or (scope == SiteScope.SENSITIVE) == site.sensitive


def _nil_policy(policy: Policy, product: _Product, connects: bool | None, ctx: _Context, verdict: _Verdict) -> None:
    subject, equipment = product.subject, product.kind == Kind.EQUIPMENT
    unsettled = subject == NilSubject.REVIEW or (subject == NilSubject.UNKNOWN and equipment)
    in_force = [o for o in policy.obligations
                if o.valid_at(ctx.on) and _in_scope(o.sites, ctx.site) and o.rule != RuleKind.REMOVE_BY]
    if not in_force:
        verdict.note(f"{policy.id}: no obligation for this site is in force on {ctx.on}")
    for obligation in in_force:
        label = f"{policy.id} {obligation.id} ({obligation.title})"
        if obligation.rule == RuleKind.NO_NEW_DEPLOYMENT:
            if subject == NilSubject.YES and equipment:
                verdict.add(Decision.DENY, f"{label}: the producer is subject to the National Intelligence Law and "
                                           "the delivery site is sensitive")
            elif subject == NilSubject.YES:
                verdict.add(Decision.REVIEW, f"{label}: a {product.kind.value} line from a NIL-subject producer is not "
                                             "itself surveillance equipment, but belongs with it; confirm what it is for")
            elif unsettled:
                verdict.add(Decision.REVIEW, f"{label}: the producer is not settled, so the line cannot be cleared "
                                             "for a sensitive site")
        elif obligation.rule == RuleKind.NO_CORE_CONNECTION:
            if subject == NilSubject.YES and connects:
                verdict.add(Decision.DENY, f"{label}: the line says it will join a departmental core network")
            elif subject == NilSubject.YES and connects is None:
                verdict.note(f"{label}: it must not be connected to a departmental core network; the line does not say")
            elif subject == NilSubject.YES:
                verdict.note(f"{label}: the line says it will not join a core network")
            elif unsettled and connects:
                verdict.add(Decision.REVIEW, f"{label}: it will join a core network and the producer is not settled")
        elif obligation.rule == RuleKind.CONSIDER_REMOVAL:
            if subject == NilSubject.YES:
                verdict.add(Decision.REVIEW, f"{label}: the producer is subject to the National Intelligence Law; "
                                             "prefer one that is not (advice for a site that is not sensitive)")
            elif unsettled:
                verdict.add(Decision.REVIEW, f"{label}: the producer is not settled")


def _listed_policy(policy: Policy, product: _Product, ctx: _Context, verdict: _Verdict) -> None:
    """A designation (US s.889) or named-entities (AU Defence) policy: it denies what it covers."""
    knowledge, test = ctx.knowledge, policy.subject_test
    in_force = [o for o in policy.obligations if o.valid_at(ctx.on) and _in_scope(o.sites, ctx.site)
                and o.rule != RuleKind.CONSIDER_REMOVAL]  # "in use" rules say nothing about a purchase
    if not in_force:
        verdict.note(f"{policy.id}: no procurement obligation is in force on {ctx.on}")
        return
    label = f"{policy.id} {in_force[0].id} ({in_force[0].title})"
    producer = product.producer
    if producer is None:
        if product.kind == Kind.EQUIPMENT or product.subject == NilSubject.REVIEW:
            verdict.add(Decision.REVIEW, f"{label}: cannot tell whether the producer is covered")
        return
    if test.kind == "designation":
        covered = [_describe(c, producer.id, knowledge) for c in product.designations
                   if c.designation.program in test.programs]
    else:
        chain = {producer.id, *knowledge.controllers(producer.id, ctx.on)}
        covered = [f"made by {knowledge.companies[e].name} or a company it controls" for e in test.entities if e in chain]
    if not covered:
        verdict.note(f"{label}: {producer.name} is not covered")
        return
    why = "; ".join(covered)
    if product.identity.confidence < FIRM_CONFIDENCE:
        verdict.add(Decision.REVIEW, f"{label}: covered if the identification holds ({why}); confirm the maker")
    else:
        verdict.add(Decision.DENY, f"{label}: {why}; a government site's security is within the purpose limit")


# --------------------------------------------------------------------------- the supplier


def _judge_supplier(supplier: str | None, product: _Product | None, ctx: _Context, verdict: _Verdict) -> None:
    if not supplier:
        return
    facts = _supplier(supplier, ctx.on, ctx.knowledge, ctx.hong_kong_macau)
    if facts.company_id is None:
        if ctx.debarment:
            verdict.note(f"debarment list ({ctx.site.jurisdiction}): no entry matches the supplier {supplier!r}")
        return
    name = ctx.knowledge.companies[facts.company_id].name
    listed = [c for c in facts.designations if c.designation.program in ctx.debarment]
    if facts.exact:
        if listed:
            verdict.add(Decision.DENY, f"debarment list: the supplier {name} is listed, a mandatory exclusion "
                                       "(Procurement Act 2023)")
        elif ctx.debarment:
            verdict.note(f"debarment list ({ctx.site.jurisdiction}): no entry for the supplier {name}")
        if facts.subject == NilSubject.YES and not (product and product.producer
                                                    and product.producer.id == facts.company_id):
            verdict.add(Decision.REVIEW, f"supplier: {name} is subject to the National Intelligence Law "
                                         f"({'; '.join(facts.reasons)}); assess the supplier's national-security "
                                         "risk (Procurement Act 2023; the NSUP can advise)")
        for coverage in facts.designations:
            verdict.note("supplier designation: " + _describe(coverage, facts.company_id, ctx.knowledge))
        policy_programs = {p for pol in ctx.policies for p in pol.subject_test.programs}
        if any(c.designation.program in policy_programs for c in facts.designations):
            verdict.add(Decision.REVIEW, f"supplier: {name} is itself on a list a policy of this site applies")
        return
    if facts.subject == NilSubject.YES or facts.designations or listed:
        verdict.add(Decision.REVIEW, f"supplier: the name {supplier!r} contains {name}, which is "
                                     + ("subject to the National Intelligence Law" if facts.subject == NilSubject.YES
                                        else "on a designation list")
                                     + "; confirm who the supplier is")


@lru_cache(maxsize=16384)
def _supplier(text: str, on: date, knowledge: Knowledge, hong_kong_macau: HkMacau) -> _Supplier:
    match = match_supplier(text, knowledge)
    if match is None:
        return _Supplier(None, False, NilSubject.UNKNOWN, (), ())
    determination = determine(match.company_id, on, knowledge, hong_kong_macau)
    return _Supplier(match.company_id, match.exact, determination.result, determination.reasons,
                     _designations(match.company_id, on, knowledge))


# --------------------------------------------------------------------------- attestations


def _judge_attestations(supplier: str | None, product: _Product | None, ctx: _Context, verdict: _Verdict) -> None:
    found = ctx.attestations.get(supplier_key(supplier), ()) if supplier else ()
    current = [a for a in found if a.current_on(ctx.on)]
    for attestation in current:
        verdict.note(f"attestation: {attestation.supplier} represents that it {attestation.statement.value} "
                     f"(signed {attestation.signed}, valid to {attestation.expires}; {attestation.source})")
        contradiction = _contradiction(attestation, product, ctx)
        if contradiction:
            verdict.add(Decision.REVIEW, contradiction)
    if found and not current:
        newest = found[0]
        if newest.signed > ctx.on:
            verdict.note(f"attestation: signed {newest.signed}, after the screening date {ctx.on}; it does not count yet")
        else:
            verdict.note(f"attestation: expired on {newest.expires}; ask {newest.supplier} for a current representation")
    equipment = product is not None and product.kind == Kind.EQUIPMENT
    if ctx.wants_representation and equipment and not any(
            a.statement == Statement.NO_COVERED_EQUIPMENT for a in current):
        verdict.add(Decision.REVIEW, "no current representation that the supplier does not provide covered equipment "
                                     "(FAR 52.204-24) is on file")


def _contradiction(attestation: Attestation, product: _Product | None, ctx: _Context) -> str | None:
    if product is None or product.producer is None:
        return None
    name = product.producer.name
    if attestation.statement == Statement.NO_COVERED_EQUIPMENT:
        covered = [c for c in product.designations if c.designation.program in COVERED_PROGRAMS]
        if covered:
            programs = ", ".join(sorted({ctx.knowledge.programs[c.designation.program].name for c in covered}))
            return (f"attestation contradicted: {attestation.supplier} represents that it does not provide covered "
                    f"equipment, but this line is made by {name}, covered by {programs}; the representation clears "
                    "nothing, and a contractor must report covered equipment (FAR 52.204-25(d))")
    if attestation.statement == Statement.NO_NIL_PRODUCER and product.subject == NilSubject.YES:
        return (f"attestation contradicted: {attestation.supplier} represents that it provides nothing made by a "
                f"company subject to the National Intelligence Law, but this line is made by {name}")
    return None
