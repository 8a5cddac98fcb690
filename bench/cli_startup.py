"""How long `clearsite` takes to start: the median wall time of N runs of a few commands.

    python bench/cli_startup.py [--runs 11] [--python .venv/bin/python]

Each run is a fresh interpreter (`python -m clearsite ...`), as a person or a cron job starts it.
The target for `clearsite --help` is a median of at most 0.5 s.
"""

from __future__ import annotations

import argparse
import resource
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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_times(python: str, args: tuple[str, ...], runs: int) -> tuple[list[float], list[float]]:
    """Wall seconds and CPU seconds (user + system) of each run; CPU time hardly moves on a busy machine."""
    wall, cpu = [], []
    with tempfile.TemporaryDirectory() as scratch:  # no clearsite.db lands in the working folder
        for _ in range(runs):
            started, cpu_before = time.perf_counter(), _children_cpu()
            subprocess.run([python, "-m", "clearsite", *args], cwd=scratch, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wall.append(time.perf_counter() - started)
            cpu.append(_children_cpu() - cpu_before)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--python", default=sys.executable, help="The interpreter that has clearsite installed.")
    options = parser.parse_args()
    help_median = 0.0
    for args in COMMANDS:
        times, cpu = run_times(options.python, args, options.runs)
        median = statistics.median(times)
        if args == ("--help",):
            help_median = median
        print(f"clearsite {' '.join(args)}: median {median:.3f} s, min {min(times):.3f} s, "
              f"max {max(times):.3f} s over {options.runs} runs (CPU median {statistics.median(cpu):.3f} s)")
    verdict = "meets" if help_median <= HELP_TARGET_SECONDS else "MISSES"
    print(f"--help {verdict} the {HELP_TARGET_SECONDS} s target")
    return 0 if help_median <= HELP_TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
