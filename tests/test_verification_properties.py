"""The removal state machine, alone and through the database: nothing reaches *verified* without an
observation after the claim that covered the device's address and did not see it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearsite.core.verification import Event, RemovalStatus, next_status
from clearsite.store.db import open_database
from tests.removal_support import HIK, claim, device_ids, make_site, removal_status, scan

EVENTS = st.lists(st.sampled_from(list(Event)), max_size=30)


@given(EVENTS)
def test_no_path_reaches_verified_without_a_covering_observation(events: list[Event]) -> None:
    status: RemovalStatus | None = None
    covered_since_claim = False
    for event in events:
        if status is None and event != Event.CLAIM:
            with pytest.raises(ValueError):
                next_status(status, event)
            continue
        step = next_status(status, event)
        if event == Event.CLAIM:
            covered_since_claim = False
        if step.status == RemovalStatus.VERIFIED and status != RemovalStatus.VERIFIED:
            assert event == Event.COVERED_UNSEEN, (status, event)
            covered_since_claim = True
        if step.status == RemovalStatus.VERIFIED:
            assert covered_since_claim
        if event == Event.SEEN and status is not None:
            assert step.status != RemovalStatus.VERIFIED
            assert step.status == {RemovalStatus.CLAIMED: RemovalStatus.CONTRADICTED,
                                   RemovalStatus.VERIFIED: RemovalStatus.REAPPEARED}.get(status, status)
        if step.status == RemovalStatus.REAPPEARED and status != RemovalStatus.REAPPEARED:
            assert status == RemovalStatus.VERIFIED and step.alert == "reappeared"
        status = step.status


# What can happen to a claimed device at 10.1.0.11, in any order: it is seen again, a scan covers its
# network and does not see it, a scan covers only another network, a register lists it, it is claimed again.
ACTIONS = st.lists(st.sampled_from(["seen", "cover_it", "cover_other", "claim"]), min_size=1, max_size=6)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_through_the_database_verified_needs_a_covering_scan_after_the_claim(tmp_path_factory, packaged_kb,
                                                                              actions: list[str]) -> None:
    tmp: Path = tmp_path_factory.mktemp("property")
    engine = open_database(f"sqlite:///{tmp / 'clearsite.db'}")
    make_site(engine)
    scan(engine, packaged_kb, [HIK])
    device = device_ids(engine)[HIK[0]]
    claim(engine, packaged_kb, device)
    expected = RemovalStatus.CLAIMED
    for number, action in enumerate(actions):
        if action == "seen":
            scan(engine, packaged_kb, [HIK], name=f"scan {number}")
            expected = next_status(expected, Event.SEEN).status
        elif action == "cover_it":
            scan(engine, packaged_kb, [], covered=["10.1.0.0/24"])
            expected = next_status(expected, Event.COVERED_UNSEEN).status
        elif action == "cover_other":
            scan(engine, packaged_kb, [], covered=["10.1.5.0/24"])
        else:
            claim(engine, packaged_kb, device)
            if expected not in (RemovalStatus.CLAIMED, RemovalStatus.VERIFIED):
                expected = RemovalStatus.CLAIMED
        assert removal_status(engine, device) == expected.value, (actions, number)
    if "cover_it" not in actions:
        assert removal_status(engine, device) != "verified"
