"""Switch MAC address tables, ARP tables and DHCP leases exported as CSV, into scanned hosts.

These come from many tools (Cisco `show mac address-table` pasted into a spreadsheet, Windows
`arp -a`, ISC dhcpd and dnsmasq lease exports, IP scanners), so the header row is found among the
first lines, its names are matched against synonyms, and the delimiter is whichever of , ; tab |
makes a header appear. Files without a header are read by content: the generic positional layout
`ip,mac[,hostname,vlan,port,interface]`, or any layout where one column holds MACs.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections.abc import Callable, Iterator

from clearsite.core.models import Evidence, Signal
from clearsite.core.names import normalise_mac
from clearsite.formats.scans.records import (
    ProblemLog,
    ScannedHost,
    ScanParseError,
    ScanResult,
    as_bytes,
    clip,
    decode_text,
)

_HEADER_SEARCH_ROWS = 20
_GIVE_UP_WITHOUT_ROWS = 50  # this many bad rows before any good one: the wrong kind of file
_DELIMITERS = (",", ";", "\t", "|")
_GENERIC_LAYOUT = ("ip", "mac", "hostname", "vlan", "port", "interface")
_DNSMASQ_LAYOUT = ("lease_end", "mac", "ip", "hostname", "client_id")  # dnsmasq.leases: expiry mac ip name id

# Our name for a column -> the header texts (normalised: lower case, single spaces) that mean it.
# fmt: off
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "ip": (
        "ip", "ip address", "ipaddress", "ip addr", "ipv4", "ipv4 address", "ipv6 address", "address",
        "internet address", "lease ip", "leased ip", "lease address", "client ip", "yiaddr", "host ip",
    ),
    "mac": (
        "mac", "mac address", "macaddress", "mac addr", "hw address", "hardware address", "hwaddr",
        "hwaddress", "hardware ethernet", "ethernet", "ethernet address", "physical address", "lladdr",
        "chaddr", "client mac", "client mac address", "station mac", "hardware",
    ),
    "hostname": (
        "hostname", "host name", "host", "name", "client hostname", "device name", "dns name",
        "client name", "netbios name",
    ),
    "vlan": ("vlan", "vlan id", "vlanid", "vid"),
    "port": ("port", "ports", "switch port", "switchport", "destination port", "dst port", "port name"),
    "interface": ("interface", "iface", "if", "ifname", "intf", "dev"),
    "vendor": ("vendor", "manufacturer", "mac vendor", "oui", "oui vendor", "nic vendor"),
    "type": ("type", "entry type", "mac type"),
    "lease_start": ("starts", "start", "lease start", "lease starts", "binding start", "lease obtained"),
    "lease_end": (
        "ends", "end", "expires", "expiry", "lease end", "lease ends", "lease expires", "expiration",
    ),
    "state": ("binding state", "state", "status"),
    "client_id": ("client id", "clientid", "uid"),
    "site": ("site", "location"),
}
# fmt: on
_COLUMN_OF = {synonym: column for column, synonyms in _SYNONYMS.items() for synonym in synonyms}
_HEADER_JUNK = re.compile(r"\(.*?\)|[\"'#_\-.]")
_SPACES = re.compile(r"\s+")
_SEPARATOR = re.compile(r"^[-=+\s]*$")
_SHORT_MAC = re.compile(r"^[0-9A-Fa-f]{1,2}(:[0-9A-Fa-f]{1,2}){5}$")
# Values that mean "no MAC here": ARP entries for hosts that never answered.
_INCOMPLETE = frozenset({"(incomplete)", "incomplete", "<incomplete>", "(unresolved)", "failed"})
_NO_VALUE = frozenset({"", "-", "--", "*", "?", "n/a", "na", "none", "null", "unknown"})


def parse_switch_table(data: bytes | str, source_name: str, *, strict: bool = False) -> ScanResult:
    """Hosts (MAC and/or IP) from a MAC, ARP or DHCP table in CSV form.

    Bad rows are collected in `errors` as one line naming the file and row; with strict=True the
    first one raises ScanParseError instead. Incomplete ARP entries and multicast or all-zero MACs
    (switch CPU entries) are left out and counted in `skipped`.
    """
    text = decode_text(as_bytes(data, source_name), source_name)
    layout = _find_layout(text, source_name)
    reader = _Rows(source_name, strict)
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=layout.delimiter, skipinitialspace=True)

    def unreadable(line: int, message: str) -> None:
        if line > layout.header_line:  # lines above the header are a preamble, not data
            reader.fail(line, message)

    for line, cells in _records(rows, unreadable):
        if line > layout.header_line:
            reader.add(line, cells, layout.columns)
    return ScanResult(reader.hosts.values(), source=source_name, errors=reader.problems.errors, skipped=reader.skipped)


class _Layout:
    def __init__(self, delimiter: str, header_line: int, columns: dict[int, str]) -> None:
        self.delimiter = delimiter
        self.header_line = header_line  # 0 when the file has no header row
        self.columns = columns  # cell index -> our column name, or "extra:<header text>"


def _records(
    rows: Iterator[list[str]], on_error: Callable[[int, str], None] | None
) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) for each CSV record; a record the csv module rejects becomes a row error."""
    line = 0
    while True:
        try:
            cells = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            line = getattr(rows, "line_num", line + 1)
            if on_error is not None:
                on_error(line, f"unreadable CSV ({exc})")
            continue
        line = getattr(rows, "line_num", line + 1)
        yield line, cells


