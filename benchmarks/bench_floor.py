"""Every performance figure as a ratio to the floor, measured in the same run: the floor
is ``../shared/bench/bare_simpy_restore.py`` (the cheapest SimPy model of one restore),
timed on the scenario's disk count, one core, best of several rounds.

    python benchmarks/bench_floor.py [--scenario orig-hot-backup] [--quick] [--json]

Targets (ratio = restores per second over the floor's, on one core unless said):
compiled sweep >= 50x; ``restorelab sweep ... --runs 1000000 --json``, whole process,
>= 20x; ``restore.simulate`` in a loop >= 0.15x; a simulated sweep with fault rules on
2 workers >= 1.8x one worker.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import simpy

import restore
from restore import Fault
from restore.backends.sweep import sweep

FLOOR = Path(os.environ.get("RESTORELAB_FLOOR", Path(__file__).resolve().parents[2] / "shared"
                            / "bench" / "bare_simpy_restore.py"))
TARGETS = {"compiled": 50.0, "sweep_process": 20.0, "simulate": 0.15, "faulted_2_workers": 1.8}


def load_floor():
    """The floor's ``restore(env, rng, disks, archived, original)``."""
    spec = importlib.util.spec_from_file_location("bare_simpy_restore", FLOOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.restore


def floor_restores(scenario: restore.Scenario, runs: int) -> Callable[[], None]:
    """``runs`` restores of the floor, on the scenario's disks and path."""
    bare = load_floor()
    disks = 1 + len(scenario.source_vm.data_disks)
    archived = scenario.restore_point.tier == "archive"
    original = scenario.target.location == "original"
    rng = random.Random(42)

    def restores() -> None:
        for _ in range(runs):
            env = simpy.Environment()
            env.process(bare(env, rng, disks, archived, original))
            env.run()

    return restores


def in_turns(rounds: int, *actions: Callable[[], object]) -> list[float]:
    """The best seconds of each action, timed in turns (each round runs them all), so a
    ratio of two compares them under the same load of a noisy machine."""
    best = [float("inf")] * len(actions)
    for _ in range(rounds):
        for index, action in enumerate(actions):
            started = time.perf_counter()
            action()
            best[index] = min(best[index], time.perf_counter() - started)
    return best


def simulate_each(scenario: restore.Scenario, seeds: int,
                  read: Callable[[restore.Report], object]) -> None:
    """``restore.simulate`` of seeds 0 to ``seeds - 1``, each report read and dropped, as
    a study's loop does."""
    for seed in range(seeds):
        read(restore.simulate(scenario, seed=seed))


def figures(name: str, quick: bool) -> dict[str, float]:
    shipped = Path(__file__).resolve().parents[1] / "scenarios" / f"{name}.yaml"
    scenario = restore.load_scenario(shipped if shipped.is_file() else name)
    rounds = 2 if quick else 5
    floor_runs = 500 if quick else 5_000
    floor = floor_restores(scenario, floor_runs)
    compiled_runs = 20_000 if quick else 1_000_000
    loops = 50 if quick else 1_000
    sweep(scenario, 1_000, seed=0, method="compiled")  # compiled once, as a study's first sweep
    floor_s, compiled_s, simulated_s, costed_s = in_turns(
        rounds, floor,
        lambda: sweep(scenario, compiled_runs, seed=1, method="compiled").to_dict(),
        lambda: simulate_each(scenario, loops, lambda report: report.duration_s),
        lambda: simulate_each(scenario, loops, lambda report: report.cost))
    base = floor_runs / floor_s
    faults = [Fault(at="create_vm", kind="throttle", probability=0.2)]
    faulted_runs = 500 if quick else 8_000
    one, two = in_turns(1 if quick else 2, *(lambda w=w: sweep(
        scenario, faulted_runs, seed=2, workers=w, faults=faults) for w in (1, 2)))
    process_runs = 20_000 if quick else 1_000_000
    command = [shutil.which("restorelab") or "restorelab", "sweep", name, "--runs",
               str(process_runs), "--json"]
    process_floor_s, process_s = in_turns(2, floor, lambda: subprocess.run(
        command, check=True, stdout=subprocess.DEVNULL))
    return {"floor_per_s": round(base), "compiled": compiled_runs / compiled_s / base,
            "sweep_process": process_runs / process_s / (floor_runs / process_floor_s),
            "simulate": loops / simulated_s / base,
            "simulate_with_cost": loops / costed_s / base, "faulted_2_workers": one / two}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="orig-hot-backup")
    parser.add_argument("--quick", action="store_true", help="few runs: checks it works")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not FLOOR.is_file():
        print(f"the floor is missing: {FLOOR} (set RESTORELAB_FLOOR)", file=sys.stderr)
        return 2
    found = figures(args.scenario, args.quick)
    if args.json:
        print(json.dumps({k: round(v, 3) for k, v in found.items()}))
        return 0
    print(f"floor ({args.scenario}'s disks, one core): {found['floor_per_s']:,} restores/s")
    for key, label in [("compiled", "compiled sweep, one core"),
                       ("sweep_process", "restorelab sweep, whole process"),
                       ("simulate", "restore.simulate in a loop"),
                       ("simulate_with_cost", "the same, with report.cost"),
                       ("faulted_2_workers", "simulated sweep with faults, 2 workers / 1")]:
        target = TARGETS.get(key)
        verdict = "" if target is None else (
            f"  (target >= {target}: {'met' if found[key] >= target else 'NOT met'})")
        unit = "x one worker" if key == "faulted_2_workers" else "x floor"
        print(f"{label:45s} {found[key]:8.2f} {unit}{verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
