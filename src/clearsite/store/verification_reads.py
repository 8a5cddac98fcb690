"""The reads verification of removals needs on every intake: kept small, so an intake with no
claims, no sensitive sites and no orders pays a few indexed queries and nothing more."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Literal, overload

import orjson
from sqlalchemy import Connection, func, or_, select

from clearsite.core.models import Identity
from clearsite.store.orders import StoredOrder, WorkOrderRow, read_orders
from clearsite.store.reads import EVERYTHING
from clearsite.store.removals import CHUNK, RemovalRow
from clearsite.store.tables import DeviceRow, IdentityRow, SiteRow

__all__ = ["OPEN_ORDER_STATUSES", "active_claim_keys", "active_claim_sites", "devices_at_sites_by_keys", "identities_of", "overdue_orders",
           "sensitive_site_ids", "sites_with_devices_before"]

OPEN_ORDER_STATUSES = ("planned", "scheduled", "in_progress")


def active_claim_sites(conn: Connection) -> set[int]:
    """Sites with a claim an observation could still verify, contradict or show reappeared."""
    query = select(RemovalRow.site_id).where(RemovalRow.status.in_(("claimed", "verified"))).distinct()
    return set(conn.scalars(query))


def active_claim_keys(conn: Connection) -> set[tuple[int, str, str]]:
    """What would make an observation matter to a claim still open to change: (site, "m", mac lower case),
    (site, "s", serial as stored), (site, "i", ip) of the claimed devices, and (site, "m"/"s", …) of the
    replacements they name."""
    keys: set[tuple[int, str, str]] = set()
    query = select(RemovalRow.site_id, RemovalRow.last_mac, RemovalRow.last_serial, RemovalRow.last_ip,
                   RemovalRow.replacement).where(RemovalRow.status.in_(("claimed", "verified")))
    for site_id, mac, serial, ip, replacement in conn.execute(query):
        if mac:
            keys.add((site_id, "m", mac.lower()))
        if serial:
            keys.add((site_id, "s", serial))
        if ip:
            keys.add((site_id, "i", ip))
        if replacement:
            if isinstance(replacement, str):
                replacement = orjson.loads(replacement)
            if replacement.get("mac"):
                keys.add((site_id, "m", str(replacement["mac"]).lower()))
            if replacement.get("serial"):
                keys.add((site_id, "s", str(replacement["serial"])))
    return keys


def devices_at_sites_by_keys(conn: Connection, site_id: int, serial: str | None, mac: str | None,
                             exclude: int | None = None) -> int | None:
    """A device at the site with that (clean) serial or MAC, other than `exclude`; the newest if several."""
    conditions = []
    if mac:
        conditions.append(func.lower(DeviceRow.mac) == mac.lower())
    if serial:
        conditions += [DeviceRow.natural_key == f"serial:{serial}", func.upper(DeviceRow.serial) == serial]
    if not conditions:
        return None
    query = select(DeviceRow.id).where(DeviceRow.site_id == site_id, or_(*conditions)).order_by(DeviceRow.id.desc())
    if exclude is not None:
        query = query.where(DeviceRow.id != exclude)
    return conn.scalar(query.limit(1))


def _identity(row: Any) -> Identity:
    contradictions = row.contradictions
    if isinstance(contradictions, str):
        contradictions = orjson.loads(contradictions)
    return Identity(row.label_brand, row.producer_id, row.model, row.device_class or "unknown", row.confidence or 0.0,
                    (), tuple(contradictions or ()))


@overload
def identities_of(conn: Connection, device_ids: Sequence[int], with_site: Literal[False] = False
                  ) -> dict[int, Identity]: ...
@overload
def identities_of(conn: Connection, device_ids: Sequence[int], with_site: Literal[True]
                  ) -> dict[int, tuple[int, Identity]]: ...
def identities_of(conn: Connection, device_ids: Sequence[int], with_site: bool = False) -> dict[int, Any]:
    """The stored identity of each identified device (with its site id when asked)."""
    found: dict[int, Any] = {}
    ids = sorted(set(device_ids))
    for start in range(0, len(ids), CHUNK):
        query = (select(IdentityRow.device_id, DeviceRow.site_id, IdentityRow.label_brand, IdentityRow.producer_id,
                        IdentityRow.model, IdentityRow.device_class, IdentityRow.confidence,
                        IdentityRow.contradictions)
                 .join(DeviceRow, DeviceRow.id == IdentityRow.device_id)
                 .where(IdentityRow.device_id.in_(ids[start : start + CHUNK])))
        for row in conn.execute(query):
            found[row.device_id] = (row.site_id, _identity(row)) if with_site else _identity(row)
    return found


def sensitive_site_ids(conn: Connection) -> set[int]:
    """Sites meeting any of the four sensitivity criteria."""
    query = select(SiteRow.id).where(or_(SiteRow.holds_secret, SiteRow.dv_hub, SiteRow.ministerial, SiteRow.socpa))
    return set(conn.scalars(query))


def sites_with_devices_before(conn: Connection, site_ids: Iterable[int], first_new_id: int) -> set[int]:
    """Those sites that had a device before the first device an intake made (ids only grow)."""
    ids = sorted(set(site_ids))
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        query = select(DeviceRow.site_id).where(DeviceRow.site_id.in_(ids[start : start + CHUNK]),
                                                DeviceRow.id < first_new_id).distinct()
        found.update(conn.scalars(query))
    return found


def overdue_orders(conn: Connection, today: date) -> list[StoredOrder]:
    """Orders not finished whose due date has passed."""
    if conn.scalar(select(WorkOrderRow.id).where(WorkOrderRow.status.in_(OPEN_ORDER_STATUSES),
                                                 WorkOrderRow.due < today).limit(1)) is None:
        return []
    return [o for o in read_orders(conn, EVERYTHING, statuses=OPEN_ORDER_STATUSES) if o.due < today]
