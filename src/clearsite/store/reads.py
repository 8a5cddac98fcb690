"""The one device reader, and the scope every read of sites, devices and findings applies.

A `SiteScope` says which sites a reader may see: every site, one department's, or one site's (a site
agent's). The reader applies it itself, as NetBox restricts every queryset before a view sees it:
no caller remembers, or forgets, a department filter on its own. `site_clause` gives the same rule
for the store's other queries, joined to `sites`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, false, true

from clearsite.core.models import Identity, Site
from clearsite.core.review import ReviewState, settled_identity
from clearsite.store.bulk import dumps
from clearsite.store.decisions import review_states_between
from clearsite.store.devices import observation_data_by_device
from clearsite.store.inventory_index import SEVERITY, WORST_NONE, has_trigram_search
from clearsite.store.removals import removals_between
from clearsite.store.sites import load_sites
from clearsite.store.tables import SiteRow

__all__ = [
    "EVERYTHING",
    "NOTHING",
    "PAGE",
    "SEVERITY",
    "SORTS",
    "TOTAL_CAP",
    "DeviceFilter",
    "DeviceIdPage",
    "DeviceView",
    "SiteScope",
    "count_devices",
    "count_matches",
    "department_id_named",
    "find_device_ids",
    "iter_device_ids",
    "read_devices",
    "read_devices_by_id",
    "scope_names",
    "seen_times",
    "site_clause",
    "worst_statuses",
]

PAGE = 20_000  # devices per query: large enough that a million devices take 50 round trips
# A search or a date range counts its matches up to this many: past it, the inventory says "more than 10,000"
# rather than read every match of a common word in a million devices (filters alone are counted exactly).
TOTAL_CAP = 10_000


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
                 link_evidence: EvidenceLinker | None = None,
                 id_list: Sequence[int] | None = None) -> Iterator[tuple[DeviceView, Site]]:
    """Devices in the scope in id order, read in pages: optionally of one site, with ids in a range,
    after an id, at most `limit` of them, the one device `device_id`, or those in `id_list` (a few hundred).

    Plain driver SQL: SQLAlchemy's row and type processing would cost more than the read itself on a
    million devices. So dates may come as ISO text (SQLite) and JSON as text (SQLite) or decoded lists.
    With evidence, `link_evidence` (services.identification.link_evidence) turns each stored chain and
    the device's raw observation data into the evidence links shown: the store identifies nothing.
    """
    if with_evidence and link_evidence is None:
        raise TypeError("read_devices(with_evidence=True) needs link_evidence")
    if scope.nothing or (limit is not None and limit <= 0):
        return
    # Without `sites`, only the sites of the devices read are loaded, page by page (one device's page need not
    # read five thousand sites and their networks).
    lazy_sites = sites is None
    known_sites: dict[int, Site] = {} if sites is None else sites
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
    if id_list is not None:
        if not id_list:
            return
        conditions.append(_id_in(conn, "d.id", id_list, fixed))
    page = PAGE if limit is None else min(PAGE, limit)
    # The identity's JSON columns as text on PostgreSQL too: they key the identity memo as text, so the driver's
    # parsing them (and dumps making text of them again) for each of a million rows was wasted.
    as_text = "::text" if conn.dialect.name == "postgresql" else ""
    sql = ("SELECT d.id, d.site_id, d.ip, d.mac, d.serial, d.location, d.install_date, d.removed_on, i.label_brand, "
           f"i.producer_id, i.model, i.device_class, i.confidence, i.contradictions{as_text}, i.alternatives{as_text}"
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
        if lazy_sites:
            missing = {r[1] for r in rows} - known_sites.keys()
            if missing:
                known_sites.update(load_sites(conn, missing if len(missing) <= 500 else None))
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
            site_of = known_sites[device_site]
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


def _id_in(conn: Connection, column: str, ids: Sequence[int], params: list[Any]) -> str:
    """`column IN (ids)`: on PostgreSQL one array parameter (`= ANY`), which the driver neither parses marker by
    marker nor prepares afresh for every length of list; elsewhere a marker per id."""
    if conn.dialect.name == "postgresql":
        params.append(list(ids))
        return f"{column} = ANY(%s)"
    params.extend(ids)
    return f"{column} IN ({', '.join(['?'] * len(ids))})"


@lru_cache(maxsize=65_536)
def _iso_date(text: str) -> date:
    return date.fromisoformat(text)


def _date(value: date | str | None) -> date | None:
    """A date column read by the driver: SQLite gives ISO text (a few thousand distinct values in an estate)."""
    return _iso_date(value) if isinstance(value, str) else value


# --------------------------------------------------------------------------- the inventory: search, filter, sort, page

# What the list sorts by: the index's own columns where it has them, else the device's, identity's or site's.
SORTS = {"id": "x.device_id", "site": "s.name", "ip": "d.ip", "mac": "d.mac", "serial": "d.serial", "model": "i.model",
         "brand": "i.label_brand", "producer": "i.producer_id", "class": "i.device_class",
         "first_seen": "x.first_seen", "last_seen": "x.last_seen", "location": "d.location"}
SENSITIVITY = ("sensitive", "other", "holds_secret", "dv_hub", "ministerial", "socpa")


@dataclass(frozen=True, slots=True)
class DeviceFilter:
    """What the inventory shows: one search box and the filters beside it. Every field narrows; None is "any".

    `nil_subject` is matched against the producer's determination (`producer_subjects`, worked out from the
    knowledge by the service, with `contested_brands` for badges that go to review) unless a person's decision
    in force settled the device, whose decided value is matched instead.
    """

    q: str | None = None
    q_producers: tuple[str, ...] = ()  # producers whose names match q (a relabelled Hikvision is found by "hikvision")
    site_id: int | None = None
    department_id: int | None = None
    sensitivity: str | None = None  # one of SENSITIVITY
    producer: str | None = None  # a producer id, or "none" for devices with no producer identified
    nil_subject: str | None = None  # yes, no, review, unknown
    producer_subjects: tuple[tuple[str, str], ...] = ()  # (producer id, its NIL subject) for every known producer
    contested_brands: tuple[str, ...] = ()  # lower-case badges whose unknown producer makes the verdict "review"
    device_class: str | None = None
    status: str | None = None  # the worst finding status, or "none" for devices with no findings
    review_pending: bool = False  # a finding in review that no decision in force settles
    first_seen_from: date | None = None
    first_seen_to: date | None = None
    last_seen_from: date | None = None
    last_seen_to: date | None = None


@dataclass(frozen=True, slots=True)
class DeviceIdPage:
    ids: list[int]
    total: int | None  # None when not asked for
    next_after: tuple[Any, int] | None  # (sort value, id) of the last row when more may follow
    total_capped: bool = False  # the total stopped at TOTAL_CAP: at least that many match


def _like(text: str) -> str:
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class _Sql:
    """A WHERE clause under construction, with the driver's parameter marker."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.marker = "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"
        self.conditions: list[str] = []
        self.params: list[Any] = []
        self.needs_device = False
        self.trigram = has_trigram_search(conn)
        self.search_overflows = False  # the trigram table alone holds more than TOTAL_CAP matches of the search

    def values(self, values: Sequence[Any]) -> str:
        self.params.extend(values)
        return ", ".join([self.marker] * len(values)) or "NULL"

    def add(self, condition: str, *params: Any) -> None:
        self.conditions.append(condition)
        self.params.extend(params)


