"""Server-side sessions: a browser is signed in while its row exists, is unexpired and its user active.

The cookie carries a random secret; the row is keyed by its SHA-256, so a copy of the database
does not give working sessions. Ending a session deletes its row, so a saved cookie stops working
at the next request, in every web worker.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select

from clearsite.store.auth_tables import UserRow
from clearsite.store.sessions_tables import SessionRow

MAX_SESSIONS_PER_USER = 50  # a script logging in in a loop must not grow the table without end


def session_digest(secret: str) -> str:
    return hashlib.sha256(b"session:" + secret.encode()).hexdigest()


def start_session(conn: Connection, user_id: int, secret: str, now: datetime, lifetime: timedelta,
                  client: str) -> None:
    """Record a new session (and sweep expired ones, and the oldest of this user's beyond the cap)."""
    conn.execute(delete(SessionRow).where(SessionRow.expires_at <= now))
    inactive = select(UserRow.id).where(UserRow.active.is_(False))
    conn.execute(delete(SessionRow).where(SessionRow.user_id.in_(inactive)))  # disabled: over, even if re-enabled
    conn.execute(insert(SessionRow).values(id_hash=session_digest(secret), user_id=user_id, created_at=now,
                                           expires_at=now + lifetime, client=client[:100]))
    keep = (select(SessionRow.id_hash).where(SessionRow.user_id == user_id)
            .order_by(SessionRow.created_at.desc()).limit(MAX_SESSIONS_PER_USER))
    conn.execute(delete(SessionRow).where(SessionRow.user_id == user_id, SessionRow.id_hash.not_in(keep)))


@dataclass(frozen=True, slots=True)
class Found:
    user_id: int
    live: bool  # unexpired and the account active; a dead row is for ending (end_session)


def find_session(conn: Connection, secret: str, now: datetime) -> Found | None:
    """The session's user and whether it may be used; None when no such session exists."""
    row = conn.execute(select(SessionRow.user_id, SessionRow.expires_at, UserRow.active)
                       .join(UserRow, UserRow.id == SessionRow.user_id)
                       .where(SessionRow.id_hash == session_digest(secret))).first()
    if row is None:
        return None
    return Found(row.user_id, row.expires_at > now and bool(row.active))


def end_session(conn: Connection, secret: str) -> bool:
    return bool(conn.execute(delete(SessionRow).where(SessionRow.id_hash == session_digest(secret))).rowcount)


def end_user_sessions(conn: Connection, user_id: int, keep_secret: str | None = None) -> int:
    """End every session of a user (but the one whose secret is `keep_secret`); how many ended."""
    query = delete(SessionRow).where(SessionRow.user_id == user_id)
    if keep_secret is not None:
        query = query.where(SessionRow.id_hash != session_digest(keep_secret))
    return int(conn.execute(query).rowcount)


def live_session_count(conn: Connection, user_id: int, now: datetime) -> int:
    return int(conn.scalar(select(func.count()).select_from(SessionRow)
                           .where(SessionRow.user_id == user_id, SessionRow.expires_at > now)) or 0)
