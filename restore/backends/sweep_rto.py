"""A sweep's answers about a recovery time objective (RTO): how likely a restore meets it
(with a Wilson score interval), where it sits among the durations, and what drives the
slow tail (critical-path shares, retries) and the misses (failures or slowness).

A simulated run keeps only a ``RunDetail`` (a few hundred bytes) for this; a compiled sweep
brings its arrays and its tail's critical-path shares, and has no retries or failures (it
is fault-free).
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

SHARE_UNIT = 1e-4  # a critical-path share is kept to 0.01%
Z95 = 1.959964  # the standard normal's 97.5% quantile: a two-sided 95% interval
TAIL_PERCENTILE = 95
WAIT_FOR_WORKER = "wait_for_worker"
"""A fleet's restore waiting for a slot in the worker pool (more max_workers shortens it)."""
WAIT_TO_START = "wait_to_start"
"""A fleet's restore waiting to start, for a place among the max_active restores."""

Span = tuple[str, float, float]
"""A step of a run: its name, start and end (s)."""
Retried = tuple[str, str, int, int]
"""Operations that retried: step, operation kind, how many of them, their retries."""


@dataclass(frozen=True, slots=True)
class RunDetail:
    """What an RTO answer keeps of one simulated run: a few hundred bytes when nothing
    retried or failed (the names of a critical path are one tuple for the many runs
    whose path has those steps)."""

    steps: tuple[str, ...]  # the steps on its critical path
    shares: array  # each one's share of the run's duration, in units of SHARE_UNIT
    retried: tuple[Retried, ...] = ()
    failed_at: tuple[tuple[str, str], ...] = ()  # (step, error code) of each failure

    @classmethod
    def of(cls, path: Iterable[tuple[str, float]], retried: tuple[Retried, ...] = (),
           failed_at: tuple[tuple[str, str], ...] = ()) -> RunDetail:
        """From (step, share) pairs; a share rounds to a SHARE_UNIT, none of 0 is kept."""
        kept = [(name, round(share / SHARE_UNIT)) for name, share in path]
        kept = [(name, units) for name, units in kept if units > 0]
        return cls(_interned(tuple(name for name, _ in kept)),
                   array("H", [units for _, units in kept]), retried, failed_at)

    @property
    def path(self) -> tuple[tuple[str, float], ...]:
        """(step, share of the run's duration) along its critical path."""
        return tuple((name, round(units * SHARE_UNIT, 4))
                     for name, units in zip(self.steps, self.shares, strict=True))


@lru_cache(maxsize=256)
def _interned(names: tuple[str, ...]) -> tuple[str, ...]:
    """One tuple for every run whose critical path has the same steps."""
    return names


