"""Fault rules in ARM's terms, like LocalStack's chaos rules and AWS FIS: which calls they
match (operation, resource name pattern, region), how often (probability, times), and
what happens (an error status and code, 429 with Retry-After, a long-running operation
that ends Failed with a code, added latency). Seeded: the same calls, the same faults."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from fakecloud.models import ArmError


@dataclass(frozen=True, slots=True)
class ChaosRule:
    """``operation`` is ``METHOD type[/action]`` (``PUT Microsoft.Compute/virtualMachines``,
    ``POST Microsoft.Compute/virtualMachines/deallocate``), ``resource`` a pattern of the
    resource id or name, ``region`` of its location; all glob patterns, case-insensitive.
    ``times`` None: without end. Effect: ``status`` with ``code`` (429 with
    ``retry_after``); with ``fail_lro`` the call is accepted and its long-running operation
    ends Failed with ``code``; ``added_latency_s`` slows a call that otherwise succeeds."""

    operation: str = "*"
    resource: str = "*"
    region: str = "*"
    probability: float = 1.0
    times: int | None = 1
    status: int = 0
    code: str = ""
    message: str = ""
    retry_after: float | None = None
    fail_lro: bool = False
    added_latency_s: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must be within 0..1, not {self.probability}")
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be at least 1 (or None), not {self.times}")
        if not (self.status or self.fail_lro or self.added_latency_s):
            raise ValueError("a rule needs an effect: status and code, fail_lro, or "
                             "added_latency_s")
        if (self.status or self.fail_lro) and not self.code:
            raise ValueError("an error effect needs an ARM error code")

    def matches(self, operation: str, resource_id: str, location: str | None) -> bool:
        name = resource_id.rstrip("/").rsplit("/", 1)[-1]
        return (fnmatchcase(operation.lower(), self.operation.lower())
                and (fnmatchcase(resource_id.lower(), self.resource.lower())
                     or fnmatchcase(name.lower(), self.resource.lower()))
                and (self.region == "*" or fnmatchcase((location or "").lower(),
                                                       self.region.lower())))

    def error(self, operation: str) -> ArmError:
        message = self.message or f"Injected fault on {operation}."
        return ArmError(200 if self.fail_lro else self.status, self.code, message,
                        retry_after=self.retry_after)


class Chaos:
    """The rules in force, each with the times it has left; one seeded random source."""

    def __init__(self, rules: Iterable[ChaosRule] = (), seed: int = 0):
        self.rules: list[ChaosRule] = []  # those with times left
        self._left: list[int | None] = []
        self._seed = seed
        self._rng: random.Random | None = None  # made at the first probability drawn
        for rule in rules:
            self.add(rule)

    def add(self, rule: ChaosRule) -> None:
        self.rules.append(rule)
        self._left.append(rule.times)

    def discard(self, rule: ChaosRule) -> None:
        """Take ``rule`` out (if it is still in force)."""
        for index, known in enumerate(self.rules):
            if known is rule:
                del self.rules[index], self._left[index]
                return

    def draw(self, operation: str, resource_id: str, location: str | None) -> ChaosRule | None:
        """The first rule firing for this call, if any (uses up one of its times)."""
        for index, rule in enumerate(self.rules):
            if rule.matches(operation, resource_id, location) and (
                    rule.probability >= 1.0 or self._draw() < rule.probability):
                left = self._left[index]
                if left is not None:
                    self._left[index] = left - 1
                    if left == 1:
                        del self.rules[index], self._left[index]
                return rule
        return None

    def _draw(self) -> float:
        if self._rng is None:
            self._rng = random.Random(self._seed ^ 0xC4A05)
        return self._rng.random()
