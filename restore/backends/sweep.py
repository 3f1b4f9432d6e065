"""Monte Carlo sweeps: many seeded runs of one scenario, simulated on all cores or
sampled from its compiled restore.

``simulated``: run ``i`` of a sweep with seed ``S`` is the SimPy simulation of a seed
derived from both, and results are gathered in run order, so a sweep gives the same
numbers whatever the number of worker processes, and each run is ``simulate`` of its
seed (of a fleet, ``simulate_fleet``: its status, makespan and total cost). ``compiled``
(a fault-free single-VM restore, ``restore.backends.compiled``): the
runs are draws of the same distribution, the same numbers for the same seed.
"""

from __future__ import annotations

import hashlib
import os
import statistics
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from restore.backends.fleet import simulate_fleet
from restore.backends.prepared import check_fault_targets, remembered
from restore.backends.profiles import RestoreProfile
from restore.backends.sim import simulate
from restore.backends.sweep_rto import RunDetail, fleet_detail, rto_answer, run_detail
from restore.errors import ScenarioError
from restore.scenario import Fault, Scenario

if TYPE_CHECKING:
    from pathlib import Path

    from matplotlib.figure import Figure

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
    detail: RunDetail | None = None  # kept when the sweep answers about an RTO


class SampledOutcomes(Sequence[Outcome]):
    """Sampled runs, all succeeded, kept as arrays (bounded memory at any count); read
    as Outcomes."""

    def __init__(self, durations: Any, costs: Any):
        self.durations, self.costs = durations, costs

    def __len__(self) -> int:
        return len(self.durations)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return Outcome("succeeded", float(self.durations[index]), float(self.costs[index]))


@dataclass(slots=True)
class SweepResult:
    """The runs of a sweep (``outcomes``, in run order) and how they were made."""

    scenario: str
    seed: int
    outcomes: Sequence[Outcome] = field(default_factory=list)
    method: str = "simulated"
    critical_path: dict[str, dict[str, float]] | None = None
    rto_s: float | None = None
    currency: str = "USD"  # of the costs (the region profile's prices)

    def meeting(self, rto_s: float) -> int:
        """How many runs succeeded within ``rto_s`` (sampled runs all succeed)."""
        if isinstance(self.outcomes, SampledOutcomes):
            return int((self.outcomes.durations <= rto_s).sum())
        return sum(o.status == "succeeded" and o.duration_s <= rto_s for o in self.outcomes)

    def plot(self, path: str | Path | None = None) -> Figure:
        """Histogram and ECDF of the runs' duration and (when they have one) cost
        (matplotlib): p50/p95/p99 marked, the RTO line and P(meet) when ``rto_s`` is set,
        failed runs stacked in red. Returns the figure; ``path`` also saves it there."""
        from restore.plots_sweep import sweep_plot

        return sweep_plot(self, path)

    def to_dict(self) -> dict[str, Any]:
        if isinstance(self.outcomes, SampledOutcomes):
            statuses = Counter({"succeeded": len(self.outcomes)})
            durations, costs = self.outcomes.durations, self.outcomes.costs
        else:
            statuses = Counter(o.status for o in self.outcomes)
            durations = [o.duration_s for o in self.outcomes]
            costs = [o.cost for o in self.outcomes if o.cost is not None]
        found = {
            "scenario": self.scenario, "seed": self.seed, "method": self.method,
            "runs": len(self.outcomes), "succeeded": statuses.get("succeeded", 0),
            "failed": len(self.outcomes) - statuses.get("succeeded", 0),
            "statuses": dict(sorted(statuses.items())),
            "duration_s": summary(durations),
            "cost": summary(costs) if len(costs) else None, "currency": self.currency,
        }
        if self.critical_path is not None:
            found["critical_path"] = self.critical_path
        if self.rto_s is not None:
            found["rto"] = rto_answer(self, self.rto_s)
        return found


def summary(values: Sequence[float]) -> dict[str, float]:
    """mean, p50, p90, p95, p99, min, max (percentiles interpolated, inclusive)."""
    if not isinstance(values, list):  # an array of sampled runs
        return _array_summary(values)
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else (
        ordered * 99)
    return {"mean": round(statistics.fmean(ordered), 3),
            **{name: round(cuts[p - 1], 3) for name, p in PERCENTILES.items()},
            "min": round(ordered[0], 3), "max": round(ordered[-1], 3)}


def _array_summary(values: Any) -> dict[str, float]:
    """``summary`` of a numpy array: the same percentiles (linear, as "inclusive")."""
    import numpy as np

    cuts = np.percentile(values, list(PERCENTILES.values()))
    return {"mean": round(float(values.mean()), 3),
            **{name: round(float(cut), 3) for name, cut in zip(PERCENTILES, cuts, strict=True)},
            "min": round(float(values.min()), 3), "max": round(float(values.max()), 3)}