def _header_key(text: str) -> str:
    return _SPACES.sub(" ", _HEADER_JUNK.sub(" ", text.replace("\ufeff", "")).casefold()).strip()


def _head(text: str, lines: int = 4 * _HEADER_SEARCH_ROWS, limit: int = 1 << 20) -> str:
    """The first lines of a text, so sniffing a huge file costs no more than sniffing a small one."""
    end = 0
    for _ in range(lines):
        found = text.find("\n", end, limit)
        if found < 0:
            return text[:limit]
        end = found + 1
    return text[:end]


def _find_layout(text: str, source: str) -> _Layout:
    """The delimiter and header row (or, with no header, the content-based columns) of a table."""
    text = _head(text)
    for delimiter in _DELIMITERS:
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
        for index, (line, cells) in enumerate(_records(rows, None)):
            if index >= _HEADER_SEARCH_ROWS:
                break
            columns = _header_columns(cells)
            if columns is not None:
                return _Layout(delimiter, line, columns)
    for delimiter in _DELIMITERS:
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
        for index, (_, cells) in enumerate(_records(rows, None)):
            if index >= _HEADER_SEARCH_ROWS:
                break
            if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
                continue
            columns = _content_columns(cells)
            if columns is not None:
                return _Layout(delimiter, 0, columns)
            break
    raise ScanParseError(
        f"{source}: no MAC or IP address column found in the first {_HEADER_SEARCH_ROWS} lines "
        "(looked for headers such as 'MAC Address', 'IP Address', 'Hardware ethernet', "
        "or rows of ip,mac)"
    )


def _header_columns(cells: list[str]) -> dict[int, str] | None:
    columns: dict[int, str] = {}
    taken: set[str] = set()
    for index, cell in enumerate(cells):
        key = _header_key(cell)
        column = _COLUMN_OF.get(key)
        if column is not None and column not in taken:
            taken.add(column)
            columns[index] = column
        elif key:
            columns[index] = f"extra:{clip(cell, 64)}"
    if "mac" not in taken and "ip" not in taken:
        return None
    # A lone "name"/"address"-style word is not a header when the row also holds a real MAC value.
    if any(_mac_value(cell) for cell in cells):
        return None
    return columns


def _content_columns(cells: list[str]) -> dict[int, str] | None:
    """Columns of a header-less file, from the first data row."""
    if len(cells) < 2:
        return None
    ips = [i for i, c in enumerate(cells) if _ip_value(c)]
    macs = [i for i, c in enumerate(cells) if _mac_value(c)]
    for layout, ip_at, mac_at in ((_GENERIC_LAYOUT, 0, 1), (_DNSMASQ_LAYOUT, 2, 1)):
        if ips[:1] == [ip_at] and macs[:1] == [mac_at] and (ip_at == 0 or cells[0].strip().isdigit()):
            return {i: name for i, name in enumerate(layout[: len(cells)])} | {
                i: f"extra:column {i + 1}" for i in range(len(layout), len(cells))
            }
    if not macs:
        return None
    columns = {i: f"extra:column {i + 1}" for i in range(len(cells))}
    columns[macs[0]] = "mac"
    if ips:
        columns[ips[0]] = "ip"
    return columns


