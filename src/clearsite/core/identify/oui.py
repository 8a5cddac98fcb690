"""MAC prefix → IEEE registrant → company.

The MA-L table is aiooui's packaged copy of the IEEE registry; the knowledge base adds the longer
MA-M/MA-S blocks that the MA-L table only shows as "IEEE Registration Authority" (that is where
"Shanghai Dahua Scale Factory" hides) and maps registrant names to company ids.
"""

from __future__ import annotations

import asyncio
import threading
from functools import cache, lru_cache

import aiooui

from clearsite.core.knowledge import Knowledge


@cache
def _ensure_loaded() -> None:
    """aiooui only offers an async loader; run it on a thread of its own so that callers inside an
    event loop (the scanner) and outside one (the CLI) both work."""
    if not aiooui.is_loaded():
        thread = threading.Thread(target=lambda: asyncio.run(aiooui.async_load()), name="oui-load")
        thread.start()
        thread.join()


def registrant(mac: str, knowledge: Knowledge) -> str | None:
    """The IEEE registrant of a normalised MAC (AA:BB:CC:DD:EE:FF), most specific block first."""
    digits = mac.replace(":", "")
    for block in _blocks_longest_first(knowledge):
        if digits.startswith(block[0]):
            return block[1]
    _ensure_loaded()
    return aiooui.get_vendor(digits)


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