def _mac_pattern(text: str) -> str | None:
    """'00-11-22-3', '0011.2233' or '001122' as the stored MAC form ('00:11:22:3'), for a search by part of a MAC.
    Not for text an IP address could be ('10.3.7.')."""
    digits = "".join(c for c in text if c not in ":-. ").upper()
    if len(digits) < 4 or any(c not in "0123456789ABCDEF" for c in digits):
        return None
    dotted_hex = re.fullmatch(r"[0-9a-fA-F]{4}(\.[0-9a-fA-F]{1,4}){0,2}", text) is not None
    if "." in text and not dotted_hex:
        return None
    if text.isdigit() and len(text) < 6:  # a short number is more likely part of a serial or an id
        return None
    return ":".join(digits[i:i + 2] for i in range(0, len(digits), 2))


def _search(sql: _Sql, q: str, producers: Sequence[str]) -> None:
    m = sql.marker
    patterns = [_like(q)]
    mac = _mac_pattern(q)
    if mac and mac.lower() != q.lower():
        patterns.append(_like(mac))
    # The trigram index serves LIKE only without an ESCAPE clause: text with a wildcard character in it, or
    # shorter than three characters, is matched by reading the table instead.
    plain = [p for p in (q.lower(), mac.lower() if mac else None) if p]
    trigram = sql.trigram and all(len(p) >= 3 and not any(c in p for c in "%_\\") for p in plain)
    if trigram and _matches_widely(sql, plain):
        # Text that a large share of devices contain: reading rows in the list's order and testing them finds a
        # page in a few hundred rows, where the trigram table would first list every match.
        trigram = False
        sql.search_overflows = True
    if trigram:
        branches = [f"x.device_id IN (SELECT rowid FROM device_search WHERE search LIKE {m})"] * len(plain)
        params: list[Any] = [f"%{p}%" for p in plain]
    else:
        branches = [f"x.search LIKE {m} ESCAPE '\\'"] * len(patterns)
        params = list(patterns)
    if producers:
        branches.append(f"x.producer_id IN ({', '.join([m] * len(producers))})")
        params += list(producers)
    if q.isdigit() and len(q) < 16:
        branches.append(f"x.device_id = {m}")
        params.append(int(q))
    sql.add("(" + " OR ".join(branches) + ")", *params)


