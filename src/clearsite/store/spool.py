"""The site agent's disk spool: every observation is committed here (SQLite, WAL, fsync'd) before any push.

A batch is formed once, under a key that never changes, and deleted only after the centre has
answered 2xx for it. Killed at any point (`kill -9` included), the agent restarts, finds the batch it
was sending still formed and sends it again under the same key; the centre applies a key once, so
nothing is lost and nothing is doubled. Observation ids are the spool's own (`<spool id>-<seq>`),
so a spool deleted and made again never reuses one.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from clearsite.core.errors import UnavailableError

__all__ = ["Batch", "Coverage", "JobReport", "Spool", "SpoolBusy", "SpoolFull", "open_spool"]

FILE_NAME = "spool.db"
LOCK_NAME = "agent.lock"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS observations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so an observation id never names two things
    body TEXT NOT NULL,                     -- the observation as pushed, without its id (JSON)
    batch INTEGER,                          -- the batch it is being sent in; NULL until one is formed
    spooled_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_observations_batch ON observations (batch, seq);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,               -- the idempotency key the centre records
    formed_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    refused TEXT                            -- why the centre refused it for good (kept, never dropped)
);
CREATE TABLE IF NOT EXISTS job_reports (
    job_id INTEGER PRIMARY KEY,             -- a job's outcome, kept until the centre has it
    ok INTEGER NOT NULL,
    outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS coverage (
    id INTEGER PRIMARY KEY AUTOINCREMENT,   -- what a finished scan looked at in full, pushed under its key
    scanned_at TEXT NOT NULL,               -- when that scan began (the coverage is as old as that)
    targets TEXT NOT NULL,                  -- JSON list of CIDR texts
    after_seq INTEGER NOT NULL,             -- sent only once no observation up to this seq is left
    refused TEXT
);
"""


class SpoolBusy(UnavailableError):
    """Another agent process holds this spool."""


class SpoolFull(UnavailableError):
    """The spool holds its limit of observations: nothing more is taken until pushes drain it."""


@dataclass(frozen=True, slots=True)
class Batch:
    id: int
    key: str
    observations: list[dict[str, Any]]  # each with its "id"


@dataclass(frozen=True, slots=True)
class Coverage:
    id: int
    key: str
    scanned_at: str
    targets: list[str]


@dataclass(frozen=True, slots=True)
class JobReport:
    job_id: int
    ok: bool
    outcome: dict[str, Any]


