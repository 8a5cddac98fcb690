"""The inventory: one search box, filters, sorting, totals and keyset pages over every device in a scope,
and "export this view" as CSV, XLSX or JSON. The web page, /api/v1/devices and `clearsite devices` all
call these, so the three answer a filter alike.

Searching and counting read the store's inventory index (store.inventory_index), rebuilt when the estate
has changed since it was built. Up to REFRESH_INLINE devices the rebuild happens before the answer (a
second or two); above that it runs in the background and the answer says it is `refreshing`, so a page
is never held up for a minute while a million rows are re-indexed.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine

from clearsite.core.assess import nil_verdict
from clearsite.core.errors import InputError
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import DEVICE_CLASSES, Identity
from clearsite.core.names import name_key
from clearsite.core.plain import basis_title
from clearsite.render import inventory_export
from clearsite.services.devices import device_json
from clearsite.services.identification import link_evidence
from clearsite.services.timeline import OUTSTANDING, removal_obligations
from clearsite.store.inventory_index import device_count, ever_built, is_fresh, refresh_if_stale
from clearsite.store.reads import (
    EVERYTHING,
    SEVERITY,
    SORTS,
    DeviceFilter,
    SiteScope,
    department_id_named,
    find_device_ids,
    iter_device_ids,
    read_devices_by_id,
    scope_names,
    seen_times,
    worst_statuses,
)
from clearsite.store.site_reads import device_counts_by_site, finding_counts_by_site
from clearsite.store.site_summary import is_fresh as summary_is_fresh
from clearsite.store.site_summary import obligations_key, write_summary
from clearsite.store.site_summary import stamp as summary_stamp
from clearsite.store.sites import find_site, load_sites
from clearsite.store.timeline_reads import site_removals
from clearsite.store.transactions import write_transaction

__all__ = [
    "EVERYTHING",
    "EXPORT_TYPES",
    "NIL_SUBJECTS",
    "REFRESH_INLINE",
    "SENSITIVITY",
    "SORTS",
    "STATUSES",
    "FilterChoices",
    "InventoryPage",
    "device_filter",
    "device_inventory",
    "ensure_index",
    "export_devices",
    "filter_choices",
    "iter_inventory",
    "named_site_and_department",
    "parse_sort",
]

REFRESH_INLINE = 200_000
NIL_SUBJECTS = ("yes", "no", "review", "unknown")
STATUSES = (*SEVERITY, "none")
SENSITIVITY = ("sensitive", "other", "holds_secret", "dv_hub", "ministerial", "socpa")
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "json": "application/json"}
MAX_Q = 200


@dataclass(frozen=True, slots=True)
class InventoryPage:
    rows: list[dict[str, Any]]  # device_json, plus site_id, worst_status, first_seen, last_seen, producer_name
    views: list[Any]  # the DeviceViews, in the same order (for doors that need the plain device shape)
    total: int
    next_cursor: str | None
    refreshing: bool  # the index is being rebuilt: counts may be a few minutes old
    total_capped: bool = False  # a search or date range matched more than `total` (TOTAL_CAP): "more than"


# --------------------------------------------------------------------------- what was asked


def device_filter(knowledge: Knowledge, as_of: date, *, q: str | None = None, site_id: int | None = None,
                  department_id: int | None = None, sensitivity: str | None = None, producer: str | None = None,
                  nil_subject: str | None = None, device_class: str | None = None, status: str | None = None,
                  review_pending: bool = False, first_seen_from: date | None = None,
                  first_seen_to: date | None = None, last_seen_from: date | None = None,
                  last_seen_to: date | None = None) -> DeviceFilter:
    """The filter as the store reads it; a value it cannot take is refused in a sentence (InputError)."""
    text = " ".join((q or "").split())[:MAX_Q] or None
    if producer and producer != "none" and producer not in knowledge.companies:
        raise InputError(f"producer {producer[:64]!r} is not in the knowledge base (use its id, e.g. 'hikvision')")
    _one_of("nil_subject", nil_subject, NIL_SUBJECTS)
    _one_of("device_class", device_class, (*sorted(DEVICE_CLASSES), "unknown"))
    _one_of("status", status, STATUSES)
    _one_of("sensitivity", sensitivity, SENSITIVITY)
    subjects: tuple[tuple[str, str], ...] = ()
    contested: tuple[str, ...] = ()
    if nil_subject:
        subjects = _producer_subjects(knowledge, as_of)
        contested = tuple(sorted({name.lower() for brand in knowledge.brands if brand.contested
                                  for name in (brand.name, *brand.aliases)}))
    return DeviceFilter(q=text, q_producers=_producers_named(knowledge, text) if text else (), site_id=site_id,
                        department_id=department_id, sensitivity=sensitivity or None, producer=producer or None,
                        nil_subject=nil_subject or None, producer_subjects=subjects, contested_brands=contested,
                        device_class=device_class or None, status=status or None, review_pending=review_pending,
                        first_seen_from=first_seen_from, first_seen_to=first_seen_to, last_seen_from=last_seen_from,
                        last_seen_to=last_seen_to)


def _one_of(name: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value and value not in allowed:
        raise InputError(f"{name} {value[:40]!r}: expected one of {', '.join(allowed)}")


def _producer_subjects(knowledge: Knowledge, as_of: date) -> tuple[tuple[str, str], ...]:
    """Each producer's NIL subject today, as a device with that producer and no other sign would get it."""
    return tuple((company_id, nil_verdict(Identity(None, company_id, None, "unknown", 1.0, ()), knowledge,
                                          as_of).subject.value)
                 for company_id in sorted(knowledge.companies))


