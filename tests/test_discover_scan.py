"""The scanner against the emulated fleet: every persona seen right, hostile ones survived, limits held.

A guard wraps socket connect/sendto for the whole module: any destination outside 127.0.0.0/8
fails the test, so a bug can never send a packet off this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import socket
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from clearsite.core.models import Signal
from clearsite.discover import (
    HostReport,
    ScanOptions,
    ScanStats,
    ScopeError,
    check_scope,
    describe_probes,
    scan,
)
from clearsite.sim import PERSONAS, Fleet, SimDevice

pytestmark = pytest.mark.network

BASE = "127.77.0.1"
NETWORKS = ["127.77.0.0/16"]
FAST = ScanOptions(
    rate=None,
    connect_timeout=1.0,
    read_timeout=0.5,
    request_timeout=1.5,
    host_timeout=8.0,
    udp_timeout=0.5,
    snmp_community="public",
    networks=tuple(NETWORKS),
)


class Guard:
    """Counts connection attempts and refuses any that would leave loopback."""

    def __init__(self) -> None:
        self.attempts: list[Any] = []

    def check(self, address: Any) -> None:
        self.attempts.append(address)
        if isinstance(address, tuple) and not ipaddress.ip_address(address[0]).is_loopback:
            raise AssertionError(f"test tried to reach {address[0]}, outside loopback")


@pytest.fixture(autouse=True)
def guard(monkeypatch: pytest.MonkeyPatch) -> Guard:
    g = Guard()
    original_connect, original_connect_ex, original_sendto = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.socket.sendto,
    )

    def connect(self: socket.socket, address: Any) -> None:
        g.check(address)
        return original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        g.check(address)
        return original_connect_ex(self, address)

    def sendto(self: socket.socket, data: bytes, *args: Any) -> int:
        g.check(args[-1])
        return original_sendto(self, data, *args)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket.socket, "sendto", sendto)
    return g


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    fleet = Fleet(len(PERSONAS), seed=11, base=BASE)  # one host per persona
    with fleet.in_thread() as server:
        assert not server.failures, server.failures
        yield fleet


def device(fleet: Fleet, key: str) -> SimDevice:
    return next(d for d in fleet.devices if d.persona.key == key)


def run_scan(
    addresses: list[str], options: ScanOptions = FAST, stats: ScanStats | None = None
) -> list[HostReport]:
    async def go() -> list[HostReport]:
        return [r async for r in scan(addresses, options, stats=stats)]

    return asyncio.run(go())


@pytest.fixture(scope="module")
def reports(fleet: Fleet) -> dict[str, HostReport]:
    return {r.ip: r for r in run_scan([d.ip for d in fleet.devices])}


def values(report: HostReport, signal: Signal) -> list[str]:
    return [e.value for e in report.evidence if e.signal is signal]


# What each persona must reveal beyond model/serial/MAC; {serial}/{model} are filled from the manifest.
SIGNATURES: dict[str, list[tuple[Signal, str]]] = {
    "hikvision-camera": [
        (Signal.HTTP_SERVER, "App-webs/"),
        (Signal.HTTP_PATH, "/ISAPI/System/deviceInfo 401"),
        (Signal.HTTP_REALM, r"IP Camera\(\w{5}\)"),
        (Signal.RTSP_REALM, r"IP Camera\(\w{5}\)"),
        (Signal.TLS_SUBJECT, "CN=192.168.1.64,C=CN"),
        (Signal.SADP, "DeviceSN={serial}"),
        (Signal.ONVIF_SCOPE, "onvif://www.onvif.org/location/city/hangzhou"),
        (Signal.FAVICON, "[0-9a-f]{32}"),
    ],
    "hikvision-nvr": [
        (Signal.HTTP_SERVER, "DNVRS-Webs"),
        (Signal.HTTP_REALM, "DVRNVRDVS"),
        (Signal.TLS_SUBJECT, "CN=www.hikvision.com,OU=DVRNVR,O=HIKVISION,L=HangZhou,ST=ZheJiang,C=CN"),
        (Signal.SNMP_SYSDESCR, "Hikvision company products"),
        (Signal.SNMP_OID, "1.3.6.1.4.1.50001"),
    ],
    "ezviz-camera": [(Signal.SADP, "EZVIZCode=1"), (Signal.PORT, "8000/tcp")],
    "hilook-camera": [(Signal.ONVIF_SCOPE, "onvif://www.onvif.org/name/HiLook%20{model}")],
    "lts-camera": [(Signal.HTTP_SERVER, "Webs"), (Signal.OEM_CODE, "10101")],
    "dahua-camera": [
        (Signal.RTSP_SERVER, "Dahua Rtsp Server"),
        (Signal.HTTP_REALM, "Login to {serial}"),
        (Signal.HTTP_TITLE, "WEB SERVICE"),
        (Signal.HTTP_PATH, r"/cgi-bin/magicBox\.cgi\?action=getDeviceType 401"),
        (Signal.ONVIF_SCOPE, "onvif://www.onvif.org/location/country/china"),
    ],
    "dahua-nvr": [(Signal.DHIP, "DeviceClass=NVR"), (Signal.PORT, "37777/tcp")],
    "amcrest-camera": [(Signal.VENDOR, "Amcrest"), (Signal.OEM_CODE, "AC"), (Signal.SERIAL, "AMC0.*")],
    "lorex-camera": [
        (Signal.VENDOR, "LOREX"),
        (Signal.OEM_CODE, "LR"),
        (Signal.RTSP_REALM, "Login to ND[0-9]+"),
    ],
    "imou-camera": [(Signal.DHIP, "SerialNo={serial}")],
    "uniview-camera": [(Signal.HTTP_PATH, "/LAPI/V1.0/System/DeviceInfo 401")],
    "tiandy-camera": [(Signal.ONVIF_SCOPE, "onvif://www.onvif.org/name/Tiandy%20{model}")],
    "milesight-camera": [(Signal.TLS_SUBJECT, "CN=Milesight Camera")],
    "xiongmai-whitelabel": [
        (Signal.HTTP_SERVER, "uc-httpd 1.0.0"),
        (Signal.HTTP_TITLE, "NETSurveillance WEB"),
        (Signal.RTSP_SERVER, "H264DVR 1.0"),
        (Signal.PORT, "34567/tcp"),
    ],
    "axis-camera": [
        (Signal.VENDOR, "AXIS"),
        (Signal.RTSP_REALM, "AXIS_WS_{serial}"),
        (Signal.HTTP_TITLE, "AXIS"),
    ],
    "hanwha-camera": [(Signal.RTSP_REALM, "iPOLiS"), (Signal.VENDOR, "Hanwha Vision")],
    "bosch-camera": [(Signal.HTTP_SERVER, "VCS-VideoJet-Webserver")],
    "avigilon-camera": [(Signal.RTSP_SERVER, r"AvigilonOnvifNvt/4\.10\.0\.40")],
    "mobotix-camera": [
        (Signal.HTTP_SERVER, "thttpd/2.19-MX Jan 24 2006"),
        (Signal.RTSP_REALM, "MOBOTIX Camera User"),
    ],
    "vivotek-camera": [(Signal.HTTP_SERVER, "Vivotek Network Camera")],
}


def test_every_maker_persona_has_a_signature() -> None:
    makers = {p.key for p in PERSONAS if not p.hostile}
    assert makers == set(SIGNATURES)


@pytest.mark.parametrize("key", sorted(SIGNATURES))
def test_persona_is_seen_with_its_firmware_signature(
    key: str, fleet: Fleet, reports: dict[str, HostReport]
) -> None:
    dev = device(fleet, key)
    report = reports[dev.ip]
    assert report.open_ports == sorted(p for p in dev.persona.tcp)
    for signal, pattern in SIGNATURES[key]:
        wanted = pattern.replace("{serial}", re.escape(dev.serial)).replace("{model}", re.escape(dev.model))
        assert any(re.fullmatch(wanted, v) for v in values(report, signal)), (signal, wanted, report.evidence)
    reveals = set(dev.persona.udp) & {"sadp", "dhip", "wsd"} or key == "axis-camera"
    if reveals:
        models = values(report, Signal.MODEL)
        assert any(m == dev.model or dev.model.endswith(m) for m in models), models
    if dev.mac and ({"sadp", "dhip"} & set(dev.persona.udp) or key in ("hikvision-camera", "axis-camera")):
        assert dev.mac in values(report, Signal.MAC)
    if {"sadp", "dhip"} & set(dev.persona.udp):
        assert dev.serial in values(report, Signal.SERIAL)
        assert dev.firmware in values(report, Signal.FIRMWARE)


def test_evidence_sources_say_how_each_fact_was_seen(fleet: Fleet, reports: dict[str, HostReport]) -> None:
    dev = device(fleet, "dahua-camera")
    realm = next(e for e in reports[dev.ip].evidence if e.signal is Signal.HTTP_REALM)
    assert (
        realm.source.startswith(f"http://{dev.ip}:80/cgi-bin/magicBox.cgi")
        and "401 Digest realm" in realm.source
    )


def test_each_fact_is_recorded_once_per_host(reports: dict[str, HostReport]) -> None:
    for report in reports.values():
        keys = [(e.signal, e.value) for e in report.evidence]
        assert len(keys) == len(set(keys)), report.ip


def test_no_credentials_are_ever_sent(reports: dict[str, HostReport]) -> None:
    # The probes' own request builders never add Authorization; the sim would have answered 200.
    for report in reports.values():
        assert not any("Authorization" in e.source for e in report.evidence)


# --------------------------------------------------------------------------- hostile devices


def test_script_in_title_is_kept_as_data(fleet: Fleet, reports: dict[str, HostReport]) -> None:
    report = reports[device(fleet, "hostile-script-title").ip]
    assert values(report, Signal.HTTP_TITLE) == ["<script>alert('clearsite')</script>"]


def test_ten_megabyte_header_is_cut_not_read(fleet: Fleet) -> None:
    ip = device(fleet, "hostile-huge-header").ip
    tracemalloc.start()
    try:
        (report,) = run_scan([ip])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, peak  # the header alone is 10 MB
    assert any("cut at 32768 bytes" in e for e in report.errors)
    assert values(report, Signal.HTTP_SERVER) == ["padding"]


def test_entity_bomb_and_external_entity_are_refused(fleet: Fleet, reports: dict[str, HostReport]) -> None:
    report = reports[device(fleet, "hostile-entity-bomb").ip]
    assert not values(report, Signal.ONVIF_SCOPE) and not values(report, Signal.SADP)
    assert not any("lol" in e.value or "clearsite-must-not-fetch" in e.value for e in report.evidence)
    assert any("WS-Discovery reply is not safe" in e for e in report.errors)


def test_silent_host_costs_timeouts_not_a_hang(fleet: Fleet) -> None:
    ip = device(fleet, "hostile-silent").ip
    (report,) = run_scan([ip])
    # The scanner's own clock decides: each probe's timeout ended it, not the whole host's.
    assert not any("host took longer than" in e for e in report.errors), report.errors
    assert report.open_ports == [80, 443, 554]
    assert any("no reply within the time limit" in e for e in report.errors)


def test_garbage_on_rtsp_is_survived(fleet: Fleet, reports: dict[str, HostReport]) -> None:
    report = reports[device(fleet, "hostile-garbage-rtsp").ip]
    assert not values(report, Signal.RTSP_SERVER)
    assert any("not RTSP" in e for e in report.errors)


# --------------------------------------------------------------------------- scope, limits, dry run


def test_out_of_scope_target_is_refused_before_any_packet(guard: Guard) -> None:
    with pytest.raises(ScopeError, match=r"192\.0\.2\.10 .*127\.77\.0\.0/16"):
        check_scope(["192.0.2.10"], NETWORKS)
    with pytest.raises(ScopeError, match="outside the site's networks"):
        run_scan(["198.51.100.7"])  # FAST carries the site's networks, so scan() re-checks
    assert guard.attempts == []


def test_loopback_outside_the_declared_network_is_refused_too() -> None:
    with pytest.raises(ScopeError):
        check_scope(["127.0.0.1"], NETWORKS)


def test_scope_expansion_is_capped_and_excludes_apply() -> None:
    with pytest.raises(ScopeError, match="limit"):
        check_scope(["127.0.0.0/8"], ["127.0.0.0/8"])
    hosts = check_scope(["127.77.0.0/29"], NETWORKS, exclude=["127.77.0.1"])
    assert [str(h) for h in hosts] == [f"127.77.0.{i}" for i in range(2, 7)]


def test_rate_limit_holds_probes_per_second(fleet: Fleet) -> None:
    ips = [device(fleet, k).ip for k in ("dahua-camera", "uniview-camera")]
    stats = ScanStats()
    rate = 40.0
    started = time.monotonic()
    run_scan(ips, _with(FAST, rate=rate), stats)
    elapsed = time.monotonic() - started
    assert stats.probes > 20
    assert elapsed >= (stats.probes - 1) / rate * 0.95, (stats.probes, elapsed)


def _with(options: ScanOptions, **changes: Any) -> ScanOptions:
    from dataclasses import replace

    return replace(options, **changes)


def test_dry_run_sends_nothing(monkeypatch: pytest.MonkeyPatch, guard: Guard) -> None:
    def no_sockets(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("dry run opened a socket")

    monkeypatch.setattr(socket, "socket", no_sockets)
    lines = describe_probes(check_scope(["127.77.0.0/30"], NETWORKS), FAST)
    assert any("TCP connect to ports 80, 443" in line for line in lines)
    assert any("no credentials" in line for line in lines)
    assert [line for line in lines if line.startswith("target ")] == [
        "target 127.77.0.1",
        "target 127.77.0.2",
    ]
    assert guard.attempts == []


def test_stopping_early_keeps_what_was_yielded_and_leaves_nothing_running(fleet: Fleet) -> None:
    ips = [d.ip for d in fleet.devices]

    async def go() -> tuple[list[HostReport], int]:
        got = []
        async with contextlib.aclosing(scan(ips, _with(FAST, host_concurrency=2))) as reports:
            async for report in reports:
                got.append(report)
                if len(got) == 2:
                    break
        await asyncio.sleep(0)
        return got, len([t for t in asyncio.all_tasks() if t is not asyncio.current_task()])

    got, left = asyncio.run(go())
    assert len(got) == 2 and all(r.finished for r in got)
    assert left == 0


def test_closed_ports_are_refused_not_open(fleet: Fleet, reports: dict[str, HostReport]) -> None:
    dev = device(fleet, "imou-camera")  # serves 554 and 37777 only
    assert reports[dev.ip].open_ports == [554, 37777]
