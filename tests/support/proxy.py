"""A TCP proxy on 127.0.0.1 that drops connections mid-stream, as a flaky site link does.

Every `every`-th connection is cut: alternately after part of the request reached the centre (the
centre never saw a whole request) and after the centre began answering (it applied the batch, the
agent never heard). A cut is a reset (SO_LINGER 0), not a polite close. Runs its own event loop in
a thread; `stop()` ends it. Loopback only: it listens on 127.0.0.1 and connects to a 127.0.0.1 port.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
import threading
from dataclasses import dataclass, field

CHUNK = 16_384


@dataclass
class ProxyStats:
    connections: int = 0
    cut_in_request: int = 0
    cut_in_response: int = 0
    passed: int = 0
    failures: list[str] = field(default_factory=list)


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class ResettingProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target_port`, resetting every `every`-th connection."""

    def __init__(self, target_port: int, every: int = 3, request_bytes: int = 600, response_bytes: int = 20) -> None:
        self.target_port = target_port
        self.every = every
        self.request_bytes = request_bytes
        self.response_bytes = response_bytes
        self.stats = ProxyStats()
        self.cutting = True  # set False to let everything through
        self._numbers = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.base_events.Server | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._run, name="resetting-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the proxy did not start")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        number = next(self._numbers)
        self.stats.connections += 1
        cut = self.cutting and number % self.every == 0
        where = "request" if (number // self.every) % 2 else "response"
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            _reset(client_writer)  # the centre is down: the agent sees its connection refused-like reset
            return
        budget = {"request": self.request_bytes if cut and where == "request" else None,
                  "response": self.response_bytes if cut and where == "response" else None}

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str) -> bool:
            """Copy until EOF; True if this direction was cut."""
            sent = 0
            limit = budget[direction]
            while data := await reader.read(CHUNK):
                if limit is not None and sent + len(data) >= limit:
                    writer.write(data[: max(0, limit - sent)])
                    await writer.drain()
                    return True
                writer.write(data)
                await writer.drain()
                sent += len(data)
            if writer.can_write_eof():
                writer.write_eof()
            return False

        upstream = asyncio.ensure_future(pump(client_reader, server_writer, "request"))
        downstream = asyncio.ensure_future(pump(server_reader, client_writer, "response"))
        try:
            done, _ = await asyncio.wait({upstream, downstream}, return_when=asyncio.FIRST_COMPLETED)
            if any(not task.exception() and task.result() for task in done):
                if where == "request":
                    self.stats.cut_in_request += 1
                else:
                    self.stats.cut_in_response += 1
                _reset(client_writer)
                _reset(server_writer)
            else:
                await asyncio.wait({upstream, downstream})
                self.stats.passed += 1
        except (ConnectionError, OSError) as exc:
            self.stats.failures.append(repr(exc))
        finally:
            for task in (upstream, downstream):
                task.cancel()
            for writer in (client_writer, server_writer):
                if not writer.is_closing():
                    writer.close()

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
