"""Latencies drawn by key: the same ARM call of the same region seed gets the same latency,
whatever order concurrent calls arrive in (a SimPy model and SDK threads agree)."""

from __future__ import annotations

import math
from functools import lru_cache
from zlib import crc32

from fakecloud.profile import RegionProfile, Samplers, derived

TWO_PI = 2 * math.pi
MASK = 2 ** 64 - 1
GOLDEN = 0x9E3779B97F4A7C15


def _samplers(profile: RegionProfile) -> tuple[Samplers, dict[str, float]]:
    """The profile's latency functions and its fixed latencies."""
    samplers = profile.samplers()
    return samplers, {kind: samplers[kind](0.0) for kind, latency in profile.latency.items()
                      if latency.fixed is not None}


@lru_cache(maxsize=1 << 16)
def _key(operation: str, arm_id: str) -> tuple[str, int]:
    """A call's key (ids compare case-insensitively) and its CRC-32, shifted: the same
    calls come back restore after restore."""
    key = f"{operation}|{arm_id.lower()}"
    return key, crc32(key.encode()) << 24


class Latencies:
    """The profile's latency per kind, each draw keyed by the call and how many times the
    same call was made before (a retry is a new draw)."""

    def __init__(self, profile: RegionProfile, seed: int = 0):
        self.profile = profile
        self.of_kind, self.fixed = derived(profile, "latencies", lambda: _samplers(profile))
        self._seed = (seed * GOLDEN) & MASK
        self._made: dict[str, list[int]] = {}  # key -> [its hash with the seed, draws made]

    def draw(self, kind: str, operation: str, arm_id: str) -> float:
        """The latency of kind ``kind`` for the next ``operation`` on ``arm_id``."""
        fixed = self.fixed.get(kind)
        return fixed if fixed is not None else self.of_kind[kind](self.normal(operation, arm_id))

    def normal(self, operation: str, arm_id: str) -> float:
        """A standard normal draw for the next ``operation`` on ``arm_id`` (Box-Muller over
        a keyed hash, SplitMix64 of the key's CRC-32, its count and the seed: independent
        of every other key)."""
        key, digest = _key(operation, arm_id)
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = [digest ^ self._seed, 0]
        made[1] += 1
        z = (made[0] ^ made[1]) + GOLDEN & MASK
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & MASK
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB & MASK
        z ^= z >> 31
        u1 = ((z >> 32) + 1) * 2.0 ** -32
        u2 = (z & 0xFFFFFFFF) * 2.0 ** -32
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(TWO_PI * u2)
