"""The centre's side of its site agents: their site's networks, heartbeats, refusals, jobs and health.

An agent's token belongs to one user of role `agent`, tied to one site. It may push only for that
site and only addresses inside the networks the centre declares for it; anything else is refused
(403, or 422 for addresses) and raised as an `agent_refused` alert for the site's department. A site
whose agent has not been heard for longer than `silent_after` is listed as silent and raised once as
a `site_silent` alert (hearing it again clears it).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from clearsite.core.durations import parse_duration
from clearsite.core.errors import AccessError, NotFoundError
from clearsite.core.models import Network, Site
from clearsite.discover import check_scope
from clearsite.store import agents as store
from clearsite.store.agents import Heartbeat
from clearsite.store.audit import record
from clearsite.store.reads import EVERYTHING, SiteScope
from clearsite.store.site_reads import get_site
from clearsite.store.sites import SiteError, find_site
from clearsite.store.transactions import write_transaction
from clearsite.store.users import Role, User

__all__ = ["SILENT_AFTER", "AgentRefused", "agent_health", "agent_site", "check_push",
           "check_silent_sites", "claim_jobs", "heartbeat", "jobs", "parse_duration", "report_job",
           "request_scan", "silent_after_from_environment"]

SILENT_AFTER = timedelta(hours=26)  # a daily agent, with two hours' grace
SILENT_AFTER_VAR = "CLEARSITE_AGENT_SILENT_AFTER"


class AgentRefused(AccessError):
    """An agent asked for something its token does not cover (another site, or it is not an agent)."""


def silent_after_from_environment() -> timedelta:
    text = os.environ.get(SILENT_AFTER_VAR)
    return parse_duration(text, SILENT_AFTER_VAR) if text else SILENT_AFTER


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _naive(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _raise_alert(conn: Connection, kind: str, site_id: int | None, detail: str, dedupe_key: str,
                 now: datetime) -> None:
    """An alert for the site's department, through the alerts service (its delivery and dedupe)."""
    from clearsite.services.alerts import raise_alert  # loaded when first needed: most calls raise none

    raise_alert(conn, kind=kind, site_id=site_id, device_id=None, detail=detail, dedupe_key=dedupe_key, at=now)


def _agent_site_id(user: User) -> int:
    if user.role != Role.AGENT or user.site_id is None:
        raise AgentRefused(f"{user.username} is not a site agent: use a token of a user added with --role agent")
    return user.site_id


# --------------------------------------------------------------------------- what an agent asks


def _one_site(conn: Connection, site_id: int) -> Site:
    """One site and its networks (one query each, however many sites the centre holds)."""
    found = get_site(conn, EVERYTHING, site_id)
    if found is None:
        raise NotFoundError(f"site {site_id} not found")
    return Site(name=found["name"], department=found["department"],
                networks=tuple(Network(n["cidr"], n["core"]) for n in found["networks"]))


def agent_site(engine: Engine, user: User) -> dict[str, Any]:
    """The agent's site as the centre declares it: its id, name and networks (what it may scan)."""
    site_id = _agent_site_id(user)
    with engine.connect() as conn:
        site = _one_site(conn, site_id)
    return {"site_id": site_id, "site": site.name, "department": site.department,
            "networks": [n.cidr for n in site.networks]}


def _refuse(engine: Engine, user: User, actor: str, site_id: int | None, reason: str, key: str) -> None:
    now = _now()
    with write_transaction(engine) as conn:
        _raise_alert(conn, "agent_refused", site_id, f"agent {user.username}: {reason}", key, now)
        record(conn, actor, "agent.refused", f"site:{site_id}" if site_id else f"user:{user.id}", None,
               {"reason": reason})


def check_push(engine: Engine, user: User, actor: str, site_name: str, key: str | None = None) -> int:
    """The agent's site id when `site_name` is its own site; refused and alerted otherwise.

    The addresses a batch holds are checked where they are stored, in the same transaction
    (services.imports.push_observations: PushOutOfScope, refused whole and alerted alike)."""
    own = _agent_site_id(user)
    with engine.connect() as conn:
        try:
            named: int | None = find_site(conn, site_name)
        except SiteError:
            named = None
        site = _one_site(conn, own)
    if named != own:
        _refuse(engine, user, actor, own, f"pushed for site {site_name[:100]!r}, not its own site {site.name!r}",
                f"agent_refused:{own}:site:{key or _now().isoformat()}")
        raise AgentRefused(f"this token pushes for site {site.name!r} only, not {site_name[:100]!r}")
    return own


def heartbeat(engine: Engine, user: User, *, host: str, version: str, spooled: int, last_scan: datetime | None,
              last_push: datetime | None, now: datetime | None = None) -> dict[str, Any]:
    """Note that the site's agent is alive; answers how many jobs wait for it."""
    site_id = _agent_site_id(user)
    now = now or _now()
    with write_transaction(engine) as conn:
        store.record_heartbeat(conn, Heartbeat(site_id, user.username, host[:200], version[:40], max(0, spooled),
                                               _naive(last_scan), _naive(last_push)), now)
        waiting = store.count_jobs(conn, site_id, "queued")
    return {"site_id": site_id, "heard_at": now.isoformat(), "jobs_waiting": waiting}