def _matches_widely(sql: _Sql, texts: Sequence[str]) -> bool:
    """Whether the trigram table holds more than TOTAL_CAP matches of any of these texts (it reads at most that)."""
    for text in texts:
        found = sql.conn.exec_driver_sql(
            f"SELECT count(*) FROM (SELECT 1 FROM device_search WHERE search LIKE {sql.marker} LIMIT {TOTAL_CAP + 1:d})",
            (f"%{text}%",)).scalar_one()
        if found > TOTAL_CAP:
            return True
    return False


def _nil_condition(sql: _Sql, f: DeviceFilter, subject: str) -> str:
    """Devices whose NIL subject is `subject`: a decision in force says so, else (none) its producer's
    determination does, or for a device with no known producer its contested badge (review) or nothing
    (unknown). Written as arms an index serves (decided_nil, producer_id, brand), not as one CASE every row
    must be read for."""
    m = sql.marker
    arms = [f"x.decided_nil = {m}"]
    sql.params.append(subject)
    machine: list[str] = []
    producers = [p for p, s in f.producer_subjects if s == subject]
    if producers:
        machine.append(f"x.producer_id IN ({sql.values(producers)})")
    # A stored producer is always one the knowledge holds (identification takes them from it, and a device
    # whose producer it lost could not be shown), so "no known producer" is a NULL an index finds.
    if subject == "review" and f.contested_brands:
        machine.append(f"(x.brand IN ({sql.values(f.contested_brands)}) AND x.producer_id IS NULL)")
    elif subject == "unknown":
        contested = f" AND (x.brand IS NULL OR x.brand NOT IN ({sql.values(f.contested_brands)}))" \
            if f.contested_brands else ""
        machine.append(f"(x.producer_id IS NULL{contested})")
    # SQLite: unary plus keeps "no decision" (most rows) off the decided_nil index, so each arm is found
    # through the producer or badge index rather than through every undecided device.
    undecided = "+x.decided_nil IS NULL" if sql.conn.dialect.name == "sqlite" else "x.decided_nil IS NULL"
    arms += [f"({undecided} AND {arm})" for arm in machine]
    return "(" + " OR ".join(arms) + ")"


