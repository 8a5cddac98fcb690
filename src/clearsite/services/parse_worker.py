"""Parse untrusted uploads in a worker process with a memory cap, a few at a time.

A hostile workbook that slips past the archive checks in formats/guard.py must still not take the
server with it: each web upload is parsed in a fresh process forked from a small, single-threaded
fork server, under RLIMIT_AS (300 MB by default) and a deadline. Running out of either kills or
stops that process only; the request gets a one-line refusal. At most `slots` parses run at once;
past that the caller waits a moment and then gets UploadsBusy (HTTP 503 with Retry-After).
"""

from __future__ import annotations

import multiprocessing
import resource
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from clearsite.core.errors import ClearsiteError, InputError, UnavailableError

T = TypeVar("T")
_context = multiprocessing.get_context("forkserver")
# Imported once in the fork server, so each worker starts from a copy instead of importing again.
_context.set_forkserver_preload(["clearsite.services.parse_worker", "clearsite.services.screening",
                                 "clearsite.formats.register"])


class UploadTooCostly(InputError, ValueError):
    """The upload needs more memory or time than an upload may use: refused without being read."""


class UploadsBusy(UnavailableError):
    """Every parsing slot is taken; try again shortly (HTTP 503 with Retry-After)."""

    retry_after = 5


def _limit_and_run(channel: Connection, memory_bytes: int, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        channel.send(("ok", function(*args)))
    except MemoryError:
        channel.send(("memory", None))
    except (ClearsiteError, ValueError) as exc:  # the reader's own one-line refusal, passed on as it is
        channel.send(("refused", exc))
    except BaseException as exc:  # noqa: BLE001 - a bug in a reader: reported in the parent, not here
        channel.send(("crashed", f"{type(exc).__name__}: {exc}"[:300]))
    finally:
        channel.close()


class ParseGate:
    """Runs a parsing function in a capped worker process, at most `slots` at once."""

    def __init__(self, slots: int = 2, memory_bytes: int = 300 * 1024 * 1024, deadline: float = 120.0,
                 wait: float = 2.0) -> None:
        self.slots = slots
        self.memory_bytes = memory_bytes
        self.deadline = deadline
        self.wait = wait
        self._free = threading.BoundedSemaphore(slots)

    def run(self, function: Callable[..., T], *args: Any, what: str = "the file") -> T:
        """`function(*args)` in a worker; UploadTooCostly when it needs too much, UploadsBusy when full."""
        if not self._free.acquire(timeout=self.wait):
            raise UploadsBusy(f"the server is already reading {self.slots} uploads; try again in a moment")
        try:
            return self._in_worker(function, args, what)
        finally:
            self._free.release()

    def hold(self) -> threading.BoundedSemaphore:
        """The slots themselves (tests hold them to see the refusal when all are taken)."""
        return self._free

    def _in_worker(self, function: Callable[..., T], args: tuple[Any, ...], what: str) -> T:
        receiving, sending = _context.Pipe(duplex=False)
        worker = _context.Process(target=_limit_and_run, args=(sending, self.memory_bytes, function, args),
                                  daemon=True, name="clearsite-parse")
        worker.start()
        sending.close()
        try:
            if not receiving.poll(self.deadline):
                raise UploadTooCostly(f"{what}: reading it took longer than {self.deadline:.0f} s; refused")
            kind, value = receiving.recv()
        except EOFError:  # the worker died without answering: killed for memory, as a rule
            kind, value = "memory", None
        finally:
            receiving.close()
            if worker.is_alive():
                worker.kill()
            worker.join()
        if kind == "ok":
            return value
        if kind == "refused":
            raise value
        if kind == "memory":
            raise UploadTooCostly(f"{what}: reading it needs more than {self.memory_bytes // (1024 * 1024)} MB, "
                                  f"more than an upload may use; refused")
        raise RuntimeError(f"reading {what} failed in the worker: {value}")
