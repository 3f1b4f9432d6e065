"""Engine overhead: restores/s through the full engine vs. a bare SimPy model of the same steps.

    python benchmarks/bench_engine.py [--runs N] [--rounds R]

Both sides simulate the same 4-disk restore (OS + 3 data disks, hot image-level backup,
original location) N times per round, seeds 0..N-1, in the same process:

* engine: ``restore.backends.sim.simulate`` -- plan, world, engine, the region layer, report;
* bare: one hand-written SimPy process per restore issuing the same timeouts in the same
  order and parallel structure, with latencies drawn from the same profile distributions
  and the same data-transfer formula as ``RestoreAgent.transfer_s``; no engine, no region
  state, no report.

Rounds alternate which side goes first; the best round of each side counts. The target
(from the issue) is the engine at 0.5x the bare model's rate or better. The mean simulated
durations of both sides should be close: they sample the same distributions (in a different
order, so single restores differ), which checks that the bare model does the same work.
Exit code 0 whatever the ratio (it is a measurement), 1 if a restore did not succeed.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import simpy
from timing import best_of

from fakecloud import bursting
from fakecloud.bursting import Bucket
from fakecloud.models import ArmError
from restore import Scenario, parse_scenario
from restore.backends.arm_calls import calls_for
from restore.backends.prepared import Prepared, prepare
from restore.backends.profiles import RestoreProfile, load_profile
from restore.backends.sim import simulate
from restore.backends.simregion import restore_region
from restore.engine import dry_run
from restore.plan import build_plan

Samplers = dict[str, Callable[[float], float]]
TARGET_RATIO = 0.5
MB_PER_GB = 1024  # as restore.backends.guest
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"

SCENARIO = {
    "name": "bench-4-disks",
    "seed": 0,
    "appliance_id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-backup/providers/"
                    "Microsoft.Compute/virtualMachines/veeam-appliance",
    "source_vm": {
        "name": "app01",
        "resource_group": "rg-prod",
        "location": "westeurope",
        "size": "Standard_D4s_v5",
        "os_disk": {"size_gb": 64, "sku": "Premium_LRS", "used_gb": 20},
        "data_disks": [
            {"size_gb": 128, "sku": "Premium_LRS", "used_gb": 60},
            {"size_gb": 256, "sku": "Premium_LRS", "used_gb": 100},
            {"size_gb": 128, "sku": "StandardSSD_LRS", "used_gb": 40},
        ],
    },
    "restore_point": {"kind": "backup", "tier": "hot"},
    "target": {"location": "original"},
}


def build_scenario() -> Scenario:
    return parse_scenario(SCENARIO, source="benchmarks/bench_engine.py")


# -- the full engine ---------------------------------------------------------------------


def engine_restore(scenario: Scenario, seed: int, profile: RestoreProfile) -> float:
    """One restore through the engine; its simulated duration (raises if it failed)."""
    report = simulate(scenario, seed=seed, profile=profile)
    if report.status != "succeeded":
        raise RestoreFailed(f"engine restore seed={seed}: {report.status} {report.error}")
    return report.duration_s


class RestoreFailed(Exception):
    pass


# -- the bare SimPy model ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Write:
    sku: str
    size_gb: int
    data_gb: float


@dataclass(frozen=True, slots=True)
class Worker:
    size: str
    writes: tuple[Write, ...]


@dataclass(frozen=True, slots=True)
class Shape:
    """What the bare model needs of the scenario: its disks and how workers share them.

    Taken once from the scenario's plan (setup, not timed): the bare model replays the
    plan's structure by hand, it does not plan.
    """

    disks: int
    workers: tuple[Worker, ...]


def shape_of(scenario: Scenario, profile: RestoreProfile) -> Shape:
    ctx = build_plan(scenario, profile.sizing, 0).context
    workers = tuple(Worker(w.size, tuple(Write(d.sku, d.size_gb, d.data_gb) for d in w.disks))
                    for w in ctx.workers)
    return Shape(len(ctx.disks), workers)


def transfer_s(profile: RestoreProfile, worker: Worker, parallel_workers: int) -> float:
    """``RestoreAgent.transfer_s``, restated: the disks' caps together, the worker's cap,
    network and repository share, and no disk faster than its own cap, bursting first."""
    throughput, size = profile.throughput, profile.vm_sizes[worker.size]
    steps = [throughput.disk_step(w.sku, w.size_gb) for w in worker.writes]
    caps = [Bucket.full(s.mbps, s.burst_mbps, throughput.burst_s) for s in steps]
    flat = min(size.network_mbps, throughput.repository_mbps / parallel_workers)
    total_mb = sum(w.data_gb for w in worker.writes) * MB_PER_GB
    together = bursting.transfer_s(total_mb, [
        Bucket.pooled(caps), Bucket.full(size.uncached_mbps, size.burst_mbps,
                                         throughput.burst_s)], flat)
    slowest = max((bursting.transfer_s(w.data_gb * MB_PER_GB, [cap])
                   for w, cap in zip(worker.writes, caps, strict=True)), default=0.0)
    return max(together, slowest)


def bare_process(env: simpy.Environment, profile: RestoreProfile, samplers: Samplers,
                 rng: random.Random, shape: Shape) -> Generator[simpy.Event, Any, None]:
    """The original-location hot-backup restore, step by step, as plain SimPy timeouts."""
    workers = shape.workers

    def wait(kind: str) -> simpy.Timeout:
        return env.timeout(samplers[kind](rng.gauss(0.0, 1.0)))

    def each(kind: str, count: int) -> simpy.AllOf:
        return env.all_of([wait(kind) for _ in range(count)])

    def write_data(worker: Worker) -> Generator[simpy.Event, Any, None]:
        yield wait("start_restore_agent")
        yield env.timeout(transfer_s(profile, worker, len(workers)))

    def remove_source_then_recreate() -> Generator[simpy.Event, Any, None]:
        yield wait("delete_vm")  # remove_source_vm: the VM, then its disks
        yield each("delete_disk", shape.disks)
        yield wait("move_resources")  # move_disks
        yield wait("create_vm")  # create_vm
        yield wait("attach_disks")  # attach_disks (one VM update)

    def remove_workers() -> Generator[simpy.Event, Any, None]:
        yield each("delete_vm", len(workers))
        yield env.all_of([*(wait("delete_nic") for _ in workers),
                          *(wait("delete_disk") for _ in workers)])

    yield each("find_resources", 3)  # preflight: source, names and quota checked at once
    yield wait("create_resource_group")  # create_staging_rg
    yield each("create_disk", shape.disks)  # create_empty_disks
    yield each("create_nic", len(workers))  # launch_worker: NICs, VMs, attach
    yield each("create_vm", len(workers))
    yield each("attach_disks", len(workers))
    yield env.all_of([env.process(write_data(w)) for w in workers])  # restore_data
    yield each("detach_disks", len(workers))  # detach_disks
    yield each("deallocate_vm", len(workers))  # deallocate_worker
    yield env.all_of([env.process(remove_source_then_recreate()),  # in parallel with
                      env.process(remove_workers())])  # remove_worker
    yield wait("delete_resource_group")  # remove_staging_rg


def bare_restore(shape: Shape, seed: int, profile: RestoreProfile, samplers: Samplers) -> float:
    """One restore through the bare model; its simulated duration."""
    env = simpy.Environment()
    env.process(bare_process(env, profile, samplers, random.Random(seed), shape))
    env.run()
    return env.now


# -- measuring ---------------------------------------------------------------------------


@dataclass(slots=True)
class Side:
    name: str
    restore: Callable[[int], float]
    best_s: float = float("inf")
    mean_sim_s: float = 0.0

    def round(self, runs: int) -> float:
        gc.collect()
        start = time.perf_counter()
        durations = [self.restore(seed) for seed in range(runs)]
        elapsed = time.perf_counter() - start
        self.best_s = min(self.best_s, elapsed)
        self.mean_sim_s = statistics.fmean(durations)
        return elapsed


def region_replay(prepared: Prepared) -> tuple[int, Callable[[], float]]:
    """The operations a restore issues when each succeeds at once (the engine's dry run),
    and a function sending their ARM calls, in order, to a fresh copy of the world through
    a fresh region layer; it returns the simulated seconds they took in all."""
    tickets = dry_run(prepared.plan)

    def replay() -> float:
        region = restore_region(prepared.world.copy(), prepared.profile, 0)
        took = 0.0
        for ticket in tickets:
            calls = calls_for(ticket.op, region.state.subscription)
            try:
                call = next(calls)
                while True:
                    try:
                        answer = region.call(call, 0.0)
                    except ArmError as exc:  # a 404 the operation looks for
                        call = calls.throw(exc)
                        continue
                    took += answer.latency_s
                    call = calls.send(answer)
            except StopIteration:
                pass
        return took

    return len(tickets), replay


def best_us(part: Callable[[], object], runs: int) -> float:
    """Microseconds per call of ``part``: the best of 3 rounds of ``runs`` calls."""

    def calls() -> None:
        for _ in range(runs):
            part()

    gc.collect()
    return best_of(3, calls) / runs * 1e6


def breakdown(scenario: Scenario, profile: RestoreProfile, runs: int) -> int:
    """Where an engine restore's time goes, each part measured on its own (best of 3):

    * engine: the plan's step generators driven by ``dry_run`` (every operation succeeds at
      once): tickets, batches, dependencies; no SimPy, no region;
    * region: the dry run's operations sent as ARM calls to the region layer (ARM's rules,
      quotas, throttle, latency draws);
    * the rest of a full restore (SimPy events, the orchestrator, the report) is the total
      minus both.
    """
    prepared = prepare(scenario, profile)
    operations, replay = region_replay(prepared)
    shape, samplers = shape_of(scenario, profile), profile.samplers()
    us = {"total": best_us(lambda: engine_restore(scenario, 0, profile), runs),
          "engine": best_us(lambda: dry_run(prepared.plan), runs),
          "region": best_us(replay, runs),
          "bare": best_us(lambda: bare_restore(shape, 0, profile, samplers), runs)}
    us["rest"] = us["total"] - us["engine"] - us["region"]
    print(f"one restore of {scenario.name!r}: {operations} operations, best of 3 x {runs}")
    for name, label in (("total", "full engine restore"), ("engine", "  engine (dry run)"),
                        ("region", "  region (all ARM calls)"),
                        ("rest", "  SimPy, orchestrator, report"), ("bare", "bare SimPy model")):
        print(f"{label:32s} {us[name]:8.1f} us  ({us[name] / us['bare']:4.2f}x bare)")
    return 0


def profile_engine(scenario: Scenario, profile: RestoreProfile, runs: int) -> int:
    """cProfile the engine side: the functions taking most time of their own, then cumulative."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    try:
        profiler.runcall(lambda: [engine_restore(scenario, seed, profile) for seed in range(runs)])
    except RestoreFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(25)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15_000,
                        help="restores per side per round (default: 15000, ~30 s in all)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per side (best counts)")
    parser.add_argument("--profile", action="store_true",
                        help="instead, cProfile --runs engine restores and print the hotspots")
    parser.add_argument("--breakdown", action="store_true",
                        help="instead, time the engine, the region and the rest of a restore "
                             "apart, each against the bare model")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.rounds < 1:
        parser.error("--runs and --rounds must be at least 1")

    profile = load_profile("default")
    scenario = build_scenario()
    shape = shape_of(scenario, profile)
    engine = Side("engine", lambda seed: engine_restore(scenario, seed, profile))
    samplers = profile.samplers()
    bare = Side("bare", lambda seed: bare_restore(shape, seed, profile, samplers))

    if args.profile:
        return profile_engine(scenario, profile, args.runs)
    if args.breakdown:
        return breakdown(scenario, profile, args.runs)

    print(f"{args.runs} restores of {scenario.name!r} ({shape.disks} disks, "
          f"{len(shape.workers)} worker(s)) per side per round, {args.rounds} round(s)")
    warmup = min(args.runs, 200)
    try:
        engine.round(warmup)
        bare.round(warmup)
        engine.best_s = bare.best_s = float("inf")
        for i in range(args.rounds):
            order = (engine, bare) if i % 2 == 0 else (bare, engine)
            times = {side.name: side.round(args.runs) for side in order}
            print(f"  round {i + 1}: engine {times['engine']:.2f} s, bare {times['bare']:.2f} s")
    except RestoreFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1

    engine_rate, bare_rate = args.runs / engine.best_s, args.runs / bare.best_s
    ratio = engine_rate / bare_rate
    print(f"engine: {engine_rate:10.1f} restores/s  ({engine.best_s / args.runs * 1e6:7.1f} us "
          f"each)  mean simulated duration {engine.mean_sim_s:8.1f} s")
    print(f"bare:   {bare_rate:10.1f} restores/s  ({bare.best_s / args.runs * 1e6:7.1f} us "
          f"each)  mean simulated duration {bare.mean_sim_s:8.1f} s")
    drift = (engine.mean_sim_s - bare.mean_sim_s) / bare.mean_sim_s
    print(f"simulated duration, engine vs bare: {drift:+.2%}")
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"ratio engine/bare: {ratio:.3f}  (target >= {TARGET_RATIO}: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
