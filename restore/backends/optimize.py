"""`restorelab optimize`: search the operator's choices for a scenario (restore.optimize_space)
and evaluate each candidate by a sweep with the same seed (common random numbers).

The search is a coordinate search from the scenario's own choices, once for each restore
point that exists (a snapshot restore has no workers to choose: the backup's choices are
searched on their own): each dimension in turn is tried at every one of its values, the
others held at the best so far; a pass that improves nothing ends it (at most
``MAX_PASSES`` passes), so at most the restore points times ``MAX_PASSES`` times the sum
of the dimensions' sizes are evaluated, each distinct restore once.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import yaml

from restore.backends.prepared import scenario_profile
from restore.backends.sweep import SweepResult, sweep
from restore.errors import ScenarioError
from restore.optimize_space import (
    Choice,
    Dimension,
    SpaceOptions,
    changes,
    dimensions,
    effective,
    own_choice,
    variant,
)
from restore.scenario import Scenario

OBJECTIVES = ("rto", "cost")
MAX_PASSES = 3
DEFAULT_RUNS = 200
DEFAULT_FLEET_RUNS = 20  # a fleet's run simulates every VM: ~0.1 s for 40
DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Candidate:
    """One evaluated choice: its scenario and its sweep's figures."""

    number: int
    choice: Choice
    changes: dict[str, Any]  # what differs from the scenario, as shown
    scenario: Scenario
    p95_s: float
    mean_cost: float
    failed: int
    runs: int
    p_meet: float | None  # share of all runs that succeeded within the RTO
    method: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "changes": self.changes, "choice": self.choice,
                "p95_s": self.p95_s, "mean_cost": self.mean_cost, "failed": self.failed,
                "runs": self.runs, "p_meet": self.p_meet, "method": self.method,
                "seconds": round(self.seconds, 3)}


@dataclass(frozen=True, slots=True)
class Goal:
    """The objective and its constraints: which candidates qualify, and their order."""

    objective: str
    rto_s: float | None
    budget: float | None
    confidence: float

    def shortfall(self, c: Candidate) -> float:
        """0 for a candidate meeting the constraints, else how far it misses them: its
        mean cost over the budget; ``cost``: its P(meet) under the confidence; ``rto``:
        its share of failed runs over 1 - confidence (its p95 is a p95 of recoveries)."""
        over = max(0.0, c.mean_cost - self.budget) if self.budget is not None else 0.0
        if self.objective == "cost":
            return over + max(0.0, self.confidence - (c.p_meet or 0.0))
        return over + max(0.0, c.failed / c.runs - (1 - self.confidence))

    def key(self, c: Candidate) -> tuple[float, float, float]:
        """Lower is better: qualifying first, then the objective, then the other figure."""
        if self.objective == "rto":
            return (self.shortfall(c), c.p95_s, c.mean_cost)
        return (self.shortfall(c), c.mean_cost, c.p95_s)


