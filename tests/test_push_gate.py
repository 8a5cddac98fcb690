"""The push gate lets a server worker record only a few agent batches at once; the rest wait, unread."""

from __future__ import annotations

import asyncio
from typing import Any

from clearsite.web.push_gate import PUSH_PATH, PushGate, push_slots


def test_at_most_the_slots_of_batches_are_inside_at_once_and_other_requests_pass() -> None:
    inside, most, released = 0, 0, asyncio.Event()
    served: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        if scope["path"] == PUSH_PATH and scope["method"] == "POST":
            await released.wait()
        served.append(scope["path"])
        inside -= 1

    gate = PushGate(app, slots=2)

    async def call(path: str, method: str = "POST") -> None:
        await gate({"type": "http", "path": path, "method": method}, None, None)

    async def scenario() -> None:
        batches = [asyncio.create_task(call(PUSH_PATH)) for _ in range(5)]
        while inside < 2:  # two batches are in; the other three wait at the gate
            await asyncio.sleep(0)
        for _ in range(20):
            await asyncio.sleep(0)
        assert inside == 2
        await call("/api/v1/devices", "GET")  # anything else goes straight through
        await call(PUSH_PATH, "GET")
        assert served[-2:] == ["/api/v1/devices", PUSH_PATH]
        released.set()
        await asyncio.gather(*batches)

    asyncio.run(scenario())
    assert served.count(PUSH_PATH) == 6 and most == 3  # two batches and one passing request


def test_the_slots_come_from_the_environment() -> None:
    assert push_slots({}) == 1
    assert push_slots({"CLEARSITE_PUSH_CONCURRENCY": "4"}) == 4
    assert push_slots({"CLEARSITE_PUSH_CONCURRENCY": "0"}) == 1 and push_slots({"CLEARSITE_PUSH_CONCURRENCY": "x"}) == 1
