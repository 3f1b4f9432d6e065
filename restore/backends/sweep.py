"""Monte Carlo sweeps: many seeded simulations of one scenario, on all cores.

Run ``i`` of a sweep with seed ``S`` always uses the same derived seed, and results are
gathered in run order, so a sweep gives the same numbers whatever the number of worker
processes.
"""

from __future__ import annotations

import hashlib
import os
import statistics
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from restore.backends.sim import simulate
from restore.scenario import Fault, Scenario

DASK_CONNECT_TIMEOUT_S = 5
CHUNK = 250  # runs per task: large enough to pay for the process hop, small for progress
PERCENTILES = {"p50": 50, "p90": 90, "p95": 95, "p99": 99}


def run_seed(seed: int, run: int) -> int:
    """The seed of run ``run`` of a sweep seeded ``seed`` (independent of the others)."""
    digest = hashlib.sha256(f"restorelab-sweep:{seed}:{run}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    duration_s: float
    cost: float | None


@dataclass(slots=True)
class SweepResult:
    scenario: str
    seed: int
    outcomes: list[Outcome] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        statuses = Counter(o.status for o in self.outcomes)
        costs = [o.cost for o in self.outcomes if o.cost is not None]
        return {
            "scenario": self.scenario, "seed": self.seed, "runs": len(self.outcomes),
            "succeeded": statuses.get("succeeded", 0),
            "failed": len(self.outcomes) - statuses.get("succeeded", 0),
            "statuses": dict(sorted(statuses.items())),
            "duration_s": summary([o.duration_s for o in self.outcomes]),
            "cost": summary(costs) if costs else None,
        }


def summary(values: list[float]) -> dict[str, float]:
    """mean, p50, p90, p95, p99, min, max (percentiles interpolated, inclusive)."""
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else (
        ordered * 99)
    return {"mean": round(statistics.fmean(ordered), 3),
            **{name: round(cuts[p - 1], 3) for name, p in PERCENTILES.items()},
            "min": round(ordered[0], 3), "max": round(ordered[-1], 3)}


def sweep(scenario: Scenario, runs: int, seed: int | None = None, workers: int | None = None,
          faults: list[Fault] | None = None,
          progress: Callable[[int], None] | None = None,
          dask_address: str | None = None) -> SweepResult:
    """``runs`` simulations of ``scenario`` on ``workers`` processes (default: all cores),
    or on the Dask cluster at ``dask_address``; ``progress(n)`` is told each time ``n``
    more runs are done."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    seed = scenario.seed if seed is None else seed
    workers = workers or os.cpu_count() or 1
    chunks = [(scenario, seed, start, min(start + CHUNK, runs), faults or [])
              for start in range(0, runs, CHUNK)]
    result = SweepResult(scenario.name, seed)
    done = _on_dask(chunks, dask_address, progress) if dask_address else _map(
        _run_chunk, chunks, workers)
    for outcomes in done:
        result.outcomes += outcomes
        if progress and not dask_address:
            progress(len(outcomes))
    return result


def _on_dask(chunks: list[tuple], address: str,
             progress: Callable[[int], None] | None) -> list[list[Outcome]]:
    """The chunks on a Dask distributed cluster, in order (extra ``restorelab[dask]``)."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise RuntimeError("--dask needs Dask distributed: pip install 'restorelab[dask]'"
                           ) from None
    with Client(address, timeout=DASK_CONNECT_TIMEOUT_S) as client:
        futures = client.map(_run_chunk, chunks, pure=False)
        for future in as_completed(futures):
            if progress:
                progress(len(future.result()))
        return client.gather(futures)


def _map(function: Callable, chunks: list[tuple], workers: int) -> Iterator[list[Outcome]]:
    """In order, on a pool of processes (or in this one when one worker is enough)."""
    if workers == 1 or len(chunks) == 1:
        yield from map(function, chunks)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks))) as pool:
        yield from pool.map(function, chunks)


def _run_chunk(chunk: tuple[Scenario, int, int, int, list[Fault]]) -> list[Outcome]:
    scenario, seed, start, stop, faults = chunk
    outcomes = []
    for run in range(start, stop):
        report = simulate(scenario, seed=run_seed(seed, run), faults=faults)
        cost = report.cost
        outcomes.append(Outcome(report.status, report.duration_s,
                                cost["total"] if cost else None))
    return outcomes
