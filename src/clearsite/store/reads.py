"""The one device reader, and the scope every read of sites, devices and findings applies.

A `SiteScope` says which sites a reader may see: every site, one department's, or one site's (a site
agent's). The reader applies it itself, as NetBox restricts every queryset before a view sees it:
no caller remembers, or forgets, a department filter on its own. `site_clause` gives the same rule
for the store's other queries, joined to `sites`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, false, true

from clearsite.core.models import Identity, Site
from clearsite.core.review import ReviewState, settled_identity
from clearsite.store.bulk import dumps
from clearsite.store.decisions import review_states_between
from clearsite.store.devices import observation_data_by_device
from clearsite.store.removals import removals_between
from clearsite.store.sites import load_sites
from clearsite.store.tables import SiteRow

__all__ = ["EVERYTHING", "NOTHING", "PAGE", "DeviceView", "SiteScope", "read_devices", "site_clause"]

PAGE = 20_000  # devices per query: large enough that a million devices take 50 round trips


@dataclass(frozen=True, slots=True)
class SiteScope:
    """Which sites a reader may see.

    The default sees every site; `department_id` narrows to one department's sites, `site_id` to one
    site (a site agent); `nothing` sees no site at all (a role with no department).
    """

    department_id: int | None = None
    site_id: int | None = None
    nothing: bool = False


EVERYTHING = SiteScope()
NOTHING = SiteScope(nothing=True)


def site_clause(scope: SiteScope) -> ColumnElement[bool]:
    """The scope as a condition on `sites` (for queries that join it)."""
    if scope.nothing:
        return false()
    condition: ColumnElement[bool] = true()
    if scope.department_id is not None:
        condition = SiteRow.department_id == scope.department_id
    if scope.site_id is not None:
        condition = condition & (SiteRow.id == scope.site_id)
    return condition


# (a stored evidence chain, the device's stored observation data in order) -> the evidence links shown
EvidenceLinker = Callable[[list[Any], Sequence[dict[str, Any]]], list[dict[str, Any]]]


@dataclass(slots=True)  # not frozen, which would make a million of them take 7x longer
class DeviceView:
    """A device as users and scripts see it (the `clearsite devices` contract). Not changed once made."""

    id: int
    site: str
    ip: str | None
    mac: str | None
    serial: str | None
    location: str | None
    install_date: date | None
    removed_on: date | None
    identity: Identity
    evidence: list[dict[str, Any]]
    site_id: int = 0
    removal: Any = None  # its removal claim and files (store.removals.DeviceRemoval), or None
    # What people said of it (core.review), and the machine's identity when that differs from `identity`,
    # which is then the settled one assessment uses.
    review: ReviewState | None = None
    machine: Identity | None = None


def read_devices(conn: Connection, scope: SiteScope = EVERYTHING, *, with_evidence: bool = True,
                 site_id: int | None = None, ids: range | None = None, after: int = 0, limit: int | None = None,
                 device_id: int | None = None, sites: dict[int, Site] | None = None,
                 link_evidence: EvidenceLinker | None = None) -> Iterator[tuple[DeviceView, Site]]:
    """Devices in the scope in id order, read in pages: optionally of one site, with ids in a range,
    after an id, at most `limit` of them, or the one device `device_id`.

    Plain driver SQL: SQLAlchemy's row and type processing would cost more than the read itself on a
    million devices. So dates may come as ISO text (SQLite) and JSON as text (SQLite) or decoded lists.
    With evidence, `link_evidence` (services.identification.link_evidence) turns each stored chain and
    the device's raw observation data into the evidence links shown: the store identifies nothing.
    """
    if with_evidence and link_evidence is None:
        raise TypeError("read_devices(with_evidence=True) needs link_evidence")
    if scope.nothing or (limit is not None and limit <= 0):
        return
    if sites is None:
        sites = load_sites(conn)
    marker = "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"
    conditions = [f"d.id > {marker}"]
    fixed: list[Any] = []
    for column, value in (("d.site_id", site_id), ("d.site_id", scope.site_id), ("d.id", device_id)):
        if value is not None:
            conditions.append(f"{column} = {marker}")
            fixed.append(value)
    if scope.department_id is not None:
        # Unary plus: walk devices in id order rather than through the site index and then sort them all.
        conditions.append(f"+d.site_id IN (SELECT s.id FROM sites s WHERE s.department_id = {marker})")
        fixed.append(scope.department_id)
    if ids is not None:
        conditions.append(f"d.id < {marker}")
        fixed.append(ids.stop)
    page = PAGE if limit is None else min(PAGE, limit)
    sql = ("SELECT d.id, d.site_id, d.ip, d.mac, d.serial, d.location, d.install_date, d.removed_on, i.label_brand, "
           "i.producer_id, i.model, i.device_class, i.confidence, i.contradictions, i.alternatives"
           f"{', i.evidence' if with_evidence else ''} FROM devices d LEFT JOIN identities i ON i.device_id = d.id "
           f"WHERE {' AND '.join(conditions)} ORDER BY d.id LIMIT {page:d}")
    last = max(after, ids.start - 1 if ids is not None else 0)
    remaining = limit
    # A million devices share a few thousand identities, built once each and keyed on their columns as text.
    identities: dict[tuple[Any, ...], Identity] = {}
    while remaining is None or remaining > 0:
        rows = conn.exec_driver_sql(sql, (last, *fixed)).all()
        if not rows:
            return
        if remaining is not None:
            rows = rows[:remaining]
            remaining -= len(rows)
        data_by_device = observation_data_by_device(conn, [r[0] for r in rows]) if with_evidence else {}
        reviewed = review_states_between(conn, rows[0][0], rows[-1][0])  # people's decisions: few, so one query
        removals = removals_between(conn, rows[0][0], rows[-1][0])  # removal claims: the same
        for row in rows:
            device, device_site, ip, mac, serial, location, install_date, removed_on = row[:8]
            identity_key = row[8:15] if row[13].__class__ is not list else (*row[8:13], dumps(row[13]), dumps(row[14]))
            identity = identities.get(identity_key)
            if identity is None:
                label_brand, producer_id, model, device_class, confidence, contradictions, alternatives = identity_key
                identity = identities[identity_key] = Identity(
                    label_brand, producer_id, model, device_class or "unknown", confidence or 0.0, (),
                    tuple(orjson.loads(contradictions)) if contradictions and contradictions != "[]" else (),
                    tuple((a[0], a[1]) for a in orjson.loads(alternatives)) if alternatives and alternatives != "[]"
                    else ())
            if with_evidence:
                chain = row[15] or "[]"
                assert link_evidence is not None  # checked on entry
                links = link_evidence(orjson.loads(chain) if isinstance(chain, str) else chain, data_by_device[device])
            site_of = sites[device_site]
            state = reviewed.get(device) if reviewed else None
            machine = None
            if state is not None:
                machine, identity = identity, settled_identity(identity, state)
            yield DeviceView(device, site_of.name, ip, mac, serial, location, _date(install_date),
                             _date(removed_on), identity, links if with_evidence else [], device_site,
                             review=state, machine=machine, removal=removals.get(device) if removals else None), site_of
        if len(rows) < page:
            return
        last = rows[-1][0]


@lru_cache(maxsize=65_536)
def _iso_date(text: str) -> date:
    return date.fromisoformat(text)


def _date(value: date | str | None) -> date | None:
    """A date column read by the driver: SQLite gives ISO text (a few thousand distinct values in an estate)."""
    return _iso_date(value) if isinstance(value, str) else value
