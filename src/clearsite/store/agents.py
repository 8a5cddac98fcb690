"""The centre's agent records: heartbeats, scan jobs, applied push keys.

Jobs are taken with `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so several server workers
serving many agents never hand one job out twice and never wait on each other's locks. SQLite has
one writer at a time (the caller holds `write_transaction`'s BEGIN IMMEDIATE), which gives the same
guarantee without the clause.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from clearsite.store.agents_tables import AgentHeartbeatRow, AgentJobRow, AgentPushKeyRow
from clearsite.store.bulk import new_id
from clearsite.store.ordering import byte_order
from clearsite.store.reads import SiteScope, site_clause
from clearsite.store.tables import Department, SiteRow

__all__ = ["AgentHealthRow", "Heartbeat", "JobRecord", "add_job", "agent_health", "applied_push", "claim_jobs",
           "claim_push_key", "count_jobs", "finish_job", "finish_push_key", "get_job", "list_jobs", "mark_silent_alerted",
           "newly_silent", "record_heartbeat"]

JOB_STATUSES = ("queued", "running", "done", "failed")


@dataclass(frozen=True, slots=True)
class Heartbeat:
    site_id: int
    agent: str
    host: str
    version: str
    spooled: int
    last_scan: datetime | None
    last_push: datetime | None


def record_heartbeat(conn: Connection, beat: Heartbeat, now: datetime) -> None:
    """Keep the latest heartbeat of a site's agent; hearing it again clears a raised silence."""
    values: dict[str, Any] = {"agent": beat.agent, "host": beat.host, "version": beat.version,
                              "spooled": beat.spooled, "last_scan": beat.last_scan, "last_push": beat.last_push,
                              "heard_at": now, "silent_alerted_at": None}
    maker = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = maker(AgentHeartbeatRow).values(site_id=beat.site_id, **values)
    conn.execute(statement.on_conflict_do_update(index_elements=["site_id"], set_=values))


@dataclass(frozen=True, slots=True)
class AgentHealthRow:
    site_id: int
    site: str
    department: str
    agent: str | None  # None: no agent has ever reported for this site
    host: str | None
    version: str | None
    spooled: int | None
    last_scan: datetime | None
    last_push: datetime | None
    heard_at: datetime | None
    silent_alerted_at: datetime | None


def agent_health(conn: Connection, scope: SiteScope, only_reporting: bool = False) -> list[AgentHealthRow]:
    """Every site in the scope with its agent's latest heartbeat (sites without one too, unless asked not)."""
    query = (select(SiteRow.id, SiteRow.name, Department.name.label("department"), AgentHeartbeatRow.agent,
                    AgentHeartbeatRow.host, AgentHeartbeatRow.version, AgentHeartbeatRow.spooled,
                    AgentHeartbeatRow.last_scan, AgentHeartbeatRow.last_push, AgentHeartbeatRow.heard_at,
                    AgentHeartbeatRow.silent_alerted_at)
             .join(Department, Department.id == SiteRow.department_id)
             .outerjoin(AgentHeartbeatRow, AgentHeartbeatRow.site_id == SiteRow.id)
             .where(site_clause(scope)).order_by(byte_order(SiteRow.name)))
    if only_reporting:
        query = query.where(AgentHeartbeatRow.site_id.is_not(None))
    return [AgentHealthRow(*row) for row in conn.execute(query)]


def newly_silent(conn: Connection, scope: SiteScope, heard_before: datetime) -> list[tuple[int, str, datetime]]:
    """(site id, name, last heard) of each site whose agent was last heard before `heard_before` and whose
    silence has not been alerted yet: a heartbeat check reads only these, however many sites report."""
    query = (select(SiteRow.id, SiteRow.name, AgentHeartbeatRow.heard_at)
             .join(AgentHeartbeatRow, AgentHeartbeatRow.site_id == SiteRow.id)
             .where(site_clause(scope), AgentHeartbeatRow.heard_at < heard_before,
                    AgentHeartbeatRow.silent_alerted_at.is_(None)).order_by(byte_order(SiteRow.name)))
    return [(int(r[0]), str(r[1]), r[2]) for r in conn.execute(query)]


def mark_silent_alerted(conn: Connection, site_id: int, now: datetime) -> bool:
    """Note that a site's silence was alerted; False when another caller noted it first (alert once)."""
    result = conn.execute(update(AgentHeartbeatRow).where(AgentHeartbeatRow.site_id == site_id,
                                                          AgentHeartbeatRow.silent_alerted_at.is_(None))
                          .values(silent_alerted_at=now))
    return bool(result.rowcount)


