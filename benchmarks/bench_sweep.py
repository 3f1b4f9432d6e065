"""Sweep throughput: N single-VM restores through `restore.sweep` on all cores, against the
bare SimPy model of the foundation benchmark on one core, in the same run.

    python benchmarks/bench_sweep.py [--runs 100000] [--workers 2]

The issue's goal: 100,000 restores in under 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import time

from bench_engine import bare_restore, build_scenario, shape_of

import restore
from restore.backends.profiles import load_profile

GOAL_S = 60.0
GOAL_RUNS = 100_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=GOAL_RUNS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bare-runs", type=int, default=20_000,
                        help="restores of the bare model (one core) to measure its rate")
    args = parser.parse_args()
    scenario, profile = build_scenario(), load_profile("default")
    shape, samplers = shape_of(scenario, profile), profile.samplers()

    start = time.perf_counter()
    summary = restore.sweep(scenario, args.runs, seed=1, workers=args.workers).to_dict()
    sweep_s = time.perf_counter() - start
    start = time.perf_counter()
    for seed in range(args.bare_runs):
        bare_restore(shape, seed, profile, samplers)
    bare_rate = args.bare_runs / (time.perf_counter() - start)

    rate = args.runs / sweep_s
    print(f"sweep: {args.runs} restores on {args.workers} workers in {sweep_s:.1f} s "
          f"({rate:,.0f}/s; {summary['succeeded']} succeeded, p95 "
          f"{summary['duration_s']['p95']:,.0f} s simulated)")
    print(f"bare SimPy model, one core: {bare_rate:,.0f}/s")
    print(f"ratio sweep/bare: {rate / bare_rate:.3f}")
    projected = GOAL_RUNS / rate
    print(f"{GOAL_RUNS} restores would take {projected:.1f} s "
          f"(goal under {GOAL_S:.0f} s: {'met' if projected < GOAL_S else 'NOT met'})")
    return 0 if summary["runs"] == args.runs else 1


if __name__ == "__main__":
    raise SystemExit(main())
