"""Short-lived memory of hot reads (token → user, site, attestations), so a screening request needs no query.

Every route that changes something calls `forget_all` once the service has committed, so this
process never serves a stale answer after its own change. Another process (a
second worker, the CLI) is seen within TTL seconds: that bounds, for example, how long a token
revoked elsewhere keeps working.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

TTL = 5.0
MAX_ENTRIES = 10_000
T = TypeVar("T")
_entries: dict[tuple[Any, ...], tuple[float, Any]] = {}
# Seconds on a clock that only moves forward; tests replace it to pass TTL without waiting.
clock: Callable[[], float] = time.monotonic


def remembered(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    now = clock()
    hit = _entries.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = compute()
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()  # crude, but bounded: a flood of distinct keys cannot grow memory
    _entries[key] = (now + TTL, value)
    return value


def forget_all() -> None:
    _entries.clear()
