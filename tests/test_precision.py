"""Identification precision on a labelled register built from public facts (tests/data/README.md).

The register was built by a different engineer from the knowledge base, from public sources, so
this measures the knowledge and the engine together rather than replaying their own examples.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from pathlib import Path

from clearsite.core.assess import nil_verdict
from clearsite.core.identify import identify, register_evidence

LABELLED = Path(__file__).parent / "data" / "labelled_register.csv"
AS_OF = date(2026, 11, 29)


def evaluate(knowledge):  # type: ignore[no-untyped-def]
    rows = list(csv.DictReader(LABELLED.open(encoding="utf-8")))
    tally: Counter[str] = Counter()
    misses: list[str] = []
    for number, row in enumerate(rows, start=2):
        identity = identify(register_evidence(f"row {number}", brand=row["Make"], model=row["Model"],
                                              serial=row["Serial"], mac=row["MAC"], description=row["Description"]),
                            knowledge)
        verdict = nil_verdict(identity, knowledge, AS_OF).subject.value
        expected_producer = row["expected_producer"] or None
        tally["rows"] += 1
        if identity.producer_id and expected_producer is None:
            tally["named_undecided"] += 1  # the labeller could not name a maker; the verdict below still counts
        elif identity.producer_id:
            tally["named"] += 1
            same = identity.producer_id == expected_producer or (
                expected_producer is not None and knowledge.same_group(identity.producer_id, expected_producer))
            tally["named_right"] += same
            if not same:
                misses.append(f"row {number}: {row['Make']!r} {row['Model']!r} -> {identity.producer_id}, "
                              f"expected {expected_producer}")
        if expected_producer:
            tally["expected"] += 1
            tally["found"] += identity.producer_id is not None and (
                identity.producer_id == expected_producer or knowledge.same_group(identity.producer_id, expected_producer))
        tally["nil_right"] += verdict == row["expected_nil"]
        if verdict != row["expected_nil"]:
            misses.append(f"row {number}: {row['Make']!r} {row['Model']!r} nil {verdict}, expected {row['expected_nil']}")
        # The costly mistake: clearing kit that a PRC company made.
        tally["false_clear"] += row["expected_nil"] == "yes" and verdict == "no"
        tally["false_accuse"] += row["expected_nil"] == "no" and verdict == "yes"
        # A contested line left "unknown" lands on nobody's desk with nothing to check.
        tally["review_left_unknown"] += row["expected_nil"] == "review" and verdict == "unknown"
        tally["unknown"] += verdict == "unknown"
    return tally, misses


def test_identification_precision_on_the_labelled_register(packaged_kb, capsys):
    tally, misses = evaluate(packaged_kb)
    precision = tally["named_right"] / tally["named"]
    recall = tally["found"] / tally["expected"]
    nil_accuracy = tally["nil_right"] / tally["rows"]
    with capsys.disabled():
        print(f"\nlabelled register: {tally['rows']} rows; producer precision {precision:.3f} "
              f"({tally['named_right']}/{tally['named']}), recall {recall:.3f}, NIL verdict agreement "
              f"{nil_accuracy:.3f}, false clears {tally['false_clear']}, false accusations {tally['false_accuse']}, "
              f"named a maker where the label could not: {tally['named_undecided']}; left unknown "
              f"{tally['unknown']} ({tally['unknown'] / tally['rows']:.1%})")
    assert tally["rows"] >= 200
    assert precision >= 0.97, "\n".join(misses[:30])
    assert recall >= 0.90, "\n".join(misses[:30])
    assert nil_accuracy >= 0.90, "\n".join(misses[:30])
    assert tally["false_clear"] == 0, "\n".join(m for m in misses if "expected yes" in m)
    assert tally["false_accuse"] == 0, "\n".join(m for m in misses if "expected no" in m)
    assert tally["review_left_unknown"] == 0, "\n".join(m for m in misses if "nil unknown, expected review" in m)
