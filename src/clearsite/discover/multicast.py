"""Link-local discovery: WS-Discovery, SADP and DHIP sent to their multicast groups.

This finds devices nobody listed (a factory-default Dahua on 192.168.1.108 answers DHIP even when
it is invisible to ping). The probes leave through one interface address of the site, with TTL 1
so they never cross a router, and replies from outside the site's networks are dropped.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from clearsite.core.models import Evidence, Signal
from clearsite.discover import dhip, sadp, wsd
from clearsite.discover.netio import clean_text
from clearsite.discover.options import HostReport, ScanOptions
from clearsite.discover.scope import ScopeError, parse_networks
from clearsite.discover.udp import record_dhip, record_sadp, record_wsd

Recorder = Callable[[Callable[[Signal, str, str], None], bytes, str], bool]


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, str], None], cap: int) -> None:
        self.on_datagram = on_datagram
        self.cap = cap

    def datagram_received(self, data: bytes, addr: tuple[str, int] | tuple[str, int, int, int]) -> None:
        self.on_datagram(data[: self.cap], addr[0])

    def error_received(self, exc: Exception) -> None:  # ICMP noise from the link; nothing to do
        pass


def _sender(source: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)  # never beyond this link
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(source))
    sock.bind((source, 0))
    sock.setblocking(False)
    return sock


def _group_listener(group: str, port: int, source: str) -> socket.socket | None:
    """A socket that hears replies a device sends to the group (SADP answers to 239.255.255.250)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((group, port))
        membership = socket.inet_aton(group) + socket.inet_aton(source)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        sock.setblocking(False)
        return sock
    except OSError:
        sock.close()
        return None


async def multicast_discover(
    source: str,
    networks: list[str],
    options: ScanOptions | None = None,
    *,
    listen: float = 2.0,
) -> list[HostReport]:
    """Send each discovery probe once to its group from `source`; report every in-scope responder."""
    options = options or ScanOptions()
    allowed = parse_networks(networks)
    source_ip = ipaddress.ip_address(source)
    if source_ip.version != 4 or not any(source_ip in n for n in allowed if n.version == 4):
        raise ScopeError(f"interface address {source} is not inside the site's networks; refused")
    reports: dict[str, HostReport] = {}
    started = datetime.now(UTC)

    def handler(recorder: Callable[[bytes, str, HostReport], bool]) -> Callable[[bytes, str], None]:
        def on_datagram(data: bytes, sender: str) -> None:
            try:
                ip = ipaddress.ip_address(sender)
            except ValueError:
                return
            if ip == source_ip or not any(ip in n for n in allowed if n.version == ip.version):
                return  # our own echo, or a device outside the site: not ours to record
            report = reports.setdefault(sender, HostReport(ip=sender, started=started))
            if not recorder(data, sender, report):
                report.errors.append(clean_text(f"unparsed {len(data)}-byte reply", 200))

        return on_datagram

    def adder(report: HostReport) -> Callable[[Signal, str, str], None]:
        def add(signal: Signal, value: str, where: str) -> None:
            ev = Evidence(signal, clean_text(value), where)
            if ev.value and ev not in report.evidence:
                report.evidence.append(ev)

        return add

    wsd_probe, message_id = wsd.build_probe()
    sadp_probe, _ = sadp.build_inquiry()
    plan: list[tuple[str, int, bytes, Callable[[bytes, str, HostReport], bool]]] = [
        (
            wsd.MULTICAST_V4,
            wsd.PORT,
            wsd_probe,
            lambda d, s, r: record_wsd(adder(r), d, f"udp://{s}:{wsd.PORT} multicast", message_id),
        ),
        (
            sadp.MULTICAST_V4,
            sadp.PORT,
            sadp_probe,
            lambda d, s, r: record_sadp(adder(r), d, f"udp://{s}:{sadp.PORT} multicast"),
        ),
        (
            dhip.MULTICAST_V4,
            dhip.PORT,
            dhip.build_search(),
            lambda d, s, r: record_dhip(adder(r), d, f"udp://{s}:{dhip.PORT} multicast"),
        ),
    ]
    loop = asyncio.get_running_loop()
    transports: list[asyncio.BaseTransport] = []
    try:
        for group, port, payload, recorder in plan:
            collector = handler(recorder)
            transport, _ = await loop.create_datagram_endpoint(
                partial(_Collector, collector, options.max_udp_bytes), sock=_sender(source)
            )
            transports.append(transport)
            if port == sadp.PORT:
                listener = _group_listener(group, port, source)
                if listener is not None:
                    heard, _ = await loop.create_datagram_endpoint(
                        partial(_Collector, collector, options.max_udp_bytes), sock=listener
                    )
                    transports.append(heard)
            transport.sendto(payload, (group, port))
        await asyncio.sleep(listen)
    finally:
        for opened in transports:
            opened.close()
    finished = datetime.now(UTC)
    for report in reports.values():
        report.finished = finished
    return sorted(reports.values(), key=lambda r: ipaddress.ip_address(r.ip))
