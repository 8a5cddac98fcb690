"""A live scan's coverage dates from when the scan began, not from when it ended.

A removal claimed while a scan is running may concern a device the scan had already probed before it was
taken out: the scan cannot show that device gone, so it must not verify the claim. A later scan does.
Real traffic to an emulated camera on loopback; the claim is recorded from the scan's own progress
callback, so it lands between the scan's start and its end without any timing guesswork.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest

from clearsite.core.knowledge import Knowledge
from clearsite.services.removal import record_removal
from clearsite.services.scanning import ScanOptions, scan_site, site_scope
from clearsite.services.sites import add_site
from clearsite.sim.fleet import Fleet
from clearsite.sim.personas import BY_KEY
from clearsite.store.db import open_database
from clearsite.store.reads import EVERYTHING
from tests.removal_support import device_ids, removal_status

pytestmark = [pytest.mark.network]

BASE = "127.68.0.1"
NETWORK = "127.68.0.0/29"
OPTIONS = ScanOptions(connect_timeout=0.5, udp_discovery=False)


def test_a_claim_made_while_a_scan_runs_is_verified_only_by_a_later_scan(tmp_path: Path,
                                                                        packaged_kb: Knowledge) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'estate.db'}")
    add_site(engine, "test", name="HQ", department="D", networks=[NETWORK], holds_secret=True, allow_special=True)
    name, networks, addresses = site_scope(engine, "HQ", [NETWORK], [])
    fleet = Fleet(1, seed=3, base=BASE, personas=[BY_KEY["hikvision-camera"]])
    with fleet.in_thread():
        scan_site(engine, packaged_kb, name, networks, addresses, OPTIONS)
    (device_id,) = device_ids(engine, "HQ").values()

    claimed: list[str] = []

    def claim_once(done: int, total: int) -> None:  # called by the scan as it goes: the claim is mid-scan
        if not claimed:
            record_removal(engine, packaged_kb, "test", EVERYTHING, device_id, removed_on=date.today())
            claimed.append("yes")

    switched_off = copy.copy(fleet)
    switched_off.devices = []
    with switched_off.in_thread():
        summary = scan_site(engine, packaged_kb, name, networks, addresses, OPTIONS, progress=claim_once)
    assert claimed and not summary.interrupted and summary.responded == 0
    assert removal_status(engine, device_id) == "claimed", "a scan that began before the claim verified it"

    scan_site(engine, packaged_kb, name, networks, addresses, OPTIONS)  # begun after the claim, device gone
    assert removal_status(engine, device_id) == "verified"
