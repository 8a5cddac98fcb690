"""Scanner output and network tables: nmap/masscan XML, masscan JSON/list, switch MAC/ARP/DHCP tables.

`parse_scan` tells the kind apart by its first bytes; each parser returns a `ScanResult`.
"""

from __future__ import annotations

from pathlib import Path

from clearsite.formats.guard import check_lines, read_input_file
from clearsite.formats.scans.masscan import parse_masscan
from clearsite.formats.scans.masscan import sniff_masscan as _sniff_masscan
from clearsite.formats.scans.nmap import NmapStream, parse_nmap_xml
from clearsite.formats.scans.records import MAX_FILE_BYTES, RowError, ScanParseError, ScanResult, clean_hosts
from clearsite.formats.scans.records import as_bytes as _as_bytes
from clearsite.formats.scans.switch_tables import parse_switch_table


def parse_scan(data: bytes | str, source_name: str) -> ScanResult:
    """Any supported scan output, told apart by its first bytes: nmap/masscan XML, masscan JSON/list, CSV."""
    raw = _as_bytes(data, source_name)
    head = raw[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if is_xml_scan(head):
        return clean_hosts(parse_nmap_xml(raw, source_name))
    if _sniff_masscan(head):
        return clean_hosts(parse_masscan(raw, source_name))
    check_lines(raw, source_name, ScanParseError)  # a table's line is short; a 10 MB one is not a table
    return clean_hosts(parse_switch_table(raw, source_name))


def is_xml_scan(head: bytes) -> bool:
    """Do a file's first bytes start XML (nmap's or masscan's -oX)? The kind that is streamed."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def parse_scan_file(path: str | Path) -> ScanResult:
    """parse_scan on a file, cited by its name; refuses files too large to be a scan export."""
    path = Path(path)
    data = read_input_file(path, ScanParseError, limit=MAX_FILE_BYTES, what="scan file")  # no FIFO, no device
    return parse_scan(data, path.name)


__all__ = [
    "MAX_FILE_BYTES", "NmapStream", "RowError", "ScanParseError", "ScanResult", "clean_hosts", "is_xml_scan",
    "parse_masscan", "parse_nmap_xml", "parse_scan", "parse_scan_file", "parse_switch_table",
]
