"""The scan: probe many hosts at once, within the rate limit, yielding each host as it finishes.

Per host: TCP connects to the configured ports and unicast UDP discovery run together; then each
open port gets the probe its number suggests (HTTP, TLS+HTTP, RTSP, or nothing for binary vendor
ports). Vendor API paths are asked once per host, on the first port that speaks HTTP.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime

from clearsite.discover import dhip, sadp, wsd
from clearsite.discover.http import VENDOR_PATHS, probe_http_port, tls_client_context
from clearsite.discover.netio import HostContext, Pacer, PortUnreachable
from clearsite.discover.options import BINARY_PORTS, RTSP_PORTS, TLS_PORTS, HostReport, ScanOptions, ScanStats
from clearsite.discover.rtsp import probe_rtsp
from clearsite.discover.scope import IPAddress, require_in_scope
from clearsite.discover.udp import probe_dhip, probe_sadp, probe_snmp, probe_wsd

Progress = Callable[[int, int], None]
_DONE = object()


def _now() -> datetime:
    return datetime.now(UTC)


def _classify(options: ScanOptions) -> tuple[list[int], list[int], list[int], list[int]]:
    """(plain HTTP, TLS, RTSP, binary) ports, in the order they are tried."""
    plain = [p for p in options.ports if p not in TLS_PORTS | RTSP_PORTS | BINARY_PORTS]
    tls = [p for p in options.ports if p in TLS_PORTS] if options.tls else []
    rtsp = [p for p in options.ports if p in RTSP_PORTS] if options.rtsp else []
    binary = [p for p in options.ports if p in BINARY_PORTS]
    return plain, tls, rtsp, binary


async def _tcp_open(ctx: HostContext, port: int) -> None:
    """A bare connect: for ports whose protocol we do not speak, open is all we learn."""
    try:
        async with ctx.connect(port):
            pass  # connect() marks the port open
    except (ConnectionRefusedError, PortUnreachable):
        pass
    except OSError as exc:
        ctx.error(f"tcp/{port}: {type(exc).__name__}: {exc}")


async def _web(ctx: HostContext, plain: list[int], tls_ports: list[int]) -> None:
    """Web ports one after another, in the configured order: the favicon and vendor paths are
    asked once per host, on the first port that answers HTTP (plain before TLS)."""
    first = True
    tls = tls_client_context() if tls_ports else None
    for port, context in [(p, None) for p in plain] + [(p, tls) for p in tls_ports]:
        if await probe_http_port(ctx, port, context, first):
            first = False


async def _probe(ctx: HostContext) -> None:
    # Each service probe's own connection is the port check, so an open port costs one connect.
    opts = ctx.options
    plain, tls_ports, rtsp_ports, binary = _classify(opts)
    tasks: list[Awaitable[object]] = [_tcp_open(ctx, p) for p in binary]
    if opts.udp_discovery:
        tasks += [probe_wsd(ctx), probe_sadp(ctx), probe_dhip(ctx)]
    if opts.snmp_community:
        tasks.append(probe_snmp(ctx, opts.snmp_community))
    tasks += [probe_rtsp(ctx, p) for p in rtsp_ports]
    tasks.append(_web(ctx, plain, tls_ports))
    await asyncio.gather(*tasks)


async def probe_host(ip: IPAddress, options: ScanOptions, pacer: Pacer, stats: ScanStats) -> HostReport:
    """Everything we can learn about one host without credentials; never raises."""
    report = HostReport(ip=str(ip), started=_now())
    ctx = HostContext(str(ip), options, pacer, stats, report)
    try:
        async with asyncio.timeout(options.host_timeout):
            await _probe(ctx)
    except TimeoutError:
        ctx.error(f"host took longer than {options.host_timeout:g}s; stopped, partial results kept")
    except Exception as exc:  # noqa: BLE001 - a hostile reply must cost us one host, never the scan
        ctx.error(f"probe failed: {type(exc).__name__}: {exc}")
    report.finished = _now()
    stats.hosts += 1
    return report


async def scan(
    addresses: Iterable[IPAddress | str],
    options: ScanOptions | None = None,
    progress: Progress | None = None,
    *,
    stats: ScanStats | None = None,
) -> AsyncIterator[HostReport]:
    """Probe each address, yielding its HostReport as soon as that host is done.

    Stop at any time: hosts already yielded are complete. Cancelling (Ctrl-C) or closing the
    generator (`async with contextlib.aclosing(scan(...))`, then `break`) abandons the rest at
    once. `progress(done, total)` is called after each host.
    """
    options = options or ScanOptions()
    stats = stats if stats is not None else ScanStats()
    targets = [ipaddress.ip_address(a) for a in addresses]
    if options.networks:
        require_in_scope(targets, options.networks)
    total = len(targets)
    if not total:
        return
    pacer = Pacer(options.rate)
    queue: asyncio.Queue[object] = asyncio.Queue()
    pending = iter(targets)

    async def worker() -> None:
        try:
            for ip in pending:  # the shared iterator hands each address to exactly one worker
                await queue.put(await probe_host(ip, options, pacer, stats))
        finally:
            queue.put_nowait(_DONE)

    workers = [asyncio.create_task(worker()) for _ in range(min(options.host_concurrency, total))]
    running, done = len(workers), 0
    try:
        while running:
            item = await queue.get()
            if item is _DONE:
                running -= 1
                continue
            assert isinstance(item, HostReport)
            done += 1
            if progress:
                progress(done, total)
            yield item
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


def describe_probes(addresses: Sequence[IPAddress | str], options: ScanOptions | None = None) -> list[str]:
    """What scan() would send, in words, without sending anything (for --dry-run)."""
    options = options or ScanOptions()
    plain, tls, rtsp, binary = _classify(options)
    lines = [f"{len(addresses)} host(s); TCP connect to ports {', '.join(map(str, options.ports))}"]
    if plain:
        extra = " and /favicon.ico" if options.favicon else ""
        lines.append(
            f"  HTTP ports {', '.join(map(str, plain))}: GET / (one same-host redirect followed){extra}"
        )
    if tls:
        lines.append(
            f"  TLS ports {', '.join(map(str, tls))}: handshake (certificate recorded, not verified), GET /"
        )
    if options.vendor_paths:
        paths = ", ".join(f"{p.method} {p.path}" for p in VENDOR_PATHS)
        lines.append(f"  first port that speaks HTTP: a random missing path as baseline, then {paths}")
    if rtsp:
        lines.append(
            f"  RTSP ports {', '.join(map(str, rtsp))}: OPTIONS and DESCRIBE of rtsp://<host>:<port>/"
        )
    if binary:
        lines.append(f"  ports {', '.join(map(str, binary))}: connect only (binary vendor protocols)")
    if options.udp_discovery:
        lines.append(
            f"  UDP unicast: WS-Discovery Probe to {wsd.PORT}, SADP inquiry to {sadp.PORT}, DHIP search to {dhip.PORT}"
        )
    if options.snmp_community:
        lines.append(f"  SNMP v2c GET sysDescr, sysObjectID to {options.snmp_port} with the given community")
    lines.append("  no credentials are sent; no redirect to another host is followed")
    rate = f"{options.rate:g} probes/s" if options.rate else "no rate limit"
    lines.append(
        f"  limits: {rate}, {options.host_concurrency} hosts at once, {options.per_host_concurrency} per host"
    )
    lines.extend(f"target {a}" for a in addresses)
    return lines
