"""Screening under load: `clearsite serve`'s app on loopback, hit by concurrent clients.

Measures single-line POST /api/v1/screen throughput and p50/p99 latency with C concurrent
keep-alive clients, then one 1,000-line quote end to end (JSON over HTTP, screened, answered).
Targets: >= 500 single-line screens/s at p99 <= 50 ms on 2 cores; a 1,000-line quote in <= 2 s.

The server runs in its own process (one uvicorn worker, as `clearsite serve` runs it); the
client is a small asyncio HTTP/1.1 client, so the client's own cost stays low on a 2-core box.
Only 127.0.0.1 is ever contacted.

    .venv/bin/python bench/screen_load.py [--seconds 10] [--clients 8] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOST = "127.0.0.1"  # loopback only
QUOTE_LINES = Path(__file__).parents[1] / "tests" / "data" / "quotes" / "labelled_quote_lines.csv"
FALLBACK_LINES = [{"supplier": "ADI", "brand": "Hikvision", "model": "DS-2CD2143G2-I", "quantity": 4},
                  {"supplier": "ADI", "brand": "Axis", "model": "P3245-LVE", "quantity": 2},
                  {"supplier": "Norbain", "brand": "Dahua", "model": "IPC-HFW2431S-S-S2", "quantity": 6},
                  {"supplier": "CCTV Direct", "description": "Cat6 U/UTP cable 305m box", "quantity": 2}]


def quote_lines() -> list[dict[str, object]]:
    """Real-looking lines (the labelled test quote), so the screen does its usual work."""
    if not QUOTE_LINES.exists():
        return FALLBACK_LINES
    lines = []
    with QUOTE_LINES.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            line: dict[str, object] = {k: row[k] for k in ("supplier", "brand", "model", "sku", "description") if row.get(k)}
            if row.get("quantity", "").isdigit():
                line["quantity"] = int(row["quantity"])
            lines.append(line)
    return lines or FALLBACK_LINES


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


SERVER = """
import sys, uvicorn
from clearsite.formats.knowledge import load_knowledge
from clearsite.store.db import open_database
from clearsite.web import Settings, create_app
app = create_app(open_database(sys.argv[1]), load_knowledge(), Settings())
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""


def prepare(workdir: Path) -> tuple[str, str]:
    """A database with a department, a sensitive site and an officer's screening token."""
    from clearsite.core.models import Site
    from clearsite.store.db import open_database
    from clearsite.store.sites import add_site
    from clearsite.store.users import Role, add_user, create_token
    from clearsite.web.changes import write_transaction

    url = f"sqlite:///{workdir / 'bench.db'}"
    with write_transaction(open_database(url)) as conn:
        site_id = add_site(conn, Site("Bench House", "Department of Benchmarks", holds_secret=True))
        user = add_user(conn, "bench", "bench password 1234", Role.OFFICER, department="Department of Benchmarks",
                        actor="bench")
        token = create_token(conn, user, "bench", ["screen"], days=1, actor="bench").token
    return url, json.dumps({"token": token, "site_id": site_id})


async def request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes, body: bytes) -> bytes:
    writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
    await writer.drain()
    status = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    payload = await reader.readexactly(length)
    if not status.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"{status.decode().strip()}: {payload[:300]!r}")
    return payload


def head_for(port: int, token: str) -> bytes:
    return (f"POST /api/v1/screen HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: ").encode()


async def load(port: int, token: str, site_id: int, seconds: float, clients: int) -> dict[str, float]:
    lines = quote_lines()
    bodies = [json.dumps({"site_id": site_id, "lines": [line]}).encode() for line in lines]
    head = head_for(port, token)
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def client(offset: int) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        n = offset
        while time.perf_counter() < stop:
            body = bodies[n % len(bodies)]
            n += 1
            start = time.perf_counter()
            await request(reader, writer, head, body)
            latencies.append(time.perf_counter() - start)
        writer.close()

    # Warm up (imports, memo tables, SQLite page cache) before measuring.
    warm_reader, warm_writer = await asyncio.open_connection(HOST, port)
    for body in bodies:
        await request(warm_reader, warm_writer, head, body)
    warm_writer.close()
    began = time.perf_counter()
    await asyncio.gather(*(client(i * 7) for i in range(clients)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {"requests": len(latencies), "seconds": round(elapsed, 2), "per_second": round(len(latencies) / elapsed, 1),
            "p50_ms": round(1000 * statistics.median(latencies), 2),
            "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2),
            "max_ms": round(1000 * latencies[-1], 2), "clients": clients}


async def big_quote(port: int, token: str, site_id: int, size: int = 1000, runs: int = 3) -> dict[str, float]:
    lines = quote_lines()
    # Distinct lines (a serial-like suffix on SKUs) so the memo cannot answer most of them.
    quote = [{**lines[i % len(lines)], "sku": f"Q{i:05d}"} for i in range(size)]
    body = json.dumps({"site_id": site_id, "lines": quote}).encode()
    head = head_for(port, token)
    times = []
    for _ in range(runs):
        reader, writer = await asyncio.open_connection(HOST, port)
        start = time.perf_counter()
        answer = json.loads(await request(reader, writer, head, body))
        times.append(time.perf_counter() - start)
        writer.close()
        assert len(answer["lines"]) == size
    return {"lines": size, "best_s": round(min(times), 3), "worst_s": round(max(times), 3),
            "bytes_sent": len(body), "decision": answer["decision"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clearsite-bench-") as tmp:
        url, secrets = prepare(Path(tmp))
        auth = json.loads(secrets)
        port = free_port()
        server = subprocess.Popen([sys.executable, "-c", SERVER, url, str(port)])
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection((HOST, port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("bench: the server did not start") from None
                    time.sleep(0.1)
            try:
                import uvloop

                uvloop.install()
            except ImportError:
                pass
            single = asyncio.run(load(port, auth["token"], auth["site_id"], args.seconds, args.clients))
            quote = asyncio.run(big_quote(port, auth["token"], auth["site_id"]))
        finally:
            server.terminate()
            server.wait(10)
    figures = {"single_line": single, "quote_1000": quote,
               "targets": {"per_second": 500, "p99_ms": 50, "quote_1000_s": 2.0},
               "met": single["per_second"] >= 500 and single["p99_ms"] <= 50 and quote["worst_s"] <= 2.0}
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"single-line screens: {single['per_second']}/s with {single['clients']} clients over {single['seconds']} s "
          f"({single['requests']} requests); p50 {single['p50_ms']} ms, p99 {single['p99_ms']} ms, "
          f"max {single['max_ms']} ms  [target >= 500/s, p99 <= 50 ms]")
    print(f"1,000-line quote end to end: best {quote['best_s']} s, worst {quote['worst_s']} s "
          f"({quote['bytes_sent']} bytes, decision {quote['decision']})  [target <= 2 s]")
    print("targets met" if figures["met"] else "targets NOT met")


if __name__ == "__main__":
    main()
