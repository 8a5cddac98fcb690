"""Issue 14, finding 9: workers forked for a long job die with their parent, even one killed with SIGKILL.

Before the fix, the children of an import killed with `kill -9` lived on for ever, blocked on a full
queue, holding memory and the database open.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.security

# A parent that forks two workers whose queues fill up (nobody reads them), prints their pids and waits.
_PARENT = """
import sys
from itertools import count
from clearsite.services.parallel import forked

def endless(part, parts):
    for n in count():
        yield (part, n)

with forked(endless, 2, RuntimeError) as items:
    import multiprocessing
    print(" ".join(str(child.pid) for child in multiprocessing.active_children()), flush=True)
    sys.stdin.read()  # until the test kills us
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; it waits only for init to reap it


def _wait_until(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_workers_die_when_their_parent_is_killed() -> None:
    children: list[int] = []
    parent = subprocess.Popen([sys.executable, "-c", _PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert parent.stdout is not None
        children += [int(pid) for pid in parent.stdout.readline().split()]
        assert len(children) == 2 and all(_alive(pid) for pid in children)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)
        assert _wait_until(lambda: not any(_alive(pid) for pid in children), 30), \
            f"workers {children} outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
