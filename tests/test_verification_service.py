"""Verification on every intake, on SQLite and PostgreSQL: switch tables, replacements, new deployments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from clearsite.core.errors import InputError
from clearsite.core.models import Evidence, Signal
from clearsite.services.alerts import list_alerts
from clearsite.services.imports import AgentObservation, push_observations, record_hosts
from clearsite.services.removal import ReplacementIn, record_removal, site_clearance
from clearsite.store.db import open_database
from clearsite.store.reads import EVERYTHING
from tests.removal_support import AXIS, DAHUA, HIK, claim, device_ids, host, make_site, removal_status, scan


@pytest.fixture
def engine(store_url):  # type: ignore[no-untyped-def]
    return open_database(store_url)


def kinds(engine) -> list[tuple[str, int | None]]:  # type: ignore[no-untyped-def]
    return [(a.kind, a.device_id) for a in list_alerts(engine)]


def test_a_switch_table_of_the_site_verifies_a_device_known_by_its_mac(engine, packaged_kb) -> None:  # type: ignore[no-untyped-def]
    make_site(engine)
    scan(engine, packaged_kb, [HIK, DAHUA])
    ids = device_ids(engine)
    claim(engine, packaged_kb, ids[HIK[0]])
    claim(engine, packaged_kb, ids[DAHUA[0]])
    # The site's switch knows the Dahua camera's MAC still, and not the Hikvision camera's.
    record_hosts(engine, packaged_kb, "HQ", "switch", "core-switch.csv", "", [host(None, DAHUA[1], "")])
    assert removal_status(engine, ids[HIK[0]]) == "verified"
    assert removal_status(engine, ids[DAHUA[0]]) == "contradicted"
    assert ("contradicted", ids[DAHUA[0]]) in kinds(engine)


def test_a_scan_that_did_not_cover_the_address_proves_nothing(engine, packaged_kb) -> None:  # type: ignore[no-untyped-def]
    make_site(engine)
    scan(engine, packaged_kb, [HIK])
    device = device_ids(engine)[HIK[0]]
    claim(engine, packaged_kb, device)
    scan(engine, packaged_kb, [], covered=["10.1.7.0/24"])
    assert removal_status(engine, device) == "claimed"
    with engine.connect() as conn:
        clearance = next(iter(site_clearance(conn).values()))
    assert (clearance.claimed, clearance.verified, clearance.cleared) == (1, 0, False)
    scan(engine, packaged_kb, [], covered=["10.1.0.0/24"])
    assert removal_status(engine, device) == "verified"


def test_a_named_replacement_must_be_seen_and_cleared_before_the_claim_verifies(engine, packaged_kb) -> None:  # type: ignore[no-untyped-def]
    make_site(engine)
    scan(engine, packaged_kb, [HIK])
    device = device_ids(engine)[HIK[0]]
    claim(engine, packaged_kb, device, replacement=ReplacementIn("Axis", "P3245-V", mac=AXIS[1]))
    scan(engine, packaged_kb, [], covered=["10.1.0.0/24"])
    assert removal_status(engine, device) == "claimed", "the Axis camera has not been seen yet"
    scan(engine, packaged_kb, [AXIS])  # the replacement answers at its new address
    assert removal_status(engine, device) == "verified"


def test_a_replacement_seen_as_nil_subject_is_not_cleared_and_alerts(engine, packaged_kb) -> None:  # type: ignore[no-untyped-def]
    make_site(engine)
    scan(engine, packaged_kb, [HIK])
    device = device_ids(engine)[HIK[0]]
    claim(engine, packaged_kb, device, replacement=ReplacementIn("Axis", "P3245-V", mac="AC:CC:8E:99:99:99"))
    # What answers with that MAC is a Hikvision web server: a relabelled camera, not an Axis one.
    scan(engine, packaged_kb, [("10.1.0.30", "AC:CC:8E:99:99:99", "App-webs/")], covered=["10.1.0.0/24"])
    assert removal_status(engine, device) == "claimed"
    assert ("replacement_not_cleared", device) in kinds(engine)


def test_an_unidentified_replacement_at_a_sensitive_site_is_recorded_and_flagged(engine, packaged_kb) -> None:  # type: ignore[no-untyped-def]
    make_site(engine)
    scan(engine, packaged_kb, [HIK])
    device = device_ids(engine)[HIK[0]]
    result = claim(engine, packaged_kb, device, replacement=ReplacementIn("Acme Vision", "AV-100"))
    assert result["removal"]["replacement"]["cleared"] is False and result["alerts"]
    assert ("replacement_not_cleared", device) in kinds(engine)
    with pytest.raises(InputError, match="National Intelligence Law"):
        claim(engine, packaged_kb, device, replacement=ReplacementIn("Dahua", "IPC-HFW1230S"))


def test_a_new_nil_subject_device_at_a_sensitive_site_alerts_once(engine, packaged_kb) -> None:  # type: ignore[no-untyped-def]
    make_site(engine)
    make_site(engine, "Depot", sensitive=False, cidr="10.2.0.0/16")
    scan(engine, packaged_kb, [AXIS])  # the site's first devices are its baseline, not a new deployment
    scan(engine, packaged_kb, [("10.2.0.5", "E0:50:8B:00:00:05", "App-webs/")], site="Depot")
    scan(engine, packaged_kb, [("10.2.0.6", "E0:50:8B:00:00:06", "App-webs/")], site="Depot")
    assert kinds(engine) == [], "not at a sensitive site"
    scan(engine, packaged_kb, [HIK])
    scan(engine, packaged_kb, [HIK], name="again")
    new = [k for k in kinds(engine) if k[0] == "new_deployment"]
    assert new == [("new_deployment", device_ids(engine)[HIK[0]])]


def test_a_claim_cannot_be_recorded_before_the_removal_happened(engine, packaged_kb) -> None:  # type: ignore[no-untyped-def]
    make_site(engine)
    scan(engine, packaged_kb, [HIK])
    with pytest.raises(InputError, match="before it happens"):
        claim(engine, packaged_kb, device_ids(engine)[HIK[0]], today=date(2020, 1, 1))


def _agent_saw(engine, knowledge, ip: str, mac: str, server: str, observed_at: datetime, n: int) -> None:  # type: ignore[no-untyped-def]
    """An agent pushes a host it saw at `observed_at` (perhaps long before the push: it was offline)."""
    seen = AgentObservation(id=f"late-{n}", content_sha256=f"late-{n}", ip=ip, mac=mac.lower(), mac_as_sent=mac,
                            observed_at=observed_at.isoformat().replace("+00:00", "Z"),
                            evidence=(Evidence(Signal.HTTP_SERVER, server, f"http://{ip}/"),
                                      Evidence(Signal.MAC, mac, "arp")))
    push_observations(engine, knowledge, EVERYTHING, 1, "hq-agent", "test", [seen], key=f"late-key-{n}")


def test_a_sighting_made_before_the_claim_and_pushed_after_it_does_not_contradict_it(engine, packaged_kb) -> None:  # type: ignore[no-untyped-def]
    make_site(engine)
    scan(engine, packaged_kb, [HIK, DAHUA])
    ids = device_ids(engine)
    hik, dahua = ids[HIK[0]], ids[DAHUA[0]]
    claimed = claim(engine, packaged_kb, hik)
    now = datetime.now(UTC)
    # An agent offline since yesterday sends what it saw then: the camera was there before it was taken out.
    _agent_saw(engine, packaged_kb, *HIK, now - timedelta(days=1), 1)
    assert removal_status(engine, hik) == "claimed", claimed
    # Seen again after the claim was made: that does speak against it.
    _agent_saw(engine, packaged_kb, *HIK, now + timedelta(minutes=1), 2)
    assert removal_status(engine, hik) == "contradicted"
    # Said to be gone three days ago, recorded only now, but seen the day before yesterday: the claim is wrong.
    record_removal(engine, packaged_kb, "test", EVERYTHING, dahua, removed_on=(now - timedelta(days=3)).date())
    _agent_saw(engine, packaged_kb, *DAHUA, now - timedelta(days=2), 3)
    assert removal_status(engine, dahua) == "contradicted"