def _where(conn: Connection, scope: SiteScope, f: DeviceFilter) -> _Sql:
    sql = _Sql(conn)
    m = sql.marker
    if scope.department_id is not None:
        sql.add(f"x.department_id = {m}", scope.department_id)
    if scope.site_id is not None:
        sql.add(f"x.site_id = {m}", scope.site_id)
    if f.site_id is not None:
        sql.add(f"x.site_id = {m}", f.site_id)
    if f.department_id is not None:
        sql.add(f"x.department_id = {m}", f.department_id)
    if f.sensitivity:
        if f.sensitivity not in SENSITIVITY:
            raise ValueError(f"sensitivity {f.sensitivity!r}: expected one of {', '.join(SENSITIVITY)}")
        any_criterion = "(s4.holds_secret OR s4.dv_hub OR s4.ministerial OR s4.socpa)"
        test = {"sensitive": any_criterion, "other": f"NOT {any_criterion}"}.get(f.sensitivity, f"s4.{f.sensitivity}")
        sql.add(f"x.site_id IN (SELECT s4.id FROM sites s4 WHERE {test})")
    if f.q:
        _search(sql, f.q, f.q_producers)
    if f.producer == "none":
        sql.add("x.producer_id IS NULL")
    elif f.producer:
        sql.add(f"x.producer_id = {m}", f.producer)
    if f.device_class:
        sql.add(f"x.device_class = {m}", f.device_class)
    if f.nil_subject:
        sql.conditions.append(_nil_condition(sql, f, f.nil_subject))
    if f.status:
        if f.status != "none" and f.status not in SEVERITY:
            raise ValueError(f"status {f.status!r}: expected one of {', '.join(SEVERITY)} or none")
        sql.add(f"x.worst = {m}", WORST_NONE if f.status == "none" else SEVERITY.index(f.status))
    if f.review_pending:
        sql.add("x.pending = 1")
    for column, low, high in (("x.first_seen", f.first_seen_from, f.first_seen_to),
                              ("x.last_seen", f.last_seen_from, f.last_seen_to)):
        if low is not None:
            sql.add(f"{column} >= {m}", datetime.combine(low, time.min))
        if high is not None:  # the whole of the last day
            sql.add(f"{column} < {m}", datetime.combine(high + timedelta(days=1), time.min))
    return sql


def _from(sql: _Sql, sort_column: str) -> str:
    joins = "FROM device_index x"
    if sql.needs_device or sort_column.startswith("d."):
        joins += " JOIN devices d ON d.id = x.device_id"
    if sort_column.startswith("i."):
        joins += " LEFT JOIN identities i ON i.device_id = x.device_id"
    if sort_column.startswith("s."):
        joins += " JOIN sites s ON s.id = x.site_id"
    return joins


def _facets_only(f: DeviceFilter) -> bool:
    """Whether every condition of the filter is on a column the facet counts keep (no search, no dates)."""
    return not f.q and f.first_seen_from is None and f.first_seen_to is None and f.last_seen_from is None \
        and f.last_seen_to is None


def _count(conn: Connection, sql: _Sql, f: DeviceFilter, cap: int | None, walk: bool = False) -> tuple[int, bool]:
    """`walk`: SQLite, count the capped matches reading rows in id order (see _walk_in_id_order)."""
    where = f" WHERE {' AND '.join(sql.conditions)}" if sql.conditions else ""
    params = tuple(sql.params)
    if _facets_only(f):  # exact, from a few tens of thousands of rows whatever the number that match
        return int(conn.exec_driver_sql(f"SELECT COALESCE(sum(x.devices), 0) FROM device_facets x{where}",
                                        params).scalar_one()), False
    if cap is not None and cap <= TOTAL_CAP and sql.search_overflows and len(sql.conditions) == 1:
        return cap, True  # the search is the only condition, and the trigram table already found more than cap
    if cap is None:
        return int(conn.exec_driver_sql(f"SELECT count(*) {_from(sql, 'x.device_id')}{where}", params).scalar_one()), \
            False
    source = _from(sql, "x.device_id")
    if walk:
        source = source.replace("FROM device_index x", "FROM device_index x NOT INDEXED", 1)
    found = int(conn.exec_driver_sql(f"SELECT count(*) FROM (SELECT 1 {source}{where} LIMIT {cap + 1:d}) t",
                                     params).scalar_one())
    return min(found, cap), found > cap


def count_devices(conn: Connection, scope: SiteScope, f: DeviceFilter) -> int:
    """How many devices in the scope the filter matches, exactly (the index must be fresh: `refresh_if_stale`)."""
    if scope.nothing:
        return 0
    return _count(conn, _where(conn, scope, f), f, None)[0]


def count_matches(conn: Connection, scope: SiteScope, f: DeviceFilter, cap: int | None = None) -> tuple[int, bool]:
    """(how many match, whether counting stopped at `cap`): exact for filters alone, whatever the number (summed
    from the facet counts); a search or a date range is counted up to `cap` (more than that says "more than")."""
    if scope.nothing:
        return 0, False
    return _count(conn, _where(conn, scope, f), f, TOTAL_CAP if cap is None else cap)


