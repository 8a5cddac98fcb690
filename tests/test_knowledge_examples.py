"""Every brand example in the knowledge base resolves, through the real engine, to its producer."""

from __future__ import annotations

import pytest

from clearsite.core.identify import identify, register_evidence
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