def sweep(scenario: Scenario, runs: int, seed: int | None = None, workers: int | None = None,
          faults: list[Fault] | None = None,
          progress: Callable[[int], None] | None = None,
          dask_address: str | None = None, method: str = "auto",
          rto_s: float | None = None, profile: RestoreProfile | None = None) -> SweepResult:
    """``runs`` restores of ``scenario``: simulated on ``workers`` processes (default: all
    cores) or on the Dask cluster at ``dask_address``, or sampled from its compiled
    restore (``method`` "compiled"; "auto": whenever it can be); ``progress(n)`` is told
    each time ``n`` more runs are done. ``rto_s`` (default the scenario's ``rto``): the
    result also answers about that recovery time objective (``to_dict()["rto"]``).
    ``profile`` (default: the scenario's ``region_profile``) is the region's."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    seed = scenario.seed if seed is None else seed
    rto_s = scenario.rto if rto_s is None else rto_s
    currency = remembered(scenario, profile).profile.prices.currency
    compiled = _compiled(scenario, faults, dask_address, method, profile)
    if compiled is not None:
        from restore.backends.compiled_sweep import sample_sweep

        found = sample_sweep(compiled, scenario.name, runs, seed, progress)
        found.rto_s, found.currency = rto_s, currency
        return found
    check_fault_targets(remembered(scenario, profile).plan, [*scenario.faults, *(faults or [])])
    if scenario.fleet is not None and faults:  # simulate_fleet takes the scenario's rules
        scenario, faults = scenario.model_copy(update={"faults": [*scenario.faults,
                                                                  *faults]}), None
    workers = workers or os.cpu_count() or 1
    chunks = [(scenario, seed, start, min(start + CHUNK, runs), faults or [],
               rto_s is not None, profile) for start in range(0, runs, CHUNK)]
    result = SweepResult(scenario.name, seed, rto_s=rto_s, currency=currency)
    done = _on_dask(chunks, dask_address, progress) if dask_address else _map(
        _run_chunk, chunks, workers)
    for outcomes in done:
        result.outcomes += outcomes
        if progress and not dask_address:
            progress(len(outcomes))
    return result


METHODS = ("auto", "simulated", "compiled")


def _compiled(scenario: Scenario, faults: list[Fault] | None, dask_address: str | None,
              method: str, profile: RestoreProfile | None) -> Any:
    """The compiled restore to sample, or None to simulate; ``compiled`` asked of a
    scenario it cannot serve is a ScenarioError saying why."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if method == "simulated" or (method == "auto" and dask_address):
        return None
    reason = "--dask runs simulations; the compiled method runs here" if dask_address else (
        "fault rules make runs differ by more than their latencies" if faults else None)
    if reason is None:
        try:
            from restore.backends.compiled import NotCompilable, compiled_for
        except ImportError:
            reason = "it needs numpy: pip install 'restorelab[analysis]'"
        else:
            try:
                return compiled_for(remembered(scenario, profile))
            except NotCompilable as exc:
                reason = str(exc)
    if method == "compiled":
        raise ScenarioError(scenario.name, "--method", f"the compiled method cannot serve "
                            f"it: {reason}")
    return None


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


def _run_chunk(chunk: tuple[Scenario, int, int, int, list[Fault], bool,
                            RestoreProfile | None]) -> list[Outcome]:
    """Runs ``start`` to ``stop``, each with its ``RunDetail`` when ``detailed``."""
    scenario, seed, start, stop, faults, detailed, profile = chunk
    scenario = _seen(scenario)
    run = _fleet_run if scenario.fleet is not None else _single_run
    return [run(scenario, run_seed(seed, i), faults, detailed, profile)
            for i in range(start, stop)]


def _single_run(scenario: Scenario, seed: int, faults: list[Fault], detailed: bool,
                profile: RestoreProfile | None) -> Outcome:
    report = simulate(scenario, seed=seed, faults=faults, profile=profile)
    cost = report.cost
    detail = run_detail(report, remembered(scenario, profile).plan.prerequisites) \
        if detailed else None
    return Outcome(report.status, report.duration_s, cost["total"] if cost else None, detail)


def _fleet_run(scenario: Scenario, seed: int, faults: list[Fault], detailed: bool,
               profile: RestoreProfile | None) -> Outcome:
    """A fleet's run: every VM at once; its status, makespan and total cost (``faults``
    are already the scenario's)."""
    report = simulate_fleet(scenario, seed=seed, profile=profile)
    return Outcome(report.status, round(report.makespan_s, 3), report.cost,
                   fleet_detail(report) if detailed else None)


_scenarios: dict[str, Scenario] = {}
SCENARIOS_KEPT = 16


def _seen(scenario: Scenario) -> Scenario:
    """The first copy of ``scenario`` this process got: each chunk brings its own copy
    (unpickled), and a scenario is prepared once per object."""
    found = _scenarios.setdefault(scenario.model_dump_json(), scenario)
    if len(_scenarios) > SCENARIOS_KEPT:  # a long-lived worker (Dask) sees many
        del _scenarios[next(iter(_scenarios))]
    return found