def _producers_named(knowledge: Knowledge, text: str) -> tuple[str, ...]:
    """Producers whose id, name or an alias contains the search text (so 'hikvision' finds relabelled kit)."""
    key = name_key(text)
    if len(key) < 3:
        return ()
    return tuple(sorted(c.id for c in knowledge.companies.values()
                        if any(key in name_key(n) for n in (c.id, c.name, *c.aliases))))


def parse_sort(text: str | None) -> tuple[str, bool]:
    """'site' or '-site' (descending) → ('site', False|True); refused when not a sortable column."""
    text = (text or "id").strip()
    descending = text.startswith("-")
    key = text.lstrip("-")
    if key not in SORTS:
        raise InputError(f"sort {text[:40]!r}: expected one of {', '.join(SORTS)} (a leading - sorts descending)")
    return key, descending


def encode_cursor(after: tuple[Any, int] | None) -> str | None:
    if after is None:
        return None
    return base64.urlsafe_b64encode(orjson.dumps(list(after))).decode().rstrip("=")


def decode_cursor(text: str | None, sort: str = "id") -> tuple[Any, int] | None:
    """A cursor from a previous page: a bare device id (id order) or the opaque token `next_cursor` gave."""
    if not text:
        return None
    if text.isdigit() and sort == "id":
        return (int(text), int(text))
    try:
        value, last = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if not isinstance(last, int) or not isinstance(value, str | int | float | None):
            raise ValueError("bad cursor")
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise InputError("after: not a cursor this list gave (start again from the first page)") from None
    return value, last


def named_site_and_department(engine: Engine, site: str | None, department: str | None) -> tuple[int | None, int | None]:
    """Site and department ids from the names people type (NotFoundError / InputError say which is unknown)."""
    with engine.connect() as conn:
        site_id = find_site(conn, site) if site else None
        department_id = None
        if department:
            department_id = department_id_named(conn, department)
            if department_id is None:
                raise InputError(f"department {department[:100]!r} is not known")
    return site_id, department_id


@dataclass(frozen=True, slots=True)
class FilterChoices:
    departments: list[tuple[int, str]]
    sites: list[tuple[int, str]]  # empty when there are too many to list
    site_count: int
    producers: list[tuple[str, str]]  # (id, name) by name
    device_classes: list[str]


def filter_choices(engine: Engine, scope: SiteScope, knowledge: Knowledge, site_limit: int = 300) -> FilterChoices:
    """What the inventory's filters offer in this scope."""
    with engine.connect() as conn:
        departments, sites, count = scope_names(conn, scope, site_limit)
    producers = sorted(((c.id, c.aliases[0] if c.aliases else c.name) for c in knowledge.companies.values()),
                       key=lambda p: p[1].lower())
    return FilterChoices(departments, sites, count, producers, [*sorted(DEVICE_CLASSES), "unknown"])


# --------------------------------------------------------------------------- the index


_refreshing: dict[int, threading.Thread] = {}
_refresh_lock = threading.Lock()


def _summary_key(knowledge: Knowledge) -> str:
    return obligations_key(removal_obligations(knowledge), OUTSTANDING)


def _rebuild(engine: Engine, knowledge: Knowledge) -> None:
    """The inventory index, then the per-site summary the dashboard and the timeline read (store.site_summary),
    counted by the same queries that answer when it is stale."""
    key = _summary_key(knowledge)
    with write_transaction(engine) as conn:
        refresh_if_stale(conn)
        if summary_is_fresh(conn, key):
            return
        built_from = summary_stamp(conn, key)
        devices = device_counts_by_site(conn, EVERYTHING, summary=False)
        statuses = finding_counts_by_site(conn, EVERYTHING, summary=False)
        removals = site_removals(conn, EVERYTHING, removal_obligations(knowledge), OUTSTANDING, summary=False)
        write_summary(conn, built_from, devices, {site: dict(counts) for site, counts in statuses.items()},
                      [(r.site_id, r.open, r.claimed, r.verified, r.last_removed) for r in removals])


