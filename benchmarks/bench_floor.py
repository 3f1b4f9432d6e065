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
from pathlib import Path

import simpy
from timing import best_of

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


def floor_rate(scenario: restore.Scenario, runs: int, rounds: int) -> float:
    """Restores per second of the floor, on the scenario's disks and path."""
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

    return runs / best_of(rounds, restores)


def figures(name: str, quick: bool) -> dict[str, float]:
    shipped = Path(__file__).resolve().parents[1] / "scenarios" / f"{name}.yaml"
    scenario = restore.load_scenario(shipped if shipped.is_file() else name)
    rounds = 2 if quick else 5
    base = floor_rate(scenario, 500 if quick else 5_000, rounds)
    compiled_runs = 20_000 if quick else 1_000_000
    sweep(scenario, 1_000, seed=0, method="compiled")  # compiled once, as a study's first sweep
    compiled = compiled_runs / best_of(rounds, lambda: sweep(
        scenario, compiled_runs, seed=1, method="compiled").to_dict())
    loops = 50 if quick else 1_000
    simulated = loops / best_of(rounds, lambda: [restore.simulate(scenario, seed=i)
                                                 for i in range(loops)])
    costed = loops / best_of(rounds, lambda: [restore.simulate(scenario, seed=i).cost
                                              for i in range(loops)])
    faults = [Fault(at="create_vm", kind="throttle", probability=0.2)]
    faulted_runs = 500 if quick else 8_000
    one, two = (best_of(1 if quick else 2, lambda w=w: sweep(
        scenario, faulted_runs, seed=2, workers=w, faults=faults)) for w in (1, 2))
    process_runs = 20_000 if quick else 1_000_000
    started = time.perf_counter()
    subprocess.run([shutil.which("restorelab") or "restorelab", "sweep", name, "--runs",
                    str(process_runs), "--json"], check=True, stdout=subprocess.DEVNULL)
    process = process_runs / (time.perf_counter() - started)
    return {"floor_per_s": round(base), "compiled": compiled / base,
            "sweep_process": process / base, "simulate": simulated / base,
            "simulate_with_cost": costed / base, "faulted_2_workers": one / two}


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
