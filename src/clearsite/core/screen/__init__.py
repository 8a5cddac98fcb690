"""Procurement screening: quote or bill-of-materials lines → allow, review or deny, with reasons.

    from clearsite.core.screen import screen
    from clearsite.formats.knowledge import load_knowledge
    from clearsite.formats.quotes import read_quote
    quote = read_quote(data, "quote.xlsx")
    for decision in screen(quote.lines, site, load_knowledge(), on):
        print(decision.as_dict())

`screen` is pure: lines, a site, the knowledge base, a date and supplier attestations in, one
decision per line out, in input order. Reading quotes and attestation files is `clearsite.formats`
(`formats.quotes`, `formats.attestations`).
"""

from clearsite.core.screen.attestations import parse_statement
from clearsite.core.screen.engine import screen
from clearsite.core.screen.types import (
    Attestation,
    Decision,
    Producer,
    QuoteLine,
    ScreenDecision,
    ScreenError,
    Statement,
)

__all__ = [
    "Attestation", "Decision", "Producer", "QuoteLine", "ScreenDecision", "ScreenError", "Statement",
    "parse_statement", "screen",
]
