"""Issue 14, finding 9: a second writer to the same SQLite file queues behind the first instead of crashing.

Before the fix, a second `import register` beside a long one failed with "database is locked" after
SQLite's 10 s busy timeout, and a web write waited those 10 s and got a 500.
"""

from __future__ import annotations

import contextvars
import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clearsite.core.errors import UnavailableError
from clearsite.services.database import open_database
from clearsite.store import transactions
from clearsite.store.transactions import write_transaction, writer_lock_path
from clearsite.testing import REGISTER

pytestmark = pytest.mark.security


CLEARSITE = str(Path(sys.executable).with_name("clearsite"))


def _clearsite(db: Path, *args: str, **popen: object) -> subprocess.Popen[str]:
    return subprocess.Popen([CLEARSITE, *args, "--db", f"sqlite:///{db}"], text=True, stdin=subprocess.DEVNULL,
                            **popen)  # type: ignore[call-overload]


class _HeldLock:
    """The advisory writer lock taken from outside, as a long import running elsewhere would hold it."""

    def __init__(self, path: Path) -> None:
        self.descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.descriptor, fcntl.LOCK_EX)

    def release(self) -> None:
        os.close(self.descriptor)


def test_a_second_import_waits_for_the_first_and_then_succeeds(tmp_path: Path) -> None:
    db = tmp_path / "estate.db"
    engine = open_database(f"sqlite:///{db}")
    lock_path = writer_lock_path(engine)
    assert lock_path is not None
    engine.dispose()
    added = subprocess.run([CLEARSITE, "site", "add", "Alpha HQ",
                            "--department", "Department of Alpha", "--network", "10.1.0.0/16", "--db", f"sqlite:///{db}"],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert added.returncode == 0, added.stderr
    register = tmp_path / "register.csv"
    register.write_text(REGISTER)

    held = _HeldLock(lock_path)
    importing = _clearsite(db, "import", "register", str(register), "--site", "Alpha HQ",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert importing.stderr is not None
        # The import says it is waiting (a condition, not a guess at how long it takes to get there) …
        assert "waiting for another import" in importing.stderr.readline()
        assert importing.poll() is None
    finally:
        held.release()
    # … and once the other writer is done, it goes ahead and stores everything.
    _out, err = importing.communicate(timeout=120)
    assert importing.returncode == 0, err
    listed = subprocess.run([CLEARSITE, "devices", "--format", "json",
                             "--db", f"sqlite:///{db}"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 3


def test_a_writer_with_nobody_to_tell_gives_up_with_unavailable_not_a_crash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A command run in this process before (a CLI test) may have asked writers to queue: this one must not.
    monkeypatch.setattr(transactions, "_wait_notice", contextvars.ContextVar("wait_notice", default=None))
    engine = open_database(f"sqlite:///{tmp_path / 'estate.db'}")
    lock_path = writer_lock_path(engine)
    assert lock_path is not None
    monkeypatch.setattr(transactions, "WAIT_WITHOUT_NOTICE_SECONDS", 0.2)
    held = _HeldLock(lock_path)
    try:
        with pytest.raises(UnavailableError, match="another import"), write_transaction(engine):
            pass
    finally:
        held.release()
    with write_transaction(engine) as conn:  # free again: writers go straight in
        conn.exec_driver_sql("SELECT 1")


def test_the_lock_file_is_private_and_never_followed(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'estate.db'}")
    lock_path = writer_lock_path(engine)
    assert lock_path is not None
    with write_transaction(engine):
        pass
    assert lock_path.stat().st_mode & 0o777 == 0o600
    lock_path.unlink()
    target = tmp_path / "victim"
    target.write_text("keep me")
    lock_path.symlink_to(target)
    with pytest.raises(OSError), write_transaction(engine):
        pass
    assert target.read_text() == "keep me"
