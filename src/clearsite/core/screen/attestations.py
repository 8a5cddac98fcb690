"""Supplier attestations as screening reads them: the words for each statement, and an index by supplier.

An attestation is the supplier's word. Screening reports it, and reports when it has lapsed or
when the line in front of it contradicts it; it never turns a deny or a review into an allow.
Reading attestation files (YAML or CSV) is `clearsite.formats.attestations`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from clearsite.core.names import name_key
from clearsite.core.screen.types import Attestation, Statement

# Short forms people use for the three statements, after folding case and punctuation.
_STATEMENT_WORDS: dict[str, Statement] = {}
for _statement, _words in (
    (Statement.NO_COVERED_EQUIPMENT, ("no covered equipment", "no_covered_equipment", "does not provide covered equipment",
                                      "will not provide covered equipment", "52.204-24(d)(1)", "52.204-26(c)(1)")),
    (Statement.NO_COVERED_USE, ("no covered use", "no_covered_use", "does not use covered equipment",
                                "52.204-24(d)(2)", "52.204-26(c)(2)")),
    (Statement.NO_NIL_PRODUCER, ("no nil producer", "no_nil_producer", "no nil subject producer",
                                 Statement.NO_NIL_PRODUCER.value)),
):
    for _word in _words:
        _STATEMENT_WORDS[re.sub(r"[^0-9a-z]+", "", _word.casefold())] = _statement


def parse_statement(text: str) -> Statement | None:
    return _STATEMENT_WORDS.get(re.sub(r"[^0-9a-z]+", "", text.casefold()))


def supplier_key(name: str | None) -> str:
    """Suppliers as quotes and attestations write them: case, punctuation and "Ltd" do not matter."""
    return name_key(name or "")


def index_attestations(attestations: Sequence[Attestation]) -> dict[str, tuple[Attestation, ...]]:
    by_supplier: dict[str, list[Attestation]] = {}
    for attestation in attestations:
        by_supplier.setdefault(supplier_key(attestation.supplier), []).append(attestation)
    return {key: tuple(sorted(items, key=lambda a: a.signed, reverse=True)) for key, items in by_supplier.items()}
