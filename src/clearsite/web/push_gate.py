"""Agents' batches taken a few at a time per server worker, before their bodies are read.

Fifty agents pushing at once would otherwise each have a thousand observations parsed and validated in
this worker together, and each hold a database connection while the intakes queue on the audit log's lock
(store.audit) anyway: more at once gains nothing, costs the batches' memory and runs the pool dry. A batch
over the limit waits here, its body unread on the socket, and goes in when one finishes. One at a time
per worker is the default: with two workers on two CPUs, 50 agents pushing 1,000,000 observations
(bench/central_scale.py) stored 10,488 and 9,601 obs/s with one, 9,669 and 7,517 in runs beside them with
two (the machine's speed drifts between runs), and each worker's own memory was 8 MB less.

    CLEARSITE_PUSH_CONCURRENCY   batches one worker records at once (default 1)
"""

from __future__ import annotations

import asyncio
import os

from starlette.types import ASGIApp, Receive, Scope, Send

PUSH_CONCURRENCY_VAR = "CLEARSITE_PUSH_CONCURRENCY"
PUSH_PATH = "/api/v1/agent/batches"

__all__ = ["PUSH_CONCURRENCY_VAR", "PushGate", "push_slots"]


def push_slots(environ: dict[str, str] | None = None) -> int:
    raw = (os.environ if environ is None else environ).get(PUSH_CONCURRENCY_VAR, "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else 1


class PushGate:
    """Pure ASGI: at most `slots` agent batches inside the app at once; the others wait unread."""

    def __init__(self, app: ASGIApp, slots: int | None = None) -> None:
        self.app = app
        self.slots = slots or push_slots()
        self._gate: asyncio.Semaphore | None = None  # made in the server's event loop, on first use

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PUSH_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.slots)
        async with self._gate:
            await self.app(scope, receive, send)
