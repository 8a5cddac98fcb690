"""Parsers of device replies: correct on real shapes, and never crash or blow up on hostile bytes."""

from __future__ import annotations

import contextlib
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from clearsite.core.models import Signal
from clearsite.discover import dhip, sadp, snmp, textparse, wsd
from clearsite.discover.http import _same_origin_path, normalise_mac
from clearsite.discover.netio import auth_challenges, clean_text, parse_head, printable_banner
from clearsite.discover.tls import certificate_names
from clearsite.sim.certs import make_certificate
from clearsite.sim.personas import BILLION_LAUGHS, XXE_DOCTYPE
from clearsite.sim.replies import Cert


def test_murmur3_matches_published_vectors() -> None:
    assert textparse.murmur3_32(b"foo") == -156908512  # mmh3.hash("foo")
    assert textparse.murmur3_32(b"", 1) & 0xFFFFFFFF == 0x514E28B7
    assert textparse.murmur3_32(b"Hello, world!", 0x9747B28C) & 0xFFFFFFFF == 0x24884CBA
    assert (
        textparse.murmur3_32(b"The quick brown fox jumps over the lazy dog", 0x9747B28C) & 0xFFFFFFFF
        == 0x2FA826CD
    )


def test_title_is_unescaped_and_collapsed_but_script_text_kept_verbatim() -> None:
    assert textparse.html_title(b"<html><TITLE>\n  WEB &amp; SERVICE </TITLE>") == "WEB & SERVICE"
    assert textparse.html_title(b"<title><script>alert(1)</script></title>") == "<script>alert(1)</script>"
    assert textparse.html_title(b"<title></title>") is None
    assert textparse.html_title(b"no title here") is None


def test_status_line_and_headers_parse_with_realm() -> None:
    head = parse_head(
        b'HTTP/1.1 401 Unauthorized\r\nServer: App-webs/\r\nWWW-Authenticate: Digest realm="IP Camera(C2183)", nonce="x"'
    )
    assert head is not None and head.status == 401 and head.get("server") == "App-webs/"
    assert auth_challenges(head.get_all("www-authenticate")) == [("Digest", "IP Camera(C2183)")]
    assert auth_challenges(["Basic realm=DVRNVRDVS"]) == [("Basic", "DVRNVRDVS")]
    assert parse_head(b"\x00\x01garbage") is None


