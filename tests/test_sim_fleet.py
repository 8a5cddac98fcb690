"""The emulated fleet: deterministic, loopback-only, each persona serving exactly its own ports."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearsite.cli.sim import app
from clearsite.discover import dhip, sadp, snmp, wsd
from clearsite.sim import BY_KEY, PERSONAS, Fleet, FleetError
from clearsite.sim.personas import UDP_PORTS

BASE = "127.78.0.1"


def test_same_seed_same_fleet_and_different_seed_differs() -> None:
    assert Fleet(60, seed=5, base=BASE).manifest() == Fleet(60, seed=5, base=BASE).manifest()
    assert Fleet(60, seed=5, base=BASE).manifest() != Fleet(60, seed=6, base=BASE).manifest()


def test_small_fleet_shows_every_persona_once_on_consecutive_addresses() -> None:
    fleet = Fleet(len(PERSONAS), seed=3, base=BASE)
    assert sorted(d.persona.key for d in fleet.devices) == sorted(BY_KEY)
    assert [d.ip for d in fleet.devices] == [f"127.78.0.{i}" for i in range(1, len(PERSONAS) + 1)]


def test_large_fleet_follows_persona_weights() -> None:
    fleet = Fleet(4096, seed=1, base="127.90.0.1")
    counts: dict[str, int] = {}
    for d in fleet.devices:
        counts[d.persona.key] = counts.get(d.persona.key, 0) + 1
    assert counts["hikvision-camera"] > counts["mobotix-camera"] > counts["hostile-silent"]
    assert fleet.devices[-1].ip == "127.90.16.0"


def test_manifest_carries_the_ground_truth(tmp_path: Path) -> None:
    fleet = Fleet(30, seed=9, base=BASE)
    path = fleet.write_manifest(tmp_path / "fleet.json")
    data = json.loads(path.read_text())
    entry = data["devices"][0]
    assert set(entry) >= {"ip", "persona", "producer", "label_brand", "model", "serial", "mac", "tcp_ports"}
    lorex = [d for d in data["devices"] if d["persona"] == "lorex-camera"]
    assert lorex and all(d["producer"] == "dahua" and d["label_brand"] == "Lorex" for d in lorex)
    assert all(d["serial"].startswith("ND") for d in lorex)
    hostile = [d for d in data["devices"] if d["hostile"]]
    assert hostile and all(d["producer"] is None for d in hostile)


def test_fleet_refuses_to_leave_loopback() -> None:
    with pytest.raises(FleetError, match="loopback"):
        Fleet(4, seed=1, base="192.0.2.1")
    with pytest.raises(FleetError, match="loopback"):
        Fleet(10, seed=1, base="127.255.255.250")  # would run past 127.255.255.255


def test_serial_and_mac_shapes_follow_the_makers() -> None:
    fleet = Fleet(400, seed=2, base="127.91.0.1")
    for d in fleet.devices:
        if d.persona.key == "hikvision-camera":
            assert (
                d.serial.startswith(d.model) and d.mac and d.mac[:8] in ("58:50:ED", "C0:56:E3", "BC:AD:28")
            )
        if d.persona.key == "axis-camera":
            assert d.serial == d.mac_plain
        if d.persona.key == "amcrest-camera":
            assert d.serial.startswith("AMC0") and "AC" in d.firmware


@pytest.mark.network
def test_listeners_bind_per_address_so_unserved_ports_stay_closed() -> None:
    fleet = Fleet(len(PERSONAS), seed=4, base=BASE)
    imou = next(d for d in fleet.devices if d.persona.key == "imou-camera")
    with fleet.in_thread() as server:
        assert not server.failures
        assert server.sockets == fleet.sockets_needed()
        with socket.create_connection((imou.ip, 554), timeout=2):
            pass
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((imou.ip, 80), timeout=2)


def _udp(ip: str, port: int, payload: bytes, timeout: float = 1.0) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect((ip, port))
        sock.send(payload)
        try:
            return sock.recv(65536)
        except (TimeoutError, ConnectionRefusedError):
            return None


@pytest.mark.network
def test_discovery_services_answer_only_well_formed_probes() -> None:
    fleet = Fleet(len(PERSONAS), seed=4, base=BASE)
    by_key = {d.persona.key: d for d in fleet.devices}
    with fleet.in_thread():
        hik, dahua, nvr = by_key["hikvision-camera"], by_key["dahua-camera"], by_key["hikvision-nvr"]
        reply = _udp(hik.ip, sadp.PORT, sadp.build_inquiry()[0])
        assert reply and (sadp.parse_reply(reply) or {}).get("DeviceSN") == hik.serial
        assert _udp(hik.ip, sadp.PORT, b"\x00garbage") is None
        reply = _udp(dahua.ip, dhip.PORT, dhip.build_search())
        found = dhip.device_info(dhip.unframe(reply or b"") or {})
        assert found and found[1]["SerialNo"] == dahua.serial
        probe, message_id = wsd.build_probe()
        matches = wsd.parse_probe_matches(_udp(dahua.ip, wsd.PORT, probe) or b"")
        assert matches and message_id in matches[0].relates_to
        assert _udp(dahua.ip, sadp.PORT, sadp.build_inquiry()[0]) is None  # a Dahua does not speak SADP
        wrong = snmp.build_get("private", 7, [snmp.SYS_DESCR])
        assert _udp(nvr.ip, UDP_PORTS["snmp"], wrong) is None  # wrong community: silence, as real agents do
        right = snmp.parse_message(
            _udp(nvr.ip, UDP_PORTS["snmp"], snmp.build_get("public", 7, [snmp.SYS_DESCR])) or b""
        )
        assert snmp.value_text(*right.varbinds[0][1:]) == "Hikvision company products"


@pytest.mark.network
def test_cli_serves_for_a_bounded_time_and_writes_the_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "m.json"
    result = CliRunner().invoke(
        app,
        [
            "--hosts",
            "4",
            "--seed",
            "2",
            "--base",
            "127.79.0.1",
            "--manifest",
            str(manifest),
            "--duration",
            "0.5",
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(json.loads(manifest.read_text())["devices"]) == 4


def test_cli_refuses_a_non_loopback_base() -> None:
    result = CliRunner().invoke(app, ["--hosts", "4", "--base", "10.0.0.1", "--duration", "0.1"])
    assert result.exit_code != 0 and "loopback" in result.output