@dataclass(slots=True)
class OptimizeResult:
    scenario: Scenario
    goal: Goal
    runs: int
    seed: int
    dimensions: list[Dimension]
    candidates: list[Candidate] = field(default_factory=list)
    pruned: dict[str, str] = field(default_factory=dict)  # choice -> why it is no restore
    seconds: float = 0.0

    @property
    def front(self) -> list[Candidate]:
        """The candidates no other beats on both p95 duration and mean cost."""
        points = [(c.p95_s, c.mean_cost) for c in self.candidates]
        return [self.candidates[i] for i in pareto_front(points)]

    @property
    def closest(self) -> Candidate:
        """The best candidate by the objective, whether or not it meets the constraints."""
        return min(self.candidates, key=self.goal.key)

    @property
    def best(self) -> Candidate | None:
        """The best candidate meeting the constraints; None when none does."""
        found = self.closest
        return found if self.goal.shortfall(found) == 0 else None

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "scenario": self.scenario.name, "objective": self.goal.objective,
            "rto_s": self.goal.rto_s, "budget": self.goal.budget,
            "confidence": self.goal.confidence if self.goal.objective == "cost" else None,
            "runs": self.runs, "seed": self.seed,
            "search": {"method": "coordinate", "max_passes": MAX_PASSES,
                       "dimensions": {d.name: list(d.values) for d in self.dimensions}},
            "evaluated": len(self.candidates), "pruned": self.pruned,
            "seconds": round(self.seconds, 3),
            "candidates": [c.to_dict() for c in self.candidates],
            "front": [c.number for c in self.front],
            "best": best.number if best else None,
            "closest": self.closest.number,
        }

    def plot(self, path: str | None = None) -> Any:
        from restore.backends.optimize_plot import plot

        return plot(self, path)

    def best_yaml(self) -> str:
        """The best scenario as a scenario file, a header saying what changed."""
        best = self.best
        if best is None:
            raise ValueError("no candidate meets the constraints")
        goal = self.goal
        asked = "".join([f" --objective {goal.objective}",
                         f" --rto {goal.rto_s:g}" if goal.rto_s is not None else "",
                         f" --budget {goal.budget:g}" if goal.budget is not None else ""])
        header = [f"Optimized by `restorelab optimize {self.scenario.name}{asked}`: "
                  f"candidate {best.number} of {len(self.candidates)} evaluated.",
                  "Changed: " + ("; ".join(f"{k}: {v}" for k, v in best.changes.items())
                                 or "nothing (the scenario's own choices are best)") + ".",
                  f"Figures ({best.runs} runs, seed {self.seed}, method {best.method}): p95 "
                  f"{best.p95_s:.0f} s, mean cost {best.mean_cost:.4f} USD, failed "
                  f"{best.failed}" + ("" if best.p_meet is None else
                                      f", P(duration <= {self.goal.rto_s:.0f} s) "
                                      f"{best.p_meet:.3f}") + "."]
        body = yaml.safe_dump(best.scenario.model_dump(mode="json", exclude_defaults=True),
                              sort_keys=False)
        return "".join(f"# {line}\n" for line in header) + body


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indexes of the points no other point dominates (as low or lower in both, lower in
    one)."""
    return [i for i, p in enumerate(points)
            if not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in points)]


def optimize(scenario: Scenario, objective: str = "rto", rto: float | None = None,
             budget: float | None = None, runs: int | None = None, seed: int | None = None,
             confidence: float = DEFAULT_CONFIDENCE, options: SpaceOptions | None = None,
             progress: Callable[[str, int, int], None] | None = None,
             processes: int | None = None) -> OptimizeResult:
    """Search ``scenario``'s choices for ``objective`` (``rto``: the lowest p95 duration,
    within ``budget``; ``cost``: the lowest mean cost with P(duration <= RTO) at least
    ``confidence``, within ``budget``). ``progress(label, n, runs)``: a candidate
    starts (n = 0) or n more of its runs are done. A fleet's candidates of one dimension are
    swept side by side on ``processes`` (default: every core)."""
    goal = _goal(scenario, objective, rto, budget, confidence)
    runs = runs or (DEFAULT_FLEET_RUNS if scenario.fleet else DEFAULT_RUNS)
    seed = scenario.seed if seed is None else seed
    dims = dimensions(scenario, scenario_profile(scenario).sizing, options or SpaceOptions())
    result = OptimizeResult(scenario, goal, runs, seed, dims)
    started = time.perf_counter()
    parallel = scenario.fleet is not None and (processes or os.cpu_count() or 1) > 1
    with ProcessPoolExecutor(processes) if parallel else nullcontext() as pool:
        evaluator = _Evaluator(result, progress or (lambda label, done, total: None), pool)
        points = next((d.values for d in dims if d.name == "restore_point"), (None,))
        others = [d for d in dims if d.name != "restore_point"]
        own = own_choice(dims)
        evaluator.batch([own], first=True)
        for point in points:
            start = own if point is None else {**own, "restore_point": point}
            _coordinate_search(evaluator, goal, others, start)
    result.seconds = time.perf_counter() - started
    return result


def _coordinate_search(evaluator: _Evaluator, goal: Goal, dims: Sequence[Dimension],
                       current: Choice) -> None:
    """From ``current``: each dimension in turn at all its values, the others at the best
    so far, until a pass improves nothing (at most MAX_PASSES)."""
    best = evaluator.batch([current])[0]
    for _ in range(MAX_PASSES):
        moved = False
        for dim in dims:
            trials = [{**current, dim.name: value} for value in dim.values]
            for trial, found in zip(trials, evaluator.batch(trials), strict=True):
                if found is not None and (best is None or goal.key(found) < goal.key(best)):
                    best, current, moved = found, trial, True
        if not moved:
            return


def _goal(scenario: Scenario, objective: str, rto: float | None, budget: float | None,
          confidence: float) -> Goal:
    if objective not in OBJECTIVES:
        raise ScenarioError(scenario.name, "--objective", f"{objective!r} is not an objective "
                            f"({', '.join(OBJECTIVES)})")
    rto = rto if rto is not None else scenario.rto
    if objective == "cost" and rto is None:
        raise ScenarioError(scenario.name, "--objective", "cost: the cheapest restore that "
                            "meets an RTO needs one (--rto 4h, or the scenario's rto)")
    if budget is not None and budget < 0:
        raise ScenarioError(scenario.name, "--budget", f"a budget is at least 0 USD (got {budget})")
    if not 0 < confidence <= 1:
        raise ScenarioError(scenario.name, "--confidence", f"a share above 0, at most 1 (got "
                            f"{confidence})")
    return Goal(objective, rto, budget, confidence)


class _Evaluator:
    """Evaluates each choice once (by its effect): None for one that makes no valid
    restore (pruned, with why). The scenario's own choice comes first: its errors are the
    scenario's, raised."""

    def __init__(self, result: OptimizeResult, progress: Callable[[str, int, int], None],
                 pool: ProcessPoolExecutor | None):
        self.result, self.progress, self.pool = result, progress, pool
        self.seen: dict[str, Candidate | None] = {}

    def batch(self, choices: list[Choice], first: bool = False) -> list[Candidate | None]:
        sc, todo = self.result.scenario, {}
        for choice in choices:
            choice = effective(sc, choice)
            key = json.dumps(choice, sort_keys=True)
            if key in self.seen or key in todo:
                continue
            shown = changes(sc, self.result.dimensions, choice)
            try:
                todo[key] = (choice, shown, variant(sc, choice))
            except ScenarioError as exc:
                self._prune(key, shown, exc, first)
        for key, (swept, seconds, error) in zip(todo, self._sweeps(list(todo.values())),
                                                strict=True):
            choice, shown, candidate = todo[key]
            if error is not None:
                self._prune(key, shown, error, first)
                continue
            found = _candidate(self.result, choice, shown, candidate, swept, seconds)
            self.seen[key] = found
            self.result.candidates.append(found)
        return [self.seen[json.dumps(effective(sc, c), sort_keys=True)] for c in choices]

    def _prune(self, key: str, shown: dict[str, Any], error: ScenarioError,
               first: bool) -> None:
        if first:
            raise error
        self.result.pruned[json.dumps(shown)] = (f"{error.field}: {error.message}"
                                                 if error.field else error.message)
        self.seen[key] = None

    def _sweeps(self, todo: list[tuple[Choice, dict[str, Any], Scenario]]) -> Iterator[tuple]:
        """Each one's (sweep, seconds, error), in order: side by side on the pool, else
        one after the other with each run's progress."""
        result, number = self.result, len(self.result.candidates)
        labels = [f"{number + i + 1}: " + (", ".join(f"{k}={v}" for k, v in shown.items())
                                           or "as the scenario")
                  for i, (_, shown, _) in enumerate(todo)]
        if self.pool is not None:
            futures = [self.pool.submit(_swept, sc, result.runs, result.seed)
                       for _, _, sc in todo]
            for label, future in zip(labels, futures, strict=True):
                self.progress(label, 0, result.runs)
                yield future.result()
                self.progress(label, result.runs, result.runs)
            return
        for label, (_, _, sc) in zip(labels, todo, strict=True):
            self.progress(label, 0, result.runs)
            yield _swept(sc, result.runs, result.seed, lambda n, label=label:
                         self.progress(label, n, result.runs))


def _swept(scenario: Scenario, runs: int, seed: int,
           progress: Callable[[int], None] | None = None) -> tuple:
    """(its sweep, seconds, None), or (None, 0, the ScenarioError) for a choice that
    makes no valid restore; on one process (a pool's task, or the caller's)."""
    started = time.perf_counter()
    try:
        swept = sweep(scenario, runs, seed, workers=None if progress else 1,
                      progress=progress)
    except ScenarioError as exc:
        return None, 0.0, exc
    return swept, time.perf_counter() - started, None


def _candidate(result: OptimizeResult, choice: Choice, shown: dict[str, Any],
               scenario: Scenario, swept: SweepResult, seconds: float) -> Candidate:
    summary = swept.to_dict()
    rto = result.goal.rto_s
    return Candidate(
        len(result.candidates) + 1, choice, shown, scenario, summary["duration_s"]["p95"],
        (summary["cost"] or {}).get("mean", 0.0), summary["failed"], summary["runs"],
        None if rto is None else round(swept.meeting(rto) / len(swept.outcomes), 4),
        swept.method, seconds)
