"""Where SQLite and PostgreSQL could differ, held the same on both: text with NUL and control characters,
case rules for names, ordering, and concurrent writers (PostgreSQL lets them run at once; SQLite queues them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from clearsite.core.errors import ClearsiteError
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Evidence, Network, Signal, Site
from clearsite.services import imports
from clearsite.services.imports import AgentObservation
from clearsite.store.audit import verify
from clearsite.store.db import open_database
from clearsite.store.reads import SiteScope
from clearsite.store.site_reads import list_sites
from clearsite.store.sites import add_site, find_site
from clearsite.store.tables import DeviceRow, ObservationRow
from clearsite.store.transactions import write_transaction

SITE = "Harbour House"
DEPARTMENT = "Department of Examples"


@pytest.fixture
def engine(store_url: str) -> Engine:
    engine = open_database(store_url)
    with write_transaction(engine) as conn:
        add_site(conn, Site(SITE, DEPARTMENT, networks=(Network("10.1.0.0/16"),)))
    return engine


def _agent_items(count: int, prefix: str = "cam") -> list[AgentObservation]:
    return [AgentObservation(id=f"{prefix}-{n}", content_sha256=f"{prefix}-{n}", ip=f"10.1.{n // 250}.{n % 250 + 1}",
                             serial=f"SN-{prefix}-{n}",
                             evidence=(Evidence(Signal.BRAND, "Hikvision", "survey"),))
            for n in range(count)]


def _counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        observations = conn.scalar(select(func.count()).select_from(ObservationRow))
        devices = conn.scalar(select(func.count()).select_from(DeviceRow))
        distinct = conn.scalar(select(func.count(func.distinct(DeviceRow.serial))))
    return int(observations or 0), int(devices or 0), int(distinct or 0)


def _together(calls: list[Callable[[], Any]]) -> list[BaseException]:
    """Run the calls on threads released at one moment; the errors they raised."""
    start = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Callable[[], Any]) -> None:
        start.wait(timeout=60)
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - every failure is the test's answer
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
        assert not thread.is_alive(), "a concurrent writer never finished"
    return errors


def test_the_same_push_sent_at_once_by_several_workers_is_stored_once(engine: Engine, packaged_kb: Knowledge) -> None:
    """A retried batch can reach a second server worker while the first still holds it: neither may fail
    with a unique-constraint error, and nothing may be stored twice."""
    items = _agent_items(120)
    pushes = [lambda: imports.push_observations(engine, packaged_kb, SiteScope(), 1, "agent-h", "agent-h", items)
              for _ in range(4)]
    assert _together(pushes) == []
    assert _counts(engine) == (120, 120, 120)
    with engine.connect() as conn:
        assert verify(conn).ok


def test_pushes_about_the_same_cameras_from_two_agents_make_one_device_each(engine: Engine,
                                                                              packaged_kb: Knowledge) -> None:
    """Different observation ids, same serials: the devices they describe must merge, not double."""
    first, second = _agent_items(80, "a"), _agent_items(80, "a")
    second = [AgentObservation(id=f"other-{i.id}", content_sha256=f"other-{i.id}", ip=i.ip, serial=i.serial,
                               evidence=i.evidence) for i in second]
    errors = _together([
        lambda: imports.push_observations(engine, packaged_kb, SiteScope(), 1, "agent-1", "agent-1", first),
        lambda: imports.push_observations(engine, packaged_kb, SiteScope(), 1, "agent-2", "agent-2", second)])
    assert errors == []
    assert _counts(engine) == (160, 80, 80)


def test_concurrent_pushes_for_different_sites_all_land(engine: Engine, packaged_kb: Knowledge) -> None:
    with write_transaction(engine) as conn:
        for n in range(2, 6):
            add_site(conn, Site(f"Site {n}", DEPARTMENT, networks=(Network(f"10.{n}.0.0/16"),)))
    pushes = []
    for n in range(2, 6):
        items = [AgentObservation(id=f"s{n}-{k}", content_sha256=f"s{n}-{k}", ip=f"10.{n}.0.{k + 1}",
                                  serial=f"SN-{n}-{k}") for k in range(50)]
        pushes.append(lambda n=n, items=items: imports.push_observations(
            engine, packaged_kb, SiteScope(), n, f"agent-{n}", f"agent-{n}", items))
    assert _together(pushes) == []
    assert _counts(engine) == (200, 200, 200)
    with engine.connect() as conn:
        assert verify(conn).ok


def test_control_characters_in_a_register_are_cleaned_and_a_nul_refused_alike(engine: Engine, packaged_kb: Knowledge,
                                                                                 tmp_path: Path) -> None:
    register = tmp_path / "register.csv"
    register.write_text("Make,Model,Serial No,MAC,IP Address,Location\n"
                        "Hik\x07vision,DS-2CD2143G2-I,SER\x1bIAL-1,C0:56:E3:00:00:01,10.1.0.9,Gate\u202e \x1b[2Jhouse\n",
                        encoding="utf-8")
    imports.import_register(engine, register, packaged_kb, site=SITE)
    with engine.connect() as conn:
        serial, location = conn.execute(select(DeviceRow.serial, DeviceRow.location)).one()
        data = conn.scalar(select(ObservationRow.data))
    assert "\x07" not in repr(data) and "\x1b" not in repr(data)
    assert serial == "SERIAL-1" and location == "Gate [2Jhouse"
    register.write_text("Make,Model,Serial No\nHik\x00vision,DS-2CD2143G2-I,SER\x00IAL-2\n", encoding="utf-8")
    with pytest.raises(ClearsiteError, match="binary"):  # a NUL in a CSV means it is not text at all
        imports.import_register(engine, register, packaged_kb, site=SITE)


def test_names_with_nul_and_escape_are_cleaned_or_refused_alike(engine: Engine) -> None:
    """SQLite would keep a NUL that PostgreSQL refuses with a driver error (an HTTP 500)."""
    from clearsite.store.users import Role, add_user, create_token, find_user

    with write_transaction(engine) as conn:
        site_id = add_site(conn, Site("Nul\x00House\x1b[31m", "Dept\x00 B", region="No\x00rth"))
        site = next(s for s in list_sites(conn, SiteScope()) if s["id"] == site_id)
        with pytest.raises(ClearsiteError):
            add_user(conn, "mall\x00ory", "a long enough password", Role.OFFICER, department="Dept B", actor="t")
        user = add_user(conn, "agent-b", "a long enough password", Role.AGENT, site=site["name"], actor="t")
        create_token(conn, user, "host\x00name\x1b]0;", actor="t")
    assert site["name"] == "NulHouse[31m" and "\x00" not in str(site)
    with engine.connect() as conn:
        assert find_user(conn, "agent-b").site_id == site_id


def test_site_names_match_whatever_their_case_and_spacing(engine: Engine) -> None:
    with engine.connect() as conn:
        assert find_site(conn, "  harbour   HOUSE ") == find_site(conn, SITE) == 1
    with pytest.raises(ClearsiteError), write_transaction(engine) as conn:
        add_site(conn, Site("HARBOUR house", DEPARTMENT))


def test_sites_are_listed_in_the_same_order_on_both_databases(engine: Engine) -> None:
    """ORDER BY on text follows the database's collation (bytes on SQLite, a language's rules on a
    PostgreSQL server set up in en_GB, as the test server is): the list must not depend on which is behind it."""
    names = ["alpha Yard", "Bravo Depot", "_Stores", "a b Annex", "Zulu", "Éclair House", "zebra Point"]
    with write_transaction(engine) as conn:
        for name in names:
            add_site(conn, Site(name, DEPARTMENT))
        listed = [s["name"] for s in list_sites(conn, SiteScope())]
    assert listed == ["_Stores", "a b Annex", "alpha Yard", "Bravo Depot", SITE, "zebra Point", "Zulu", "Éclair House"]


def test_pool_sizes_come_from_the_environment_and_bad_ones_are_refused_naming_the_setting() -> None:
    from clearsite.core.errors import InputError
    from clearsite.store.db import pool_settings

    assert pool_settings({}) == {"pool_size": 5, "max_overflow": 10, "pool_timeout": 30, "pool_recycle": 1800}
    assert pool_settings({"CLEARSITE_DB_POOL_SIZE": "20", "CLEARSITE_DB_MAX_OVERFLOW": "0"})["pool_size"] == 20
    for variable, value in (("CLEARSITE_DB_POOL_SIZE", "0"), ("CLEARSITE_DB_POOL_SIZE", "lots"),
                            ("CLEARSITE_DB_MAX_OVERFLOW", "-1")):
        with pytest.raises(InputError, match=variable):
            pool_settings({variable: value})


def test_a_postgresql_engine_uses_the_configured_pool(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARSITE_DB_POOL_SIZE", "7")
    monkeypatch.setenv("CLEARSITE_DB_MAX_OVERFLOW", "3")
    engine = open_database(postgres_url)
    assert (engine.pool.size(), engine.pool._max_overflow) == (7, 3)  # type: ignore[attr-defined]
    engine.dispose()
