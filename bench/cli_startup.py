"""How long `clearsite` takes to start: the median wall time of N runs of a few commands.

    python bench/cli_startup.py [--runs 11] [--python .venv/bin/python]

Each run is a fresh interpreter (`python -m clearsite ...`), as a person or a cron job starts it.
The target for `clearsite --help` is a median of at most 0.5 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = (
    ("--help",),
    ("identify", "--brand", "LTS", "--model", "LTN8708K-P8"),
)
HELP_TARGET_SECONDS = 0.5


def wall_times(python: str, args: tuple[str, ...], runs: int) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as scratch:  # no clearsite.db lands in the working folder
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([python, "-m", "clearsite", *args], cwd=scratch, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--python", default=sys.executable, help="The interpreter that has clearsite installed.")
    options = parser.parse_args()
    help_median = 0.0
    for args in COMMANDS:
        times = wall_times(options.python, args, options.runs)
        median = statistics.median(times)
        if args == ("--help",):
            help_median = median
        print(f"clearsite {' '.join(args)}: median {median:.3f} s, min {min(times):.3f} s, "
              f"max {max(times):.3f} s over {options.runs} runs")
    verdict = "meets" if help_median <= HELP_TARGET_SECONDS else "MISSES"
    print(f"--help {verdict} the {HELP_TARGET_SECONDS} s target")
    return 0 if help_median <= HELP_TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