# --------------------------------------------------------------------------- jobs


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: int
    site_id: int
    site: str
    kind: str
    targets: list[str]
    status: str
    requested_by: str
    requested_at: datetime
    claimed_by: str | None
    claimed_at: datetime | None
    finished_at: datetime | None
    outcome: dict[str, Any] | None


def _job_query() -> Any:
    return (select(AgentJobRow.id, AgentJobRow.site_id, SiteRow.name, AgentJobRow.kind, AgentJobRow.targets,
                   AgentJobRow.status, AgentJobRow.requested_by, AgentJobRow.requested_at, AgentJobRow.claimed_by,
                   AgentJobRow.claimed_at, AgentJobRow.finished_at, AgentJobRow.outcome)
            .join(SiteRow, SiteRow.id == AgentJobRow.site_id))


def _job(row: Any) -> JobRecord:
    return JobRecord(row[0], row[1], row[2], row[3], list(row[4] or []), row[5], row[6], row[7], row[8], row[9],
                     row[10], row[11])


def add_job(conn: Connection, site_id: int, kind: str, targets: list[str], requested_by: str,
            now: datetime) -> int:
    return new_id(conn.execute(insert(AgentJobRow).values(
        site_id=site_id, kind=kind, targets=targets, status="queued", requested_by=requested_by[:200],
        requested_at=now)))


def get_job(conn: Connection, job_id: int) -> JobRecord | None:
    row = conn.execute(_job_query().where(AgentJobRow.id == job_id)).first()
    return _job(row) if row else None


def list_jobs(conn: Connection, scope: SiteScope, limit: int = 50) -> list[JobRecord]:
    """The latest jobs at sites in the scope, newest first."""
    rows = conn.execute(_job_query().where(site_clause(scope)).order_by(AgentJobRow.id.desc()).limit(limit))
    return [_job(r) for r in rows]


def claim_jobs(conn: Connection, site_id: int, claimed_by: str, now: datetime, limit: int = 5) -> list[JobRecord]:
    """Take the site's queued jobs, oldest first, marking them running (in the caller's transaction)."""
    pick = (select(AgentJobRow.id).where(AgentJobRow.site_id == site_id, AgentJobRow.status == "queued")
            .order_by(AgentJobRow.id).limit(limit))
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = list(conn.scalars(pick))
    if not ids:
        return []
    conn.execute(update(AgentJobRow).where(AgentJobRow.id.in_(ids))
                 .values(status="running", claimed_by=claimed_by[:200], claimed_at=now))
    return [_job(r) for r in conn.execute(_job_query().where(AgentJobRow.id.in_(ids)).order_by(AgentJobRow.id))]


def finish_job(conn: Connection, job_id: int, site_id: int, ok: bool, outcome: dict[str, Any],
               now: datetime) -> bool:
    """Record a running job's outcome; False when the site has no such running job."""
    result = conn.execute(update(AgentJobRow).where(AgentJobRow.id == job_id, AgentJobRow.site_id == site_id,
                                                    AgentJobRow.status == "running")
                          .values(status="done" if ok else "failed", finished_at=now, outcome=outcome))
    return bool(result.rowcount)


def count_jobs(conn: Connection, site_id: int, status: str) -> int:
    return int(conn.scalar(select(func.count()).select_from(AgentJobRow)
                           .where(AgentJobRow.site_id == site_id, AgentJobRow.status == status)) or 0)


# --------------------------------------------------------------------------- push keys


def applied_push(conn: Connection, key: str) -> tuple[int, dict[str, Any]] | None:
    """The site and answer of a push already applied under this key, or None."""
    row = conn.execute(select(AgentPushKeyRow.site_id, AgentPushKeyRow.result)
                       .where(AgentPushKeyRow.key == key)).first()
    return (int(row.site_id), dict(row.result)) if row else None


def claim_push_key(conn: Connection, key: str, site_id: int, now: datetime) -> tuple[int, dict[str, Any]] | None:
    """Claim a push key for this transaction; the earlier (site, answer) when the key was applied before.

    On PostgreSQL a concurrent claim of the same key waits on the unique index until the first
    transaction ends, then sees its row: a batch sent twice at once is still applied once.
    """
    maker = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    claimed = conn.execute(maker(AgentPushKeyRow).values(key=key, site_id=site_id, applied_at=now, result={})
                           .on_conflict_do_nothing(index_elements=["key"]).returning(AgentPushKeyRow.key)).scalar()
    if claimed is not None:  # RETURNING, not rowcount: the driver may not count an ON CONFLICT insert
        return None
    return applied_push(conn, key)


def finish_push_key(conn: Connection, key: str, result: dict[str, Any]) -> None:
    conn.execute(update(AgentPushKeyRow).where(AgentPushKeyRow.key == key).values(result=result))
