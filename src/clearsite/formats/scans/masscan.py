"""masscan output (`-oJ` list, `-oD` NDJSON, `-oL` list, `-oX` via the nmap XML path) into scanned hosts.

masscan writes one record per port and per banner, so records are merged by IP. Its JSON has grown
quirks over the years (a trailing comma before `]`, a leading comma before each record, an unquoted
`{finished: 1}`), so records are read one at a time rather than as one JSON document.
"""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import UTC, datetime
from typing import Any

from clearsite.core.models import Evidence, Signal
from clearsite.formats.scans.nmap import parse_nmap_xml
from clearsite.formats.scans.records import (
    ProblemLog,
    ScannedHost,
    ScanParseError,
    ScanResult,
    as_bytes,
    banner_evidence,
    clip,
    decode_text,
    merge_by_ip,
    unescape_hex,
)

_GIVE_UP_WITHOUT_RECORDS = 20  # this many bad records before any good one: the wrong kind of file
_SKIP = re.compile(r"[\s,\[\]]*")
_FINISHED = re.compile(r"\{\s*finished\s*:\s*1\s*\}")
_LIST_LINE = re.compile(r"^(open|closed|banner) (tcp|udp|sctp|icmp|arp) \d+ \S+ \d+")
# Banner kinds that are an encoded certificate rather than text; nothing to match on as they are.
def sniff_masscan(head: bytes) -> bool:
    """Whether the start of a file looks like masscan JSON, NDJSON or -oL list output."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"[", b"{", b"#masscan")):
        return True
    first = text.split(b"\n", 1)[0].decode("latin-1")
    return bool(_LIST_LINE.match(first))


def parse_masscan(data: bytes | str, source_name: str, *, strict: bool = False) -> ScanResult:
    """Hosts masscan found open ports on, with banner evidence when it was run with --banners."""
    raw = as_bytes(data, source_name)
    stripped = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):

        return parse_nmap_xml(raw, source_name, strict=strict)
    if not sniff_masscan(stripped[:4096]):
        raise ScanParseError(f"{source_name}: not masscan output (expected -oJ, -oD, -oL or -oX)")
    text = decode_text(raw, source_name)
    reader = _Records(source_name, strict)
    if stripped.startswith((b"[", b"{")):
        reader.read_json(text)
    else:
        reader.read_list(text)
    return ScanResult(
        merge_by_ip(reader.hosts), source=source_name, errors=reader.problems.errors, skipped=reader.skipped
    )


class _Records:
    """Collects hosts and one-line errors while reading records, giving up on files that are not masscan."""

    def __init__(self, source: str, strict: bool) -> None:
        self.source = source
        self.hosts: list[ScannedHost] = []
        self.problems = ProblemLog(source, strict, "not masscan output", _GIVE_UP_WITHOUT_RECORDS, "records")
        self.skipped = 0

    def fail(self, line: int, message: str) -> None:
        self.problems.fail(line, message, any_usable=bool(self.hosts))

    def read_json(self, text: str) -> None:
        decoder = json.JSONDecoder()
        position, end = 0, len(text)
        line, counted_to = 1, 0  # line numbers counted forward only, so big files stay linear

        def line_at(offset: int) -> int:
            nonlocal line, counted_to
            line += text.count("\n", counted_to, offset)
            counted_to = offset
            return line

        while True:
            position = _SKIP.match(text, position).end()  # type: ignore[union-attr]  # matches empty
            if position >= end:
                return
            start_line = line_at(position)
            try:
                record, position = decoder.raw_decode(text, position)
            except json.JSONDecodeError as exc:
                if not _FINISHED.match(text, position):  # old masscan's closing record, not JSON
                    self.fail(start_line, f"not a JSON record ({exc.msg})")
                line_end = text.find("\n", position)
                position = end if line_end < 0 else line_end + 1
                continue
            self.add_json(record, start_line)

    def add_json(self, record: Any, line: int) -> None:
        if not isinstance(record, dict):
            self.fail(line, "a JSON value that is not a masscan record")
            return
        ip = self.ip(record.get("ip"), line)
        if ip is None:
            return
        when = _when(record.get("timestamp"))
        if isinstance(
            record.get("ports"), list
        ):  # -oJ: {"ip", "ports": [{"port", "proto", "status"|"service"}]}
            for port in record["ports"]:
                if not isinstance(port, dict):
                    self.fail(line, "a port entry that is not an object")
                    continue
                service = port.get("service")
                if isinstance(service, dict):
                    self.add(
                        ip,
                        port.get("port"),
                        port.get("proto"),
                        None,
                        service.get("name"),
                        service.get("banner"),
                        when,
                        line,
                    )
                else:
                    self.add(
                        ip, port.get("port"), port.get("proto"), port.get("status"), None, None, when, line
                    )
        elif "port" in record:  # -oD: {"ip", "port", "proto", "rec_type", "data": {...}}
            data: dict[str, Any] = record["data"] if isinstance(record.get("data"), dict) else {}
            if record.get("rec_type") == "banner":
                self.add(
                    ip,
                    record.get("port"),
                    record.get("proto"),
                    None,
                    data.get("service_name"),
                    data.get("banner"),
                    when,
                    line,
                )
            else:
                self.add(
                    ip, record.get("port"), record.get("proto"), data.get("status"), None, None, when, line
                )
        else:
            self.fail(line, "a record with neither 'ports' nor 'port'")

    def read_list(self, text: str) -> None:
        for line_number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(" ", 6)
            if len(parts) < 5 or parts[0] not in ("open", "closed", "banner"):
                self.fail(line_number, "not a masscan -oL line")
                continue
            ip = self.ip(parts[3], line_number)
            if ip is None:
                continue
            when = _when(parts[4])
            if parts[0] == "banner":
                app = parts[5] if len(parts) > 5 else ""
                banner = unescape_hex(parts[6]) if len(parts) > 6 else ""
                self.add(ip, parts[2], parts[1], None, app, banner, when, line_number)
            else:
                self.add(ip, parts[2], parts[1], parts[0], None, None, when, line_number)

    def ip(self, value: Any, line: int) -> str | None:
        try:
            return str(ipaddress.ip_address(str(value).strip()))
        except ValueError:
            self.fail(line, f"{clip(str(value), 60)!r} is not an IP address")
            return None

    def add(
        self,
        ip: str,
        port: Any,
        proto: Any,
        status: Any,
        app: Any,
        banner: Any,
        when: str | None,
        line: int,
    ) -> None:
        try:
            number = int(port)
            if not 0 <= number < 65536:
                raise ValueError
        except (TypeError, ValueError):
            self.fail(line, f"port {clip(str(port), 20)!r} is not a number")
            return
        protocol = clip(str(proto or "tcp"), 8)
        if banner is None and status != "open":
            self.skipped += 1  # closed ports (--open-only off) say nothing about a device being there
            return
        where = f"{self.source} host {ip} port {number}/{protocol}"
        # ICMP echo and ARP replies arrive as "port 0": the host is there but no port is open.
        host = ScannedHost(ip, open_ports=[number] if number else [])
        if number:
            host.evidence.append(Evidence(Signal.PORT, f"{number}/{protocol}", where))
        if banner is not None:
            app_name = clip(str(app or "unknown"), 40)
            for signal, value in banner_evidence(app_name, str(banner)):
                host.evidence.append(Evidence(signal, value, f"{where} banner {app_name}"))
        if when:
            host.extra["scanned_at"] = when
        self.hosts.append(host)


def _when(timestamp: Any) -> str | None:
    try:
        seconds = int(str(timestamp))
        return datetime.fromtimestamp(min(max(seconds, 0), 32503680000), UTC).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return None
