"""Each test module that starts an emulated fleet keeps it in a 127.N.0.0/16 of its own.

CI runs test modules two at a time (pytest-xdist, --dist loadfile): two fleets on the same loopback
addresses answer each other's scans, and a device one test switched off is seen running by another's
scan. A clash is found here, by reading the tests, rather than as a failure that depends on scheduling.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).parent
# Where a test places a fleet: a BASE-like constant or a base= argument holding a 127.N.x.y address.
FLEET_BASE = re.compile(r"""(?:BASE\s*=\s*f?|base\s*=\s*f?)["']127\.(\d+)\.""")


def test_no_two_test_modules_start_fleets_in_the_same_loopback_block() -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for path in TESTS.rglob("*.py"):
        for block in FLEET_BASE.findall(path.read_text(encoding="utf-8")):
            owners[block].add(str(path.relative_to(TESTS)))
    assert len(owners) >= 8, "the pattern no longer finds the fleets the tests start"
    shared = {f"127.{block}.0.0/16": sorted(files) for block, files in owners.items() if len(files) > 1}
    assert not shared, f"fleets of different test modules share loopback addresses: {shared}"
