"""A write transaction that holds the write lock from its start, and writers that queue instead of failing.

SQLite allows one writer at a time. Left to itself, a second writer waits for the busy timeout (10 s)
and then fails with "database is locked" — a second `import` run beside a long one crashed that way.
So writers to a SQLite file first take an advisory lock on a file beside it: a command-line writer
that finds it taken says so once (the notice set with `announce_waits`) and queues; any other writer
(a web request) waits as long as the busy timeout would have, then gets UnavailableError (HTTP 503),
never a crash. PostgreSQL has row locks and needs none of this.
"""

from __future__ import annotations

import contextvars
import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from clearsite.core.errors import UnavailableError

WAIT_WITHOUT_NOTICE_SECONDS = 10.0  # as long as SQLite's own busy timeout
_POLL_SECONDS = 0.05
_wait_notice: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar("wait_notice",
                                                                                          default=None)
_holding: contextvars.ContextVar[bool] = contextvars.ContextVar("holding_writer_lock", default=False)


def announce_waits(notice: Callable[[], None] | None) -> None:
    """Make writers in this context queue behind another writer for as long as it takes, calling `notice` once.

    The command line sets this: a person who started an import would rather wait than see it fail.
    """
    _wait_notice.set(notice)


def writer_lock_path(engine: Engine) -> Path | None:
    """The advisory lock file beside a SQLite database file; None for other databases and in-memory ones."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).with_name(Path(database).name + "-writer")


@contextmanager
def _writer_lock(engine: Engine) -> Iterator[None]:
    path = writer_lock_path(engine)
    if path is None or _holding.get():  # flock is per open file: taking it again here would wait on ourselves
        yield
        return
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        _acquire(descriptor)
        token = _holding.set(True)
        try:
            yield
        finally:
            _holding.reset(token)
    finally:
        os.close(descriptor)  # closing releases the lock


def _acquire(descriptor: int) -> None:
    if _try_lock(descriptor):
        return
    notice = _wait_notice.get()
    if notice is not None:
        notice()
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        return
    deadline = time.monotonic() + WAIT_WITHOUT_NOTICE_SECONDS
    while time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
        if _try_lock(descriptor):
            return
    raise UnavailableError("another import is writing to the database; try again when it has finished")


def _try_lock(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        raise
    return True


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that takes the write lock before it reads.

    On SQLite a deferred transaction that reads (the audit head) before it writes can fail to
    upgrade when another writer got in between; BEGIN IMMEDIATE takes the lock first and waits.
    """
    with _writer_lock(engine), engine.connect() as conn:
        try:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError as exc:  # a writer outside clearsite's lock (another program) holds it
            if "locked" in str(exc.orig):
                raise UnavailableError("the database is locked by another program; try again later") from exc
            raise
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