def wilson(successes: int, runs: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``successes / runs`` (its bounds exactly
    0 and 1 when none or all succeed)."""
    p, n = successes / runs, runs
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (0.0 if successes == 0 else centre - half,
            1.0 if successes == runs else centre + half)


def critical_chain(spans: Sequence[Span], prerequisites: Mapping[str, Sequence[str]]
                   ) -> list[Span]:
    """The run's critical path, last step first: the step that ended last, then, each
    time, the one of the steps it waited for that ended last (the rule of
    ``compiled_sweep.critical_shares``); recovery steps wait for nothing planned."""
    by_name = {span[0]: span for span in spans}
    if not by_name:
        return []
    step = max(by_name.values(), key=lambda s: s[2])
    chain = [step]
    while befores := [by_name[b] for b in prerequisites.get(step[0], ()) if b in by_name]:
        step = max(befores, key=lambda s: s[2])
        chain.append(step)
    return chain


def retried_of(operations: Sequence[tuple[str, str, int]]) -> tuple[Retried, ...]:
    """The operations (step, kind, attempts) that retried, counted by step and kind."""
    ops, retries = Counter(), Counter()
    for step, kind, attempts in operations:
        if attempts > 1:
            ops[step, kind] += 1
            retries[step, kind] += attempts - 1
    return tuple((step, kind, n, retries[step, kind]) for (step, kind), n in ops.items())


def run_detail(report: Any, prerequisites: Mapping[str, Sequence[str]]) -> RunDetail:
    """A single restore's ``RunDetail`` from its report."""
    spans = [(s["name"], s["start_s"], s["end_s"]) for s in report.steps]
    total = report.duration_s or 1.0
    path = [(name, (end - start) / total)
            for name, start, end in reversed(critical_chain(spans, prerequisites))]
    error = report.error
    return RunDetail.of(path, retried_of([(o["step"], o["op"], o["attempts"])
                                          for o in report.operations]),
                        ((error["step"], error["code"]),) if error else ())


def fleet_detail(fleet: Any) -> RunDetail:
    """A fleet's ``RunDetail``: the critical path of the VM that finished last (its
    makespan), its waits for a worker and to start split out of its steps; the retries
    and failures of every VM."""
    last = max(fleet.vms, key=lambda v: v.end_s)
    total = fleet.makespan_s or 1.0
    retried = _summed(entry for vm in fleet.vms for entry in vm.retried)
    failed = dict.fromkeys((v.failed_step, v.error) for v in fleet.vms if v.error)
    return RunDetail.of(((name, seconds / total) for name, seconds in last.path),
                        tuple((*at, *n) for at, n in retried.items()), tuple(failed))


def _summed(entries: Iterable[Retried]) -> dict[tuple[str, str], list[int]]:
    """Retried operations added up by (step, kind): [operations, retries]."""
    found: dict[tuple[str, str], list[int]] = {}
    for step, kind, ops, retries in entries:
        total = found.setdefault((step, kind), [0, 0])
        total[0] += ops
        total[1] += retries
    return found


def vm_path(spans: Sequence[Span], prerequisites: Mapping[str, Sequence[str]],
            waits: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    """A fleet VM's critical path in seconds, from the fleet's start: its wait to start,
    each step's time less its wait for a worker slot, and those waits together."""
    chain = list(reversed(critical_chain(spans, prerequisites)))
    waited = sum(min(waits.get(name, 0.0), end - start) for name, start, end in chain)
    steps = [(name, end - start - min(waits.get(name, 0.0), end - start))
             for name, start, end in chain]
    return ((WAIT_TO_START, chain[0][1] if chain else 0.0), *steps,
            (WAIT_FOR_WORKER, waited))


def rto_answer(result: Any, rto_s: float) -> dict[str, Any]:
    """The ``rto`` block of a sweep's summary."""
    if result.method == "compiled":
        return _compiled_answer(result, rto_s)
    outcomes = result.outcomes
    ok = [o for o in outcomes if o.status == "succeeded"]
    met = result.meeting(rto_s)
    failed = [o for o in outcomes if o.status != "succeeded"]
    tail = _tail(ok)
    return {**_meeting(rto_s, met, len(outcomes), len(ok)),
            "missed": {"failed": len(failed), "slow": len(ok) - met,
                       "failed_at": _failed_at(failed)},
            "tail": {**tail[0], "critical_path": _mean_path([o.detail for o in tail[1]]),
                     "retried": _retried([o.detail for o in tail[1]])}}


def _meeting(rto_s: float, met: int, runs: int, succeeded: int) -> dict[str, Any]:
    """How many runs meet the RTO (only a succeeded one can), its interval, and the
    empirical CDF of the succeeded runs' durations at the RTO (x100)."""
    lo, hi = wilson(met, runs)
    return {"target_s": float(rto_s), "runs": runs, "met": met, "p_meet": round(met / runs, 6),
            "ci95": [round(lo, 6), round(hi, 6)],
            "percentile": round(100 * met / succeeded, 2) if succeeded else None}


def _tail(ok: list[Any]) -> tuple[dict[str, Any], list[Any]]:
    """The succeeded runs at or above the p95 of the succeeded runs' durations."""
    from restore.backends.sweep import summary

    if not ok:
        return {"percentile": TAIL_PERCENTILE, "threshold_s": None, "runs": 0}, []
    threshold = summary([o.duration_s for o in ok])[f"p{TAIL_PERCENTILE}"]
    tail = [o for o in ok if o.duration_s >= threshold]
    return {"percentile": TAIL_PERCENTILE, "threshold_s": threshold, "runs": len(tail)}, tail


def _mean_path(details: list[RunDetail]) -> dict[str, float]:
    """Each step's mean share of the critical path over ``details``, largest first."""
    total = Counter()
    for detail in details:
        for name, units in zip(detail.steps, detail.shares, strict=True):
            total[name] += units
    return {name: round(units * SHARE_UNIT / len(details), 4)
            for name, units in total.most_common()}


def _retried(details: list[RunDetail]) -> list[dict[str, Any]]:
    """The operations that retried in ``details``, by step and kind, most retried first."""
    found = _summed(entry for detail in details for entry in detail.retried)
    return [{"step": step, "op": kind, "operations": ops, "retries": retries}
            for (step, kind), (ops, retries) in sorted(found.items(), key=lambda kv: -kv[1][1])]


def _failed_at(failed: list[Any]) -> list[dict[str, Any]]:
    """The failed runs by where they failed (step, error code), most first."""
    found = Counter(at for o in failed for at in o.detail.failed_at)
    return [{"step": step, "code": code, "runs": n} for (step, code), n in found.most_common()]


def _compiled_answer(result: Any, rto_s: float) -> dict[str, Any]:
    """A compiled sweep's answer: every run succeeds; the tail's critical-path shares
    are the sweep's own (runs at or above their chunk's p95); no retries (fault-free)."""
    import numpy as np

    durations = result.outcomes.durations
    met = result.meeting(rto_s)
    threshold = round(float(np.percentile(durations, TAIL_PERCENTILE)), 3)
    shares = sorted(((name, step["tail_share"]) for name, step in
                     result.critical_path.items()), key=lambda kv: -kv[1])
    return {**_meeting(rto_s, met, len(durations), len(durations)),
            "missed": {"failed": 0, "slow": len(durations) - met, "failed_at": []},
            "tail": {"percentile": TAIL_PERCENTILE, "threshold_s": threshold,
                     "runs": int((durations >= threshold).sum()),
                     "critical_path": {name: share for name, share in shares if share > 0},
                     "retried": None}}
