"""MAC prefix → IEEE registrant → company.

The MA-L table is the IEEE registry that the loader hands in (`Knowledge.ieee_registrant`, read from
aiooui's packaged copy by formats/ieee.py, since the core opens no file); the knowledge base adds the longer
MA-M/MA-S blocks that the MA-L table only shows as "IEEE Registration Authority" (that is where
"Shanghai Dahua Scale Factory" hides) and maps registrant names to company ids.
"""

from __future__ import annotations

from functools import lru_cache

from clearsite.core.knowledge import Knowledge


def registrant(mac: str, knowledge: Knowledge) -> str | None:
    """The IEEE registrant of a normalised MAC (AA:BB:CC:DD:EE:FF), most specific block first."""
    digits = mac.replace(":", "")
    for block in _blocks_longest_first(knowledge):
        if digits.startswith(block[0]):
            return block[1]
    return knowledge.ieee_registrant(digits)


@lru_cache(maxsize=4)
def _blocks_longest_first(knowledge: Knowledge) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(((b.prefix, b.registrant) for b in knowledge.oui.blocks), key=lambda b: -len(b[0])))


def company_for_registrant(name: str, knowledge: Knowledge) -> str | None:
    return _company_for_registrant(name, knowledge)


@lru_cache(maxsize=65536)
def _company_for_registrant(name: str, knowledge: Knowledge) -> str | None:
    for entry in knowledge.oui.registrants:
        if knowledge.compiled[f"oui:{entry.pattern}"].search(name):
            return entry.company
    return None


def is_locally_administered(mac: str) -> bool:
    """Randomised or hand-set addresses say nothing about the maker."""
    return bool(int(mac[:2], 16) & 0x02)
