"""Shared by the benchmark scripts: the best of several timed rounds."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(rounds: int, action: Callable[[], object]) -> float:
    """Seconds of the fastest of ``rounds`` runs of ``action`` (the least disturbed)."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)
