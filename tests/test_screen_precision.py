"""Screening precision on labelled quote lines built from public facts (tests/data/quotes/README.md).

Each line carries the decision it should get for a sensitive delivery site and for one that is
not. The figures that matter most: no NIL-subject line is ever allowed at a sensitive site, no
line that should go to a person is allowed, and of the lines denied, how many should be.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from pathlib import Path

from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Site
from clearsite.core.screen import QuoteLine, screen

LABELLED = Path(__file__).parent / "data" / "quotes" / "labelled_quote_lines.csv"
AS_OF = date(2026, 11, 29)
SENSITIVE = Site("Labelled sensitive site", "Test Department", holds_secret=True)
NOT_SENSITIVE = Site("Labelled ordinary site", "Test Department")
DECISIONS = ("allow", "review", "deny")


def _rows() -> list[dict[str, str]]:
    with LABELLED.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _line(row: dict[str, str]) -> QuoteLine:
    core = {"yes": True, "no": False}.get(row["core_network"].strip().lower())
    return QuoteLine(supplier=row["supplier"] or None, brand=row["brand"] or None, model=row["model"] or None,
                     sku=row["sku"] or None, description=row["description"] or None,
                     quantity=int(row["quantity"]) if row["quantity"] else None, connects_to_core=core)


def evaluate(knowledge: Knowledge) -> tuple[dict[str, Counter[str]], list[str]]:
    rows = _rows()
    lines = [_line(r) for r in rows]
    tallies: dict[str, Counter[str]] = {}
    misses: list[str] = []
    for label, site, column in (("sensitive", SENSITIVE, "expected_sensitive"),
                                ("not sensitive", NOT_SENSITIVE, "expected_not_sensitive")):
        tally: Counter[str] = Counter()
        for row, decision in zip(rows, screen(lines, site, knowledge, AS_OF), strict=True):
            expected, got = row[column], decision.decision.value
            tally["lines"] += 1
            tally[f"expected {expected}"] += 1
            tally[f"got {got}"] += 1
            tally["agree"] += got == expected
            tally["deny right"] += got == "deny" and expected == "deny"
            tally["nil-subject allowed"] += row["expected_nil"] == "yes" and got == "allow"
            tally["should review, allowed"] += expected == "review" and got == "allow"
            tally["unknown equipment"] += row["expected_nil"] == "unknown" and expected == "review"
            tally["unknown equipment reviewed"] += row["expected_nil"] == "unknown" and expected == "review" \
                and got == "review"
            if row["expected_producer"]:
                tally["producer labelled"] += 1
                tally["producer right"] += decision.producer is not None and (
                    decision.producer.id == row["expected_producer"]
                    or knowledge.same_group(decision.producer.id, row["expected_producer"], AS_OF))
            if got != expected:
                misses.append(f"{label}: line {decision.line}: {row['brand']!r} {row['model'] or row['sku']!r} "
                              f"{row['description']!r}: got {got}, expected {expected} ({decision.summary})")
        tallies[label] = tally
    return tallies, misses


def test_labelled_quote_lines_have_the_expected_shape(packaged_kb):
    rows = _rows()
    assert len(rows) >= 120
    for number, row in enumerate(rows, start=2):
        assert row["expected_sensitive"] in DECISIONS, f"row {number}"
        assert row["expected_not_sensitive"] in DECISIONS, f"row {number}"
        assert row["expected_nil"] in ("yes", "no", "review", "unknown"), f"row {number}"
        assert not row["expected_producer"] or row["expected_producer"] in packaged_kb.companies, f"row {number}"
        assert row["note"], f"row {number}: every label says which public fact it rests on"


def test_screening_precision_on_labelled_quote_lines(packaged_kb, capsys):
    tallies, misses = evaluate(packaged_kb)
    with capsys.disabled():
        print()
        for label, t in tallies.items():
            denied = t["got deny"]
            precision = t["deny right"] / denied if denied else 1.0
            recall = t["deny right"] / t["expected deny"] if t["expected deny"] else 1.0
            print(f"screening, {label} site: {t['lines']} lines; agreement {t['agree'] / t['lines']:.1%}; "
                  f"deny precision {precision:.1%} ({t['deny right']}/{denied}), deny recall {recall:.1%}; "
                  f"NIL-subject lines allowed {t['nil-subject allowed']}; should-review lines allowed "
                  f"{t['should review, allowed']}; unknown equipment reviewed "
                  f"{t['unknown equipment reviewed']}/{t['unknown equipment']}; producer right "
                  f"{t['producer right']}/{t['producer labelled']}")
        for miss in misses:
            print("  miss:", miss)
    sensitive = tallies["sensitive"]
    # The costly mistakes are clearing kit that must not be bought: those must never happen.
    assert sensitive["nil-subject allowed"] == 0
    for t in tallies.values():
        assert t["should review, allowed"] == 0
        assert t["unknown equipment reviewed"] == t["unknown equipment"]
        assert t["deny right"] / t["got deny"] >= 0.95
        assert t["agree"] / t["lines"] >= 0.9
