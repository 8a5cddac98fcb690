"""The plain data procurement screening takes and gives: quote lines, supplier attestations, decisions.

Frozen and hashable, with no database handle, so the web app, the CLI and tests build them the
same way and the screening core can memoise on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from clearsite.core import contracts
from clearsite.core.errors import InputError
from clearsite.core.models import NilSubject


class ScreenError(InputError, ValueError):
    """Screening cannot run as asked (an unknown policy id, say); the message says what to fix."""


class Decision(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"
    DENY = "deny"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Decision.ALLOW: 0, Decision.REVIEW: 1, Decision.DENY: 2}


def strictest(*decisions: Decision) -> Decision:
    return max(decisions, key=lambda d: d.severity)


@dataclass(frozen=True, slots=True)
class QuoteLine:
    """One line of a supplier's quote or bill of materials, as the supplier wrote it.

    `quantity` None means the quote did not say. `connects_to_core` None means the line does not
    say whether the equipment will join a departmental core network. `problems` carries what the
    reader found wrong with the row (an unreadable quantity) so the line is still screened, and
    reported, rather than silently dropped.
    """

    supplier: str | None = None
    brand: str | None = None
    model: str | None = None
    sku: str | None = None
    description: str | None = None
    quantity: int | None = None
    connects_to_core: bool | None = None
    source: str | None = None  # where it came from, e.g. "quote.xlsx row 7"
    problems: tuple[str, ...] = ()


class Statement(StrEnum):
    """What a supplier attests, after FAR 52.204-24(d) / 52.204-26(c) and the UK NIL test."""

    NO_COVERED_EQUIPMENT = "does not provide covered equipment"  # FAR 52.204-24(d)(1)
    NO_COVERED_USE = "does not use covered equipment"  # FAR 52.204-24(d)(2): about its own operations
    NO_NIL_PRODUCER = "does not provide equipment produced by companies subject to the PRC National Intelligence Law"


@dataclass(frozen=True, slots=True)
class Attestation:
    """A supplier's signed representation, valid from `signed` until the day before `expires`."""

    supplier: str
    statement: Statement
    signed: date
    expires: date
    source: str  # the document or system it was read from, e.g. "SAM.gov 2026-01-04" or "rep-acme.pdf"

    def current_on(self, on: date) -> bool:
        return self.signed <= on < self.expires


@dataclass(frozen=True, slots=True)
class Producer:
    id: str
    name: str
    country: str

    def as_dict(self) -> contracts.Producer:
        return {"id": self.id, "name": self.name, "country": self.country}


@dataclass(frozen=True, slots=True)
class ScreenDecision:
    """The screening of one line: the decision, who made the thing, and every reason in words."""

    line: int  # 1-based position in the input
    supplier: str | None
    brand: str | None
    model: str | None
    sku: str | None
    quantity: int | None
    decision: Decision
    producer: Producer | None
    nil_subject: NilSubject
    reasons: tuple[str, ...]
    errors: tuple[str, ...] = ()  # what is wrong with the line itself; a line with errors is never allowed
    source: str | None = None
    summary: str = ""  # the one reason that decided the line, for a table or a page

    def as_dict(self) -> contracts.ScreenDecision:
        return {
            "line": self.line,
            "supplier": self.supplier,
            "brand": self.brand,
            "model": self.model,
            "decision": self.decision.value,
            "producer": self.producer.as_dict() if self.producer else None,
            "nil_subject": self.nil_subject.value,
            "reasons": list(self.reasons),
            "sku": self.sku,
            "quantity": self.quantity,
            "errors": list(self.errors),
            "source": self.source,
            "summary": self.summary,
        }
