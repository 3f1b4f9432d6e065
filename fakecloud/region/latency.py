"""Latencies drawn by key: the same ARM call of the same region seed gets the same latency,
whatever order concurrent calls arrive in (a SimPy model and SDK threads agree)."""

from __future__ import annotations

import math
from hashlib import blake2b

from fakecloud.profile import RegionProfile

TWO_PI = 2 * math.pi
UNIT = 2.0 ** -53


class Latencies:
    """The profile's latency per kind, each draw keyed by the call and how many times the
    same call was made before (a retry is a new draw)."""

    def __init__(self, profile: RegionProfile, seed: int = 0):
        self.profile = profile
        self.of_kind = profile.samplers()
        self.fixed = {kind for kind, latency in profile.latency.items()
                      if latency.fixed is not None}
        self._seed = seed.to_bytes(16, "little", signed=True)
        self._made: dict[str, int] = {}

    def draw(self, kind: str, key: str) -> float:
        """The latency of kind ``kind`` for the next call known as ``key``."""
        sampler = self.of_kind[kind]
        if kind in self.fixed:
            return sampler(0.0)
        return sampler(self.normal(key))

    def normal(self, key: str) -> float:
        """A standard normal draw for the next call known as ``key`` (Box-Muller over a
        keyed hash: independent of every other key)."""
        made = self._made[key] = self._made.get(key, 0) + 1
        digest = blake2b(f"{key}#{made}".encode(), digest_size=16, key=self._seed).digest()
        u1 = ((int.from_bytes(digest[:8], "little") >> 11) or 1) * UNIT
        u2 = (int.from_bytes(digest[8:], "little") >> 11) * UNIT
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(TWO_PI * u2)