def ensure_index(engine: Engine, knowledge: Knowledge, *, wait: bool = False) -> bool:
    """Bring the inventory index and the site summary up to date: now when the estate is small (or `wait`), else
    in the background. Returns True while a background rebuild is running (answers come from the previous index
    meanwhile; the dashboard and timeline count from the findings until the summary is fresh again)."""
    with engine.connect() as conn:
        if is_fresh(conn) and summary_is_fresh(conn, _summary_key(knowledge)):
            return False
        inline = wait or not ever_built(conn) or device_count(conn) <= REFRESH_INLINE
    if inline:
        _rebuild(engine, knowledge)
        return False
    with _refresh_lock:
        running = _refreshing.get(id(engine))
        if running is None or not running.is_alive():
            running = threading.Thread(target=_rebuild, args=(engine, knowledge), name="clearsite-inventory-index", daemon=True)
            _refreshing[id(engine)] = running
            running.start()
    return True


# --------------------------------------------------------------------------- reading


def _rows(conn: Connection, scope: SiteScope, ids: list[int], knowledge: Knowledge, as_of: date,
          sites: Any, with_evidence: bool = False,
          verdicts: dict[Any, Any] | None = None) -> tuple[list[dict[str, Any]], list[Any]]:
    found = read_devices_by_id(conn, scope, ids, sites=sites, link_evidence=link_evidence, with_evidence=with_evidence)
    worst = worst_statuses(conn, ids)
    seen = seen_times(conn, ids)
    rows: list[dict[str, Any]] = []
    for view, _site in found:
        row: dict[str, Any] = dict(device_json(view, knowledge, as_of, verdicts))
        row.pop("evidence", None)
        first, last = seen.get(view.id, (None, None))
        producer = row.get("producer")
        row.update(site_id=view.site_id, worst_status=worst.get(view.id), first_seen=_iso(first),
                   last_seen=_iso(last), producer_name=producer["name"] if producer else None,
                   nil_basis_title=basis_title(row.get("nil_basis")))
        rows.append(row)
    return rows, [view for view, _ in found]


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    return str(value).split(".")[0]


def device_inventory(engine: Engine, scope: SiteScope, knowledge: Knowledge, as_of: date, devices: DeviceFilter, *,
                     sort: str = "id", descending: bool = False, cursor: str | None = None,
                     limit: int = 50, with_evidence: bool = False) -> InventoryPage:
    """One page of the inventory with the total that matches."""
    refreshing = ensure_index(engine, knowledge)
    after = decode_cursor(cursor, sort)
    with engine.connect() as conn:
        try:
            page = find_device_ids(conn, scope, devices, sort=sort, descending=descending, after=after, limit=limit)
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        rows, views = _rows(conn, scope, page.ids, knowledge, as_of, None, with_evidence, {})
    return InventoryPage(rows, views, page.total or 0, encode_cursor(page.next_after), refreshing, page.total_capped)


def iter_inventory(engine: Engine, scope: SiteScope, knowledge: Knowledge, as_of: date, devices: DeviceFilter, *,
                   sort: str = "id", descending: bool = False, with_evidence: bool = False,
                   plain: bool = False) -> Iterator[dict[str, Any]]:
    """Every device the filter matches, in the list's order, a chunk at a time: the inventory rows, or with
    `plain` the `clearsite devices --format json` shape exactly."""
    ensure_index(engine, knowledge, wait=True)
    verdicts: dict[Any, Any] = {}
    with engine.connect() as conn:
        sites = load_sites(conn)
        for ids in iter_device_ids(conn, scope, devices, sort=sort, descending=descending, chunk=2000):
            rows, views = _rows(conn, scope, ids, knowledge, as_of, sites, with_evidence, verdicts)
            if plain:
                yield from (dict(device_json(view, knowledge, as_of, verdicts)) for view in views)
            else:
                yield from rows


def export_devices(engine: Engine, scope: SiteScope, knowledge: Knowledge, as_of: date, devices: DeviceFilter, *,
                   sort: str = "id", descending: bool = False, file_type: str = "csv") -> Iterator[bytes]:
    """Every device the filter matches, in the list's order, as CSV, XLSX or JSON chunks (memory stays flat)."""
    if file_type not in EXPORT_TYPES:
        raise InputError(f"format {file_type[:20]!r}: expected one of {', '.join(EXPORT_TYPES)}")
    writer = {"csv": inventory_export.csv_chunks, "xlsx": inventory_export.xlsx_chunks,
              "json": inventory_export.json_chunks}[file_type]
    return writer(iter_inventory(engine, scope, knowledge, as_of, devices, sort=sort, descending=descending))
