"""Failed logins per (name, client address), shared by every web worker through the database.

A lock applies to one (name, address): five wrong passwords from one address pause that address
for that name, with a pause that doubles at each further failure; the real user signing in from
anywhere else is not locked out. One address failing for many different names (one password
sprayed across accounts) is paused for every name. Storage stays bounded without ever being
cleared: rows expire, and past a cap the least recently used unlocked rows go first, so a flood of
made-up names cannot reset a lock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select, update

from clearsite.store.sessions_tables import LoginFailureRow

FREE_TRIES = 5  # wrong passwords per (name, address) before pauses begin
FIRST_PAUSE = timedelta(seconds=30)  # then 60 s, 120 s … up to MAX_PAUSE
MAX_PAUSE = timedelta(hours=1)
SPRAY_NAMES = 10  # distinct names failing from one address within SPRAY_WINDOW: the address is paused
SPRAY_WINDOW = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)  # an unlocked row untouched this long is dropped
MAX_ROWS = 100_000  # past this, the least recently used unlocked rows are evicted


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a login is not tried now, and for how many seconds."""

    reason: str
    retry_after: int


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _keys(username: str, address: str) -> tuple[str, str]:
    return _digest("pair", username.casefold(), address), _digest("address", address)


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))


def refusal(conn: Connection, username: str, address: str, now: datetime) -> Refusal | None:
    """Whether this login may be tried now (None) or must wait."""
    pair, addr = _keys(username, address)
    locked = conn.scalar(select(LoginFailureRow.locked_until).where(LoginFailureRow.pair_hash == pair))
    if locked is not None and locked > now:
        return Refusal("too many failed attempts for this name from your address", _seconds(locked - now))
    since = now - SPRAY_WINDOW
    recent = conn.execute(select(func.count(), func.min(LoginFailureRow.last_at))
                          .where(LoginFailureRow.address_hash == addr, LoginFailureRow.last_at > since)).one()
    if recent[0] >= SPRAY_NAMES:
        return Refusal("too many failed attempts from your address", _seconds(recent[1] + SPRAY_WINDOW - now))
    return None


def record_failure(conn: Connection, username: str, address: str, now: datetime) -> None:
    pair, addr = _keys(username, address)
    failures = conn.scalar(select(LoginFailureRow.failures).where(LoginFailureRow.pair_hash == pair))
    if failures is None:
        _make_room(conn, now)
        conn.execute(insert(LoginFailureRow).values(pair_hash=pair, address_hash=addr, failures=1, last_at=now,
                                                    locked_until=None))
        return
    failures += 1
    locked_until = None
    if failures >= FREE_TRIES:
        locked_until = now + min(FIRST_PAUSE * 2 ** min(failures - FREE_TRIES, 20), MAX_PAUSE)
    conn.execute(update(LoginFailureRow).where(LoginFailureRow.pair_hash == pair)
                 .values(failures=failures, last_at=now, locked_until=locked_until))


def record_success(conn: Connection, username: str, address: str) -> None:
    pair, _ = _keys(username, address)
    conn.execute(delete(LoginFailureRow).where(LoginFailureRow.pair_hash == pair))


def _make_room(conn: Connection, now: datetime) -> None:
    """Drop expired rows; past the cap, evict the least recently used unlocked ones (locks are kept)."""
    conn.execute(delete(LoginFailureRow).where(LoginFailureRow.last_at < now - FORGET_AFTER,
                                               (LoginFailureRow.locked_until.is_(None))
                                               | (LoginFailureRow.locked_until < now)))
    count = conn.scalar(select(func.count()).select_from(LoginFailureRow)) or 0
    if count < MAX_ROWS:
        return
    oldest = (select(LoginFailureRow.pair_hash)
              .where((LoginFailureRow.locked_until.is_(None)) | (LoginFailureRow.locked_until < now))
              .order_by(LoginFailureRow.last_at).limit(count - MAX_ROWS + 1 + MAX_ROWS // 100))
    conn.execute(delete(LoginFailureRow).where(LoginFailureRow.pair_hash.in_(oldest)))


def row_count(conn: Connection) -> int:
    return int(conn.scalar(select(func.count()).select_from(LoginFailureRow)) or 0)
