"""Proof of removal end to end, on the emulated fleet: scan, record removals, stop some devices and keep
others running, rescan. Stopped devices verify, running ones contradict their claims, a restarted one
reappears with its findings back, and a replacement persona is identified and cleared."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest

from clearsite.sim.device import SimDevice
from clearsite.sim.fleet import Fleet
from clearsite.sim.personas import BY_KEY

pytestmark = [pytest.mark.network, pytest.mark.slow]

PERSONAS = ["hikvision-camera", "dahua-camera", "hikvision-nvr", "axis-camera"]
BASE = "127.64.0.1"
TARGETS = "127.64.0.0/29"
TODAY = date.today().isoformat()


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return Fleet(len(PERSONAS), seed=5, base=BASE, personas=[BY_KEY[p] for p in PERSONAS])


@contextmanager
def serving(fleet: Fleet, devices: list[SimDevice]) -> Iterator[None]:
    """Only these devices of the fleet answer (the others are switched off)."""
    part = copy.copy(fleet)
    part.devices = devices
    with part.in_thread():
        yield


def by_persona(fleet: Fleet, key: str) -> SimDevice:
    return next(d for d in fleet.devices if d.persona.key == key)


def test_removals_are_verified_contradicted_and_reappear_by_later_scans(cli, fleet):
    hik, dahua, nvr, axis = (by_persona(fleet, k) for k in PERSONAS)
    cli("site", "add", "Lab", "--department", "D", "--holds-secret", "--network", "127.64.0.0/24")
    scan = ("scan", TARGETS, "--site", "Lab", "--timeout", "0.5", "--format", "json")

    def devices() -> dict[str, dict]:
        return {d["ip"]: d for d in json.loads(cli("devices", "--format", "json").stdout)}

    def open_findings(device_id: int) -> list[dict]:
        return [f for f in json.loads(cli("assess", "--format", "json").stdout)
                if f["device_id"] == device_id and f["status"] in ("breach", "overdue", "due")]

    with serving(fleet, [hik, dahua, nvr]):  # the Axis camera is not installed yet
        cli(*scan)
    cli("assess")
    seen = devices()
    assert {hik.ip, dahua.ip, nvr.ip} <= seen.keys() and axis.ip not in seen
    hik_id, dahua_id, nvr_id = seen[hik.ip]["id"], seen[dahua.ip]["id"], seen[nvr.ip]["id"]
    assert open_findings(hik_id), "the Hikvision camera starts with open findings"

    for device_id in (hik_id, dahua_id):
        claim = json.loads(cli("removal", "record", str(device_id), "--on", TODAY, "--by", "Crew A",
                               "--disposal-ref", f"WEEE-{device_id}", "--cost", "120", "--format", "json").stdout)
        assert claim["removal"]["status"] == "claimed"
    # The NVR is replaced by the Axis camera: named by its MAC, identified and cleared when recorded.
    replaced = json.loads(cli("removal", "record", str(nvr_id), "--on", TODAY, "--replacement-brand", "Axis",
                              "--replacement-model", axis.model, "--replacement-mac", axis.mac or "",
                              "--format", "json").stdout)
    assert replaced["removal"]["replacement"]["cleared"] is True
    assert replaced["removal"]["replacement"]["nil_subject"] == "no"
    assert not open_findings(hik_id), "a claimed removal is compliant until something contradicts it"
    assert devices()[hik.ip]["removal"]["status"] == "claimed"

    # The Hikvision camera and the NVR are gone; the Dahua camera was never taken out; the Axis is fitted.
    with serving(fleet, [dahua, axis]):
        cli(*scan)
    after = devices()
    assert after[hik.ip]["removal"]["status"] == "verified"
    assert after[hik.ip]["removal"]["verified_on"] == TODAY
    assert after[dahua.ip]["removal"]["status"] == "contradicted"
    assert after[nvr.ip]["removal"]["status"] == "verified", "its replacement was seen and cleared"
    assert after[nvr.ip]["removal"]["replacement"]["device_id"] == after[axis.ip]["id"]
    assert after[axis.ip]["nil_subject"] == "no"
    assert open_findings(dahua_id), "a contradicted claim gives the findings back"
    kinds = [(a["kind"], a["device_id"]) for a in json.loads(cli("alerts", "--format", "json").stdout)]
    assert ("contradicted", dahua_id) in kinds
    assert not [k for k in kinds if k[0] == "new_deployment"], "a cleared Axis camera is no new deployment"

    # Scanning again changes nothing and raises nothing twice.
    with serving(fleet, [dahua, axis]):
        cli(*scan)
    assert json.loads(cli("alerts", "--format", "json").stdout) == json.loads(cli("alerts", "--format", "json").stdout)
    assert len([a for a in json.loads(cli("alerts", "--format", "json").stdout) if a["kind"] == "contradicted"]) == 1

    # The Hikvision camera is plugged back in: it reappears and its findings come back.
    with serving(fleet, [hik, dahua, axis]):
        cli(*scan)
    back = devices()
    assert back[hik.ip]["removal"]["status"] == "reappeared"
    assert open_findings(hik_id)
    alerts = json.loads(cli("alerts", "--since", TODAY, "--format", "json").stdout)
    assert [a for a in alerts if a["kind"] == "reappeared" and a["device_id"] == hik_id and a["site"] == "Lab"]

    report = json.loads(cli("status-report", "--format", "json").stdout)
    lab = next(s for s in report["sites"] if s["site"] == "Lab")
    assert lab["verified"] == 1 and lab["contradicted"] == 2 and lab["state"] == "in_progress"
