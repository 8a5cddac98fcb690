"""Work orders from the current plan, on SQLite and PostgreSQL: made once, re-planned only where not started,
moved on by the removals recorded against them, verified by later scans, late ones alerted once."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from clearsite.core.errors import ConflictError, InputError
from clearsite.core.plan.result import Plan
from clearsite.services import orders
from clearsite.services.alerts import list_alerts
from clearsite.services.status_report import build_status_report
from clearsite.store.db import open_database
from clearsite.store.plans import insert_plan
from clearsite.store.reads import EVERYTHING
from clearsite.store.transactions import write_transaction
from tests.removal_support import AXIS, DAHUA, HIK, claim, device_ids, make_site, scan


@pytest.fixture
def engine(store_url):  # type: ignore[no-untyped-def]
    return open_database(store_url)


def store_plan(engine, visits: list[dict[str, Any]]) -> int:  # type: ignore[no-untyped-def]
    plan = Plan.from_dict({"status": "feasible", "objective": 1.0, "gap": 0.0, "start": "2026-11-30",
                           "visits": visits, "budget": [{"fy": "2026-27", "budget": 5000.0, "spend": 900.0}]})
    with write_transaction(engine) as conn:
        return insert_plan(conn, plan, as_of=date(2026, 11, 29), created_at=datetime(2026, 11, 29, 9), settings={})


def visit(site: str, week: str, devices: list[int], crew: str = "london-1") -> dict[str, Any]:
    return {"site": site, "region": "London", "week": week, "crew": crew, "hours": 2.0, "cost": 450.0,
            "devices": devices}


def test_orders_follow_the_plan_and_replanning_leaves_started_work_alone(engine, packaged_kb) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="no removal plan"):
        orders.create_orders(engine, "test")
    make_site(engine)
    make_site(engine, "Depot", sensitive=False, cidr="10.2.0.0/16")
    scan(engine, packaged_kb, [HIK, DAHUA])
    ids = device_ids(engine)
    hik, dahua = ids[HIK[0]], ids[DAHUA[0]]
    store_plan(engine, [visit("HQ", "2026-11-30", [hik]), visit("HQ", "2026-12-07", [dahua]),
                        visit("Depot", "2026-12-14", [])])
    made = orders.create_orders(engine, "test")
    assert (made["created"], made["updated"], made["cancelled"]) == (3, 0, 0)
    again = orders.create_orders(engine, "test")
    assert (again["created"], again["updated"], again["cancelled"], again["unchanged"]) == (0, 0, 0, 3)
    first, second, depot = sorted(made["orders"], key=lambda o: o["week"])
    assert first["due"] == "2026-12-04" and first["status"] == "planned"

    orders.start_order(engine, "test", EVERYTHING, first["id"])
    # The new plan moves every visit a week later and drops the Depot's.
    store_plan(engine, [visit("HQ", "2026-12-07", [hik]), visit("HQ", "2026-12-14", [dahua], crew="london-2")])
    replanned = {o["id"]: o for o in orders.create_orders(engine, "test")["orders"]}
    assert replanned[first["id"]]["week"] == "2026-11-30", "an order under way is left alone"
    assert replanned[second["id"]]["week"] == "2026-12-14" and replanned[second["id"]]["crew"] == "london-2"
    assert replanned[depot["id"]]["status"] == "cancelled"


def test_removals_move_an_order_to_completed_then_a_scan_to_verified(engine, packaged_kb) -> None:  # type: ignore[no-untyped-def]
    make_site(engine)
    scan(engine, packaged_kb, [HIK, DAHUA, AXIS])
    ids = device_ids(engine)
    store_plan(engine, [visit("HQ", "2026-11-30", [ids[HIK[0]], ids[DAHUA[0]]])])
    order = orders.create_orders(engine, "test")["orders"][0]
    with pytest.raises(ConflictError, match="no removal recorded for devices"):
        orders.complete_order(engine, "test", EVERYTHING, order["id"])
    with pytest.raises(InputError, match="not on that work order"):
        claim(engine, packaged_kb, ids[AXIS[0]], order_id=order["id"])
    claim(engine, packaged_kb, ids[HIK[0]], order_id=order["id"], cost=120.0)
    assert orders.order_detail(engine, EVERYTHING, order["id"])["status"] == "in_progress"
    claim(engine, packaged_kb, ids[DAHUA[0]], order_id=order["id"], cost=80.0)
    assert orders.order_detail(engine, EVERYTHING, order["id"])["status"] == "completed"
    scan(engine, packaged_kb, [AXIS], covered=["10.1.0.0/24"])
    detail = orders.order_detail(engine, EVERYTHING, order["id"])
    assert detail["status"] == "verified"
    assert {r["status"] for r in detail["removals"]} == {"verified"}
    report = build_status_report(engine, today=date(2026, 12, 10))
    site = report["sites"][0]
    assert (site["state"], site["verified"], site["share_removed"]) == ("verified", 2, 1.0)
    spend = {y["fy"]: y for y in report["spend"]}
    assert spend["2026-27"]["budget"] == 5000.0 and spend["2026-27"]["ordered"] == 450.0
    assert spend[f"{date.today().year if date.today().month >= 4 else date.today().year - 1}-"
                 f"{(date.today().year + (1 if date.today().month >= 4 else 0)) % 100:02d}"]["actual"] == 200.0


def test_a_late_order_alerts_once_and_an_extension_moves_its_due_date(engine, packaged_kb) -> None:  # type: ignore[no-untyped-def]
    make_site(engine)
    scan(engine, packaged_kb, [HIK])
    store_plan(engine, [visit("HQ", "2026-11-30", [device_ids(engine)[HIK[0]]])])
    order = orders.create_orders(engine, "alice")["orders"][0]
    assert orders.check_overdue(engine, date(2026, 12, 4)) == []
    late = [a for a in orders.check_overdue(engine, date(2026, 12, 7)) if a is not None]
    assert len(late) == 1 and orders.check_overdue(engine, date(2026, 12, 8)) == [None]
    with pytest.raises(InputError, match="later"):
        orders.request_extension(engine, "alice", EVERYTHING, order["id"], date(2026, 12, 1), "why not")
    asked = orders.request_extension(engine, "alice", EVERYTHING, order["id"], date(2027, 1, 8), "no access")
    with pytest.raises(ConflictError, match="already has extension request"):
        orders.request_extension(engine, "alice", EVERYTHING, order["id"], date(2027, 1, 15), "again")
    granted = orders.decide_order_extension(engine, "bob", EVERYTHING, asked["extensions"][0]["id"], True)
    assert granted["due"] == "2027-01-08" and granted["extensions"][0]["decided_by"] == "bob"
    assert orders.check_overdue(engine, date(2027, 1, 8)) == []
    overdue = [a for a in list_alerts(engine) if a.kind == "order_overdue"]
    assert len(overdue) == 1 and "was due by 4 December 2026" in overdue[0].detail
    cancelled = orders.cancel_order(engine, "alice", EVERYTHING, order["id"], "site closed")
    assert cancelled["status"] == "cancelled" and cancelled["note"] == "site closed"
    with pytest.raises(ConflictError):
        orders.start_order(engine, "alice", EVERYTHING, order["id"])
