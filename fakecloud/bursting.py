"""Credit-based bursting ("Managed disk bursting", Microsoft Learn): a disk or a VM starts
with fully stocked credits, enough to run for ``burst_s`` (30 minutes) at its maximum burst
rate; above its baseline it spends credits at the rate it goes over the baseline, and at
or below it spends none. A transfer bounded by such caps runs in phases: each lasts until
the data is moved or a bucket runs dry. Credits earned below the baseline during a
transfer are not counted (a restore writes at its caps throughout)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bucket:
    """A throughput cap in MB/s that bursts to ``burst`` while its ``credit_mb`` last."""

    base: float
    burst: float
    credit_mb: float

    @classmethod
    def full(cls, base: float, burst: float | None, burst_s: float) -> Bucket:
        """A fresh resource's cap: full credits, ``burst_s`` at ``burst``; no burst: flat."""
        if burst is None or burst <= base:
            return cls(base, base, 0.0)
        return cls(base, burst, (burst - base) * burst_s)

    def spent(self, spent_mb: float) -> Bucket:
        """The same cap with ``spent_mb`` of its credits gone (none earned back)."""
        return Bucket(self.base, self.burst, max(0.0, self.credit_mb - spent_mb))

    @classmethod
    def pooled(cls, buckets: Sequence[Bucket]) -> Bucket:
        """Several caps side by side (the disks a worker writes), as one."""
        return cls(sum(b.base for b in buckets), sum(b.burst for b in buckets),
                   sum(b.credit_mb for b in buckets))


@dataclass(frozen=True, slots=True)
class Transfer:
    seconds: float
    spent_mb: tuple[float, ...]  # the credits each bucket spent


def transfer(total_mb: float, buckets: Sequence[Bucket], cap: float = math.inf) -> Transfer:
    """Move ``total_mb`` at the least of the ``buckets``' caps and a flat ``cap``; with no
    credits anywhere it takes ``total_mb / min(bases, cap)``."""
    credits = {index: b.credit_mb for index, b in enumerate(buckets) if b.credit_mb > 0}
    seconds, left = 0.0, total_mb
    while left > 0:
        rate = min([cap, *(b.burst if i in credits else b.base for i, b in enumerate(buckets))])
        spending = {i: rate - buckets[i].base for i in credits if rate > buckets[i].base}
        runs_dry = {i: credits[i] / spend for i, spend in spending.items()}
        phase = min([left / rate, *runs_dry.values()])
        seconds, left = seconds + phase, 0.0 if phase == left / rate else left - rate * phase
        for i, spend in spending.items():
            credits[i] -= spend * phase
            if runs_dry[i] == phase:
                del credits[i]
    return Transfer(seconds, tuple(b.credit_mb - credits.get(i, 0.0)
                                   for i, b in enumerate(buckets)))


def transfer_s(total_mb: float, buckets: Sequence[Bucket], cap: float = math.inf) -> float:
    """Seconds ``transfer`` takes."""
    return transfer(total_mb, buckets, cap).seconds
