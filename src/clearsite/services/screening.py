"""Procurement screening of a quote file for a delivery site (`clearsite screen`).

Reads the quote and any attestations, finds the site in the store, screens with the pure core and
returns the decisions with the rows that could not be read. Bad input raises a ScreenError (an
InputError) whose one-line message names the file, row or field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine

from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Site
from clearsite.core.screen import screen
from clearsite.core.screen.types import (
    Attestation,
    Decision,
    QuoteLine,
    ScreenDecision,
    ScreenError,
    Statement,
)
from clearsite.formats.attestations import load_attestations
from clearsite.formats.knowledge import load_knowledge
from clearsite.formats.quotes import read_quote, read_quote_file
from clearsite.store.site_reads import attestation_rows
from clearsite.store.sites import find_site, load_sites

__all__ = ["SEVERITY", "UNNAMED_SITE", "QuoteScreening", "ScreenInputError", "ScreenResult", "at_least", "held_attestations",
           "producer_short_name", "quote_file_lines", "quote_lines", "screen_lines", "screen_quote_file"]

# How bad each decision is, for `--fail-on`: a gate on "review" also stops a "deny".
SEVERITY = {Decision.ALLOW: 0, Decision.REVIEW: 1, Decision.DENY: 2}


class ScreenInputError(ScreenError):
    """A command-line input is unusable: a missing file or a malformed date."""


@dataclass(frozen=True, slots=True)
class QuoteScreening:
    file_name: str
    site: Site
    on: date
    decisions: list[ScreenDecision]
    skipped: list[str]  # rows of the quote that could not be read, in words
    knowledge: Knowledge


def screen_quote_file(engine: Engine, quote: Path, site: str, on: date, attestations: Path | None = None,
                      policies: Sequence[str] | None = None) -> QuoteScreening:
    """Screen every line of a quote or bill of materials (CSV, XLSX or JSON lines) for a delivery site."""
    read = read_quote(_read(quote), quote.name)
    signed = load_attestations(attestations) if attestations else []
    with engine.connect() as conn:
        delivery_site = load_sites(conn)[find_site(conn, site)]
    knowledge = load_knowledge()
    decisions = screen(read.lines, delivery_site, knowledge, on, signed, policies)
    return QuoteScreening(quote.name, delivery_site, on, decisions, read.messages(), knowledge)


def at_least(decisions: Sequence[ScreenDecision], level: Decision) -> list[ScreenDecision]:
    """The lines whose decision is `level` or more severe."""
    return [d for d in decisions if SEVERITY[d.decision] >= SEVERITY[level]]


def producer_short_name(decision: ScreenDecision, knowledge: Knowledge) -> str:
    """"Hikvision" rather than the legal name, for a table column."""
    if decision.producer is None:
        return "unknown"
    company = knowledge.companies.get(decision.producer.id)
    return company.aliases[0] if company and company.aliases else decision.producer.name


def _read(path: Path) -> bytes:
    """The quote's bytes, read only from a regular file of bounded size (no FIFO, device or directory)."""
    return read_quote_file(path, ScreenInputError)


# --------------------------------------------------------------------------- screening for the web and API

# Screening with no site named is done as for a sensitive site: the strictest answer is the safe default.
UNNAMED_SITE = Site("(no site named)", "(none)", holds_secret=True)


@dataclass(frozen=True, slots=True)
class ScreenResult:
    """The whole quote's decision (its worst line's), each line's decision, and the rows not read."""

    decision: str
    lines: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)


def held_attestations(engine: Engine, department_id: int | None) -> list[Attestation]:
    """Supplier attestations on record that a department may rely on: its own and everyone's."""
    with engine.connect() as conn:
        rows = attestation_rows(conn, department_id)
    return [Attestation(r.supplier, Statement(r.statement), r.signed, r.expires, r.source) for r in rows]


def quote_lines(items: Sequence[dict[str, Any]]) -> list[QuoteLine]:
    """Quote lines sent as fields (the API), numbered from 1."""
    return [QuoteLine(**item, source=f"line {n}") for n, item in enumerate(items, start=1)]


def quote_file_lines(data: bytes, file_name: str) -> tuple[list[QuoteLine], list[str]]:
    """Lines read from a quote file, and one message per row it could not read (QuoteError if none)."""
    read = read_quote(data, file_name)
    return list(read.lines), read.messages()


def screen_lines(lines: Sequence[QuoteLine], site: Site, knowledge: Knowledge, on: date,
                 held: Sequence[Attestation], problems: Sequence[str] = ()) -> ScreenResult:
    """Screen quote lines for a site; a quote with rows that could not be read is never cleared as a whole."""
    decisions = screen(list(lines), site, knowledge, on, list(held))
    worst = max((d.decision for d in decisions), key=lambda d: d.severity, default=None)
    decision = worst.value if worst else "allow"
    if problems and decision == "allow":
        decision = "review"
    return ScreenResult(decision, [cast("dict[str, Any]", d.as_dict()) for d in decisions], list(problems))
