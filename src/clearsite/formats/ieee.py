"""The IEEE MA-L registry (MAC prefix -> registrant), from aiooui's packaged copy of the IEEE list."""

from __future__ import annotations

import asyncio
import threading
from functools import cache

import aiooui


@cache
def _ensure_loaded() -> None:
    """aiooui only offers an async loader; run it on a thread of its own so that callers inside an
    event loop (the scanner) and outside one (the CLI) both work."""
    if not aiooui.is_loaded():
        thread = threading.Thread(target=lambda: asyncio.run(aiooui.async_load()), name="oui-load")
        thread.start()
        thread.join()


def ieee_registrant(digits: str) -> str | None:
    """The MA-L registrant of a MAC given as 12 hex digits; the table is read on first use."""
    _ensure_loaded()
    vendor: str | None = aiooui.get_vendor(digits)
    return vendor


__all__ = ["ieee_registrant"]
