"""parallel.prefetched: a generator's items made in a thread, in order, its errors raised where they are taken,
and its clean-up run however the taker stops."""

from __future__ import annotations

import threading
from collections.abc import Generator

import pytest

from clearsite.services.parallel import prefetched


def _numbers(count: int, log: list[str], fail_at: int | None = None) -> Generator[int, None, None]:
    try:
        for n in range(count):
            if n == fail_at:
                raise ValueError(f"row {n} refused")
            log.append(threading.current_thread().name)
            yield n
    finally:
        log.append("closed")


def test_items_come_in_order_from_another_thread_and_the_generator_is_closed():
    log: list[str] = []
    assert list(prefetched(_numbers(50, log), ahead=2)) == list(range(50))
    assert log[-1] == "closed"
    assert set(log[:-1]) == {"clearsite-prefetch"}


def test_an_error_is_raised_where_its_item_would_have_been_taken():
    log: list[str] = []
    taken = []
    with pytest.raises(ValueError, match="row 7 refused"):
        for n in prefetched(_numbers(50, log, fail_at=7)):
            taken.append(n)
    assert taken == list(range(7))
    assert log[-1] == "closed"


def test_a_taker_that_stops_early_stops_the_thread_and_closes_the_generator():
    log: list[str] = []
    items = prefetched(_numbers(10**6, log))
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    items.close()
    assert log[-1] == "closed"
    assert len(log) < 10  # it stopped making items: at most the one in hand and the one queued
    assert not any(t.name == "clearsite-prefetch" for t in threading.enumerate())