def test_rtsp_status_line_parses() -> None:
    head = parse_head(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nServer: Dahua Rtsp Server")
    assert head is not None and head.protocol == "RTSP/1.0" and head.get("server") == "Dahua Rtsp Server"


def test_clean_text_escapes_controls_and_caps_length() -> None:
    assert clean_text("a\x00b\r\nc") == "a\\x00b\\r\\nc"
    assert len(clean_text("x" * 10_000)) <= 513


def test_printable_banner_rejects_binary_noise() -> None:
    assert printable_banner(b"SSH-2.0-dropbear\r\n") == "SSH-2.0-dropbear\r\n"
    assert printable_banner(bytes(range(256))) is None


def test_redirects_only_followed_on_the_same_origin() -> None:
    assert _same_origin_path("/doc/page/login.asp?_1", "127.0.0.5", 80) == "/doc/page/login.asp?_1"
    assert _same_origin_path("http://127.0.0.5:80/index.asp", "127.0.0.5", 80) == "/index.asp"
    assert _same_origin_path("http://127.0.0.5/index.asp", "127.0.0.5", 80) == "/index.asp"
    assert _same_origin_path("http://198.51.100.7/steal", "127.0.0.5", 80) is None
    assert _same_origin_path("http://127.0.0.5:8080/", "127.0.0.5", 80) is None
    assert _same_origin_path("javascript:alert(1)", "127.0.0.5", 80) is None


def test_mac_normalisation() -> None:
    assert normalise_mac("58-50-ed-1f-e3-85") == "58:50:ED:1F:E3:85"
    assert normalise_mac("ACCC8E024C58") == "AC:CC:8E:02:4C:58"
    assert normalise_mac("not a mac") == "not a mac"


def test_xml_entity_bomb_and_external_entity_are_refused() -> None:
    bomb = f'<?xml version="1.0"?>{BILLION_LAUGHS}<a>&lol9;</a>'.encode()
    assert textparse.safe_xml(bomb) is None
    xxe = f'<?xml version="1.0"?>{XXE_DOCTYPE}<ProbeMatch><DeviceSN>&xxe;</DeviceSN></ProbeMatch>'.encode()
    assert sadp.parse_reply(xxe) is None


def test_sadp_reply_fields() -> None:
    reply = (
        b'<?xml version="1.0" encoding="UTF-8"?><ProbeMatch><Uuid>X</Uuid><Types>inquiry</Types>'
        b"<DeviceDescription>DS-2CD2385G1-I</DeviceDescription>"
        b"<DeviceSN>DS-2CD2385G1-I20200414AAWRE33842150</DeviceSN><MAC>58-50-ed-1f-e3-85</MAC>"
        b"<DetailOEMCode>1</DetailOEMCode></ProbeMatch>"
    )
    fields = sadp.parse_reply(reply)
    assert fields is not None
    assert fields["DeviceDescription"] == "DS-2CD2385G1-I" and fields["DetailOEMCode"] == "1"
    payload, probe_id = sadp.build_inquiry()
    assert b"<Types>inquiry</Types>" in payload and probe_id.encode() in payload


def test_dhip_frame_round_trip_and_oem_code() -> None:
    message = {
        "mac": "98:f9:cc:af:59:0d",
        "method": "client.notifyDevInfo",
        "params": {
            "deviceInfo": {"DeviceType": "IPC-B54IR-Z4E-S3", "Version": "2.622.00LR000.0.R", "Port": 37777}
        },
    }
    framed = dhip.frame(json.dumps(message).encode())
    assert framed[4:8] == b"DHIP" and len(framed) == 32 + len(json.dumps(message))
    decoded = dhip.unframe(framed)
    assert decoded is not None
    mac, info = dhip.device_info(decoded)  # type: ignore[misc]
    assert mac == "98:f9:cc:af:59:0d" and info["DeviceType"] == "IPC-B54IR-Z4E-S3"
    assert dhip.oem_code("2.622.00LR000.0.R") == "LR"
    assert dhip.oem_code("3.142.0000000.8.R") is None
    assert dhip.device_info(dhip.unframe(dhip.build_search()) or {}) is None  # our own echo is not a device


def test_wsd_probe_matches_scopes() -> None:
    reply = (
        b'<?xml version="1.0"?><e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" '
        b'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        b'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><e:Header><a:RelatesTo>urn:uuid:1</a:RelatesTo>'
        b"</e:Header><e:Body><d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>urn:uuid:2</a:Address>"
        b"</a:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>"
        b"onvif://www.onvif.org/hardware/DS-2CD2385G1-I onvif://www.onvif.org/name/HIKVISION%20DS-2CD2385G1-I "
        b"onvif://www.onvif.org/MAC/58:50:ed:1f:e3:85</d:Scopes><d:XAddrs>http://198.51.100.7/onvif</d:XAddrs>"
        b"</d:ProbeMatch></d:ProbeMatches></e:Body></e:Envelope>"
    )
    matches = wsd.parse_probe_matches(reply)
    assert matches is not None and len(matches) == 1
    assert matches[0].scope_values("hardware") == ["DS-2CD2385G1-I"]
    assert matches[0].scope_values("name") == ["HIKVISION DS-2CD2385G1-I"]
    assert matches[0].relates_to == "urn:uuid:1"
    probe, message_id = wsd.build_probe()
    assert message_id.encode() in probe and b"NetworkVideoTransmitter" in probe


def test_snmp_get_round_trip() -> None:
    request = snmp.parse_message(snmp.build_get("public", 1234, [snmp.SYS_DESCR, snmp.SYS_OBJECT_ID]))
    assert (
        request.community == b"public" and request.request_id == 1234 and request.pdu_type == snmp.GET_REQUEST
    )
    assert [oid for oid, _, _ in request.varbinds] == [snmp.SYS_DESCR, snmp.SYS_OBJECT_ID]
    oid_value = snmp.encode_oid("1.3.6.1.4.1.39165.1.1")[2:]
    reply = snmp.Message(
        1, b"public", snmp.GET_RESPONSE, 1234, 0, [(snmp.SYS_OBJECT_ID, snmp.OID, oid_value)]
    )
    parsed = snmp.parse_message(snmp.build_message(reply))
    assert snmp.value_text(*parsed.varbinds[0][1:]) == "1.3.6.1.4.1.39165.1.1"


def test_certificate_names_are_rfc4514_most_specific_first() -> None:
    subject = (
        ("C", "CN"),
        ("ST", "ZheJiang"),
        ("L", "HangZhou"),
        ("O", "HIKVISION"),
        ("OU", "DVRNVR"),
        ("CN", "www.hikvision.com"),
    )
    pem, _ = make_certificate(Cert(subject))
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    names = certificate_names(der)
    assert names == ("CN=www.hikvision.com,OU=DVRNVR,O=HIKVISION,L=HangZhou,ST=ZheJiang,C=CN",) * 2
    assert certificate_names(b"\x30\x03garbage") is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_parsers_survive_arbitrary_bytes(data: bytes) -> None:
    parse_head(data)
    textparse.html_title(data)
    textparse.dechunk(data)
    textparse.safe_xml(data)
    textparse.safe_json(data)
    sadp.parse_reply(data)
    wsd.parse_probe_matches(data)
    message = dhip.unframe(data)
    if message is not None:
        dhip.device_info(message)
    certificate_names(data)
    with contextlib.suppress(snmp.SnmpError):
        snmp.parse_message(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512))