def _walk_in_id_order(conn: Connection, scope: SiteScope, f: DeviceFilter, sql: _Sql, sort: str, wanted: int) -> bool:
    """SQLite, a search many devices match together with filters many devices match (e.g. 'hikvision' at sensitive
    sites): whether reading rows in id order finds a page sooner than reading every device the filters match
    through their index and sorting them. Taking the two as independent, a page costs `wanted` / (share matching
    both) rows in id order, against every device the filters match: the walk wins once the filters match more
    than devices x sqrt(wanted / TOTAL_CAP) (7% of devices for a page of 50).

    Filters alone (e.g. every NIL-subject device, a third of the estate): the walk costs wanted x devices /
    matching rows against `matching` through the index, so it wins once matching^2 > wanted x devices (some
    7,000 devices of a million). The counts come from the facet table, so deciding costs a few milliseconds."""
    if conn.dialect.name != "sqlite" or sort != "id" or not sql.conditions:
        return False
    searching = sql.search_overflows and len(sql.conditions) >= 2
    if not searching and (f.q or not _facets_only(f)):
        return False
    rest = replace(f, q=None, q_producers=())
    if not _facets_only(rest):
        return False
    matching = _count(conn, _where(conn, scope, rest), rest, None)[0]
    devices = int(conn.exec_driver_sql("SELECT COALESCE(max(device_id), 0) FROM device_index").scalar_one())
    if searching:
        return matching * matching * TOTAL_CAP > wanted * devices * devices
    return matching * matching > wanted * devices


