"""raise_alert stores each condition once, knows its kinds, and list_alerts is scoped by department."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from clearsite.core.alerts import ALERT_KINDS
from clearsite.services.alerts import alert_json, list_alerts, raise_alert
from clearsite.store.db import open_database
from clearsite.store.reads import SiteScope
from clearsite.store.transactions import write_transaction
from tests.removal_support import make_site


def test_the_same_condition_is_stored_once_and_kinds_are_checked(store_url) -> None:  # type: ignore[no-untyped-def]
    engine = open_database(store_url)
    site = make_site(engine)
    other = make_site(engine, "Elsewhere", cidr="10.9.0.0/16")
    at = datetime(2026, 12, 1, 9, 30)
    with write_transaction(engine) as conn:
        first = raise_alert(conn, kind="contradicted", site_id=site, device_id=7, detail="seen again", at=at)
        again = raise_alert(conn, kind="contradicted", site_id=site, device_id=7, detail="seen again", at=at)
        other_kind = raise_alert(conn, kind="agent_refused", site_id=other, device_id=None,
                                 detail="push\x1b[2J for another site", at=at)
    assert first is not None and again is None and other_kind is not None
    with write_transaction(engine) as conn, pytest.raises(ValueError, match="unknown alert kind"):
        raise_alert(conn, kind="contradictd", site_id=site, device_id=7, detail="typo", at=at)
    assert {"new_deployment", "reappeared", "contradicted", "replacement_not_cleared", "order_overdue"} <= ALERT_KINDS
    everything = [alert_json(a) for a in list_alerts(engine)]
    assert [a["kind"] for a in everything] == ["contradicted", "agent_refused"]
    assert everything[0] == {"id": first, "kind": "contradicted", "site": "HQ", "device_id": 7,
                             "at": "2026-12-01T09:30:00", "detail": "seen again"}
    assert "\x1b" not in everything[1]["detail"], "control characters are cleaned at the edge"
    with engine.connect() as conn:
        from clearsite.store.alerts import site_department

        department = site_department(conn, site)
    assert [a.id for a in list_alerts(engine, SiteScope(department_id=department))] == [first, other_kind]
    assert [a.id for a in list_alerts(engine, SiteScope(site_id=other))] == [other_kind]
    assert list_alerts(engine, since=date(2026, 12, 2)) == []
    assert [a.kind for a in list_alerts(engine, kind="agent_refused")] == ["agent_refused"]
