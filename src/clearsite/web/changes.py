"""Every change the web app makes, each in one write transaction with its audit entry.

Routes (pages and API alike) call these, so a change is scoped, validated and audited the same
way whichever door it came through.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from clearsite.core.errors import ConflictError, NotFoundError
from clearsite.core.knowledge import Knowledge
from clearsite.core.names import normalise_mac
from clearsite.core.models import Evidence, Network, Site
from clearsite.store.auth_tables import AttestationRow
from clearsite.store.sites import add_site
from clearsite.store.tables import Department, DeviceRow, SiteRow
from clearsite.store.users import Role
from clearsite.services import imports
from clearsite.services.imports import AgentObservation
from clearsite.store.audit import canonical, record
from clearsite.store.reads import SiteScope
from clearsite.web import cache, queries
from clearsite.web.access import Principal
from clearsite.web.schemas import AttestationIn, ObservationIn, SiteIn, SitePatch


class NotFound(NotFoundError, LookupError):
    """Absent, or outside the principal's scope (the two are answered alike)."""


class Conflict(ConflictError, ValueError):
    """The request contradicts what is stored (an agent id reused for different content)."""


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that holds the write lock from its start.

    On SQLite a deferred transaction that reads (the audit head) before it writes can fail to
    upgrade when another writer got in between; BEGIN IMMEDIATE takes the lock first and waits.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
        cache.forget_all()  # this process must not answer from before its own change


def _department_name(conn: Connection, department_id: int | None) -> str | None:
    return conn.scalar(select(Department.name).where(Department.id == department_id)) if department_id else None


def create_site(engine: Engine, principal: Principal, body: SiteIn) -> dict[str, Any]:
    with write_transaction(engine) as conn:
        if principal.user.role == Role.OFFICER:
            department = _department_name(conn, principal.user.department_id)  # officers add only to their own
        else:
            department = body.department
        if not department:
            raise ValueError("a site needs a department")
        site = Site(body.name, department, body.region, body.holds_secret, body.dv_hub, body.ministerial, body.socpa,
                    tuple(Network(n.cidr, n.core) for n in body.networks))
        site_id = add_site(conn, site)
        created = queries.get_site(conn, principal, site_id)
        record(conn, principal.actor, "site.add", f"site:{site_id}", None, created)
    assert created is not None
    return created


def update_site(engine: Engine, principal: Principal, site_id: int, patch: SitePatch) -> dict[str, Any]:
    with write_transaction(engine) as conn:
        before = queries.get_site(conn, principal, site_id)
        if before is None:
            raise NotFound(f"site {site_id}")
        # A flag sent as null means "leave it"; a null region clears it.
        values = {k: v for k, v in patch.model_dump(exclude_unset=True).items() if v is not None or k == "region"}
        if values:
            conn.execute(SiteRow.__table__.update().where(SiteRow.id == site_id).values(**values))
        after = queries.get_site(conn, principal, site_id)
        changed = {k: before[k] for k in values if before[k] != after[k]}  # type: ignore[index]
        if changed:
            record(conn, principal.actor, "site.update", f"site:{site_id}", changed,
                   {k: after[k] for k in changed})  # type: ignore[index]
    assert after is not None
    return after


def record_removal(engine: Engine, principal: Principal, device_id: int, removed_on: date) -> None:
    with write_transaction(engine) as conn:
        if queries.device_site_id(conn, principal, device_id) is None:
            raise NotFound(f"device {device_id}")
        before = conn.scalar(select(DeviceRow.removed_on).where(DeviceRow.id == device_id))
        if before == removed_on:
            return
        conn.execute(DeviceRow.__table__.update().where(DeviceRow.id == device_id).values(removed_on=removed_on))
        record(conn, principal.actor, "device.removed", f"device:{device_id}",
               {"removed_on": before}, {"removed_on": removed_on})


def add_attestation(engine: Engine, principal: Principal, body: AttestationIn) -> int:
    from clearsite.core.screen import Statement  # refuse a statement screening would not understand

    try:
        Statement(body.statement)
    except ValueError as exc:
        known = "; ".join(s.value for s in Statement)
        raise ValueError(f"statement {body.statement!r} is not one screening knows ({known})") from exc
    if body.expires <= body.signed:
        raise ValueError("an attestation must expire after it was signed")
    with write_transaction(engine) as conn:
        values = {**body.model_dump(), "department_id": principal.user.department_id,
                  "recorded_by": principal.actor, "created_at": datetime.now(UTC).replace(tzinfo=None)}
        attestation_id = conn.execute(AttestationRow.__table__.insert().values(**values)).inserted_primary_key[0]
        record(conn, principal.actor, "attestation.add", f"attestation:{attestation_id}", None, body.model_dump())
    return int(attestation_id)


# --------------------------------------------------------------------------- agents' observations


def _content_digest(item: ObservationIn) -> str:
    return hashlib.sha256(canonical(item.model_dump(mode="json", exclude={"id"})).encode()).hexdigest()


def _site_scope(principal: Principal) -> SiteScope:
    """The sites a principal may write to, as the store's SiteScope (the rule of web.scope.site_filter)."""
    user = principal.user
    if user.role in (Role.ADMIN, Role.AUDITOR):
        return SiteScope()
    if user.role == Role.OFFICER and user.department_id is not None:
        return SiteScope(department_id=user.department_id)
    if user.role == Role.AGENT and user.site_id is not None:
        return SiteScope(site_id=user.site_id)
    return SiteScope(nothing=True)


def push_observations(engine: Engine, knowledge: Knowledge, principal: Principal, site_id: int,
                      items: list[ObservationIn]) -> dict[str, Any]:
    """Store an agent's observations for one site through the one intake (services.imports.push_observations)."""
    if principal.user.role == Role.AGENT and principal.user.site_id != site_id:
        raise NotFound(f"site {site_id}")  # an agent pushes for its own site only
    pushed = [AgentObservation(
        id=i.id, content_sha256=_content_digest(i), ip=i.ip, mac=normalise_mac(i.mac) if i.mac else None,
        mac_as_sent=i.mac, serial=i.serial, location=i.location, observed_at=i.observed_at,
        evidence=tuple(Evidence(e.signal, e.value, e.source or "") for e in i.evidence)) for i in items]
    try:
        result = imports.push_observations(engine, knowledge, _site_scope(principal), site_id,
                                           principal.user.username, principal.actor, pushed)
    except imports.SiteNotFound as exc:
        raise NotFound(str(exc)) from exc
    except imports.PushConflict as exc:
        raise Conflict(str(exc)) from exc
    cache.forget_all()  # this process must not answer from before its own change
    return result
