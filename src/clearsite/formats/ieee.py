"""The IEEE MA-L registry (MAC prefix -> registrant), from aiooui's packaged copy of the IEEE list."""

from __future__ import annotations

import asyncio
import threading

import aiooui

# Set once the table is fully attached. A lock, not functools.cache: cache does not stop two
# threads (two first batches in one server worker) from both starting a loader, and aiooui's
# loader is not safe to run from two event loops at once.
_loaded = threading.Event()
_load_lock = threading.Lock()


def _load_on_own_thread() -> None:
    """aiooui only offers an async loader; run it on a thread of its own so that callers inside an
    event loop (the scanner) and outside one (the CLI) both work."""
    failure: list[BaseException] = []

    def load() -> None:
        try:
            asyncio.run(aiooui.async_load())
        except BaseException as error:  # re-raised on the caller's thread below
            failure.append(error)

    thread = threading.Thread(target=load, name="oui-load")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


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
