"""A sweep sampled from a compiled restore: runs drawn in chunks (bounded memory), their
durations and costs, and which steps make the critical path (overall and in the tail)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from restore.backends.compiled import CompiledRestore, Sampled
from restore.backends.sweep import SampledOutcomes, SweepResult

CHUNK = 65_536  # runs sampled at once: ~10 MB of draws for a few dozen timed calls
TAIL_PERCENTILE = 95


def sample_sweep(compiled: CompiledRestore, scenario: str, runs: int, seed: int,
                 progress: Callable[[int], None] | None = None) -> SweepResult:
    """``runs`` restores sampled from ``compiled``; chunk ``k`` of seed ``S`` always draws
    from the generator seeded (S, k), so the numbers depend on the seed alone."""
    durations, costs = np.empty(runs), np.empty(runs)
    names = [step.name for step in compiled.steps]
    shares, tail_shares, tail_runs = np.zeros(len(names)), np.zeros(len(names)), 0
    for chunk, start in enumerate(range(0, runs, CHUNK)):
        size = min(CHUNK, runs - start)
        sampled = compiled.sample(size, np.random.default_rng([seed, chunk]))
        durations[start:start + size] = np.round(sampled.end_s, 3)
        costs[start:start + size] = compiled.costs(sampled)
        share = critical_shares(compiled, sampled)
        tail = sampled.end_s >= np.percentile(sampled.end_s, TAIL_PERCENTILE)
        shares += share.sum(axis=1)
        tail_shares += share[:, tail].sum(axis=1)
        tail_runs += int(tail.sum())
        if progress:
            progress(size)
    path = {name: {"share": round(float(total / runs), 4),
                   "tail_share": round(float(tail / tail_runs), 4)}
            for name, total, tail in zip(names, shares, tail_shares, strict=True)}
    return SweepResult(scenario, seed, SampledOutcomes(durations, costs), "compiled", path)


def critical_shares(compiled: CompiledRestore, sampled: Sampled) -> np.ndarray:
    """Per step and run, the step's share of the run's duration when it is on the run's
    critical path (the chain of steps, each started by the last to end of those it
    waited for, that ends last), else 0."""
    steps = compiled.steps
    index = {step.name: i for i, step in enumerate(steps)}
    ends = np.array([sampled.step_end[step.name] for step in steps])
    last = np.argmax(ends, axis=0)
    on = [last == i for i in range(len(steps))]
    for i in reversed(range(len(steps))):  # a step after every step it waited for
        after = [index[a] for a in steps[i].after]
        if len(after) == 1:
            on[after[0]] |= on[i]
        elif after:
            started_by = np.array(after)[np.argmax(ends[after], axis=0)]
            for a in after:
                on[a] |= on[i] & (started_by == a)
    total = np.where(sampled.end_s > 0, sampled.end_s, 1.0)
    return np.array([np.where(on[i], (ends[i] - sampled.step_start[step.name]) / total, 0.0)
                     for i, step in enumerate(steps)])
