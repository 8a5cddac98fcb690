"""Peer check: nmap scans the emulated fleet, clearsite imports its XML, and the producers agree with
clearsite's own scan for the personas nmap can see. Loopback only."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from clearsite.sim.fleet import Fleet
from clearsite.sim.personas import BY_KEY

pytestmark = [pytest.mark.network, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed (make system-deps)")]

PERSONAS = ["hikvision-camera", "dahua-camera", "xiongmai-whitelabel", "axis-camera", "lts-camera", "amcrest-camera"]
NETWORK = "127.63.0.0/24"


@pytest.fixture(scope="module")
def fleet():  # type: ignore[no-untyped-def]
    fleet = Fleet(len(PERSONAS), seed=5, base="127.63.0.1", personas=[BY_KEY[p] for p in PERSONAS])
    with fleet.in_thread():
        yield fleet


def test_nmap_and_clearsite_agree_on_producers(cli, tmp_path, fleet):
    cli("site", "add", "Peer", "--department", "D", "--network", NETWORK)
    cli("site", "add", "Own", "--department", "D", "--network", NETWORK)
    ips = [d.ip for d in fleet.devices]
    xml = tmp_path / "nmap.xml"
    subprocess.run(["nmap", "-n", "-Pn", "-sT", "-sV", "--version-light", "-T4", "-p", "80,554,8000,34567",
                    "--script", "http-server-header,http-title,rtsp-methods", "-oX", str(xml), *ips],
                   check=True, capture_output=True, timeout=600)
    cli("import", "nmap", str(xml), "--site", "Peer")
    cli("scan", *ips, "--site", "Own", "--timeout", "0.5")
    by_site: dict[str, dict[str, dict]] = {"Peer": {}, "Own": {}}
    for device in json.loads(cli("devices", "--format", "json").stdout):
        by_site[device["site"]][device["ip"]] = device
    truth = {d.ip: d.persona.producer for d in fleet.devices}
    seen_by_nmap = {ip: d for ip, d in by_site["Peer"].items() if d["producer"]}
    assert len(seen_by_nmap) >= 3, {ip: d["evidence"] for ip, d in by_site["Peer"].items()}
    for ip, device in seen_by_nmap.items():
        own = by_site["Own"][ip]["producer"]["id"]
        assert device["producer"]["id"] == own == truth[ip], (ip, device["evidence"])
