"""ARM's eventual consistency: a deleted resource stays in the list answers for a while
after its delete ended, while its GET answers 404 at once (the profile's ``consistency``).

How long each one lingers is drawn by its id and the region's seed (``latency``), so the
SimPy model and the HTTP fake list the same resources at the same instants.
"""

from __future__ import annotations

from collections.abc import Callable

from fakecloud.models import CloudState, Resource
from fakecloud.profile import Latency
from fakecloud.region.latency import Latencies

LINGER = "listed_after_delete"
"""The key of a deleted resource's linger draw."""


class Lingering:
    """The deleted resources the list APIs still answer with, and until when."""

    def __init__(self, linger: Latency | None, latencies: Latencies):
        self._linger = None if linger is None else linger.sampler()
        self._latencies = latencies
        self._gone: dict[str, tuple[float, Resource]] = {}  # id (lower) -> (until, it)

    def before_delete(self, state: CloudState) -> list[Resource]:
        """What exists before a DELETE (nothing to remember when lists know at once)."""
        return [] if self._linger is None else state.resources()

    def deleted(self, before: list[Resource], state: CloudState, ended_s: float) -> None:
        """Remember what of ``before`` is gone, listed until its linger after ``ended_s``."""
        for resource in before:
            if state.find(resource.id) is None:
                z = self._latencies.normal(LINGER, resource.id)
                self._gone[resource.id.lower()] = (ended_s + self._linger(z), resource.copy())

    def listed(self, live: list[Resource], now: float,
               wanted: Callable[[Resource], bool]) -> list[Resource]:
        """``live`` (as the state sorts it) and the deleted resources ``wanted`` that lists
        still show at ``now``, in the same order."""
        if not self._gone:
            return live
        self._gone = {k: gone for k, gone in self._gone.items() if gone[0] > now}
        known = {r.id.lower() for r in live}
        ghosts = [r for k, (_, r) in self._gone.items() if k not in known and wanted(r)]
        return sorted([*live, *ghosts], key=lambda r: r.id.lower()) if ghosts else live

    def tagged(self, state: CloudState, key: str, value: str, now: float) -> list[str]:
        """Ids a list by tag ``key: value`` answers at ``now``, sorted."""
        live = [state.get(arm_id, Resource) for arm_id in state.tagged(key, value)]
        return [r.id for r in self.listed(live, now, lambda r: r.tags.get(key) == value)]
