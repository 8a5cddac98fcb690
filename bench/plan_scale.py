"""Removal planner at scale: synthetic UK-shaped programmes of 100 to 50,000 sites.

    .venv/bin/python bench/plan_scale.py                 # 100, 1,000, 10,000 and 50,000 sites
    .venv/bin/python bench/plan_scale.py 1000 --time-limit 30

Each instance (clearsite.core.plan.synthetic) starts in May 2024 with as many sites already clear as
are left, milestones of 70% by 31 Oct 2024 and 100% by 30 Apr 2025, crews sized for 85% load to
the deadline, and a 2024-25 budget that pays for 95% of the work. Prints, per size: devices,
visits, build and plan wall time, objective, lower bound, gap, milestones met, peak memory.
Targets (issue 4): 1,000 sites in <= 30 s with gap <= 1%; 50,000 in <= 5 min with gap <= 5%;
peak memory <= 4 GB.
"""

from __future__ import annotations

import argparse
import resource
import time

from clearsite.core.plan import make_plan
from clearsite.core.plan.synthetic import make_instance

DEFAULT_LIMITS = {100: 10.0, 1000: 30.0, 10000: 120.0, 50000: 240.0}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run(n_sites: int, time_limit: float, seed: int, budget_cover: float) -> None:
    t0 = time.perf_counter()
    instance = make_instance(n_sites, seed=seed, time_limit=time_limit, budget_cover=budget_cover)
    built = time.perf_counter() - t0
    t1 = time.perf_counter()
    plan = make_plan(instance.inputs, instance.settings)
    wall = time.perf_counter() - t1
    met = sum(m.met for m in plan.milestones)
    print(
        f"{n_sites:>6} sites {plan.totals['devices']:>9,} devices {plan.solver.visits:>7,} visits | "
        f"build {built:6.1f}s plan {wall:6.1f}s (limit {time_limit:g}s) | objective {plan.objective:>14,.1f} "
        f"lower bound {plan.lower_bound:>14,.1f} gap {plan.gap:6.2%} | milestones met {met}/{len(plan.milestones)} "
        f"| {plan.status:<10} {plan.solver.method:<14} | peak {peak_mb():,.0f} MB",
        flush=True,
    )
    for note in plan.solver.notes:
        print(f"{'':>8}{note}", flush=True)
    for m in plan.milestones:
        print(
            f"{'':>8}milestone {m.date}: target {m.target_share:.0%}, forecast {m.forecast_share:.2%}",
            flush=True,
        )
    for s in plan.shortfalls:
        print(f"{'':>8}shortfall {s.milestone} {s.kind}: {s.reason}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sizes", nargs="*", type=int, default=list(DEFAULT_LIMITS))
    parser.add_argument("--time-limit", type=float, help="solver seconds (default by size)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--budget-cover",
        type=float,
        default=0.95,
        help="share of the work the 2024-25 budget pays for (default 0.95)",
    )
    args = parser.parse_args()
    for n in args.sizes:
        run(n, args.time_limit or DEFAULT_LIMITS.get(n, 60.0), args.seed, args.budget_cover)


if __name__ == "__main__":
    main()
