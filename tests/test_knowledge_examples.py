"""Every brand and fingerprint example in the knowledge base resolves, through the real engine, to its maker."""

from __future__ import annotations

import pytest

from clearsite.core.identify import MIN_PRODUCER_CONFIDENCE, identify, register_evidence
from clearsite.core.models import Evidence, Signal
from clearsite.formats.knowledge import load_knowledge

KNOWLEDGE = load_knowledge()
EXAMPLES = [(brand.name, example) for brand in KNOWLEDGE.brands for example in brand.examples]


@pytest.mark.parametrize(("brand", "example"), EXAMPLES, ids=[f"{b}:{e.text}" for b, e in EXAMPLES])
def test_brand_example_resolves_to_its_producer(brand, example):
    identity = identify(register_evidence("example", brand=example.text, model=example.model), KNOWLEDGE,
                        example.installed)
    assert identity.label_brand == brand
    if example.producer is None:
        assert identity.producer_id is None or identity.alternatives
    else:
        assert identity.producer_id == example.producer, identity.evidence


FINGERPRINT_EXAMPLES = [(fp, text) for fp in KNOWLEDGE.fingerprints for text in fp.examples.match
                        if fp.producer or fp.label_brand]


@pytest.mark.parametrize(("fingerprint", "text"), FINGERPRINT_EXAMPLES,
                         ids=[f"{fp.id}:{text[:40]}" for fp, text in FINGERPRINT_EXAMPLES])
def test_fingerprint_example_identifies_its_maker_through_the_engine(fingerprint, text):
    """Each rule's example, seen alone as the rule's first signal, leads to the rule's maker or badge."""
    identity = identify([Evidence(Signal(fingerprint.signals[0]), text, "example")], KNOWLEDGE)
    if fingerprint.label_brand and not fingerprint.producer:
        assert identity.label_brand == fingerprint.label_brand, identity.evidence
        return
    candidates = [identity.producer_id] if identity.producer_id else [p for p, _ in identity.alternatives]
    assert any(KNOWLEDGE.same_group(candidate, fingerprint.producer) for candidate in candidates), identity.evidence
    if fingerprint.weight >= MIN_PRODUCER_CONFIDENCE:
        assert identity.producer_id is not None, identity.evidence
