"""Mass restore at scale: a 10,000-VM fleet simulated in one process; prints wall time, peak
RSS, and the makespan against its lower bound.

    python benchmarks/bench_fleet.py [--vms 10000] [--workers 100] [--no-warm]

The issue's goals: under 1 GiB RSS, and a makespan within 5% of max(longest restore,
worker time / pool size).
"""

from __future__ import annotations

import argparse
import resource
import time

import restore
from fakecloud.profile import QuotaLimits
from restore.backends.fleet import simulate_fleet
from restore.backends.profiles import load_profile

GIB = 1024**3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vms", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=100)
    parser.add_argument("--no-warm", action="store_true",
                        help="each restore creates and removes its own workers (no warm pool)")
    args = parser.parse_args()
    raw = restore.load_scenario(restore.scenario.shipped_scenarios()["fleet-40-vms"]).model_dump(
        mode="json")
    raw["fleet"] = {"groups": [{"count": args.vms // 10, "priority": 0},
                               {"count": args.vms - args.vms // 10, "priority": 5}],
                    "max_workers": args.workers, "worker_pool": {"warm": not args.no_warm}}
    raw["source_vm"]["data_disks"][0]["used_gb"] = 100
    scenario = restore.parse_scenario(raw)
    default = load_profile("default")
    # a subscription sized for the fleet: the study is about the pool, not the quota
    profile = default.model_copy(update={"quotas": QuotaLimits(
        regional_vcpus=10 * args.vms, family_vcpus={}, managed_disks=10 * args.vms)})
    start = time.perf_counter()
    report = simulate_fleet(scenario, profile=profile)
    wall = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    plain = max(max(v.critical_path_s for v in report.vms), report.work_s / args.workers)
    summary = report.to_dict()
    print(f"{args.vms} VMs, {args.workers} workers: {summary['succeeded']} succeeded, "
          f"{summary['leaked']} resources left, simulated in {wall:.1f} s wall")
    print(f"workers: {summary['workers_created']} created, {summary['workers_started']} "
          f"warm ones started")
    print(f"peak RSS {rss / GIB:.2f} GiB (goal under 1 GiB: "
          f"{'met' if rss < GIB else 'NOT met'})")
    print(f"makespan {report.makespan_s:,.0f} s; lower bound {report.lower_bound_s:,.0f} s "
          f"(x{report.makespan_s / report.lower_bound_s:.4f}); max(longest restore, work / "
          f"pool) {plain:,.0f} s (x{report.makespan_s / plain:.4f}; goal within 5%)")
    return 0 if summary["succeeded"] == args.vms else 1


if __name__ == "__main__":
    raise SystemExit(main())
