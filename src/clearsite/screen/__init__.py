"""Procurement screening: quote or bill-of-materials lines → allow, review or deny, with reasons.

    from clearsite.screen import QuoteLine, screen, read_quote
    quote = read_quote(data, "quote.xlsx")
    for decision in screen(quote.lines, site, load_knowledge(), date.today()):
        print(decision.as_dict())

`screen` is pure: lines, a site, the knowledge base, a date and supplier attestations in, one
decision per line out, in input order. Reading quotes and attestation files is kept apart.
"""

from clearsite.screen.attestations import AttestationError, load_attestations, parse_attestations, parse_statement
from clearsite.screen.engine import screen
from clearsite.screen.quotes import QuoteError, QuoteRead, read_quote
from clearsite.screen.types import (
    Attestation,
    Decision,
    Producer,
    QuoteLine,
    ScreenDecision,
    ScreenError,
    Statement,
)

__all__ = [
    "Attestation", "AttestationError", "Decision", "Producer", "QuoteError", "QuoteLine", "QuoteRead",
    "ScreenDecision", "ScreenError", "Statement", "load_attestations", "parse_attestations",
    "parse_statement", "read_quote", "screen",
]