def claim_jobs(engine: Engine, user: User, actor: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """The site's queued jobs, now running and this agent's to do."""
    site_id = _agent_site_id(user)
    now = now or _now()
    with write_transaction(engine) as conn:
        claimed = store.claim_jobs(conn, site_id, actor, now)
        for job in claimed:
            record(conn, actor, "agent.job.claim", f"job:{job.id}", {"status": "queued"}, {"status": "running"})
    return [_job_json(j) for j in claimed]


def report_job(engine: Engine, user: User, actor: str, job_id: int, ok: bool, outcome: dict[str, Any],
               now: datetime | None = None) -> None:
    """Record what became of a job this site's agent claimed (NotFoundError when it holds no such job)."""
    site_id = _agent_site_id(user)
    now = now or _now()
    with write_transaction(engine) as conn:
        if not store.finish_job(conn, job_id, site_id, ok, outcome, now):
            raise NotFoundError(f"no running job {job_id} at this agent's site")
        record(conn, actor, "agent.job.report", f"job:{job_id}", {"status": "running"},
               {"status": "done" if ok else "failed", "outcome": outcome})


# --------------------------------------------------------------------------- what people ask


def _job_json(job: store.JobRecord) -> dict[str, Any]:
    answer = asdict(job)
    for name in ("requested_at", "claimed_at", "finished_at"):
        answer[name] = answer[name].isoformat() if answer[name] else None
    return answer


def request_scan(engine: Engine, actor: str, scope: SiteScope, site_id: int, targets: Sequence[str],
                 now: datetime | None = None) -> dict[str, Any]:
    """Ask a site's agent for an ad-hoc scan of `targets` (CIDRs inside its networks; none: all of them)."""
    now = now or _now()
    wanted = [t.strip() for t in targets if t.strip()]
    with write_transaction(engine) as conn:
        if get_site(conn, scope, site_id) is None:
            raise NotFoundError(f"site {site_id} not found")
        site = _one_site(conn, site_id)
        check_scope(wanted or [n.cidr for n in site.networks], [n.cidr for n in site.networks])  # ScopeError
        job_id = store.add_job(conn, site_id, "scan", wanted, actor, now)
        record(conn, actor, "agent.job.request", f"job:{job_id}", None,
               {"site": site.name, "kind": "scan", "targets": wanted})
        job = store.get_job(conn, job_id)
    assert job is not None
    return _job_json(job)


def jobs(engine: Engine, scope: SiteScope, limit: int = 50) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [_job_json(j) for j in store.list_jobs(conn, scope, limit)]


def check_silent_sites(engine: Engine, now: datetime | None = None, silent_after: timedelta = SILENT_AFTER,
                       scope: SiteScope = EVERYTHING) -> list[str]:
    """Raise `site_silent` once for each site whose agent was last heard over `silent_after` ago;
    returns the sites newly raised. Run on heartbeats, by `clearsite agent health` and the /agents page."""
    now = now or _now()
    raised: list[str] = []
    with engine.connect() as conn:
        if not store.newly_silent(conn, scope, now - silent_after):
            return raised  # the common case: a read, no write lock
    with write_transaction(engine) as conn:
        for site_id, site, heard_at in store.newly_silent(conn, scope, now - silent_after):
            if store.mark_silent_alerted(conn, site_id, now):
                _raise_alert(conn, "site_silent", site_id,
                             f"the agent at {site} was last heard {heard_at:%Y-%m-%d %H:%M} UTC",
                             f"site_silent:{site_id}:{heard_at.isoformat()}", now)
                raised.append(site)
    return raised


def agent_health(engine: Engine, scope: SiteScope, now: datetime | None = None,
                 silent_after: timedelta = SILENT_AFTER) -> list[dict[str, Any]]:
    """Each site in the scope: its agent's last heartbeat and whether it has gone silent (alerts raised first)."""
    now = now or _now()
    check_silent_sites(engine, now, silent_after, scope)
    with engine.connect() as conn:
        rows = store.agent_health(conn, scope)
    answer = []
    for r in rows:
        state = "no agent" if r.heard_at is None else ("silent" if now - r.heard_at > silent_after else "reporting")
        answer.append({"site_id": r.site_id, "site": r.site, "department": r.department, "agent": r.agent,
                       "host": r.host, "version": r.version, "spooled": r.spooled, "state": state,
                       "last_scan": _iso(r.last_scan), "last_push": _iso(r.last_push), "heard_at": _iso(r.heard_at)})
    return answer


def _iso(moment: datetime | None) -> str | None:
    return moment.replace(microsecond=0).isoformat() if moment else None