def _loads(body: str) -> Any:
    """A spooled body: orjson reads a batch's bodies several times faster; json.loads what it refuses (a lone
    surrogate escape, which json.dumps writes and only json reads back)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class Spool:
    """One agent's spool in `directory` (made private to its user)."""

    def __init__(self, directory: Path, limit: int, exclusive: bool = True) -> None:
        self.directory = directory
        self.limit = limit
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = directory / FILE_NAME
        self._lock: int | None = None
        if exclusive:  # one agent a spool: a cron run overlapping a long one waits for the next turn
            self._lock = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(self._lock)
                raise SpoolBusy(f"another agent is running with the spool at {directory}") from None
        # isolation_level=None: transactions are the explicit BEGIN IMMEDIATE … COMMIT below.
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # fsync the WAL at every commit: a commit survives power loss
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.executescript(_SCHEMA)
        with self._transaction():
            if self._state("spool_id") is None:
                self._set_state("spool_id", secrets.token_hex(8))
        os.chmod(self.path, 0o600)

    def close(self) -> None:
        self._db.close()
        if self._lock is not None:
            os.close(self._lock)  # releases the lock (a killed process's is released by the kernel)
            self._lock = None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ----------------------------------------------------------------- state

    def _state(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def _set_state(self, name: str, value: str) -> None:
        self._db.execute("INSERT INTO state (name, value) VALUES (?, ?) "
                         "ON CONFLICT (name) DO UPDATE SET value = excluded.value", (name, value))

    def get(self, name: str) -> Any:
        """A remembered value (JSON), or None."""
        text = self._state(name)
        return None if text is None else json.loads(text)

    def put(self, **values: Any) -> None:
        with self._transaction():
            for name, value in values.items():
                self._set_state(name, json.dumps(value))

    @property
    def spool_id(self) -> str:
        value = self._state("spool_id")
        assert value is not None
        return value

    # ----------------------------------------------------------------- observations

    def pending(self) -> int:
        """Observations not yet accepted by the centre (refused batches included: they are kept)."""
        return int(self._db.execute("SELECT count(*) FROM observations").fetchone()[0])

    def room(self) -> int:
        return max(0, self.limit - self.pending())

    def add(self, bodies: Sequence[dict[str, Any]]) -> int:
        """Commit observations to disk (one fsync'd transaction); SpoolFull when they do not fit."""
        if not bodies:
            return 0
        stamp = _now()
        with self._transaction() as db:
            held = int(db.execute("SELECT count(*) FROM observations").fetchone()[0])
            if held + len(bodies) > self.limit:
                raise SpoolFull(f"the spool holds {held} of its {self.limit} observations; "
                                f"{len(bodies)} more do not fit")
            db.executemany("INSERT INTO observations (body, spooled_at) VALUES (?, ?)",
                           ((json.dumps(b, separators=(",", ":"), sort_keys=True), stamp) for b in bodies))
        return len(bodies)

    # ----------------------------------------------------------------- batches

    def next_batch(self, size: int) -> Batch | None:
        """The batch to send: one formed earlier and not yet accepted, else a new one of up to `size`."""
        with self._transaction() as db:
            row = db.execute("SELECT id, key FROM batches WHERE refused IS NULL ORDER BY id LIMIT 1").fetchone()
            if row is None:
                if db.execute("SELECT 1 FROM observations WHERE batch IS NULL LIMIT 1").fetchone() is None:
                    return None
                cursor = db.execute("INSERT INTO batches (key, formed_at) VALUES ('', ?)", (_now(),))
                batch_id = int(cursor.lastrowid or 0)
                key = f"{self.spool_id}-b{batch_id}"
                db.execute("UPDATE batches SET key = ? WHERE id = ?", (key, batch_id))
                db.execute("UPDATE observations SET batch = ? WHERE seq IN "
                           "(SELECT seq FROM observations WHERE batch IS NULL ORDER BY seq LIMIT ?)",
                           (batch_id, size))
                row = (batch_id, key)
            db.execute("UPDATE batches SET attempts = attempts + 1 WHERE id = ?", (row[0],))
            spool_id = self.spool_id  # read once: it was a query per observation
            items = [{"id": f"{spool_id}-{seq}", **_loads(body)} for seq, body in db.execute(
                "SELECT seq, body FROM observations WHERE batch = ? ORDER BY seq", (row[0],))]
        return Batch(int(row[0]), str(row[1]), items)

    def accepted(self, batch: Batch) -> None:
        """The centre answered 2xx: the batch leaves the spool."""
        with self._transaction() as db:
            db.execute("DELETE FROM observations WHERE batch = ?", (batch.id,))
            db.execute("DELETE FROM batches WHERE id = ?", (batch.id,))
            self._set_state("last_push", json.dumps(_now()))

    def refused(self, batch: Batch, reason: str) -> None:
        """The centre refused the batch for good (not a fault that a retry mends): kept, set aside."""
        with self._transaction() as db:
            db.execute("UPDATE batches SET refused = ? WHERE id = ?", (reason[:500], batch.id))

    def refused_batches(self) -> list[tuple[str, int, str]]:
        """(key, observations, reason) of each batch the centre refused."""
        return [(str(k), int(n), str(r)) for k, n, r in self._db.execute(
            "SELECT b.key, count(o.seq), b.refused FROM batches b LEFT JOIN observations o ON o.batch = b.id "
            "WHERE b.refused IS NOT NULL GROUP BY b.id ORDER BY b.id")]

    def retry_refused(self) -> int:
        """Put refused batches back in line (after the centre's networks were corrected, say)."""
        with self._transaction() as db:
            db.execute("UPDATE coverage SET refused = NULL WHERE refused IS NOT NULL")
            return db.execute("UPDATE batches SET refused = NULL WHERE refused IS NOT NULL").rowcount

    # ----------------------------------------------------------------- coverage

    def add_coverage(self, scanned_at: str, targets: Sequence[str], piece: int = 2000) -> int:
        """Spool what a finished scan covered (in pieces of `piece` targets), to be sent after every
        observation spooled so far: the centre never holds a coverage without the sightings before it."""
        if not targets:
            return 0
        with self._transaction() as db:
            after = int(db.execute("SELECT coalesce(max(seq), 0) FROM observations").fetchone()[0])
            after = max(after, int(db.execute("SELECT coalesce(max(seq), 0) FROM sqlite_sequence "
                                              "WHERE name = 'observations'").fetchone()[0]))
            for start in range(0, len(targets), piece):
                db.execute("INSERT INTO coverage (scanned_at, targets, after_seq) VALUES (?, ?, ?)",
                           (scanned_at, json.dumps(list(targets[start:start + piece])), after))
        return len(targets)

    def next_coverage(self) -> Coverage | None:
        """The oldest coverage whose scan's observations have all been accepted, or None."""
        row = self._db.execute(
            "SELECT c.id, c.scanned_at, c.targets FROM coverage c WHERE c.refused IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM observations o WHERE o.seq <= c.after_seq) ORDER BY c.id LIMIT 1").fetchone()
        if row is None:
            return None
        return Coverage(int(row[0]), f"{self.spool_id}-c{row[0]}", str(row[1]), list(json.loads(row[2])))

    def coverage_accepted(self, coverage: Coverage) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM coverage WHERE id = ?", (coverage.id,))
            self._set_state("last_push", json.dumps(_now()))

    def coverage_refused(self, coverage: Coverage, reason: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE coverage SET refused = ? WHERE id = ?", (reason[:500], coverage.id))

    def pending_coverage(self) -> int:
        """Coverage records not yet accepted by the centre (refused ones included)."""
        return int(self._db.execute("SELECT count(*) FROM coverage").fetchone()[0])

    # ----------------------------------------------------------------- job reports

    def add_job_report(self, report: JobReport) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO job_reports (job_id, ok, outcome) VALUES (?, ?, ?)",
                       (report.job_id, int(report.ok), json.dumps(report.outcome)))

    def job_reports(self) -> list[JobReport]:
        return [JobReport(int(j), bool(ok), json.loads(o)) for j, ok, o in self._db.execute(
            "SELECT job_id, ok, outcome FROM job_reports ORDER BY job_id")]

    def job_reported(self, job_id: int) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM job_reports WHERE job_id = ?", (job_id,))


def open_spool(directory: Path, limit: int, exclusive: bool = True) -> Spool:
    """The spool in `directory`; `exclusive` (an agent run) holds its lock, a status read does not."""
    return Spool(directory, limit, exclusive)

