"""Alert delivery and evidence packs, timed on loopback.

    .venv/bin/python bench/delivery_and_packs.py                  # 2,000 alerts, 5,000 claims with 2,000 files
    .venv/bin/python bench/delivery_and_packs.py --alerts 10000 --claims 20000

Delivery: a department with a webhook (a threaded HTTP server on 127.0.0.1 that checks every signature)
and a UDP syslog collector; N alerts stored, then `deliver_until_settled`: the time to queue them (one
outbox row per alert and destination) and to send them all, in alerts per second.
Evidence pack: M removal claims at one site (every tenth with a 64 KiB evidence file, the rest sharing
one certificate), then `build_evidence_pack` (reads, copies and hashes every file, signs) and
`verify_evidence_pack` (hashes every file, checks the signature) with the public key alone.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import insert

from clearsite.core.models import Network, Site
from clearsite.formats import webhooks
from clearsite.services import delivery, department_keys, evidence_pack
from clearsite.store.alerts import AlertRow
from clearsite.store.db import open_database
from clearsite.store.evidence_files import store_file
from clearsite.store.removals import RemovalFileRow, RemovalRow
from clearsite.store.sites import add_site
from clearsite.store.tables import DeviceRow
from clearsite.store.transactions import write_transaction

SECRET = "bench secret, long enough to sign"


def receiver() -> tuple[ThreadingHTTPServer, list[int]]:
    counted = [0, 0]  # genuine, refused

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            problem = webhooks.verify_signature(SECRET, body, self.headers[webhooks.TIMESTAMP_HEADER],
                                                self.headers[webhooks.SIGNATURE_HEADER], now=time.time())
            counted[problem is not None] += 1
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, counted


def bench_delivery(folder: Path, alerts: int) -> None:
    engine = open_database(f"sqlite:///{folder / 'delivery.db'}")
    with write_transaction(engine) as conn:
        site_id = add_site(conn, Site("Bench House", "Bench Dept", networks=(Network("10.0.0.0/16"),)))
    server, counted = receiver()
    collector = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    collector.bind(("127.0.0.1", 0))
    collector.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    delivery.add_destination(engine, "bench", "Bench Dept", webhook=f"http://127.0.0.1:{server.server_address[1]}/",
                             secret=SECRET)
    delivery.add_destination(engine, "bench", "Bench Dept", syslog_url=f"udp://127.0.0.1:{collector.getsockname()[1]}")
    now = datetime.now(UTC).replace(tzinfo=None)
    with write_transaction(engine) as conn:
        conn.execute(insert(AlertRow), [{"kind": "contradicted", "department_id": 1, "site_id": site_id,
                                         "device_id": n, "at": now, "detail": f"device {n} seen again",
                                         "dedupe_key": f"bench:{n}"} for n in range(alerts)])
    started = time.perf_counter()
    queued = delivery.queue_alerts(engine)
    queue_seconds = time.perf_counter() - started
    started = time.perf_counter()
    done = delivery.deliver_until_settled(engine)
    send_seconds = time.perf_counter() - started
    server.shutdown()
    collector.close()
    print(f"delivery: {alerts:,} alerts x 2 destinations: queued {queued:,} outbox rows in {queue_seconds:.2f} s; "
          f"sent {done.delivered:,} in {send_seconds:.2f} s ({done.delivered / send_seconds:,.0f}/s); "
          f"webhook receiver: {counted[0]:,} genuine signatures, {counted[1]} refused")
    engine.dispose()


def bench_pack(folder: Path, claims: int) -> None:
    os.environ["CLEARSITE_EVIDENCE_DIR"] = str(folder / "evidence-store")
    engine = open_database(f"sqlite:///{folder / 'pack.db'}")
    with write_transaction(engine) as conn:
        site_id = add_site(conn, Site("Pack House", "Pack Dept", networks=(Network("10.0.0.0/16"),)))
    now = datetime.now(UTC).replace(tzinfo=None)
    certificate = b"%PDF-1.7 shared disposal certificate"
    shared = store_file(engine, certificate)
    with write_transaction(engine) as conn:
        conn.execute(insert(DeviceRow), [{"id": n + 1, "site_id": site_id, "natural_key": f"mac:{n}",
                                          "first_seen": now, "last_seen": now} for n in range(claims)])
        conn.execute(insert(RemovalRow), [
            {"id": n + 1, "device_id": n + 1, "site_id": site_id, "status": "verified" if n % 3 else "claimed",
             "removed_on": date(2026, 11, 1), "claimed_at": now, "claimed_by": "bench", "identity": {},
             "status_at": now, "verified_at": now if n % 3 else None,
             "proof": {"event": "covered_unseen", "at": now.isoformat()} if n % 3 else None}
            for n in range(claims)])
        rows = []
        for n in range(claims):
            if n % 10 == 0:
                data = hashlib.sha256(str(n).encode()).digest() * 2048  # 64 KiB, different for each
                rows.append({"removal_id": n + 1, "name": f"photo-{n}.jpg", "sha256": store_file(engine, data),
                             "size": len(data), "added_at": now, "added_by": "bench"})
            rows.append({"removal_id": n + 1, "name": "certificate.pdf", "sha256": shared, "size": len(certificate),
                         "added_at": now, "added_by": "bench"})
        conn.execute(insert(RemovalFileRow), rows)
    key = department_keys.create_key(engine, "bench", "Pack Dept", folder / "pack-key.pem")
    (folder / "public.pem").write_text(key.public_pem)
    started = time.perf_counter()
    summary = evidence_pack.build_evidence_pack(engine, "bench", folder / "pack", site="Pack House")
    build_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = evidence_pack.verify_evidence_pack(folder / "pack", folder / "public.pem")
    verify_seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in (folder / "pack").rglob("*") if p.is_file())
    print(f"evidence pack: {summary.removals:,} claims, {summary.files:,} distinct files ({size / 1e6:.1f} MB): "
          f"built and signed in {build_seconds:.2f} s; verified ({'OK' if result.ok else 'FAILED'}) in "
          f"{verify_seconds:.2f} s with the public key alone")
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=2000)
    parser.add_argument("--claims", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clearsite-bench-") as folder:
        bench_delivery(Path(folder), args.alerts)
        bench_pack(Path(folder), args.claims)
    return 0


if __name__ == "__main__":
    sys.exit(main())
