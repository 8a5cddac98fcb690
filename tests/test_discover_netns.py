"""Multicast discovery over a real link: two network namespaces made by this test, joined by a veth.

The fleet runs in one namespace on 198.18.7.0/24 (the benchmarking range, here only inside our
namespaces), the scanner in the other. Nothing is routed out: the link has no other end.
Needs root and `ip netns` (CI runs as root); skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.network, pytest.mark.slow]

SUBNET = "198.18.7.0/24"
SCANNER_IP = "198.18.7.1"
DEVICE_BASE = "198.18.7.2"


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20, check=False)


@pytest.fixture
def namespaces() -> Iterator[tuple[str, str]]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2 (`ip`)")
    tag = f"{os.getpid() % 100000}"
    dev_ns, scan_ns, dev_if, scan_if = f"csdev{tag}", f"csscan{tag}", f"csd{tag}", f"css{tag}"
    made: list[str] = []
    try:
        for ns in (dev_ns, scan_ns):
            result = _ip("netns", "add", ns)
            if result.returncode != 0:
                pytest.skip(f"cannot create a network namespace here: {result.stderr.strip()}")
            made.append(ns)
        steps = [
            (
                "link",
                "add",
                scan_if,
                "netns",
                scan_ns,
                "type",
                "veth",
                "peer",
                "name",
                dev_if,
                "netns",
                dev_ns,
            ),
            ("-n", dev_ns, "addr", "add", f"{DEVICE_BASE}/24", "dev", dev_if),
            ("-n", dev_ns, "addr", "add", "198.18.7.3/24", "dev", dev_if),
            ("-n", scan_ns, "addr", "add", f"{SCANNER_IP}/24", "dev", scan_if),
        ]
        for ns, ifname in ((dev_ns, dev_if), (scan_ns, scan_if)):
            steps += [("-n", ns, "link", "set", "lo", "up"), ("-n", ns, "link", "set", ifname, "up")]
            steps += [("-n", ns, "route", "add", "224.0.0.0/4", "dev", ifname)]
        for step in steps:
            result = _ip(*step)
            if result.returncode != 0:
                pytest.skip(f"cannot build the test link (ip {' '.join(step)}): {result.stderr.strip()}")
        yield dev_ns, scan_ns
    finally:
        for ns in made:
            _ip("netns", "del", ns)


SCANNER = """
import asyncio, json, sys
from clearsite.discover import ScanOptions, check_scope, multicast_discover, scan

async def main():
    found = await multicast_discover(sys.argv[1], [sys.argv[2]], listen=2.0)
    options = ScanOptions(rate=200, read_timeout=1.0, udp_timeout=1.0, networks=(sys.argv[2],))
    unicast = [r async for r in scan(check_scope(sys.argv[3:], [sys.argv[2]]), options)]
    dump = lambda rs: [{"ip": r.ip, "open_ports": r.open_ports, "errors": r.errors,
                        "evidence": [[e.signal.value, e.value, e.source] for e in r.evidence]} for r in rs]
    print(json.dumps({"multicast": dump(found), "unicast": dump(unicast)}))

asyncio.run(main())
"""


def test_multicast_discovery_finds_devices_on_the_link(namespaces: tuple[str, str], tmp_path: Path) -> None:
    dev_ns, scan_ns = namespaces
    manifest = tmp_path / "fleet.json"
    sim = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            dev_ns,
            sys.executable,
            "-m",
            "clearsite",
            "sim",
            "--hosts",
            "2",
            "--seed",
            "3",
            "--base",
            DEVICE_BASE,
            "--allow-any-address",
            "--multicast",
            "--shards",
            "1",
            "--persona",
            "hikvision-camera",
            "--persona",
            "dahua-camera",
            "--manifest",
            str(manifest),
            "--duration",
            "60",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        assert sim.stderr is not None
        line = ""
        while time.monotonic() < deadline and "serving" not in line:
            line = sim.stderr.readline()
            assert "could not bind" not in line, line
            if not line and sim.poll() is not None:
                break
        assert "serving" in line, f"simulator did not start in the namespace: {line!r}"
        devices = {d["ip"]: d for d in json.loads(manifest.read_text())["devices"]}
        out = subprocess.run(
            ["ip", "netns", "exec", scan_ns, sys.executable, "-c", SCANNER, SCANNER_IP, SUBNET, *devices],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout)
    finally:
        sim.terminate()
        sim.wait(10)

    found = {r["ip"]: r for r in result["multicast"]}
    assert set(found) == set(devices)
    for ip, device in devices.items():
        evidence = {(signal, value) for signal, value, _ in found[ip]["evidence"]}
        assert ("model", device["model"]) in evidence
        assert ("onvif_scope", f"onvif://www.onvif.org/hardware/{device['model']}") in evidence
        if device["persona"] == "hikvision-camera":
            assert ("sadp", f"DeviceSN={device['serial']}") in evidence and ("mac", device["mac"]) in evidence
        else:
            assert ("dhip", f"SerialNo={device['serial']}") in evidence and ("mac", device["mac"]) in evidence
    unicast = {r["ip"]: r for r in result["unicast"]}
    for ip, device in devices.items():
        assert unicast[ip]["open_ports"] == device["tcp_ports"]
