"""Scanner files record the coverage they prove, and only that: nmap runs that finished with host discovery
cover what they listed and targeted; -Pn and masscan cover a device only if its last known ports were
scanned; interrupted runs, list scans, JSON/list masscan output and scans older than a claim verify nothing.
The rules are formats.scans.coverage's docstring; each near miss below is one a careless rule would pass."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from clearsite.core.errors import InputError
from clearsite.formats.scans import NmapStream
from clearsite.formats.scans.coverage import NmapRunFacts, masscan_coverage, nmap_coverage, parse_port_list
from clearsite.services.database import open_database
from clearsite.services.imports import import_scan_file
from tests.removal_support import DAHUA, HIK, claim, device_ids, make_site, removal_status, scan


def nmap_xml(*, start: int, args: str, up: list[tuple[str, list[int]]] = (), down: list[str] = (),
             total: int | None = None, finished: str | None = "success", scaninfo: str = "",
             scanner: str = "nmap", reason: str = "arp-response") -> str:
    hosts = []
    for ip, ports in up:
        port_xml = "".join(f'<port protocol="tcp" portid="{p}"><state state="open" reason="syn-ack"/></port>'
                           for p in ports)
        status = "" if scanner == "masscan" else f'<status state="up" reason="{reason}"/>'
        hosts.append(f'<host>{status}<address addr="{ip}" addrtype="ipv4"/><ports>{port_xml}</ports></host>')
    for ip in down:
        hosts.append(f'<host><status state="down" reason="no-response"/><address addr="{ip}" addrtype="ipv4"/></host>')
    runstats = ""
    if finished is not None:
        count = total if total is not None else len(up) + len(down)
        runstats = (f'<runstats><finished time="{start + 30}" exit="{finished}"/>'
                    f'<hosts up="{len(up)}" down="{count - len(up)}" total="{count}"/></runstats>')
    return (f'<?xml version="1.0"?><nmaprun scanner="{scanner}" args="{args}" start="{start}" version="7.94">'
            f'{scaninfo}{"".join(hosts)}{runstats}</nmaprun>')


def facts_of(xml: str) -> NmapRunFacts:
    stream = NmapStream([xml.encode()], "run.xml")
    for _ in stream:
        pass
    return stream.facts


NOW = int(time.time())

# --------------------------------------------------------------------------- the rules, on the file alone


def test_a_finished_run_with_host_discovery_covers_its_targets_and_every_host_it_listed() -> None:
    xml = nmap_xml(start=NOW, args="nmap -sn -v 10.1.0.0/28", up=[("10.1.0.3", [])],
                   down=[f"10.1.0.{i}" for i in range(16) if i != 3], total=16)
    coverage = nmap_coverage(facts_of(xml))
    assert coverage is not None and coverage.targets == ("10.1.0.0/28",) and coverage.ports is None
    assert coverage.started_at == datetime.fromtimestamp(NOW, UTC).replace(tzinfo=None), "the run's start"
    listed_only = nmap_coverage(facts_of(nmap_xml(start=NOW, args="nmap -sV 10.1.0.0/28", up=[("10.1.0.3", [80])],
                                                  total=16)))
    assert listed_only is not None and listed_only.targets == ("10.1.0.0/28",), "nmap's total vouches for the args"


@pytest.mark.parametrize(("why", "xml"), [
    ("interrupted: no runstats", nmap_xml(start=NOW, args="nmap -sn 10.1.0.0/30", up=[("10.1.0.1", [])],
                                          finished=None)),
    ("nmap ended with an error", nmap_xml(start=NOW, args="nmap -sn 10.1.0.0/30", finished="error")),
    ("-sL sends nothing", nmap_xml(start=NOW, args="nmap -sL 10.1.0.0/30", down=["10.1.0.1"], total=4)),
    ("-Pn without a TCP port scan", nmap_xml(start=NOW, args="nmap -Pn -sU 10.1.0.0/30", up=[("10.1.0.1", [])],
                                             total=4, scaninfo='<scaninfo type="udp" protocol="udp" services="161"/>')),
    ("no start time", nmap_xml(start=0, args="nmap -sn 10.1.0.0/30", up=[("10.1.0.1", [])]).replace(
        'start="0"', "")),
    ("a masscan file is not an nmap run", nmap_xml(start=NOW, args="", up=[("10.1.0.1", [80])], scanner="masscan")),
])
def test_runs_that_prove_nothing_cover_nothing(why: str, xml: str) -> None:
    assert nmap_coverage(facts_of(xml)) is None, why


@pytest.mark.parametrize(("args", "total", "expected"), [
    ("nmap -sn 10.1.0.0/28 --exclude 10.1.0.5", 15, ("10.1.0.3/32",)),  # excluded: nmap's count differs
    ("nmap -sn -iL targets.txt", 16, ("10.1.0.3/32",)),
    ("nmap -sn camera.example 10.1.0.0/28", 17, ("10.1.0.3/32",)),  # a hostname: targets not all addresses
    ("nmap -sn 10.1.0.0/28", 20, ("10.1.0.3/32",)),  # a count that does not add up
    ("nmap -sn -S 10.1.9.9 -p 80,554 -oX out.xml 10.1.0.0/28", 16, ("10.1.0.0/28",)),  # option values skipped
])
def test_the_args_count_only_when_nmaps_own_total_vouches_for_them(args: str, total: int,
                                                                  expected: tuple[str, ...]) -> None:
    coverage = nmap_coverage(facts_of(nmap_xml(start=NOW, args=args, up=[("10.1.0.3", [])], total=total)))
    assert coverage is not None and coverage.targets == expected


def test_without_host_discovery_only_devices_whose_ports_were_scanned_count() -> None:
    info = '<scaninfo type="syn" protocol="tcp" numservices="3" services="80,443,554"/>'
    coverage = nmap_coverage(facts_of(nmap_xml(start=NOW, args="nmap -Pn 10.1.0.0/30", up=[("10.1.0.1", [])],
                                               total=4, scaninfo=info)))
    assert coverage is not None and coverage.ports == frozenset({80, 443, 554})
    assert parse_port_list("1-3,8000") == frozenset({1, 2, 3, 8000})
    assert parse_port_list("80,x") is None and parse_port_list("70000") is None


def test_masscan_covers_only_declared_ranges_on_ports_it_proved_it_scanned() -> None:
    xml = nmap_xml(start=NOW, args="", up=[("10.1.0.99", [80])], scanner="masscan")
    coverage = masscan_coverage(facts_of(xml), ["10.1.0.0/24"])
    assert coverage is not None and coverage.targets == ("10.1.0.0/24",) and coverage.ports == frozenset({80})
    assert masscan_coverage(facts_of(xml), []) is None, "ranges the file does not state are never assumed"
    unfinished = nmap_xml(start=NOW, args="", up=[("10.1.0.99", [80])], scanner="masscan", finished=None)
    assert masscan_coverage(facts_of(unfinished), ["10.1.0.0/24"]) is None
    nothing_open = nmap_xml(start=NOW, args="", scanner="masscan")
    assert masscan_coverage(facts_of(nothing_open), ["10.1.0.0/24"]) is None


# --------------------------------------------------------------------------- imports verify, or do not


@pytest.fixture
def estate(store_url: str, kb: Any) -> Any:
    """HQ (10.1.0.0/16): the Hikvision camera (port 80 known) and the Dahua camera, both claimed removed."""
    engine = open_database(store_url)
    make_site(engine)
    scan(engine, kb, [HIK, DAHUA])
    ids = device_ids(engine)
    before = int(time.time()) - 60
    for ip in (HIK[0], DAHUA[0]):
        claim(engine, kb, ids[ip])
    yield engine, ids, before, int(time.time()) + 1
    engine.dispose()


def _import(engine: Any, kb: Any, tmp_path: Path, text: str, kind: str = "nmap", name: str = "run.xml",
            scanned: tuple[str, ...] = ()) -> Any:
    path = tmp_path / name
    path.write_text(text)
    return import_scan_file(engine, kb, path, "HQ", kind, scanned=scanned)


def test_an_nmap_run_after_the_claims_verifies_the_absent_and_contradicts_the_present(estate: Any, kb: Any,
                                                                                     tmp_path: Path) -> None:
    engine, ids, _before, after = estate
    xml = nmap_xml(start=after, args="nmap -sV 10.1.0.0/28", up=[(DAHUA[0], [80])], total=16)
    report = _import(engine, kb, tmp_path, xml)
    assert report.coverage is not None and "1 range(s)" in report.coverage
    assert removal_status(engine, ids[HIK[0]]) == "verified"
    assert removal_status(engine, ids[DAHUA[0]]) == "contradicted"


@pytest.mark.parametrize("near_miss", ["older than the claims", "interrupted", "list scan", "another range"])
def test_nmap_near_misses_verify_nothing(estate: Any, kb: Any, tmp_path: Path, near_miss: str) -> None:
    engine, ids, before, after = estate
    xml = {
        "older than the claims": nmap_xml(start=before, args="nmap -sn 10.1.0.0/28", total=16),
        "interrupted": nmap_xml(start=after, args="nmap -sn 10.1.0.0/28", finished=None,
                                up=[("10.1.0.1", [])]).removesuffix("</nmaprun>"),
        "list scan": nmap_xml(start=after, args="nmap -sL 10.1.0.0/28", down=["10.1.0.1"], total=16),
        "another range": nmap_xml(start=after, args="nmap -sn 10.1.1.0/28", total=16),
    }[near_miss]
    _import(engine, kb, tmp_path, xml)
    assert removal_status(engine, ids[HIK[0]]) == "claimed", near_miss


@pytest.mark.parametrize(("services", "verified"), [("1-1000", True), ("554,8000", False)])
def test_nmap_without_host_discovery_verifies_only_when_the_devices_ports_were_scanned(
        estate: Any, kb: Any, tmp_path: Path, services: str, verified: bool) -> None:
    engine, ids, _before, after = estate
    info = f'<scaninfo type="syn" protocol="tcp" services="{services}"/>'
    xml = nmap_xml(start=after, args="nmap -Pn 10.1.0.8/29", up=[(f"10.1.0.{i}", []) for i in range(8, 16)],
                   total=8, scaninfo=info, reason="user-set")  # -Pn: every target "up", nothing answered
    _import(engine, kb, tmp_path, xml)
    assert removal_status(engine, ids[HIK[0]]) == ("verified" if verified else "claimed")


@pytest.mark.parametrize(("case", "verified"), [
    ("port 80 found open elsewhere, range declared", True),
    ("only port 554 found open", False),
    ("range not declared", False),
    ("declared range misses the device", False),
    ("started before the claims", False),
    ("JSON output", False),
])
def test_masscan_verifies_only_over_declared_ranges_and_the_devices_known_ports(
        estate: Any, kb: Any, tmp_path: Path, case: str, verified: bool) -> None:
    engine, ids, before, after = estate
    scanned: tuple[str, ...] = ("10.1.0.0/24",)
    kind_name = "run.xml"
    text = nmap_xml(start=after, args="", up=[("10.1.0.99", [80])], scanner="masscan")
    if case == "only port 554 found open":
        text = nmap_xml(start=after, args="", up=[("10.1.0.99", [554])], scanner="masscan")
    elif case == "range not declared":
        scanned = ()
    elif case == "declared range misses the device":
        scanned = ("10.1.1.0/24",)
    elif case == "started before the claims":
        text = nmap_xml(start=before, args="", up=[("10.1.0.99", [80])], scanner="masscan")
    elif case == "JSON output":
        kind_name = "run.json"
        text = json.dumps([{"ip": "10.1.0.99", "timestamp": str(after), "ports": [
            {"port": 80, "proto": "tcp", "status": "open", "reason": "syn-ack", "ttl": 64}]}]) + "\n{finished: 1}\n"
    report = _import(engine, kb, tmp_path, text, "masscan", kind_name, scanned)
    assert removal_status(engine, ids[HIK[0]]) == ("verified" if verified else "claimed"), (case, report.coverage)
    assert removal_status(engine, ids[DAHUA[0]]) == ("verified" if verified else "claimed"), "port 80 known too"


def test_a_scanned_range_that_is_not_one_is_refused_naming_the_option(estate: Any, kb: Any, tmp_path: Path) -> None:
    engine, _ids, _before, after = estate
    with pytest.raises(InputError, match=r"--scanned: 'ten' is not an address or network"):
        _import(engine, kb, tmp_path, nmap_xml(start=after, args="", scanner="masscan"), "masscan", scanned=("ten",))


def test_a_switch_table_of_the_site_verifies_a_claimed_device_by_its_mac(estate: Any, kb: Any, tmp_path: Path) -> None:
    engine, ids, _before, _after = estate
    table = "MAC,Port,VLAN\nAC:CC:8E:12:34:56,Gi1/0/7,10\n"  # neither claimed camera's MAC
    _import(engine, kb, tmp_path, table, "switch", "mac-table.csv")
    assert removal_status(engine, ids[HIK[0]]) == "verified"
    assert removal_status(engine, ids[DAHUA[0]]) == "verified"


def test_the_import_commands_say_which_coverage_rule_applied_and_a_later_run_verifies(cli: Any,
                                                                                     tmp_path: Path) -> None:
    from datetime import date

    cli("site", "add", "HQ", "--department", "D", "--network", "10.1.0.0/16")
    first = tmp_path / "first.xml"
    first.write_text(nmap_xml(start=NOW - 3600, args="nmap -sV 10.1.0.0/28", up=[("10.1.0.11", [80])], total=16))
    cli("import", "nmap", str(first), "--site", "HQ")
    device = json.loads(cli("devices", "--format", "json").stdout)[0]
    cli("removal", "record", str(device["id"]), "--on", date.today().isoformat())
    later = tmp_path / "later.xml"
    later.write_text(nmap_xml(start=int(time.time()) + 1, args="nmap -sV 10.1.0.0/28", total=16))
    answer = cli("import", "nmap", str(later), "--site", "HQ")
    assert "coverage: nmap: the run's targets and every host it listed (host discovery): 1 range(s)" in answer.stderr
    assert json.loads(cli("devices", "--format", "json").stdout)[0]["removal"]["status"] == "verified"
    sweep = tmp_path / "sweep.json"
    sweep.write_text('[{"ip": "10.1.0.99", "timestamp": "1700000000", "ports": [{"port": 80, "proto": "tcp", '
                     '"status": "open"}]}]\n{finished: 1}\n')
    told = cli("import", "masscan", str(sweep), "--site", "HQ", "--scanned", "10.1.0.0/24")
    assert "coverage: no coverage: masscan JSON and list output" in told.stderr