def find_device_ids(conn: Connection, scope: SiteScope, f: DeviceFilter, *, sort: str = "id", descending: bool = False,
                    after: tuple[Any, int] | None = None, limit: int = 50, with_total: bool = True) -> DeviceIdPage:
    """One page of the ids of the devices the filter matches, in `sort` order (ties by id), after the keyset
    `after` = (sort value, id) of the previous page's last row; and, if asked, how many match in all.
    Reads the inventory index (store.inventory_index), which the caller keeps fresh."""
    if sort not in SORTS:
        raise ValueError(f"sort {sort!r}: expected one of {', '.join(SORTS)}")
    if scope.nothing or limit <= 0:
        return DeviceIdPage([], 0 if with_total else None, None)
    column = SORTS[sort]
    sql = _where(conn, scope, f)
    m = sql.marker
    # NULLs sort as '' so the keyset comparison is a plain one on both databases.
    key = "x.device_id" if sort == "id" else f"COALESCE({column}, {_blank(column)})"
    conditions, params = list(sql.conditions), list(sql.params)
    op = "<" if descending else ">"
    if after is not None:
        value, last_id = after
        if column.endswith("_seen") and isinstance(value, str):
            value = datetime.fromisoformat(value)
        if sort == "id":
            conditions.append(f"x.device_id {op} {m}")
            params.append(last_id)
        else:
            conditions.append(f"({key} {op} {m} OR ({key} = {m} AND x.device_id {op} {m}))")
            params += [value, value, last_id]
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    direction = "DESC" if descending else "ASC"
    order = f"x.device_id {direction}" if sort == "id" else f"{key} {direction}, x.device_id {direction}"
    source = _from(sql, column)
    walk = _walk_in_id_order(conn, scope, f, sql, sort, limit + 1)
    if walk:
        source = source.replace("FROM device_index x", "FROM device_index x NOT INDEXED", 1)
    rows = conn.exec_driver_sql(f"SELECT x.device_id, {key} {source}{where} ORDER BY {order} "
                                f"LIMIT {limit + 1:d}", tuple(params)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    total, capped = _count(conn, sql, f, TOTAL_CAP, walk) if with_total else (None, False)
    next_after = (_plain(rows[-1][1]), int(rows[-1][0])) if more and rows else None
    return DeviceIdPage([int(r[0]) for r in rows], total, next_after, capped)


def iter_device_ids(conn: Connection, scope: SiteScope, f: DeviceFilter, *, sort: str = "id",
                    descending: bool = False, chunk: int = 5000) -> Iterator[list[int]]:
    """Every matching id in order, a chunk at a time (exports): keyset pages, so memory stays flat."""
    after: tuple[Any, int] | None = None
    while True:
        page = find_device_ids(conn, scope, f, sort=sort, descending=descending, after=after, limit=chunk,
                               with_total=False)
        if page.ids:
            yield page.ids
        if page.next_after is None:
            return
        after = page.next_after


def _blank(column: str) -> str:
    """What NULL sorts as: '' for text, the epoch for times."""
    return "'1970-01-01 00:00:00'" if column.endswith("_seen") else "''"


def _plain(value: Any) -> Any:
    """A keyset value as the cursor carries it (text: datetimes as ISO with a space, as SQLite stores them)."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return value


def read_devices_by_id(conn: Connection, scope: SiteScope, ids: Sequence[int], *, with_evidence: bool = False,
                       sites: dict[int, Site] | None = None,
                       link_evidence: EvidenceLinker | None = None) -> list[tuple[DeviceView, Site]]:
    """These devices (those in the scope), in the order the ids are given: a page the inventory found."""
    if not ids:
        return []
    found: dict[int, tuple[DeviceView, Site]] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start:start + 500]
        for view, site in read_devices(conn, scope, with_evidence=with_evidence, id_list=chunk, sites=sites,
                                       link_evidence=link_evidence):
            found[view.id] = (view, site)
    return [found[i] for i in ids if i in found]


def worst_statuses(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    """Each device's most severe finding status (devices with no finding are absent)."""
    if not ids:
        return {}
    worst: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        params: list[Any] = []
        where = _id_in(conn, "f.device_id", ids[start:start + 500], params)
        rows = conn.exec_driver_sql(
            "SELECT DISTINCT f.device_id, o.status FROM findings f JOIN outcomes o ON o.id = f.outcome_id "
            f"WHERE {where}", tuple(params)).all()
        for device_id, status in rows:
            current = worst.get(device_id)
            if current is None or SEVERITY.index(status) < SEVERITY.index(current):
                worst[device_id] = status
    return worst


def seen_times(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[Any, Any]]:
    """(first seen, last seen) of each device."""
    if not ids:
        return {}
    seen: dict[int, tuple[Any, Any]] = {}
    for start in range(0, len(ids), 500):
        params: list[Any] = []
        where = _id_in(conn, "id", ids[start:start + 500], params)
        for device_id, first, last in conn.exec_driver_sql(
                f"SELECT id, first_seen, last_seen FROM devices WHERE {where}", tuple(params)):
            seen[int(device_id)] = (first, last)
    return seen


def department_id_named(conn: Connection, name: str) -> int | None:
    """The id of the department of this name (exactly, or ignoring case), or None."""
    marker = "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"
    rows = conn.exec_driver_sql(f"SELECT id, name FROM departments WHERE lower(name) = {marker}",
                                (name.strip().lower(),)).all()
    exact = [r[0] for r in rows if r[1] == name.strip()]
    return int(exact[0]) if exact else (int(rows[0][0]) if len(rows) == 1 else None)


def scope_names(conn: Connection, scope: SiteScope, site_limit: int) -> tuple[list[tuple[int, str]],
                                                                              list[tuple[int, str]], int]:
    """(departments, sites, how many sites) in the scope by name, for filter choices: at most `site_limit` sites
    (a list of five thousand is no use to choose from; the search box finds a site by name)."""
    if scope.nothing:
        return [], [], 0
    marker = "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"
    conditions, params = [], []
    if scope.department_id is not None:
        conditions.append(f"s.department_id = {marker}")
        params.append(scope.department_id)
    if scope.site_id is not None:
        conditions.append(f"s.id = {marker}")
        params.append(scope.site_id)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    departments = [(int(i), str(n)) for i, n in conn.exec_driver_sql(
        f"SELECT DISTINCT d.id, d.name FROM departments d JOIN sites s ON s.department_id = d.id{where} "
        "ORDER BY d.name", tuple(params))]
    count = int(conn.exec_driver_sql(f"SELECT count(*) FROM sites s{where}", tuple(params)).scalar_one())
    sites = [(int(i), str(n)) for i, n in conn.exec_driver_sql(
        f"SELECT s.id, s.name FROM sites s{where} ORDER BY s.name LIMIT {site_limit:d}", tuple(params))]
    return departments, sites if count <= site_limit else [], count
