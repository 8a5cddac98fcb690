"""Which designation lists cover a producer at a date, directly or through a parent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from clearsite.core.knowledge import Knowledge
from clearsite.core.knowledge.schema import Designation


@dataclass(frozen=True, slots=True)
class Coverage:
    designation: Designation
    via: str  # the designated company; the producer itself or a parent whose listing extends to it

    def describe(self, knowledge: Knowledge, producer: str) -> str:
        program = knowledge.programs[self.designation.program]
        text = f"{program.name} lists {knowledge.companies[self.via].name} from {self.designation.valid_from}"
        if self.via != producer:
            text += f" (extends to {knowledge.companies[producer].name} as a subsidiary or affiliate)"
        if self.designation.purposes:
            text += f"; limited to {', '.join(p.replace('_', ' ') for p in self.designation.purposes)}"
        return text


def designations_at(producer: str, as_of: date, knowledge: Knowledge, programs: set[str] | None = None) -> list[Coverage]:
    """Designations in force at `as_of` that reach `producer`, by name or by control."""
    chain = [producer, *knowledge.controllers(producer, as_of)]
    found: list[Coverage] = []
    for designation in knowledge.designations:
        if programs is not None and designation.program not in programs:
            continue
        if not designation.valid_at(as_of) or designation.entity not in chain:
            continue
        if designation.entity != producer and knowledge.programs[designation.program].inherits_to == "named_only":
            continue
        found.append(Coverage(designation, designation.entity))
    return found
