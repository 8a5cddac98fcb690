"""Splitting a long, ordered job across forked processes, and merging the results back in order.

The parent hands nothing over but the function to run: forked children inherit the knowledge base
and the job's inputs as they are in memory, so nothing large is pickled on the way out. Each child
has its own bounded queue, so the parent takes results strictly in sequence and no child runs more
than QUEUED_ITEMS items ahead (which bounds memory, yet lets children work on while the parent writes).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import pickle
import queue
import signal
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from sqlalchemy import Engine

T = TypeVar("T")

QUEUED_ITEMS = 16  # per child: results made but not yet taken
MAX_WORKERS = 4
CHILD_NICENESS = 10


def worker_count() -> int:
    """Processes worth starting here: the CPUs this process may use, at most MAX_WORKERS."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        usable = os.cpu_count() or 1
    return min(MAX_WORKERS, usable)


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def fork_safe(engine: Engine) -> bool:
    """May children forked now open their own connections to this database?

    SQLite keeps per-process lock state for each open database file, which a forked child would
    inherit and misread; so this process must hold no connection to the file when it forks. This
    checks that none of this engine's is checked out (the caller then closes the idle ones); it
    cannot see other engines on the same file, which the shell never holds while it assesses. An
    in-memory SQLite database exists only in its own connection.
    """
    if engine.dialect.name != "sqlite":
        return True
    url = engine.url
    if not url.database or url.database == ":memory:" or url.query.get("mode") == "memory":
        return False
    checked_out = getattr(engine.pool, "checkedout", None)
    return checked_out is not None and checked_out() == 0


@contextmanager
def forked(produce: Callable[[int, int], Iterable[T]], count: int, error: Callable[[BaseException], Exception]
           ) -> Iterator[Iterator[T]]:
    """The items of one sequence, made by `count` children forked on entry and yielded in sequence order.

    Child k runs `produce(k, count)`, which must yield exactly the items at positions k, k + count,
    k + 2·count … of the whole sequence (never None: that marks a child's end). An exception in a
    child is raised by the iterator; one that cannot be pickled is replaced by `error(exc)`. The
    children are stopped on exit, whether or not the iterator was used up.
    """
    context = multiprocessing.get_context("fork")
    queues = [context.Queue(maxsize=QUEUED_ITEMS) for _ in range(count)]
    children = [context.Process(target=_child, args=(produce, part, count, queues[part], error, os.getpid()),
                                   daemon=True)
                for part in range(count)]
    for child in children:
        child.start()
    try:
        yield _in_order(queues)
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
            child.join()
        for queue in queues:
            queue.close()
            queue.cancel_join_thread()


def _in_order(queues: list[Any]) -> Iterator[Any]:
    position = 0
    while True:
        message = queues[position % len(queues)].get()
        if message is None:  # that child has no item at this position: the sequence is over
            return
        if isinstance(message, BaseException):
            raise message
        yield message
        position += 1


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this process when its parent dies, and exit now if it already has.

    A child blocked on a full queue would otherwise outlive a parent killed with SIGKILL, holding
    memory and the database open for ever. The check after the call closes the race where the
    parent died before it was made.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux: the parent-pid check below remains
        pass
    if os.getppid() != parent:
        os._exit(1)


def _child(produce: Callable[[int, int], Iterable[Any]], part: int, parts: int, out: Any,
           error: Callable[[BaseException], Exception], parent: int) -> None:
    die_with_parent(parent)
    # The parent merges and writes all the children make: it is the critical path. On a machine with
    # fewer CPUs than processes, a fair share would slow it to the children's pace (import of 1M rows
    # on 2 CPUs: 41-44 s at equal priority, 34-35 s with the children niced).
    os.nice(CHILD_NICENESS)
    try:
        for item in produce(part, parts):
            out.put(item)
        out.put(None)
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
        try:  # the queue pickles in a background thread, where a failure would leave the parent waiting
            pickle.dumps(exc)
        except Exception:  # noqa: BLE001 - an exception that cannot be pickled
            exc = error(exc)
        out.put(exc)
    finally:
        out.close()
        out.join_thread()


def prefetched(items: Generator[T, None, None], ahead: int = 1) -> Generator[T, None, None]:
    """The items of a generator, made in a thread of this process up to `ahead` items before they are taken.

    A register import's writer waits on the database (which releases the GIL) while the next batch is
    taken from the workers' pipes and turned into observations; in one thread those two waits add up,
    in two they overlap. An exception in the generator is raised where its item would have been taken.
    Closing this generator (or leaving it early) stops the thread after the item it is making, and closes
    `items` there, so its own clean-up (stopping worker processes) runs.
    """
    handed: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def make() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        handed.put((True, item), timeout=0.05)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handed.put((False, None))
        except BaseException as exc:  # noqa: BLE001 - raised in the taker's thread
            handed.put((False, exc))
        finally:
            items.close()

    maker = threading.Thread(target=make, name="clearsite-prefetch", daemon=True)
    maker.start()
    try:
        while True:
            more, item = handed.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        while maker.is_alive():  # it may be waiting to hand over an item: take it so it sees `stop`
            with suppress(queue.Empty):
                handed.get(timeout=0.05)
        maker.join()
