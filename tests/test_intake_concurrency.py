"""Two agents' pushes for different sites at the same time, both in the intake at once.

PostgreSQL runs intakes concurrently: each takes its site's intake lock (store.bulk.lock_sites_for_intake),
stores and identifies, then appends to the audit log under the log's one advisory lock, re-assesses,
raises alerts and commits. If two intakes took locks in different orders, or both wrote one row after the
audit lock, they would deadlock and PostgreSQL would abort one. Here the audit lock is held from outside
until both intakes are waiting for it, so both have done every write before it; then it is let go. Both
must commit, with everything they pushed, and the audit chain must verify. On SQLite, writers queue on
the database's write lock; the same pushes must both commit there too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, func, select

from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Evidence, Signal
from clearsite.services import imports
from clearsite.services.imports import AgentObservation, content_digest
from clearsite.services.sites import add_site
from clearsite.store import audit
from clearsite.store.alerts import AlertRow
from clearsite.store.db import open_database
from clearsite.store.reads import EVERYTHING
from clearsite.store.tables import DeviceRow, ObservationRow

HOSTS = 60


def _items(n: int, first: int = 0, count: int = HOSTS) -> list[AgentObservation]:
    items = []
    for index in range(first, first + count):
        ip, mac = f"10.{n}.0.{index + 1}", f"C0:56:{n:02X}:00:00:{index:02X}"
        evidence = (Evidence(Signal.HTTP_SERVER, "App-webs/", f"http://{ip}/"),
                    Evidence(Signal.SERIAL, f"DS-2CD{n}{index:04d}", f"onvif://{ip}/"))
        content = {"ip": ip, "mac": mac, "evidence": [[e.signal.value, e.value, e.source] for e in evidence]}
        items.append(AgentObservation(id=f"s{n}-{index}", content_sha256=content_digest(content), ip=ip, mac=mac,
                                      mac_as_sent=mac, evidence=evidence))
    return items


def _waiting_on_advisory_locks(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").scalar_one())


def _wait_for(condition: Callable[[], bool], what: str, failed: Callable[[], str | None], deadline_s: float = 120) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        if (problem := failed()) is not None:
            raise AssertionError(f"while waiting for {what}: {problem}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_two_intakes_for_different_sites_at_once_both_commit(store_url: str, packaged_kb: Knowledge) -> None:
    engine = open_database(store_url)
    try:
        site_ids = [add_site(engine, "setup", name=f"Concurrent {n}", department="Department of Pushes",
                             dv_hub=True, networks=[f"10.{n}.0.0/24"]).id for n in (1, 2)]
        for n, site_id in zip((1, 2), site_ids, strict=True):  # devices there before: new ones then alert
            imports.push_observations(engine, packaged_kb, EVERYTHING, site_id, f"agent-{n}", f"token:agent-{n}",
                                      _items(n, HOSTS, 1), key=f"{site_id}:seed")
        results: dict[int, dict[str, Any]] = {}
        errors: list[str] = []

        def push(n: int, site_id: int) -> None:
            try:
                results[n] = imports.push_observations(engine, packaged_kb, EVERYTHING, site_id, f"agent-{n}",
                                                       f"token:agent-{n}", _items(n), key=f"{site_id}:batch-{n}")
            except Exception as exc:  # noqa: BLE001 - reported by the test thread below
                errors.append(f"push {n}: {type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=push, args=(n, site_id)) for n, site_id in zip((1, 2), site_ids, strict=True)]
        postgres = engine.dialect.name == "postgresql"
        holder = engine.connect() if postgres else None
        try:
            if holder is not None:  # the audit log's lock, held so that both intakes reach it before either passes
                holder.exec_driver_sql("SELECT pg_advisory_lock(%s)", (audit._PG_LOCK,))
                holder.commit()
            for thread in threads:
                thread.start()
            if holder is not None:
                _wait_for(lambda: _waiting_on_advisory_locks(engine) >= 2, "both intakes to wait for the audit lock",
                          lambda: "; ".join(errors) or None)
        finally:
            if holder is not None:
                holder.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (audit._PG_LOCK,))
                holder.commit()
                holder.close()
            for thread in threads:
                thread.join(300)
        assert not errors, errors
        assert all(not thread.is_alive() for thread in threads)
        assert [results[n]["stored"] for n in (1, 2)] == [HOSTS, HOSTS]
        with engine.connect() as conn:
            for site_id in site_ids:
                stored = conn.scalar(select(func.count()).select_from(ObservationRow).where(ObservationRow.site_id == site_id))
                devices = conn.scalar(select(func.count()).select_from(DeviceRow).where(DeviceRow.site_id == site_id))
                alerts = conn.scalar(select(func.count()).select_from(AlertRow).where(AlertRow.site_id == site_id))
                assert (stored, devices) == (HOSTS + 1, HOSTS + 1)
                assert alerts and alerts >= 1  # new devices at a sensitive site alert, for each intake
            assert audit.verify(conn).ok
            pushes = [e for e in audit.entries(conn, 0, 1000) if e.action == "observations.push"]
            assert sorted(e.target for e in pushes) == sorted(f"site:{s}" for s in site_ids * 2)
    finally:
        engine.dispose()
