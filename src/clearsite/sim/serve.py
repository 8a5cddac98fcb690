"""Asyncio listeners that give each emulated device its own address and ports.

Binding every listener to the device's own 127.x.y.z address (never 0.0.0.0) keeps the ports a
persona does not serve truly closed: a connect there is refused, as on a real device.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import resource
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

from clearsite.sim.certs import server_context
from clearsite.sim.device import SimDevice
from clearsite.sim.personas import UDP_PORTS
from clearsite.sim.replies import Reply

# A TCP connection handler, as asyncio.start_server calls it.
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

REQUEST_HEAD_LIMIT = 16 * 1024
IDLE_TIMEOUT = 30.0
SILENT_HOLD = 120.0  # a silent device keeps the connection this long at most, then drops it
GARBAGE_BYTES = 1024 * 1024


def raise_nofile_limit() -> int:
    """Lift the soft open-files limit to the hard limit; returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(writer.wait_closed(), 2.0)


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes] | None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) < 3:
        return None
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    body = b""
    length = headers.get("content-length", "0")
    if length.isdigit() and 0 < int(length) <= 65536:
        try:
            body = await asyncio.wait_for(reader.readexactly(int(length)), IDLE_TIMEOUT)
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            return None
    return parts[0], parts[1], headers, body


async def _write_reply(writer: asyncio.StreamWriter, reply: Reply) -> None:
    writer.write(reply.head())
    if reply.pad_header_bytes:
        # Stream the hostile header in chunks so the simulator itself stays small in memory.
        chunk = b"A" * 65536
        writer.write(b"X-Padding: ")
        for _ in range(reply.pad_header_bytes // len(chunk)):
            writer.write(chunk)
            await writer.drain()
    writer.write(b"\r\n" + reply.body)
    await writer.drain()


def _http_handler(
    dev: SimDevice, port: int
) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for _ in range(64):  # keep-alive, but not forever
                request = await _read_request(reader)
                if request is None:
                    break
                method, path, headers, body = request
                await _write_reply(writer, dev.persona.http(dev, method, path, body, port))
                if not dev.persona.keep_alive or headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            await _close(writer)

    return handle


def _rtsp_handler(dev: SimDevice) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # RTSP keeps the connection for several requests
                request = await _read_request(reader)
                if request is None:
                    break
                method, _, headers, _ = request
                await _write_reply(writer, dev.persona.rtsp(dev, method, headers.get("cseq", "0")))
        except (ConnectionError, OSError):
            pass
        finally:
            await _close(writer)

    return handle


def _garbage_handler(dev: SimDevice) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        rng = random.Random(dev.index)
        try:
            for _ in range(GARBAGE_BYTES // 65536):
                writer.write(rng.randbytes(65536))
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            await _close(writer)

    return handle


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept, then never say a word (reads and discards until the peer gives up)."""
    try:
        async with asyncio.timeout(SILENT_HOLD):
            while await reader.read(4096):
                pass
    except (ConnectionError, OSError, TimeoutError):
        pass
    finally:
        await _close(writer)


async def _read_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Binary vendor ports: take what the client says and hang up (we do not speak SDK/DVRIP)."""
    try:
        await asyncio.wait_for(reader.read(1024), 5.0)
    except (ConnectionError, OSError, TimeoutError):
        pass
    finally:
        await _close(writer)


# Link-local discovery groups, for fleets served inside a test's own network namespace.
MULTICAST_GROUPS = {"wsd": "239.255.255.250", "sadp": "239.255.255.250", "dhip": "239.255.255.251"}


def _group_socket(group: str, port: int, interface_ip: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # every device hears the group
        sock.bind((group, port))
        sock.setsockopt(
            socket.IPPROTO_IP,
            socket.IP_ADD_MEMBERSHIP,
            socket.inet_aton(group) + socket.inet_aton(interface_ip),
        )
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class _GroupListener(asyncio.DatagramProtocol):
    """Hears a probe sent to the group and answers through the device's own unicast socket,
    so the reply comes from the device's address as on a real link."""

    def __init__(self, unicast: _Udp) -> None:
        self.unicast = unicast

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.unicast.datagram_received(data, addr)

    def error_received(self, exc: Exception) -> None:
        pass


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, dev: SimDevice, port: int) -> None:
        self.dev, self.port = dev, port
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            reply = self.dev.persona.udp_reply(self.dev, self.port, data)
        except Exception:  # noqa: BLE001 - a malformed probe must not kill the device
            reply = None
        if reply and self.transport is not None:
            self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        pass


@dataclass
class FleetServer:
    """The listeners of a running (part of a) fleet."""

    servers: list[asyncio.Server] = field(default_factory=list)
    transports: list[asyncio.BaseTransport] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    sockets: int = 0

    async def close(self) -> None:
        for transport in self.transports:
            transport.close()
        for server in self.servers:
            server.close()
        for server in self.servers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 2.0)
        self.servers.clear()
        self.transports.clear()


async def start_devices(devices: list[SimDevice], multicast: bool = False) -> FleetServer:
    """Bind every device's TCP and UDP services; bind failures are recorded, not raised.

    With `multicast`, devices also join their discovery groups (only useful inside a network
    namespace with a real link; loopback carries no multicast)."""
    raise_nofile_limit()
    loop = asyncio.get_running_loop()
    fleet = FleetServer()
    for dev in devices:
        for port, kind in dev.persona.tcp.items():
            handler: Handler
            tls = None
            if kind in ("http", "https"):
                handler = _http_handler(dev, port)
                if kind == "https" and dev.persona.cert is not None:
                    tls = server_context(dev.persona.cert)
            elif kind == "rtsp":
                handler = _rtsp_handler(dev)
            elif kind == "garbage":
                handler = _garbage_handler(dev)
            elif kind == "silent":
                handler = _silent
            else:
                handler = _read_then_close
            try:
                server = await asyncio.start_server(
                    handler,
                    dev.ip,
                    port,
                    limit=REQUEST_HEAD_LIMIT,
                    reuse_address=True,
                    backlog=128,
                    ssl=tls,
                    ssl_handshake_timeout=10.0 if tls else None,
                )
            except OSError as exc:
                fleet.failures.append(f"{dev.ip}:{port}/tcp: {exc.strerror or exc}")
                continue
            fleet.servers.append(server)
            fleet.sockets += 1
        for name in dev.persona.udp:
            port = UDP_PORTS[name]
            try:
                transport, protocol = await loop.create_datagram_endpoint(
                    partial(_Udp, dev, port), local_addr=(dev.ip, port)
                )
            except OSError as exc:
                fleet.failures.append(f"{dev.ip}:{port}/udp: {exc.strerror or exc}")
                continue
            fleet.transports.append(transport)
            fleet.sockets += 1
            if multicast and name in MULTICAST_GROUPS:
                try:
                    sock = _group_socket(MULTICAST_GROUPS[name], port, dev.ip)
                    heard, _ = await loop.create_datagram_endpoint(
                        partial(_GroupListener, protocol), sock=sock
                    )
                except OSError as exc:
                    fleet.failures.append(f"{dev.ip}:{port}/udp multicast: {exc.strerror or exc}")
                    continue
                fleet.transports.append(heard)
    return fleet
