"""Storing observations and merging them into devices; the raw reads identification needs.

Everything one intake does happens in the caller's transaction, so a failure leaves the database
as it was. Observations carry a content fingerprint, so storing the same file twice adds nothing.
The store decides nothing about what a device is: services identify devices from the raw data
read here and hand back the identity rows to write (store.identities).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, insert, select, update

from clearsite.core.models import Evidence
from clearsite.store.bulk import (
    allocate_ids,
    constant,
    dumps,
    insert_rows,
    lock_sites_for_intake,
    new_id,
    table_of,
)
from clearsite.store.tables import DeviceRow, IdentityRow, ObservationRow, SourceRow

CHUNK = 5000
_PLACEHOLDER = re.compile(r"^(?:n/?a|none|null|unknown|not known|tbc|tba|unreadable|-+|\?+|0+|x+)$", re.I)
_NOT_SERIAL_CHAR = re.compile(r"[^0-9A-Za-z]")


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def clean_serial(text: str | None) -> str | None:
    """A serial as a join key: placeholders like 'N/A' or 'TBC' are no serial at all."""
    if not text or _PLACEHOLDER.match(text.strip()):
        return None
    key = _NOT_SERIAL_CHAR.sub("", text).upper()
    return key or None


def fingerprint(site_id: int, kind: str, content: str, occurrence: int) -> str:
    """Same content at the same site (and the n-th repeat of it in one source) → same fingerprint."""
    return hashlib.sha256(f"{site_id}|{kind}|{occurrence}|{content}".encode()).hexdigest()


@dataclass(slots=True)  # not frozen: an import makes a million, and a frozen dataclass takes 7x longer to make
class NewObservation:
    """One observation ready to store: where, what, and the identifying keys it offers. Not changed once made."""

    site_id: int
    kind: str
    locator: str
    fields: dict[str, Any]  # raw fields as read
    evidence: tuple[Evidence, ...]
    fingerprint: str
    serial: str | None = None
    mac: str | None = None
    ip: str | None = None
    install_date: date | None = None
    location: str | None = None
    # Prepared ahead (by a register import worker): the stored data as JSON text, and the identity row
    # columns this observation alone gives (services.identification.identity_values).
    data: str | None = None
    identity: tuple[Any, ...] | None = None


def observation_data(obs: NewObservation) -> str:
    """The JSON text an observation is stored with."""
    if obs.data is not None:
        return obs.data
    data: dict[str, Any] = {"fields": obs.fields, "install_date": obs.install_date}
    if obs.kind == "register_row":  # its evidence follows from its fields; no need to store it twice
        data["source"] = obs.evidence[0].source if obs.evidence else obs.locator
    else:
        data["evidence"] = [[e.signal.value, e.value, e.source] for e in obs.evidence]
    return dumps(data)


@dataclass
class StoreResult:
    """What one batch of observations did."""

    stored: int = 0
    duplicates: int = 0
    new_devices: int = 0
    # Devices made by this batch, with the observations that made them (to identify from those alone) …
    fresh_observations: dict[int, list[NewObservation]] = field(default_factory=dict)
    fresh_install: dict[int, date] = field(default_factory=dict)
    # … or, for a device made by one prepared observation, the identity row columns it already carries.
    fresh_identity: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    earlier_devices: set[int] = field(default_factory=set)  # devices that existed before this batch

    @property
    def touched(self) -> set[int]:
        """Every device this batch stored an observation for."""
        return self.earlier_devices | set(self.fresh_observations) | set(self.fresh_identity)


def _device_key(obs: NewObservation, serial: str | None) -> str:
    """The natural key of a device first made from `obs` (`serial` is its cleaned serial)."""
    if serial:
        return f"serial:{serial}"
    if obs.mac:
        return f"mac:{obs.mac}"
    if obs.ip:
        return f"ip:{obs.ip}"
    return f"obs:{obs.fingerprint[:40]}"


def _slot(site_id: int, text: str) -> int:
    """A 64-bit hash of (site, key text): a million devices' keys without holding a million strings.

    Two different keys at one site would have to share all 64 bits to be confused (odds about 1 in
    10^7 for a million-device import), and the unique (site, natural key) constraint still holds.
    """
    return hash((site_id, text))


_Slots = tuple["int | None", "int | None", "int | None", "int | None"]


class _DeviceIndex:
    """Devices of the sites in play, findable by serial, MAC and IP.

    A site is loaded whole when it first appears (a register import merges into most of a site's devices),
    or, for a writer made `targeted`, only the devices a batch could merge into are read, batch by batch
    (an agent's push of a thousand hosts should not read a site's hundred thousand devices each time).
    """

    def __init__(self, conn: Connection, targeted: bool = False) -> None:
        self.conn = conn
        self.targeted = targeted
        self.loaded: set[int] = set()
        self.partial: set[int] = set()  # targeted: sites with devices, read batch by batch (load_matching)
        self.empty: set[int] = set()  # sites that had no devices when loaded
        self.by_key: dict[int, int] = {}
        self.by_serial: dict[int, int] = {}
        self.by_mac: dict[int, int] = {}
        self.by_ip: dict[int, int] = {}

    def load(self, site_ids: Iterable[int]) -> None:
        ids = sorted(set(site_ids) - self.loaded - self.partial)
        lock_sites_for_intake(self.conn, ids)  # PostgreSQL: before reading what is there (store.bulk says why)
        if self.targeted:
            for site_id in ids:
                has_devices = self.conn.execute(select(DeviceRow.id).where(DeviceRow.site_id == site_id).limit(1)).first()
                (self.partial if has_devices else self.loaded).add(site_id)
                if not has_devices:
                    self.empty.add(site_id)
            return
        self.loaded.update(ids)
        self.empty.update(ids)
        for start in range(0, len(ids), CHUNK):
            query = select(DeviceRow.id, DeviceRow.site_id, DeviceRow.natural_key, DeviceRow.serial, DeviceRow.mac,
                           DeviceRow.ip).where(DeviceRow.site_id.in_(ids[start : start + CHUNK]))
            for row in self.conn.execute(query):
                self.empty.discard(row.site_id)
                self.add(row.id, row.site_id, row.natural_key, clean_serial(row.serial), row.mac, row.ip)

    def load_matching(self, observations: Sequence[NewObservation]) -> None:
        """Targeted: read the devices of partly read sites that these observations could merge into (same
        natural key, which holds the cleaned serial of a device made from one; same MAC; same IP)."""
        wanted: dict[int, tuple[set[str], set[str], set[str]]] = {}
        for obs in observations:
            if obs.site_id in self.partial:
                keys, macs, ips = wanted.setdefault(obs.site_id, (set(), set(), set()))
                serial = clean_serial(obs.serial)
                keys.add(_device_key(obs, serial))
                if obs.mac:
                    macs.add(obs.mac)
                elif not serial and obs.ip:
                    ips.add(obs.ip)
        marker = "%s" if self.conn.dialect.paramstyle in ("format", "pyformat") else "?"
        for site_id, (keys, macs, ips) in sorted(wanted.items()):
            keys_list, macs_list, ips_list = sorted(keys), sorted(macs), sorted(ips)
            for start in range(0, max(len(keys_list), len(macs_list), len(ips_list)), CHUNK):
                part = slice(start, start + CHUNK)
                params: list[Any] = [site_id]
                matches = " OR ".join(_any_of(self.conn, column, values[part], params) for column, values in
                                      (("natural_key", keys_list), ("mac", macs_list), ("ip", ips_list)))
                sql = (f"SELECT id, natural_key, serial, mac, ip FROM {DeviceRow.__tablename__} "
                       f"WHERE site_id = {marker} AND ({matches}) ORDER BY id")
                for device_id, key, serial, mac, ip in self.conn.exec_driver_sql(sql, tuple(params)):
                    self.add(device_id, site_id, key, clean_serial(serial), mac, ip)

    def add(self, device_id: int, site_id: int, key: str | None, serial: str | None, mac: str | None,
            ip: str | None) -> _Slots:
        """Index a device; `serial` is already cleaned (clean_serial). `key` None: not by its natural key.
        Its slots in by_key, by_serial, by_mac and by_ip (None where it has no such key), for `settle`."""
        key_slot = serial_slot = mac_slot = ip_slot = None
        if key is not None:
            self.by_key[key_slot := _slot(site_id, key)] = device_id
        if serial:
            self.by_serial.setdefault(serial_slot := _slot(site_id, serial), device_id)
        if mac:
            self.by_mac.setdefault(mac_slot := _slot(site_id, mac), device_id)
        if ip:
            self.by_ip.setdefault(ip_slot := _slot(site_id, ip), device_id)
        return key_slot, serial_slot, mac_slot, ip_slot

    def settle(self, placeholder: int, device_id: int, slots: _Slots) -> None:
        """Replace a new device's placeholder id (at the slots `add` gave) with its real one, so later batches
        merge into it."""
        for index, slot in zip((self.by_key, self.by_serial, self.by_mac, self.by_ip), slots, strict=True):
            if slot is not None and index.get(slot) == placeholder:
                index[slot] = device_id

    def find(self, obs: NewObservation, key: str, serial: str | None) -> int | None:
        site = obs.site_id
        if serial:
            found = self.by_serial.get(_slot(site, serial))
            if found is not None:
                return found
        if obs.mac:
            found = self.by_mac.get(_slot(site, obs.mac))
            if found is not None:
                return found
        if not serial and not obs.mac and obs.ip:
            found = self.by_ip.get(_slot(site, obs.ip))
            if found is not None:
                return found
        return self.by_key.get(_slot(site, key))


def _any_of(conn: Connection, column: str, values: Sequence[Any], params: list[Any]) -> str:
    """`column IN (values)` as driver SQL: on PostgreSQL one array parameter (`= ANY`), which neither
    SQLAlchemy nor the driver handle marker by marker; on SQLite a marker a value."""
    if conn.dialect.name == "postgresql":
        if values and all(type(value) is str and '"' not in value and "\\" not in value for value in values):
            # Written here as the array literal psycopg would write element by element in Python (a batch of
            # 1,000 observations asks with about 4,000 values); quoted, so no element reads as NULL or splits.
            params.append('{"' + '","'.join(values) + '"}')
            return f"{column} = ANY(CAST(%s AS TEXT[]))"
        params.append(list(values))
        return f"{column} = ANY(%s)"
    if not values:
        return "0 = 1"
    params.extend(values)
    return f"{column} IN ({', '.join(['?'] * len(values))})"


def _json(value: Any) -> Any:
    """A JSON column read by the driver: PostgreSQL's driver parses it, SQLite gives the text."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _existing_fingerprints(conn: Connection, fingerprints: Sequence[str]) -> set[str]:
    # Plain driver SQL: compiling a 5,000-parameter IN clause through SQLAlchemy costs more than the lookup.
    found: set[str] = set()
    marker = "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"
    table = ObservationRow.__tablename__
    for start in range(0, len(fingerprints), CHUNK):
        part = tuple(fingerprints[start : start + CHUNK])
        sql = f"SELECT fingerprint FROM {table} WHERE fingerprint IN ({', '.join([marker] * len(part))})"
        found.update(row[0] for row in conn.exec_driver_sql(sql, part))
    return found


def add_source(conn: Connection, kind: str, name: str, sha256: str, actor: str, site_id: int | None = None,
               details: dict[str, Any] | None = None) -> int:
    return new_id(conn.execute(insert(SourceRow).values(
        kind=kind, name=name, sha256=sha256, site_id=site_id, imported_at=now(), actor=actor, details=details or {},
    )))


class ObservationWriter:
    """Stores one source's observations batch by batch, merging them into devices across batches.

    `targeted`: read only the devices each batch could merge into, not whole sites (for intakes that are
    small next to the sites they touch: an agent's push).
    """

    def __init__(self, conn: Connection, source_id: int, targeted: bool = False, distinct: bool = False) -> None:
        self.conn = conn
        self.source_id = source_id
        self.index = _DeviceIndex(conn, targeted)
        # `distinct`: the caller's fingerprints never repeat within this writer (a register numbers its repeated
        # rows), so what it stores at sites that had no devices need not be remembered or looked up.
        self.distinct = distinct
        self.stored_at_empty_sites: set[int] = set()  # 64 bits of each fingerprint this writer stored there
        self.stamp = now()
        self.stamp_value = constant(conn, self.stamp)  # for the driver-level inserts

    def write(self, observations: Sequence[NewObservation], unseen: bool = False) -> StoreResult:
        """Store a batch. `unseen`: the caller has looked these fingerprints up in this transaction, after
        taking their sites' intake locks (store.bulk.lock_sites_for_intake), and none is stored."""
        result = StoreResult()
        conn, stamp = self.conn, self.stamp_value
        self.index.load(o.site_id for o in observations)
        self.index.load_matching(observations)
        # Every observation belongs to a device at its site, so a site that had no devices has no observations
        # stored before this writer's: its fingerprints are looked up only if this writer may have stored them.
        empty, stored_there = self.index.empty, self.stored_at_empty_sites
        known = set() if unseen else _existing_fingerprints(conn, [
            o.fingerprint for o in observations
            if o.site_id not in empty or (not self.distinct and int(o.fingerprint[:16], 16) in stored_there)])
        remembered = set() if self.distinct else empty  # sites whose fingerprints this writer must remember
        fresh: list[tuple[NewObservation, int]] = []
        new_devices: list[tuple[Any, ...]] = []
        new_slots: list[_Slots] = []  # where each new device is indexed
        # SQLite: this transaction holds the write lock, so new devices take the next ids as they are
        # found. Elsewhere they get placeholders until a sequence hands out their ids.
        next_id = allocate_ids(conn, table_of(DeviceRow), 1)[0] if conn.dialect.name == "sqlite" else None
        for obs in observations:
            if obs.fingerprint in known:
                result.duplicates += 1
                continue
            known.add(obs.fingerprint)
            if obs.site_id in remembered:
                stored_there.add(int(obs.fingerprint[:16], 16))
            serial = clean_serial(obs.serial)
            key = _device_key(obs, serial)
            found = self.index.find(obs, key, serial)
            if found is None:
                found = -(len(new_devices) + 1) if next_id is None else next_id + len(new_devices)
                new_devices.append((obs.site_id, key, obs.serial if serial else None, obs.mac, obs.ip, obs.location,
                                    obs.install_date))
                # A device made here is found by the serial, MAC or IP its key names before its key is tried
                # (_DeviceIndex.find): only a key of none of them is indexed (a million fewer entries).
                new_slots.append(self.index.add(found, obs.site_id, key if key.startswith("obs:") else None, serial,
                                                obs.mac, obs.ip))
            fresh.append((obs, found))

        real_ids: dict[int, int] = {}
        if new_devices:
            if next_id is None:
                ids: Sequence[int] = allocate_ids(conn, table_of(DeviceRow), len(new_devices))
                for position, (device_id, slots) in enumerate(zip(ids, new_slots, strict=True), start=1):
                    real_ids[-position] = device_id
                    self.index.settle(-position, device_id, slots)
            else:
                ids = range(next_id, next_id + len(new_devices))
            insert_rows(conn, table_of(DeviceRow), _DEVICE_COLUMNS,
                        [(i, *d, stamp, stamp) for i, d in zip(ids, new_devices, strict=True)])
            result.new_devices = len(new_devices)

        observation_rows: list[tuple[Any, ...]] = []
        fresh_observations: dict[int, list[NewObservation]] = {}
        for obs, found in fresh:
            device_id = real_ids[found] if found < 0 else found
            if found < 0 or (next_id is not None and found >= next_id):  # a device this batch made
                fresh_observations.setdefault(device_id, []).append(obs)
                if obs.install_date:
                    result.fresh_install[device_id] = min(obs.install_date,
                                                          result.fresh_install.get(device_id, obs.install_date))
            else:
                result.earlier_devices.add(device_id)
            observation_rows.append((self.source_id, obs.site_id, device_id, obs.kind, obs.locator, stamp,
                                     obs.fingerprint, observation_data(obs)))
        for device_id, group in fresh_observations.items():
            if len(group) == 1 and group[0].identity is not None:  # its identity is already known
                result.fresh_identity[device_id] = group[0].identity
            else:
                result.fresh_observations[device_id] = group
        insert_rows(conn, table_of(ObservationRow), _OBSERVATION_COLUMNS, observation_rows, frozenset({"data"}))
        if result.earlier_devices:
            conn.execute(update(DeviceRow).where(DeviceRow.id == bindparam("b_id")).values(last_seen=bindparam("b_seen")),
                         [{"b_id": d, "b_seen": self.stamp} for d in sorted(result.earlier_devices)])
        result.stored = len(observation_rows)
        return result


_DEVICE_COLUMNS = ("id", "site_id", "natural_key", "serial", "mac", "ip", "location", "install_date", "first_seen",
                   "last_seen")
_OBSERVATION_COLUMNS = ("source_id", "site_id", "device_id", "kind", "locator", "observed_at", "fingerprint", "data")
def set_source_counts(conn: Connection, source_id: int, rows_read: int, rows_stored: int, rows_skipped: int) -> None:
    conn.execute(update(SourceRow).where(SourceRow.id == source_id).values(
        rows_read=rows_read, rows_stored=rows_stored, rows_skipped=rows_skipped))


def stored_data_by_fingerprint(conn: Connection, fingerprints: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored data of those observations that are already stored, by fingerprint."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(fingerprints), CHUNK):
        params: list[Any] = []
        where = _any_of(conn, "fingerprint", fingerprints[start : start + CHUNK], params)
        sql = f"SELECT fingerprint, data FROM {ObservationRow.__tablename__} WHERE {where}"
        found.update((mark, _json(data)) for mark, data in conn.exec_driver_sql(sql, tuple(params)))
    return found


def devices_with_contradiction(conn: Connection, device_ids: Sequence[int], starting: str) -> set[int]:
    """Those of the devices whose stored identity records a contradiction starting with `starting`.

    The database narrows by the JSON text (one query a chunk, few rows back); each match is checked exactly."""
    found: set[int] = set()
    ids = sorted(set(device_ids))
    marker = "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"
    for start in range(0, len(ids), CHUNK):
        params: list[Any] = []
        where = _any_of(conn, "device_id", ids[start : start + CHUNK], params)
        # `starting`'s own % or _ only widen the database's match; the check below is exact.
        sql = (f"SELECT device_id, contradictions FROM {IdentityRow.__tablename__} "
               f"WHERE {where} AND CAST(contradictions AS TEXT) LIKE {marker}")
        for device_id, contradictions in conn.exec_driver_sql(sql, (*params, f"%{starting}%")):
            if any(str(c).startswith(starting) for c in _json(contradictions) or ()):
                found.add(device_id)
    return found


def observation_data_by_device(conn: Connection, device_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Each device's stored observation data, in observation order (what its evidence list is made from)."""
    data: dict[int, list[dict[str, Any]]] = {i: [] for i in device_ids}
    for start in range(0, len(device_ids), CHUNK):
        part = list(device_ids[start : start + CHUNK])
        query = select(ObservationRow.device_id, ObservationRow.data).where(ObservationRow.device_id.in_(part)) \
            .order_by(ObservationRow.id)
        for device_id, stored in conn.execute(query):
            data[device_id].append(stored)
    return data