def _mac_value(text: str) -> str | None:
    text = text.strip()
    if _SHORT_MAC.match(text):  # macOS `arp -a` drops leading zeros: 0:1a:2b:3c:4d:5e
        text = ":".join(part.zfill(2) for part in text.split(":"))
    return normalise_mac(text)


def _ip_value(text: str) -> str | None:
    text = text.strip().strip("()[]")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


class _Rows:
    """Turns rows into hosts, merging repeats of the same (IP, MAC) so DHCP lease history counts once."""

    def __init__(self, source: str, strict: bool) -> None:
        self.source = source
        self.hosts: dict[tuple[str | None, str | None], ScannedHost] = {}
        self.problems = ProblemLog(source, strict, "no usable rows", _GIVE_UP_WITHOUT_ROWS)
        self.skipped = 0
        self.good_rows = 0

    def fail(self, line: int, message: str) -> None:
        self.problems.fail(line, message, any_usable=bool(self.good_rows))

    def add(self, line: int, cells: list[str], columns: dict[int, str]) -> None:
        values = {column: cells[i].strip() for i, column in columns.items() if i < len(cells)}
        filled = [v for v in values.values() if v]
        if not filled or all(_SEPARATOR.match(v) for v in filled):
            return  # blank line or a ----- rule under the header
        first = cells[0].strip().casefold() if cells else ""
        if first.startswith("#") or first.startswith("total "):
            return  # a comment, or Cisco's "Total Mac Addresses for this criterion: 12"
        raw_mac, raw_ip = values.get("mac", ""), values.get("ip", "")
        if raw_mac.casefold() in _INCOMPLETE:
            self.skipped += 1
            return
        mac: str | None = None
        if raw_mac.casefold() not in _NO_VALUE:
            mac = _mac_value(raw_mac)
            if mac is None:
                self.fail(line, f"{clip(raw_mac, 40)!r} is not a MAC address")
                return
            first_octet = int(mac[:2], 16)
            if first_octet & 1 or mac == "00:00:00:00:00:00":
                self.skipped += 1  # multicast/broadcast or empty: a switch's own entries, not a device
                return
        ip: str | None = None
        if raw_ip.casefold() not in _NO_VALUE:
            ip = _ip_value(raw_ip)
            if ip is None:
                self.fail(line, f"{clip(raw_ip, 60)!r} is not an IP address")
                return
        if mac is None and ip is None:
            self.fail(line, "no MAC or IP address in this row")
            return
        self.good_rows += 1
        raw_hostname = values.get("hostname", "")
        hostname = None if raw_hostname.casefold() in _NO_VALUE else clip(raw_hostname, 255)
        extra = {
            column.removeprefix("extra:"): clip(value, 256)
            for column, value in values.items()
            if value.casefold() not in _NO_VALUE and column not in ("ip", "mac", "hostname", "vendor")
        }
        key = (ip, mac)
        host = self.hosts.get(key)
        if host is not None:
            host.extra.update(extra)  # later rows of a lease file are the newer ones
            host.hostname = host.hostname or hostname
            return
        where = f"{self.source} row {line}"
        host = ScannedHost(ip, mac, hostname, extra=extra)
        if mac:
            host.evidence.append(Evidence(Signal.MAC, mac, where))
        vendor = clip(values.get("vendor", ""))
        if vendor and vendor.casefold() not in _NO_VALUE:
            # A tool's MAC-vendor column is an OUI lookup, not the device speaking.
            host.evidence.append(Evidence(Signal.OUI, vendor, f"{where} vendor"))
        if hostname:
            host.evidence.append(Evidence(Signal.DESCRIPTION, hostname, f"{where} hostname"))
        self.hosts[key] = host
