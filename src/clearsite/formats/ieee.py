"""The IEEE MA-L registry (MAC prefix -> registrant), from aiooui's packaged copy of the IEEE list."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import aiooui

# Set once the table is fully attached. A lock, not functools.cache: cache does not stop two
# threads (two first batches in one server worker) from both starting a loader, and aiooui's
# loader is not safe to run from two event loops at once.
_loaded = threading.Event()
_load_lock = threading.Lock()


def _load_on_own_thread() -> None:
    """aiooui only offers an async loader; run it on a thread of its own so that callers inside an
    event loop (the scanner) and outside one (the CLI) both work. A failure is raised here."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="oui-load") as pool:
        pool.submit(lambda: asyncio.run(aiooui.async_load())).result()


def _ensure_loaded() -> None:
    if _loaded.is_set():
        return
    with _load_lock:
        if not _loaded.is_set():
            if not aiooui.is_loaded():
                _load_on_own_thread()
            _loaded.set()


def ieee_registrant(digits: str) -> str | None:
    """The MA-L registrant of a MAC given as 12 hex digits; the table is read on first use."""
    _ensure_loaded()
    vendor: str | None = aiooui.get_vendor(digits)
    return vendor


__all__ = ["ieee_registrant"]
