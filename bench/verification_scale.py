"""Verification of removal claims at scale: 100,000 claimed removals against a 1,000,000-observation intake.

    .venv/bin/python bench/verification_scale.py               # 1,000 sites, 1,000,000 devices, 100,000 claims
    .venv/bin/python bench/verification_scale.py --scale 0.1   # the same at 1/10 size
    .venv/bin/python bench/verification_scale.py --db postgresql+psycopg://…   # on PostgreSQL

Set-up (not timed as the figure): sites with a /21 network each, a first intake that makes 1,000 devices
per site (one observation each, a MAC and an address), and 100 claimed removals per site written in bulk.
The measured intake is what a central scan of every site brings a week later, through the one intake
(services.intake.record_observations) with the sites' networks as its coverage: 1,000 observations per
site — the 900 unclaimed devices seen again, 1 claimed device still there, 99 replacements at new
addresses — so 99% of the claims verify and 1% are contradicted. Reported: the whole intake's time, the
time spent in verification (IntakeProof.note as batches pass, and finish), and the outcome counts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, insert, select

from clearsite.core.models import Evidence, Network, Signal, Site
from clearsite.services import verification
from clearsite.services.intake import Closing, Intake, Recorded, Source, record_observations
from clearsite.services.knowledge import load_knowledge
from clearsite.store.db import open_database
from clearsite.store.devices import NewObservation, fingerprint
from clearsite.store.removals import RemovalRow, set_removed_on
from clearsite.store.sites import add_site
from clearsite.store.tables import DeviceRow
from clearsite.store.transactions import write_transaction

DEVICES_PER_SITE = 1000
CLAIMS_PER_SITE = 100
STILL_THERE_PER_SITE = 1  # claimed, but seen again: contradicted
BATCH = 20_000


def site_network(index: int) -> str:
    return f"10.{index // 32}.{(index % 32) * 8}.0/21"


def address(index: int, offset: int) -> str:
    third = (index % 32) * 8 + offset // 256
    return f"10.{index // 32}.{third}.{offset % 256}"


def mac(index: int, offset: int, replacement: bool = False) -> str:
    value = (index << 12) | offset | (1 << 11 if replacement else 0)
    return ":".join(f"{b:02X}" for b in (0xAC, 0xCC, 0x8E) + tuple(value.to_bytes(3, "big")))


def observation(site_id: int, index: int, offset: int, round_: int, replacement: bool = False) -> NewObservation:
    ip, hw = address(index, offset), mac(index, offset, replacement)
    content = f"{round_}|{ip}|{hw}"
    return NewObservation(site_id, "probe", ip, {"ip": ip, "mac": hw, "round": round_},
                          (Evidence(Signal.MAC, hw, "arp"),), fingerprint(site_id, "probe", content, 0), mac=hw, ip=ip)


def intake(engine, knowledge, name: str, batches, covered: tuple[str, ...] = ()) -> Recorded:  # type: ignore[no-untyped-def]
    def open_intake(_conn):  # type: ignore[no-untyped-def]
        def close(recorded: Recorded) -> Closing:
            return Closing("bench.import", f"source:{recorded.source_id}", recorded.counts(), recorded.stored)

        return Intake(Source("scan", name, hashlib.sha256(name.encode()).hexdigest(), "bench", None, None, covered),
                      batches, close)

    recorded = record_observations(engine, knowledge, open_intake)
    assert recorded is not None
    return recorded


def batched(items, size: int = BATCH):  # type: ignore[no-untyped-def]
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 1,000 sites (1,000,000 observations)")
    parser.add_argument("--db", help="a database URL (default: a new SQLite file)")
    args = parser.parse_args()
    sites_count = max(1, round(1000 * args.scale))
    folder = Path(tempfile.mkdtemp(prefix="clearsite-verify-bench-"))
    engine = open_database(args.db or f"sqlite:///{folder / 'bench.db'}")
    knowledge = load_knowledge()

    started = time.perf_counter()
    site_ids: list[int] = []
    with write_transaction(engine) as conn:
        for index in range(sites_count):
            site_ids.append(add_site(conn, Site(f"Site {index:04d}", f"Dept {index % 20:02d}", "Region",
                                                networks=(Network(site_network(index)),))))
    first = intake(engine, knowledge, "first survey", batched(
        observation(site_id, index, offset, 1)
        for index, site_id in enumerate(site_ids) for offset in range(1, DEVICES_PER_SITE + 1)))
    claimed_at = datetime.now(UTC).replace(tzinfo=None)
    with write_transaction(engine) as conn:
        by_ip = {(row.site_id, row.ip): row for row in conn.execute(
            select(DeviceRow.id, DeviceRow.site_id, DeviceRow.ip, DeviceRow.mac))}
        rows = []
        for index, site_id in enumerate(site_ids):
            for offset in range(1, CLAIMS_PER_SITE + 1):
                device = by_ip[(site_id, address(index, offset))]
                rows.append({"device_id": device.id, "site_id": site_id, "status": "claimed",
                             "removed_on": date.today(), "claimed_at": claimed_at, "claimed_by": "bench",
                             "last_ip": device.ip, "last_mac": device.mac, "identity": {}, "status_at": claimed_at})
        for start in range(0, len(rows), BATCH):
            conn.execute(insert(RemovalRow), rows[start:start + BATCH])
        set_removed_on(conn, [r["device_id"] for r in rows], date.today())
    setup = time.perf_counter() - started
    print(f"set-up: {sites_count:,} sites, {first.new_devices:,} devices, {len(rows):,} claims in {setup:.1f} s",
          file=sys.stderr)

    spent: Counter[str] = Counter()
    for name in ("note", "finish"):
        original = getattr(verification.IntakeProof, name)

        def timed(self, *a, _original=original, _name=name):  # type: ignore[no-untyped-def]
            begun = time.perf_counter()
            try:
                return _original(self, *a)
            finally:
                spent[_name] += time.perf_counter() - begun

        setattr(verification.IntakeProof, name, timed)

    def week_later():  # type: ignore[no-untyped-def]
        for index, site_id in enumerate(site_ids):
            for offset in range(1, DEVICES_PER_SITE + 1):
                if offset <= CLAIMS_PER_SITE and offset > STILL_THERE_PER_SITE:
                    continue  # removed
                yield observation(site_id, index, offset, 2)
            for offset in range(DEVICES_PER_SITE + 1, DEVICES_PER_SITE + CLAIMS_PER_SITE - STILL_THERE_PER_SITE + 1):
                yield observation(site_id, index, offset, 2, replacement=True)

    begun = time.perf_counter()
    second = intake(engine, knowledge, "central scan, a week later", batched(week_later()),
                    covered=tuple(site_network(i) for i in range(sites_count)))
    total = time.perf_counter() - begun
    with engine.connect() as conn:
        outcome = dict(conn.execute(select(RemovalRow.status, func.count()).group_by(RemovalRow.status)).all())
    result = {"sites": sites_count, "claims": len(rows), "observations": second.stored + second.duplicates,
              "intake_seconds": round(total, 1), "verification_seconds": round(spent["note"] + spent["finish"], 1),
              "note_seconds": round(spent["note"], 1), "finish_seconds": round(spent["finish"], 1),
              "outcome": outcome, "database": engine.url.get_backend_name()}
    print(json.dumps(result, indent=2))
    expected_verified = sites_count * (CLAIMS_PER_SITE - STILL_THERE_PER_SITE)
    assert outcome.get("verified") == expected_verified, outcome
    assert outcome.get("contradicted") == sites_count * STILL_THERE_PER_SITE, outcome


if __name__ == "__main__":
    main()
