"""One ARM call in ARM's own terms, and the region's answer to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ArmCall:
    """``method`` on the resource ``id`` of ``type`` (``action``: a POST action, or a
    sub-resource read such as ``instanceView``), with the request's JSON ``body`` and
    ``filter`` (the ``$filter`` query), and its ``If-Match`` and ``If-None-Match`` headers
    (``if_match``, ``if_none_match``; None when not sent). ``operation`` is what fault
    rules and latencies go by: ``PUT Microsoft.Compute/disks``,
    ``POST Microsoft.Compute/virtualMachines/deallocate``.
    """

    __slots__ = ("method", "type", "id", "action", "body", "filter", "operation", "if_match",
                 "if_none_match")

    def __init__(self, method: str, type_: str, id_: str, action: str = "",
                 body: dict[str, Any] | None = None, filter_: str = "",
                 if_match: str | None = None, if_none_match: str | None = None):
        self.method, self.type, self.id, self.action = method, type_, id_, action
        self.if_match, self.if_none_match = if_match, if_none_match
        self.body = body if body is not None else {}
        self.filter = filter_
        self.operation = f"{method} {type_}/{action}" if action else f"{method} {type_}"

    def __repr__(self) -> str:
        return f"ArmCall({self.operation} {self.id})"


@dataclass(slots=True)
class Answer:
    """What the region did: ARM's ``status``; ``result`` (a resource model, a list, or
    a dict); ``latency_s``: for a synchronous call how long until it answers, for a
    long-running one how long until it ends; ``failure``: the error a long-running
    operation that was accepted ends with; ``kind``: the profile's latency kind it took
    (its draw, plus a script's run time for Run Command)."""

    status: int
    result: Any
    latency_s: float
    long_running: bool = False
    failure: Exception | None = None
    kind: str = ""
