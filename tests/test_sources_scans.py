"""Parsers for existing scan outputs: nmap XML, masscan, switch MAC / ARP / DHCP tables.

Fixtures in tests/data/scans/ are hand-written to the tools' documented shapes (nmap.dtd, masscan's
output writers, Cisco/Windows/ISC/dnsmasq exports); none is a real site.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearsite.core.models import Evidence, ScannedHost, Signal
from clearsite.formats.scans import ScanParseError, ScanResult, parse_scan, parse_scan_file
from clearsite.formats.scans.masscan import parse_masscan
from clearsite.formats.scans.nmap import parse_nmap_xml
from clearsite.formats.scans.switch_tables import parse_switch_table

DATA = Path(__file__).parent / "data" / "scans"


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def by_ip(result: ScanResult) -> dict[str | None, ScannedHost]:
    return {host.ip: host for host in result}


def values(host: ScannedHost, signal: Signal) -> list[str]:
    return [e.value for e in host.evidence if e.signal == signal]


# --- nmap XML ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site_scan() -> ScanResult:
    return parse_nmap_xml(read("nmap_site_sv_os.xml"), "site.xml")


def test_nmap_keeps_only_hosts_that_were_up(site_scan: ScanResult) -> None:
    assert [h.ip for h in site_scan] == [
        "10.20.30.11",
        "10.20.30.12",
        "10.20.30.14",
        "10.20.30.15",
        "2001:db8::1e",
    ]
    assert site_scan.skipped == 1  # 10.20.30.13 was down
    assert site_scan.errors == []


def test_nmap_keeps_only_open_ports(site_scan: ScanResult) -> None:
    hosts = by_ip(site_scan)
    assert hosts["10.20.30.11"].open_ports == [80, 443, 554, 8000]  # 37777 filtered, 22 closed
    assert hosts["10.20.30.12"].open_ports == [80, 554, 37777]  # udp 37810 open|filtered is not open
    assert hosts["10.20.30.14"].open_ports == []


def test_nmap_mac_is_normalised_and_its_vendor_is_an_oui_fact(site_scan: ScanResult) -> None:
    camera = by_ip(site_scan)["10.20.30.12"]
    assert camera.mac == "3C:EF:8C:5D:6E:7F"
    assert Evidence(Signal.MAC, "3C:EF:8C:5D:6E:7F", "site.xml host 10.20.30.12 mac") in camera.evidence
    assert (
        Evidence(Signal.OUI, "Zhejiang Dahua Technology", "site.xml host 10.20.30.12 mac vendor")
        in camera.evidence
    )


def test_nmap_hostname_prefers_the_users_name(site_scan: ScanResult) -> None:
    hosts = by_ip(site_scan)
    assert hosts["10.20.30.14"].hostname == "printer-2f"
    assert hosts["10.20.30.11"].hostname == "cam-reception-01.estate.example"
    assert hosts["10.20.30.12"].hostname is None


def test_nmap_service_product_becomes_a_banner_with_its_source(site_scan: ScanResult) -> None:
    camera = by_ip(site_scan)["10.20.30.11"]
    assert (
        Evidence(Signal.BANNER, "Hikvision IP camera httpd", "site.xml host 10.20.30.11 port 80/tcp service")
        in camera.evidence
    )
    assert "webcam" in values(camera, Signal.DESCRIPTION)
    assert "cpe:/h:hikvision:ds-2cd2143g0-i" in values(camera, Signal.BANNER)
    assert "80/tcp" in values(camera, Signal.PORT)


def test_nmap_scripts_map_to_their_signals(site_scan: ScanResult) -> None:
    camera = by_ip(site_scan)["10.20.30.11"]
    assert values(camera, Signal.HTTP_SERVER) == ["App-webs/"]
    assert values(camera, Signal.TLS_SUBJECT) == ["CN=IPC, O=Hikvision, C=CN"]
    assert values(camera, Signal.TLS_ISSUER) == ["CN=IPC, O=Hikvision, C=CN"]
    assert values(camera, Signal.HTTP_TITLE) == []  # "Site doesn't have a title" is not a title
    assert "OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, GET_PARAMETER" in values(
        camera, Signal.BANNER
    )
    recorder = by_ip(site_scan)["10.20.30.12"]
    assert values(recorder, Signal.HTTP_TITLE) == ["WEB SERVICE"]


def test_nmap_unrecognised_service_fingerprint_yields_server_and_realm(site_scan: ScanResult) -> None:
    recorder = by_ip(site_scan)["10.20.30.12"]
    assert values(recorder, Signal.RTSP_SERVER) == ["Dahua Rtsp Server"]
    assert values(recorder, Signal.RTSP_REALM) == ["Login to ZZ0123456789"]
    v6 = by_ip(site_scan)["2001:db8::1e"]
    assert values(v6, Signal.HTTP_SERVER) == ["Webs"]
    assert values(v6, Signal.HTTP_TITLE) == ["NETSURVEILLANCE WEB"]


def test_nmap_os_detection_uses_the_best_match_only(site_scan: ScanResult) -> None:
    camera = by_ip(site_scan)["10.20.30.11"]
    descriptions = values(camera, Signal.DESCRIPTION)
    assert "Hikvision DS-2CD-series IP camera (Linux 3.0)" in descriptions
    assert "Linux 3.0 - 3.10" not in descriptions
    assert any(e.source == "site.xml host 10.20.30.11 os match (94%)" for e in camera.evidence)


def test_nmap_ipv6_address_is_normalised(site_scan: ScanResult) -> None:
    assert "2001:db8::1e" in by_ip(site_scan)


def test_nmap_records_when_the_host_was_scanned(site_scan: ScanResult) -> None:
    assert by_ip(site_scan)["10.20.30.11"].extra["scanned_at"] == "2026-01-01T00:01:00+00:00"


def test_markup_in_a_banner_passes_through_as_inert_text(site_scan: ScanResult) -> None:
    host = by_ip(site_scan)["10.20.30.15"]
    assert "Welcome <script>alert('x')</script> to NVR" in values(host, Signal.BANNER)
    assert "<img src=x onerror=alert(1)>" in values(host, Signal.BANNER)
    assert values(host, Signal.HTTP_TITLE) == [
        "</title><script>document.location='http://198.51.100.7/'</script>"
    ]
    # The same reply seen by the service fingerprint and the banner script is one fact, not two.
    assert values(host, Signal.BANNER).count("Welcome <script>alert('x')</script> to NVR") == 1


def test_raw_device_bytes_nmap_copied_into_the_file_are_repaired_not_fatal() -> None:
    # A GBK page title and a control byte, written raw as nmap sometimes does.
    title = "\u6b22\u8fce".encode("gbk") + b"\x01"
    data = read("nmap_site_sv_os.xml").replace(
        b'output="WEB SERVICE"><elem key="title">WEB SERVICE', b'output="x"><elem key="title">' + title
    )
    for strict in (False, True):
        result = parse_nmap_xml(data, "gbk.xml", strict=strict)
        assert len(result) == 5
        (title_value,) = values(by_ip(result)["10.20.30.12"], Signal.HTTP_TITLE)
        assert "\ufffd" in title_value
        assert [str(e) for e in result.errors] == [
            "gbk.xml: bytes that are not UTF-8 were replaced; control characters XML forbids were "
            "replaced by spaces (nmap copies some device replies raw)"
        ]


def test_nmap_accepts_text_as_well_as_bytes() -> None:
    text = read("nmap_site_sv_os.xml").decode("utf-8")
    assert len(parse_nmap_xml(text, "site.xml")) == 5


@pytest.mark.parametrize(
    "name",
    [
        "hostile_xml_bomb.xml",
        "hostile_external_entity.xml",
        "hostile_external_dtd.xml",
        "hostile_parameter_entity.xml",
    ],
)
def test_hostile_xml_is_refused_quickly_with_one_line_naming_the_file(name: str) -> None:
    started = time.process_time()
    with pytest.raises(ScanParseError) as caught:
        parse_nmap_xml(read(name), name)
    assert time.process_time() - started < 1.0
    message = str(caught.value)
    assert message.startswith(f"{name}: refused")
    assert "\n" not in message
    assert "root:" not in message  # nothing of /etc/passwd was read


def test_xml_that_is_not_nmap_is_refused() -> None:
    with pytest.raises(ScanParseError, match=r"^not_nmap.xml: refused: root element is <html>"):
        parse_nmap_xml(read("not_nmap.xml"), "not_nmap.xml")


def test_an_interrupted_scan_keeps_the_complete_hosts_and_says_where_it_broke() -> None:
    result = parse_nmap_xml(read("nmap_truncated.xml"), "partial.xml")
    assert [h.ip for h in result] == ["10.20.30.11", "10.20.30.12"]
    assert len(result.errors) == 1
    assert str(result.errors[0]).startswith("partial.xml: XML breaks off at line 84")


def test_an_interrupted_scan_is_an_error_when_strict() -> None:
    with pytest.raises(ScanParseError, match=r"^partial.xml: not well-formed XML .* line 84"):
        parse_nmap_xml(read("nmap_truncated.xml"), "partial.xml", strict=True)


@pytest.mark.parametrize(
    "data", [b"", b"   \n", b"<nmaprun", b"\x00\x01\x02garbage", b"<?xml version='1.0'?>"]
)
def test_empty_or_broken_xml_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ScanParseError, match=r"^bad.xml: "):
        parse_nmap_xml(data, "bad.xml")


def test_fifty_megabytes_of_nonsense_fails_fast() -> None:
    junk = os.urandom(1 << 20) * 50
    for parse in (parse_nmap_xml, parse_masscan, parse_switch_table, parse_scan):
        started = time.process_time()
        with pytest.raises(ScanParseError) as caught:
            parse(junk, "junk.bin")
        assert time.process_time() - started < 3.0, parse.__name__
        assert str(caught.value).startswith("junk.bin: ")


def test_fifty_megabytes_of_text_nonsense_fails_fast() -> None:
    junk = (b"lorem ipsum dolor sit amet, " * 37 + b"\n") * 50_000
    for parse in (parse_nmap_xml, parse_masscan, parse_switch_table):
        started = time.process_time()
        with pytest.raises(ScanParseError):
            parse(junk, "junk.txt")
        assert time.process_time() - started < 3.0, parse.__name__


def test_absurdly_deep_nesting_is_refused() -> None:
    data = b"<nmaprun><host>" + b"<a>" * 200 + b"</a>" * 200 + b"</host></nmaprun>"
    with pytest.raises(ScanParseError, match="nested more than 64 deep"):
        parse_nmap_xml(data, "deep.xml")


def test_undeclared_entity_is_a_parse_error_not_an_expansion() -> None:
    data = b'<!DOCTYPE nmaprun>\n<nmaprun><host><status state="up"/>&x;</host></nmaprun>'
    with pytest.raises(ScanParseError, match=r"^e.xml: not well-formed XML \(undefined entity\)"):
        parse_nmap_xml(data, "e.xml")


def test_a_large_nmap_file_streams_host_by_host() -> None:
    host = (
        '<host><status state="up" reason="arp-response"/><address addr="10.{a}.{b}.{c}" addrtype="ipv4"/>'
        '<ports><port protocol="tcp" portid="80"><state state="open"/>'
        '<service name="http" product="App-webs"/>'
        '<script id="http-title" output="t"><elem key="title">t</elem></script></port></ports></host>\n'
    )
    body = "".join(host.format(a=i >> 16, b=(i >> 8) & 255, c=i & 255) for i in range(20_000))
    data = f'<?xml version="1.0"?>\n<!DOCTYPE nmaprun>\n<nmaprun scanner="nmap">\n{body}</nmaprun>\n'.encode()
    started = time.process_time()
    result = parse_nmap_xml(data, "big.xml")
    assert len(result) == 20_000
    assert time.process_time() - started < 15.0


# --- masscan ----------------------------------------------------------------------------------


def test_masscan_json_list_merges_records_by_ip_and_maps_banners() -> None:
    result = parse_masscan(read("masscan_oJ.json"), "m.json")
    hosts = by_ip(result)
    assert list(hosts) == ["10.40.0.21", "10.40.0.22", "10.40.0.24"]
    camera = hosts["10.40.0.21"]
    assert camera.open_ports == [80, 554]
    assert values(camera, Signal.HTTP_SERVER) == ["App-webs/"]  # http.server and the http reply agree: once
    assert values(camera, Signal.HTTP_REALM) == ["IP Camera(C1234)"]
    assert values(camera, Signal.HTTP_TITLE) == ["Document Error: Unauthorized"]
    assert (
        Evidence(Signal.HTTP_SERVER, "App-webs/", "m.json host 10.40.0.21 port 80/tcp banner http.server")
        in camera.evidence
    )
    assert values(hosts["10.40.0.22"], Signal.BANNER) == [
        "TLS/1.2 cipher:0xc02f, IPC, IPC"
    ]  # X509 blob left out
    assert values(hosts["10.40.0.24"], Signal.HTTP_TITLE) == ["<script>alert(1)</script>"]
    assert result.skipped == 1  # the closed port of 10.40.0.23
    assert result.errors == []


def test_masscan_old_json_with_trailing_comma_and_finished_record() -> None:
    result = parse_masscan(read("masscan_oJ_old.json"), "old.json")
    assert [h.ip for h in result] == ["10.40.1.5", "10.40.1.6"]
    assert values(by_ip(result)["10.40.1.6"], Signal.RTSP_SERVER) == ["Rtsp Server/3.0"]
    assert result.errors == []


def test_masscan_ndjson_reports_bad_lines_by_number() -> None:
    result = parse_masscan(read("masscan_oD.ndjson"), "m.ndjson")
    hosts = by_ip(result)
    assert list(hosts) == ["10.40.2.7", "10.40.2.8"]
    assert values(hosts["10.40.2.7"], Signal.HTTP_SERVER) == ["DNVRS-Webs"]
    assert values(hosts["10.40.2.7"], Signal.HTTP_TITLE) == ["WEB SERVICE"]
    assert [str(e) for e in result.errors] == [
        "m.ndjson row 5: 'not-an-ip' is not an IP address",
        "m.ndjson row 6: not a JSON record (Invalid control character at)",
    ]


def test_masscan_ndjson_strict_raises_on_the_first_bad_line() -> None:
    with pytest.raises(ScanParseError, match=r"^m.ndjson row 5: 'not-an-ip' is not an IP address$"):
        parse_masscan(read("masscan_oD.ndjson"), "m.ndjson", strict=True)


def test_masscan_xml_goes_through_the_nmap_path() -> None:
    for parse in (parse_masscan, parse_nmap_xml):
        result = parse(read("masscan_oX.xml"), "m.xml")
        assert [h.ip for h in result] == ["10.40.3.10"]  # 10.40.3.11 had only a closed port
        host = result[0]
        assert host.open_ports == [80, 554]
        assert values(host, Signal.HTTP_SERVER) == ["Hikvision-Webs"]


def test_masscan_list_output() -> None:
    result = parse_masscan(read("masscan_oL.txt"), "m.txt")
    hosts = by_ip(result)
    assert hosts["10.40.4.12"].open_ports == [80, 554]
    assert values(hosts["10.40.4.12"], Signal.HTTP_SERVER) == ["Boa/0.94.14rc21"]
    assert hosts["10.40.4.13"].open_ports == [8000]


def test_masscan_refuses_what_is_not_masscan() -> None:
    with pytest.raises(ScanParseError, match=r"^notes.txt: not masscan output"):
        parse_masscan(b"hello world\n", "notes.txt")
    with pytest.raises(ScanParseError, match=r"^list.json: not masscan output; first problem"):
        parse_masscan(b"[\n" + b'{"a": }\n' * 30 + b"]", "list.json")


# --- switch MAC, ARP and DHCP tables ----------------------------------------------------------


def test_cisco_mac_table_with_preamble_separator_and_footer() -> None:
    result = parse_switch_table(read("cisco_mac_table.csv"), "sw1.csv")
    assert [h.mac for h in result] == [
        "44:19:B6:0A:11:22",
        "3C:EF:8C:5D:6E:7F",
        "E0:CA:3C:11:22:33",
        "00:11:22:33:44:55",
    ]
    first = result[0]
    assert first.ip is None
    assert first.extra == {"vlan": "20", "type": "DYNAMIC", "port": "Gi1/0/5"}
    assert first.evidence == [Evidence(Signal.MAC, "44:19:B6:0A:11:22", "sw1.csv row 8")]
    assert result.skipped == 2  # the CPU's multicast and broadcast entries
    assert [str(e) for e in result.errors] == ["sw1.csv row 11: 'zz19.b60a.1122' is not a MAC address"]


def test_cisco_mac_table_strict_stops_at_the_bad_row() -> None:
    with pytest.raises(ScanParseError, match=r"^sw1.csv row 11: 'zz19.b60a.1122' is not a MAC address$"):
        parse_switch_table(read("cisco_mac_table.csv"), "sw1.csv", strict=True)


def test_windows_arp_table() -> None:
    result = parse_switch_table(read("arp_windows.csv"), "arp.csv")
    assert [(h.ip, h.mac) for h in result] == [
        ("10.20.30.1", "00:1B:21:AA:BB:CC"),
        ("10.20.30.11", "44:19:B6:0A:11:22"),
        ("10.20.30.12", "3C:EF:8C:5D:6E:7F"),
    ]
    assert result.skipped == 3  # incomplete, broadcast, multicast
    assert [str(e) for e in result.errors] == ["arp.csv row 8: '10.20.30.300' is not an IP address"]


def test_dhcp_lease_history_counts_each_client_once_with_the_newest_lease() -> None:
    result = parse_switch_table(read("dhcpd_leases.csv"), "leases.csv")
    hosts = by_ip(result)
    assert list(hosts) == ["10.20.40.50", "10.20.40.51", "10.20.40.52", "10.20.40.53"]
    assert hosts["10.20.40.50"].extra["state"] == "active"
    assert hosts["10.20.40.50"].hostname == "IPC"
    assert values(hosts["10.20.40.51"], Signal.DESCRIPTION) == ["DS-7608NI-K2"]
    assert hosts["10.20.40.52"].mac is None  # a lease without a MAC still shows the IP in use
    assert hosts["10.20.40.53"].mac == "00:1A:2B:3C:4D:5E"  # leading zeros restored
    assert hosts["10.20.40.53"].hostname is None  # "*" means none


def test_dnsmasq_leases_without_a_header() -> None:
    result = parse_switch_table(read("dnsmasq_leases_noheader.csv"), "dnsmasq.csv")
    first = result[0]
    assert (first.ip, first.mac, first.hostname) == ("10.20.50.60", "44:19:B6:66:77:88", "cam-car-park")
    assert first.extra == {"lease_end": "1767312000", "client_id": "01:44:19:b6:66:77:88"}
    assert result[1].hostname is None


def test_generic_positional_ip_mac_layout() -> None:
    result = parse_switch_table(read("generic_ip_mac_noheader.csv"), "generic.csv")
    first = result[0]
    assert (first.ip, first.mac, first.hostname) == ("10.20.60.70", "44:19:B6:12:34:56", "cam-gate")
    assert first.extra == {"vlan": "20", "port": "Gi1/0/12", "interface": "GigabitEthernet1/0/12"}


def test_semicolon_export_with_bom_and_vendor_column() -> None:
    result = parse_switch_table(read("semicolon_bom.csv"), "excel.csv")
    host = result[0]
    assert (host.ip, host.mac, host.hostname) == ("10.20.70.80", "44:19:B6:AA:BB:CC", "Café-Kamera")
    assert (
        Evidence(Signal.OUI, "Hangzhou Hikvision Digital Technology Co.,Ltd.", "excel.csv row 2 vendor")
        in host.evidence
    )


def test_utf16_and_windows_1252_exports_are_read() -> None:
    text = "IP Address\tMAC Address\tHost Name\r\n10.1.1.5\t44-19-B6-01-02-03\tCaméra\r\n"
    for data in (text.encode("utf-16"), text.encode("utf-16-le"), text.encode("cp1252")):
        host = parse_switch_table(data, "export.txt")[0]
        assert (host.ip, host.mac, host.hostname) == ("10.1.1.5", "44:19:B6:01:02:03", "Caméra")


def test_table_without_mac_or_ip_column_is_refused() -> None:
    with pytest.raises(ScanParseError, match=r"^people.csv: no MAC or IP address column found"):
        parse_switch_table(b"name,phone\nAda,0123\n", "people.csv")


def test_binary_file_is_refused() -> None:
    with pytest.raises(ScanParseError, match=r"^photo.jpg: binary data"):
        parse_switch_table(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + os.urandom(4000), "photo.jpg")


def test_a_row_with_a_giant_field_is_one_bad_row() -> None:
    data = (
        b'ip,mac\n10.0.0.1,44:19:b6:00:00:01\n10.0.0.2,"'
        + b"x" * 200_000
        + b'"\n10.0.0.3,44:19:b6:00:00:03\n'
    )
    result = parse_switch_table(data, "big.csv")
    assert [h.ip for h in result] == ["10.0.0.1", "10.0.0.3"]
    assert len(result.errors) == 1 and "big.csv row" in str(result.errors[0])


def test_a_file_of_nothing_but_bad_rows_gives_up_early() -> None:
    data = b"ip,mac\n" + b"nope,nope\n" * 10_000
    with pytest.raises(ScanParseError, match=r"^bad.csv: no usable rows; first problem: bad.csv row 2"):
        parse_switch_table(data, "bad.csv")


# --- any scan file ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("nmap_site_sv_os.xml", 5),
        ("masscan_oJ.json", 3),
        ("masscan_oD.ndjson", 2),
        ("masscan_oX.xml", 1),
        ("masscan_oL.txt", 2),
        ("cisco_mac_table.csv", 4),
        ("arp_windows.csv", 3),
        ("dhcpd_leases.csv", 4),
        ("generic_ip_mac_noheader.csv", 2),
    ],
)
def test_parse_scan_file_tells_formats_apart(name: str, count: int) -> None:
    result = parse_scan_file(DATA / name)
    assert len(result) == count
    assert result.source == name
    assert all(e.source.startswith(name) for host in result for e in host.evidence)


def test_parse_scan_file_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScanParseError, match=r"^gone.xml: cannot read"):
        parse_scan_file(tmp_path / "gone.xml")


# --- properties: never crash, only the documented error ---------------------------------------

_CSV_ALPHABET = st.sampled_from(list("0123456789abcdefABCDEF:-.,;\t|\"' \n\r#*()xyz\x00é"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_any_bytes_give_hosts_or_a_scan_parse_error(data: bytes) -> None:
    for parse in (parse_switch_table, parse_masscan, parse_nmap_xml, parse_scan):
        try:
            result = parse(data, "fuzz")
        except ScanParseError as error:
            assert str(error).startswith("fuzz") and "\n" not in str(error)
        else:
            assert isinstance(result, ScanResult)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(_CSV_ALPHABET, max_size=40), max_size=30))
def test_csv_rows_under_a_real_header_never_crash(rows: list[str]) -> None:
    data = ("IP Address,MAC Address,Hostname,VLAN\n" + "\n".join(rows)).encode("utf-8")
    try:
        result = parse_switch_table(data, "fuzz.csv")
    except ScanParseError as error:
        assert str(error).startswith("fuzz.csv")
        return
    for host in result:
        assert host.ip is not None or host.mac is not None
        assert host.mac is None or (len(host.mac) == 17 and host.mac == host.mac.upper())
    for problem in result.errors:
        assert str(problem).startswith("fuzz.csv row ") and "\n" not in str(problem)


@st.composite
def mac_spellings(draw: st.DrawFn) -> tuple[str, str]:
    octets = draw(st.binary(min_size=6, max_size=6).filter(lambda b: not b[0] & 1 and any(b)))
    canonical = ":".join(f"{b:02X}" for b in octets)
    hexes = [f"{b:02x}" for b in octets]
    spelling = draw(
        st.sampled_from(
            [
                ":".join(hexes),
                "-".join(hexes).upper(),
                "".join(hexes),
                ".".join("".join(hexes[i : i + 2]) for i in (0, 2, 4)),
                ":".join(f"{b:x}" for b in octets),  # macOS drops leading zeros
            ]
        )
    )
    return spelling, canonical


@settings(max_examples=200, deadline=None)
@given(mac_spellings())
def test_every_common_mac_spelling_reads_as_the_same_mac(spelling_and_canonical: tuple[str, str]) -> None:
    spelling, canonical = spelling_and_canonical
    result = parse_switch_table(f"mac,ip\n{spelling},10.0.0.9\n".encode(), "macs.csv")
    assert [h.mac for h in result] == [canonical], result.errors


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=30), st.integers(), st.none()), max_size=6))
def test_masscan_records_with_odd_fields_never_crash(fields: list[object]) -> None:
    import json

    keys = ["ip", "port", "proto", "status", "timestamp", "ports"]
    record = dict(zip(keys, fields, strict=False))
    try:
        parse_masscan(json.dumps(record).encode(), "fuzz.ndjson")
    except ScanParseError as error:
        assert str(error).startswith("fuzz.ndjson")


# --- a real nmap against a tiny server on loopback --------------------------------------------


@pytest.fixture()
def loopback_banner_server() -> object:
    """A TCP server on 127.0.0.1 that answers every connection with an RTSP reply."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()
    reply = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nServer: Zorblex Rtsp Server\r\n\r\n"

    def answer(connection: socket.socket) -> None:
        with connection:
            try:
                connection.settimeout(2)
                connection.sendall(reply)
            except OSError:
                pass

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=answer, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    server.close()


@pytest.mark.network
@pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed (make system-deps)")
def test_real_nmap_output_against_a_loopback_server(loopback_banner_server: int) -> None:
    port = loopback_banner_server
    # Loopback only: the target is the literal 127.0.0.1 and -Pn avoids any discovery traffic.
    completed = subprocess.run(
        [
            "nmap",
            "-sT",
            "-sV",
            "--version-intensity",
            "0",
            "-Pn",
            "-n",
            "-p",
            str(port),
            "127.0.0.1",
            "-oX",
            "-",
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    result = parse_nmap_xml(completed.stdout, "nmap-live.xml")
    assert [h.ip for h in result] == ["127.0.0.1"]
    host = result[0]
    assert host.open_ports == [port]
    assert "Zorblex Rtsp Server" in values(host, Signal.RTSP_SERVER)
    assert (
        Evidence(Signal.PORT, f"{port}/tcp", f"nmap-live.xml host 127.0.0.1 port {port}/tcp") in host.evidence
    )
