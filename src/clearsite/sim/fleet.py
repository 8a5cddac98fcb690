"""A deterministic fleet of emulated devices on consecutive loopback addresses.

`Fleet(hosts, seed)` draws the same personas, models, serials and MACs for the same arguments,
so the manifest it writes is the ground truth a scan and identification are scored against.
Large fleets are served by several processes (shards), each under its own open-files limit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import math
import multiprocessing
import random
import resource
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from clearsite.core.errors import InputError
from clearsite.discover.loop import run as run_fast
from clearsite.sim.device import SimDevice
from clearsite.sim.personas import BY_KEY, PERSONAS, Persona
from clearsite.sim.serve import FleetServer, raise_nofile_limit, start_devices

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
MAX_HOSTS = 65_536
FD_HEADROOM = 4_000  # per shard, for accepted connections


class FleetError(InputError, ValueError):
    pass


class Fleet:
    """Personas assigned to `hosts` consecutive addresses from `base`, deterministically from `seed`.

    The first hosts cycle through every persona (in a seeded order) so even a small fleet shows
    each one; the rest are drawn by persona weight.
    """

    def __init__(
        self,
        hosts: int,
        seed: int,
        base: str = "127.42.0.1",
        *,
        personas: Sequence[Persona] = PERSONAS,
        allow_any_address: bool = False,
    ) -> None:
        if not 0 < hosts <= MAX_HOSTS:
            raise FleetError(f"hosts must be 1..{MAX_HOSTS}, got {hosts}")
        start = ipaddress.ip_address(base)
        last = start + (hosts - 1)
        if not allow_any_address and (start not in LOOPBACK or last not in LOOPBACK):
            raise FleetError(f"fleet {start}..{last} leaves 127.0.0.0/8; the simulator serves loopback only")
        self.hosts, self.seed, self.base = hosts, seed, str(start)
        self.persona_keys = tuple(p.key for p in personas)
        rng = random.Random(seed)
        order = list(personas)
        rng.shuffle(order)
        weights = [p.weight for p in personas]
        self.devices: list[SimDevice] = []
        for i in range(hosts):
            persona = order[i] if i < len(order) else rng.choices(personas, weights)[0]
            self.devices.append(persona.draw(rng, str(start + i), i))

    # ------------------------------------------------------------------ manifest

    def manifest(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "base": self.base,
            "hosts": self.hosts,
            "devices": [d.manifest_entry() for d in self.devices],
        }

    def write_manifest(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.manifest(), indent=1) + "\n")
        return path

    def by_ip(self) -> dict[str, SimDevice]:
        return {d.ip: d for d in self.devices}

    def sockets_needed(self) -> int:
        return sum(len(d.persona.tcp) + len(d.persona.udp) for d in self.devices)

    def default_shards(self) -> int:
        budget = max(1000, resource.getrlimit(resource.RLIMIT_NOFILE)[1] - FD_HEADROOM)
        return max(1, math.ceil(self.sockets_needed() / budget))

    # ------------------------------------------------------------------ serving

    @asynccontextmanager
    async def running(self, multicast: bool = False) -> AsyncIterator[FleetServer]:
        """Serve the whole fleet in the current event loop (tests, small fleets)."""
        server = await start_devices(self.devices, multicast)
        try:
            yield server
        finally:
            await server.close()

    @contextmanager
    def in_thread(self, timeout: float = 30.0) -> Iterator[FleetServer]:
        """Serve the whole fleet from a background thread's event loop (sync tests, demos)."""
        started = threading.Event()
        holder: dict[str, Any] = {}

        def run() -> None:
            async def main() -> None:
                holder["stop"] = asyncio.Event()
                holder["loop"] = asyncio.get_running_loop()
                async with self.running() as server:
                    holder["server"] = server
                    started.set()
                    await holder["stop"].wait()

            try:
                asyncio.run(main())
            finally:
                started.set()

        thread = threading.Thread(target=run, name="clearsite-sim", daemon=True)
        thread.start()
        if not started.wait(timeout) or "server" not in holder:
            raise FleetError("the simulated fleet did not start")
        try:
            yield holder["server"]
        finally:
            holder["loop"].call_soon_threadsafe(holder["stop"].set)
            thread.join(timeout)

    @contextmanager
    def background(
        self, shards: int | None = None, timeout: float = 120.0, multicast: bool = False
    ) -> Iterator[list[str]]:
        """Serve in worker processes until the block ends; yields the bind failures."""
        shards = shards or self.default_shards()
        ctx = multiprocessing.get_context("spawn")
        stop = ctx.Event()
        ready: Any = ctx.Queue()
        args = (self.hosts, self.seed, self.base, self.persona_keys, multicast)
        workers = [
            ctx.Process(target=_serve_shard, args=(*args, k, shards, ready, stop), daemon=True)
            for k in range(shards)
        ]
        for worker in workers:
            worker.start()
        failures: list[str] = []
        try:
            for _ in workers:
                failures.extend(ready.get(timeout=timeout))
            yield failures
        finally:
            stop.set()
            for worker in workers:
                worker.join(10)
                if worker.is_alive():
                    worker.terminate()

    def serve(
        self,
        duration: float | None = None,
        shards: int | None = None,
        on_ready: Callable[[list[str]], None] | None = None,
        multicast: bool = False,
    ) -> list[str]:
        """Serve until interrupted (or for `duration` seconds); returns bind failures.

        `on_ready(failures)` is called once every listener is bound."""
        previous = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        try:
            with self.background(shards, multicast=multicast) as failures:
                if on_ready:
                    on_ready(failures)
                deadline = None if duration is None else time.monotonic() + duration
                try:
                    while deadline is None or time.monotonic() < deadline:
                        time.sleep(0.2)
                except KeyboardInterrupt:
                    pass
                return failures
        finally:
            signal.signal(signal.SIGTERM, previous)


def _serve_shard(
    hosts: int,
    seed: int,
    base: str,
    persona_keys: tuple[str, ...],
    multicast: bool,
    shard: int,
    shards: int,
    ready: Any,
    stop: Any,
) -> None:
    """Worker process: serve every `shards`-th device starting at `shard` until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    raise_nofile_limit()
    personas = [BY_KEY[k] for k in persona_keys]
    fleet = Fleet(
        hosts, seed, base, personas=personas, allow_any_address=not ipaddress.ip_address(base).is_loopback
    )
    devices = fleet.devices[shard::shards]

    async def main() -> None:
        server = await start_devices(devices, multicast)
        ready.put(server.failures)
        parent = multiprocessing.parent_process()
        while not stop.is_set():  # also stop if the parent died without telling us
            if parent is not None and not parent.is_alive():
                break
            await asyncio.sleep(0.5)
        await server.close()

    run_fast(main())
