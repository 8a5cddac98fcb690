"""Issue 14, finding 5: an agent's push must not launder a verdict.

Before: an agent token pushing brand, vendor and model text claiming "Axis" for the serial and MAC of
an identified LTS (Hikvision-made) camera moved it from `yes` to `review`, producer axis. Now pushed
text weighs less than registers, serial and MAC patterns, and a push naming another maker for a device
the other evidence identifies is set aside: the producer and verdict stand, the contradiction is
recorded, the device goes to the review pile (audited) with an evidence_conflict alert.
Everything goes through the real API push endpoint with a real agent token, on a real database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clearsite.core.models import Network, Site
from clearsite.services.assessment import assess_all
from clearsite.services.imports import import_register
from clearsite.store.audit import entries, verify
from clearsite.store.db import open_database
from clearsite.store.sites import add_site
from clearsite.store.transactions import write_transaction
from clearsite.store.users import Role, add_user, create_token
from clearsite.web import Settings, create_app

pytestmark = pytest.mark.security

AS_OF = date(2024, 9, 1)
SERIAL = "CMIP3042W-2820210315AAWRJ22681782"  # Hikvision's OEM serial structure under LTS's model prefix
MAC = "4C:BD:8F:00:3D:44"  # Hikvision's IEEE block
REGISTER = f"""Make,Model,Serial,MAC,IP,Install date
LTS,CMIP3042W-28,{SERIAL},{MAC},10.1.0.11,2021-03-15
"""
AXIS_CLAIM = [{"signal": "brand", "value": "Axis", "source": "label"},
              {"signal": "vendor", "value": "Axis Communications AB", "source": "onvif"},
              {"signal": "model", "value": "P3245-V", "source": "onvif"}]


@pytest.fixture
def site(tmp_path: Path, packaged_kb: Any) -> Iterator[tuple[TestClient, Any, int, dict[str, str]]]:
    engine = open_database(f"sqlite:///{tmp_path / 'agent.db'}")
    with write_transaction(engine) as conn:
        site_id = add_site(conn, Site("Gate House", "Dept A", networks=(Network("10.1.0.0/16"),)))
        agent = add_user(conn, "gate-agent", "a long agent password", Role.AGENT, site="Gate House", actor="test")
        admin = add_user(conn, "root", "a long admin password", Role.ADMIN, actor="test")
        tokens = {"agent": create_token(conn, agent, "agent", actor="test").token,
                  "admin": create_token(conn, admin, "admin", actor="test").token}
    register = tmp_path / "register.csv"
    register.write_text(REGISTER)
    import_register(engine, register, packaged_kb, site="Gate House", today=AS_OF)
    assess_all(engine, packaged_kb, AS_OF)
    with TestClient(create_app(engine, packaged_kb, Settings(as_of=AS_OF))) as client:
        yield client, engine, site_id, tokens
    engine.dispose()


def _push(client: TestClient, site_id: int, token: str, ident: str, evidence: list[dict[str, str]],
          serial: str | None = SERIAL, mac: str | None = MAC, ip: str = "10.1.0.11") -> dict[str, Any]:
    answer = client.post(f"/api/v1/sites/{site_id}/observations", headers={"Authorization": f"Bearer {token}"},
                         json={"observations": [{"id": ident, "ip": ip, "mac": mac, "serial": serial,
                                                 "evidence": evidence}]})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _device(client: TestClient, token: str, ip: str = "10.1.0.11") -> dict[str, Any]:
    devices = client.get("/api/v1/devices", headers={"Authorization": f"Bearer {token}"}).json()
    return next(d for d in devices if d["ip"] == ip)


def test_a_push_claiming_another_maker_does_not_launder_an_identified_device(site) -> None:  # type: ignore[no-untyped-def]
    client, engine, site_id, tokens = site
    before = _device(client, tokens["admin"])
    assert (before["producer"]["id"], before["nil_subject"]) == ("hikvision", "yes")

    assert _push(client, site_id, tokens["agent"], "evil-1", AXIS_CLAIM)["stored"] == 1
    assert _push(client, site_id, tokens["agent"], "evil-2", AXIS_CLAIM)["stored"] == 1  # insisting changes nothing

    after = _device(client, tokens["admin"])
    assert after["id"] == before["id"]
    assert after["producer"]["id"] == "hikvision" and after["nil_subject"] == "yes"
    assert after["confidence"] >= before["confidence"] - 1e-9  # the claim does not weaken the identification
    assert any(c.startswith("an agent's push names axis") for c in after["contradictions"])
    pushed = [e for e in after["evidence"] if e["supports"] == "axis"]
    assert pushed and all(e["weight"] == 0 and "set aside" in e["note"] for e in pushed)
    assert after["review_pending"]["kind"] == "evidence_conflict"
    assert "axis" in after["review_pending"]["reason"]

    findings = client.get("/api/v1/findings", headers={"Authorization": f"Bearer {tokens['admin']}"}).json()
    statuses = {f["status"] for f in findings if f["device_id"] == after["id"]}
    assert statuses and "review" not in statuses  # the findings keep their teeth

    pending = client.get("/api/v1/review", headers={"Authorization": f"Bearer {tokens['admin']}"}).json()
    assert [d["id"] for d in pending] == [after["id"]]
    with engine.connect() as conn:
        flags = [e for e in entries(conn, limit=1000) if e.action == "review.flag"]
        assert len(flags) == 1 and flags[0].target == f"device:{after['id']}"
        assert verify(conn).ok


def test_the_conflict_raises_one_evidence_conflict_alert(site) -> None:  # type: ignore[no-untyped-def]
    alerts = pytest.importorskip("clearsite.services.alerts")
    client, engine, site_id, tokens = site
    _push(client, site_id, tokens["agent"], "evil-1", AXIS_CLAIM)
    _push(client, site_id, tokens["agent"], "evil-2", AXIS_CLAIM)
    raised = [a for a in alerts.list_alerts(engine) if a.kind == "evidence_conflict"]
    assert len(raised) == 1 and raised[0].device_id == _device(client, tokens["admin"])["id"]


def test_a_push_that_agrees_raises_nothing(site) -> None:  # type: ignore[no-untyped-def]
    client, engine, site_id, tokens = site
    _push(client, site_id, tokens["agent"], "probe-1",
          [{"signal": "http_server", "value": "App-webs/", "source": "http://10.1.0.11/"}])
    device = _device(client, tokens["admin"])
    assert device["producer"]["id"] == "hikvision" and device["nil_subject"] == "yes"
    assert device["review_pending"] is None
    with engine.connect() as conn:
        assert not [e for e in entries(conn, limit=1000) if e.action == "review.flag"]


def test_what_only_an_agent_saw_is_still_identified_from_its_push(site) -> None:  # type: ignore[no-untyped-def]
    client, _, site_id, tokens = site
    _push(client, site_id, tokens["agent"], "new-1",
          [{"signal": "http_server", "value": "App-webs/", "source": "http://10.1.0.50/"},
           {"signal": "brand", "value": "Hikvision", "source": "onvif"}],
          serial=None, mac="4C:BD:8F:00:00:50", ip="10.1.0.50")
    device = _device(client, tokens["admin"], ip="10.1.0.50")
    assert device["producer"]["id"] == "hikvision" and device["nil_subject"] == "yes"
    assert device["review_pending"] is None


def test_pushed_brand_text_counts_for_less_than_the_same_text_in_a_register(packaged_kb: Any) -> None:
    from clearsite.core.identify import identify
    from clearsite.core.models import Evidence, Signal

    register = identify([Evidence(Signal.BRAND, "Axis", "estates.xlsx row 4")], packaged_kb)
    pushed = identify([Evidence(Signal.BRAND, "Axis", "agent gate-agent observation x: label")], packaged_kb)
    assert register.producer_id == pushed.producer_id == "axis"
    assert pushed.confidence < register.confidence
