"""Register rows against what networks showed at a site, answered once for every door.

`clearsite reconcile` and the site page (and /api/v1/sites/{id}/reconciliation) both call
`reconcile_site`, so they cannot disagree: the CLI shows the items, the web lists device ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar, cast

from sqlalchemy import Connection, Engine

from clearsite.core import contracts
from clearsite.core.errors import NotFoundError
from clearsite.core.models import Network
from clearsite.core.reconcile import Reconciliation, RegisteredItem, SeenItem, reconcile
from clearsite.store.reads import SiteScope
from clearsite.store.site_reads import get_site, site_observation_rows
from clearsite.store.sites import find_site, load_sites

__all__ = ["reconcile_site", "reconcile_site_id", "reconciliation_ids", "reconciliation_json", "site_reconciliation"]

_Item = TypeVar("_Item", RegisteredItem, SeenItem)


def reconcile_site(engine: Engine, site_name: str, within: Iterable[str] = ()) -> Reconciliation:
    """Register rows against what networks showed at one site: matched, seen-not-registered, registered-not-seen.

    `within` limits both sides to addresses in those ranges (what a partial scan covered); items
    without an address stay in.
    """
    ranges = [Network(cidr) for cidr in within]
    with engine.connect() as conn:
        return reconcile_site_id(conn, find_site(conn, site_name), ranges)


def reconcile_site_id(conn: Connection, site_id: int, within: Sequence[Network] = ()) -> Reconciliation:
    """`reconcile_site` for a site known by id (the caller has checked it may see it)."""

    def covered(ip: str | None) -> bool:
        return not within or ip is None or any(r.contains(ip) for r in within)

    name = load_sites(conn)[site_id].name
    registered: list[RegisteredItem] = []
    seen: list[SeenItem] = []
    for device_id, kind, data, location in site_observation_rows(conn, site_id):
        fields = data.get("fields", {})
        if kind == "register_row":
            label = " ".join(filter(None, (fields.get("brand"), fields.get("model"), location)))
            registered.append(RegisteredItem(device_id, name, fields.get("serial"), fields.get("mac"),
                                             fields.get("ip"), label or None))
        else:
            seen.append(SeenItem(device_id, name, fields.get("serial"), fields.get("mac"), fields.get("ip"),
                                 fields.get("hostname")))
    return reconcile([i for i in _one_per_device(registered) if covered(i.ip)],
                     [i for i in _one_per_device(seen) if covered(i.ip)])


def site_reconciliation(engine: Engine, scope: SiteScope, site_id: int) -> dict[str, list[int]] | None:
    """The site's reconciliation as device ids (NotFoundError when the site is outside the scope)."""
    with engine.connect() as conn:
        if get_site(conn, scope, site_id) is None:
            raise NotFoundError("site not found")
        return reconciliation_ids(reconcile_site_id(conn, site_id))


def _one_per_device(items: list[_Item]) -> list[_Item]:
    """A device observed many times is one item (its latest observation): reconciliation is per thing."""
    latest: dict[object, _Item] = {}
    for item in items:
        latest[item.device_id] = item
    return list(latest.values())


def reconciliation_json(rec: Reconciliation) -> contracts.Reconciliation:
    """The `clearsite reconcile --format json` shape: the items of each list, and the conflicts."""

    def item(i: RegisteredItem | SeenItem) -> contracts.ReconciliationItem:
        return {"device_id": cast("int | str | None", i.device_id), "serial": i.serial, "mac": i.mac, "ip": i.ip, "label": i.label}

    return {
        "matched": [{"registered": item(m.registered), "seen": item(m.seen), "key": m.key.value,
                     "disagreements": list(m.disagreements)} for m in rec.matched],
        "seen_not_registered": [item(i) for i in rec.seen_not_registered],
        "registered_not_seen": [item(i) for i in rec.registered_not_seen],
        "conflicts": [str(c) for c in rec.conflicts],
    }


def reconciliation_ids(rec: Reconciliation) -> dict[str, list[int]] | None:
    """The same answer as device ids (the site page and the API); None when either side is empty.

    A comparison with nothing registered, or nothing seen, says nothing. A matched pair the store
    kept as two devices lists both.
    """
    registered = len(rec.matched) + len(rec.registered_not_seen)
    seen = len(rec.matched) + len(rec.seen_not_registered)
    if not registered or not seen:
        return None
    matched = {int(i) for m in rec.matched for i in (m.registered.device_id, m.seen.device_id)}  # type: ignore[call-overload]
    return {"matched": sorted(matched),
            "seen_not_registered": sorted(int(i.device_id) for i in rec.seen_not_registered),  # type: ignore[call-overload]
            "registered_not_seen": sorted(int(i.device_id) for i in rec.registered_not_seen)}  # type: ignore[call-overload]
