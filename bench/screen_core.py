"""Screening speed: a 1,000-line quote end to end, and single-line screens as the API will make them.

Targets (for the API later): a 1,000-line quote in <= 2 s end to end; >= 500 single-line
screens/s at p99 <= 50 ms on 2 cores. Quotes are built from the labelled quote lines, with a
share of lines made unique (an unseen SKU suffix) so the memo does not flatter the figures.

    .venv/bin/python bench/screen_core.py [--lines 1000] [--unique 0.3] [--singles 2000]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import statistics
import time
from datetime import date
from pathlib import Path

LABELLED = Path(__file__).parent.parent / "tests" / "data" / "quotes" / "labelled_quote_lines.csv"
COLUMNS = ("Supplier", "Brand", "Model", "SKU", "Description", "Qty")
ON = date(2026, 11, 29)


def build_quote(lines: int, unique_share: float, rng: random.Random) -> bytes:
    with LABELLED.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for number in range(lines):
        row = rng.choice(rows)
        sku = row["sku"]
        if rng.random() < unique_share:  # a supplier's own stock code the memo has never seen
            sku = f"STK-{number:06d}"
        writer.writerow((row["supplier"], row["brand"], row["model"], sku, row["description"], row["quantity"] or 1))
    return out.getvalue().encode()


def end_to_end(data: bytes, site, knowledge) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    from clearsite.core.screen import screen
    from clearsite.formats.quotes import read_quote

    start = time.perf_counter()
    read = read_quote(data, "bench-quote.csv")
    decisions = screen(read.lines, site, knowledge, ON)
    body = json.dumps([d.as_dict() for d in decisions])
    return time.perf_counter() - start, len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--unique", type=float, default=0.3, help="share of lines with an unseen SKU")
    parser.add_argument("--singles", type=int, default=2000)
    args = parser.parse_args()

    from clearsite.core.models import Site
    from clearsite.core.screen import QuoteLine, screen
    from clearsite.formats.knowledge import load_knowledge

    rng = random.Random(7)
    started = time.perf_counter()
    knowledge = load_knowledge()
    load_s = time.perf_counter() - started
    site = Site("Bench site", "Bench department", holds_secret=True)
    quote = build_quote(args.lines, args.unique, rng)

    cold, size = end_to_end(quote, site, knowledge)
    warm, _ = end_to_end(quote, site, knowledge)
    distinct = build_quote(args.lines, 1.0, random.Random(8)).replace(b"STK-", b"NEW-")
    all_new, _ = end_to_end(distinct, site, knowledge)
    print(f"knowledge load {load_s * 1000:.0f} ms (once per process)")
    print(f"{args.lines}-line quote end to end (read CSV, screen, JSON {size // 1024} KiB): "
          f"cold {cold * 1000:.0f} ms, warm {warm * 1000:.0f} ms, every SKU unseen {all_new * 1000:.0f} ms "
          f"(target <= 2000 ms)")

    with LABELLED.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    singles = []
    for number in range(args.singles):
        row = rng.choice(rows)
        sku = f"API-{number:06d}" if rng.random() < args.unique else (row["sku"] or None)
        singles.append(QuoteLine(row["supplier"] or None, row["brand"] or None, row["model"] or None, sku,
                                 row["description"] or None, 1))
    latencies = []
    start = time.perf_counter()
    for line in singles:
        t0 = time.perf_counter()
        screen([line], site, knowledge, ON)[0].as_dict()
        latencies.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"{args.singles} single-line screens in one process: {args.singles / total:.0f}/s, "
          f"p50 {statistics.median(latencies) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms, "
          f"max {latencies[-1] * 1000:.1f} ms (target >= 500/s, p99 <= 50 ms; core only, no HTTP)")


if __name__ == "__main__":
    main()
