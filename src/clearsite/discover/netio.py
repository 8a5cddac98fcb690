"""Bounded network I/O shared by the probes: pacing, per-host connection slots, capped reads.

Every device reply is hostile input: reads are capped in bytes and in time, and text taken from
them is cleaned of control characters and cut to a sane length before it becomes evidence.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from clearsite.core.errors import ProbeError
from clearsite.core.models import Evidence, Signal
from clearsite.discover.options import HostReport, ScanOptions, ScanStats

MAX_VALUE_CHARS = 512
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str, limit: int = MAX_VALUE_CHARS) -> str:
    """Device text made safe to store and show: control characters escaped, length capped."""
    value = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value.strip())
    value = value.replace("\r", "\\r").replace("\n", "\\n").replace("\t", " ")
    return value if len(value) <= limit else value[:limit] + "…"


class Pacer:
    """A global probe-rate limit: each probe takes the next free slot on a fixed-interval clock."""

    def __init__(self, rate: float | None) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._next = 0.0

    async def acquire(self) -> None:
        if not self._interval:
            return
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


@dataclass(slots=True)
class HostContext:
    """Everything a probe needs about the host it is looking at, and where its findings go."""

    ip: str
    options: ScanOptions
    pacer: Pacer
    stats: ScanStats
    report: HostReport
    slots: asyncio.Semaphore = field(init=False)
    seen: set[tuple[Signal, str]] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self.slots = asyncio.Semaphore(self.options.per_host_concurrency)

    @property
    def host_for_url(self) -> str:
        return f"[{self.ip}]" if ":" in self.ip else self.ip

    def add(self, signal: Signal, value: str, source: str) -> None:
        value = clean_text(value)
        # One fact per (signal, value): the same Server header seen on five paths is one
        # observation, and identification must not count it five times.
        if value and (signal, value) not in self.seen:
            self.seen.add((signal, value))
            self.report.evidence.append(Evidence(signal, value, source))

    def error(self, message: str) -> None:
        self.report.errors.append(clean_text(message, 300))

    async def probe_slot(self) -> None:
        """Account for one probe against the global rate."""
        await self.pacer.acquire()
        self.stats.probes += 1

    def mark_open(self, port: int) -> None:
        if port not in self.report.open_ports:
            self.report.open_ports.append(port)
            self.report.open_ports.sort()
            self.add(Signal.PORT, f"{port}/tcp", f"tcp://{self.host_for_url}:{port} connect")

    @asynccontextmanager
    async def connect(
        self, port: int, tls: ssl.SSLContext | None = None
    ) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
        """A TCP (or TLS) connection inside this host's concurrency limit, always torn down."""
        connection = Connection(self, port, tls)
        try:
            await connection.open()
            assert connection.reader is not None and connection.writer is not None
            yield connection.reader, connection.writer
        finally:
            connection.close()


class PortUnreachable(ProbeError):
    """The TCP handshake did not complete in time: a filtered or absent port, not an open one."""


class Connection:
    """One TCP connection to the host (TLS on top when asked), holding one of the host's slots.

    The port is marked open as soon as the TCP handshake completes, so a device that accepts and
    then never finishes TLS (or never says a word) still shows its open port.
    """

    def __init__(self, ctx: HostContext, port: int, tls: ssl.SSLContext | None = None) -> None:
        self.ctx, self.port, self.tls = ctx, port, tls
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self._holding_slot = False

    async def open(self) -> None:
        """Raises ConnectionRefusedError (closed), PortUnreachable (filtered), TimeoutError (TLS
        handshake silence), OSError or ssl.SSLError."""
        ctx = self.ctx
        await ctx.slots.acquire()
        self._holding_slot = True
        await ctx.probe_slot()
        # asyncio.timeout rather than wait_for: no extra task per call, which matters at 1,000s/s.
        try:
            async with asyncio.timeout(ctx.options.connect_timeout):
                self.reader, self.writer = await asyncio.open_connection(
                    ctx.ip, self.port, limit=ctx.options.max_header_bytes
                )
        except TimeoutError:
            raise PortUnreachable(f"tcp/{self.port}: no answer to connect") from None
        ctx.mark_open(self.port)
        if self.tls is not None:
            async with asyncio.timeout(ctx.options.read_timeout + 1.0):
                await self.writer.start_tls(self.tls, server_hostname="")

    @property
    def peer_cert(self) -> bytes | None:
        ssl_object = self.writer.get_extra_info("ssl_object") if self.writer else None
        return ssl_object.getpeercert(binary_form=True) if ssl_object else None

    def close(self) -> None:
        if self.writer is not None:
            # abort(): no lingering TLS close_notify exchange or FIN wait on a hostile peer.
            self.writer.transport.abort()
            self.writer = self.reader = None
        if self._holding_slot:
            self._holding_slot = False
            self.ctx.slots.release()