def test_dhip_survives_framed_garbage(body: bytes) -> None:
    message = dhip.unframe(dhip.frame(body))
    if message is not None:
        found = dhip.device_info(message)
        if found is not None:
            dhip.flat_fields(found[1])


def test_pacer_spaces_probes_at_the_configured_rate() -> None:
    import asyncio
    import time

    from clearsite.discover.netio import Pacer

    async def go(rate: float | None, n: int) -> float:
        pacer = Pacer(rate)
        started = time.monotonic()
        for _ in range(n):
            await pacer.acquire()
        return time.monotonic() - started

    # A lower bound on elapsed time: a busy machine can only make it longer.
    assert asyncio.run(go(100.0, 31)) >= 0.29  # 30 intervals of 10 ms
    # Without a rate no probe ever waits: acquiring finishes without once yielding to the event loop.
    unlimited = Pacer(None)
    for _ in range(1000):
        with pytest.raises(StopIteration):
            unlimited.acquire().send(None)


def test_scope_handles_ipv6_and_single_addresses() -> None:
    from clearsite.discover import ScopeError, check_scope

    assert [str(a) for a in check_scope(["::1"], ["::1/128"])] == ["::1"]
    assert [str(a) for a in check_scope(["127.77.0.9/32"], ["127.77.0.0/16"])] == ["127.77.0.9"]
    try:
        check_scope(["fe80::1"], ["127.77.0.0/16"])
    except ScopeError as exc:
        assert "fe80::1" in str(exc) and "127.77.0.0/16" in str(exc)
    else:
        raise AssertionError("an IPv6 target outside IPv4 networks was accepted")


def test_title_search_stays_linear_on_many_unclosed_tags() -> None:
    import time

    # CPU time of this process, which other work on a busy machine does not inflate; a quadratic search
    # would take tens of seconds here.
    started = time.process_time()
    assert textparse.html_title(b"<title>" * 9000) is None
    assert time.process_time() - started < 0.5


def _context() -> object:
    from clearsite.discover import HostReport, ScanOptions, ScanStats
    from clearsite.discover.netio import HostContext, Pacer

    return HostContext("127.77.0.1", ScanOptions(), Pacer(None), ScanStats(), HostReport("127.77.0.1"))


@pytest.mark.parametrize(
    "path, body",
    [
        ("/LAPI/V1.0/System/DeviceInfo", b'{"Response": ["not", "an", "object"]}'),
        ("/LAPI/V1.0/System/DeviceInfo", b'{"Response": {"Data": {"DeviceModel": 7}}}'),
        ("/axis-cgi/basicdeviceinfo.cgi", b'{"data": "x"}'),
        ("/axis-cgi/basicdeviceinfo.cgi", b"[" * 50_000),
        ("/ISAPI/System/deviceInfo", b"<DeviceInfo><model>" + b"x" * 5000),
        ("/cgi-bin/magicBox.cgi?action=getDeviceType", bytes(range(256)) * 10),
    ],
)
def test_api_bodies_of_any_shape_are_survived(path: str, body: bytes) -> None:
    from clearsite.discover.http import _record_api_body

    ctx = _context()
    _record_api_body(ctx, path, body, "http://127.77.0.1:80" + path)  # type: ignore[arg-type]
    assert all(e.signal is not Signal.MODEL or isinstance(e.value, str) for e in ctx.report.evidence)  # type: ignore[attr-defined]


def test_api_bodies_give_their_identity_fields() -> None:
    from clearsite.discover.http import _record_api_body

    ctx = _context()
    body = (
        b'{"Response": {"Data": {"DeviceModel": "IPC2122LB-SF28-A", "SerialNumber": "210235C3EH3194000123"}}}'
    )
    _record_api_body(ctx, "/LAPI/V1.0/System/DeviceInfo", body, "w")  # type: ignore[arg-type]
    found = {(e.signal, e.value) for e in ctx.report.evidence}  # type: ignore[attr-defined]
    assert (Signal.MODEL, "IPC2122LB-SF28-A") in found and (Signal.SERIAL, "210235C3EH3194000123") in found
