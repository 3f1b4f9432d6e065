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
    names = [step.name for step in compiled.steps]
    index = {name: i for i, name in enumerate(names)}
    ends = np.array([sampled.step_end[n] for n in names])
    took = ends - np.array([sampled.step_start[n] for n in names])
    runs = np.arange(ends.shape[1])
    before = np.full(ends.shape, -1)
    for i, step in enumerate(compiled.steps):
        if step.after:
            after = [index[a] for a in step.after]
            before[i] = np.array(after)[np.argmax(ends[after], axis=0)]
    shares = np.zeros(ends.shape)
    current = np.argmax(ends, axis=0)
    total = np.where(sampled.end_s > 0, sampled.end_s, 1.0)
    for _ in names:
        on = current >= 0
        if not on.any():
            break
        shares[current[on], runs[on]] = took[current[on], runs[on]] / total[on]
        current = np.where(on, before[np.maximum(current, 0), runs], -1)
    return shares