async def read_some(reader: asyncio.StreamReader, ctx: HostContext, n: int = 4096) -> bytes:
    async with asyncio.timeout(ctx.options.read_timeout):
        data = await reader.read(n)
    ctx.stats.bytes_received += len(data)
    return data


async def read_head(reader: asyncio.StreamReader, ctx: HostContext) -> tuple[bytes, bytes, bool]:
    """Read a reply head up to the blank line, at most max_header_bytes.

    Returns (head, start of body, complete); `complete` is False when the cap or EOF came first,
    in which case head holds what arrived (a 10 MB header is cut, never read whole).
    """
    cap = ctx.options.max_header_bytes
    buf = bytearray()
    while len(buf) < cap:
        chunk = await read_some(reader, ctx, min(8192, cap - len(buf)))
        if not chunk:
            break
        search_from = max(0, len(buf) - 3)
        buf += chunk
        end = buf.find(b"\r\n\r\n", search_from)
        if end < 0:
            lf = buf.find(b"\n\n", search_from)  # some embedded servers end lines with bare LF
            end, sep = (lf, 2) if lf >= 0 else (-1, 0)
        else:
            sep = 4
        if end >= 0:
            return bytes(buf[:end]), bytes(buf[end + sep :]), True
    return bytes(buf), b"", False


async def read_body(
    reader: asyncio.StreamReader, ctx: HostContext, start: bytes, length: int | None
) -> bytes:
    """Read at most max_body_bytes of a body (less when Content-Length says so)."""
    cap = ctx.options.max_body_bytes if length is None else min(length, ctx.options.max_body_bytes)
    buf = bytearray(start[:cap])
    while len(buf) < cap:
        chunk = await read_some(reader, ctx, min(16384, cap - len(buf)))
        if not chunk:
            break
        buf += chunk
    return bytes(buf[:cap])


@dataclass(slots=True)
class ReplyHead:
    """A parsed HTTP or RTSP status line and headers (names lower-cased, order kept)."""

    protocol: str
    status: int | None
    reason: str
    headers: list[tuple[str, str]]

    def get(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key == name]


_STATUS = re.compile(r"^(HTTP|RTSP)/(\d\.\d)\s+(\d{3})\s*(.*)$")


def parse_head(head: bytes, max_headers: int = 200) -> ReplyHead | None:
    """Parse a status line and headers; None when the bytes are not an HTTP/RTSP reply."""
    text = head.decode("latin-1")
    lines = text.replace("\r\n", "\n").split("\n")
    match = _STATUS.match(lines[0].strip()) if lines else None
    if not match:
        return None
    headers: list[tuple[str, str]] = []
    for line in lines[1 : max_headers + 1]:
        if ":" not in line:
            continue
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return ReplyHead(
        f"{match.group(1)}/{match.group(2)}", int(match.group(3)), match.group(4).strip(), headers
    )


_REALM = re.compile(r'realm\s*=\s*(?:"([^"]*)"|([^\s,]+))', re.IGNORECASE)


def auth_challenges(values: list[str]) -> list[tuple[str, str]]:
    """(scheme, realm) for each WWW-Authenticate value that names a realm."""
    found: list[tuple[str, str]] = []
    for value in values:
        match = _REALM.search(value)
        if match:
            scheme = value.strip().split(" ", 1)[0]
            found.append((scheme, match.group(1) if match.group(1) is not None else match.group(2)))
    return found


def printable_banner(data: bytes, limit: int = 128) -> str | None:
    """A short text banner from the start of a non-HTTP reply, or None when it is binary noise."""
    sample = data[:limit]
    if not sample:
        return None
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in sample)
    if printable / len(sample) < 0.85:
        return None
    return sample.decode("latin-1")
