"""Storage accounts' limit on high-priority rehydration: "a maximum of 10 GiB per storage
account may be rehydrated per hour with priority retrieval" (Microsoft Learn, "Blob
rehydration from the archive tier"). Every request of the region draws on its account's
budget, first come, first served; standard priority has no such limit."""

from __future__ import annotations

import re

from fakecloud.profile import HighPriority

ACCOUNT = re.compile(r"/storageAccounts/([^/]+)", re.IGNORECASE)
REPOSITORY = ""
"""The account of blobs named without one (a restore point's name): the region's one
repository."""


class Queued:
    """A rehydration's answer: the ``seconds`` it waited for its account's budget."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float):
        self.seconds = seconds


def account_of(blobs: str) -> str:
    """The storage account holding ``blobs``: the one its ARM id names, else the
    region's repository."""
    found = ACCOUNT.search(blobs)
    return found.group(1).lower() if found else REPOSITORY


class RehydrationBudgets:
    """Each account's budget as a token bucket: it refills at ``account_gib_per_hour``
    and holds at most ``small_gb`` (full when the account is first used), so an idle
    account rehydrates that much at once and the rest at the hourly rate. A request takes
    its size from the bucket, into debt if need be: it waits until the debt is paid,
    every request before it included."""

    def __init__(self, high: HighPriority):
        self.per_s = (high.account_gib_per_hour or 0.0) / 3600.0
        self.capacity = high.small_gb
        self.level: dict[str, tuple[float, float]] = {}  # account -> (GiB left, at)

    def wait_s(self, blobs: str, size_gb: float, now: float) -> float:
        """Take ``size_gb`` for ``blobs`` at ``now``: the seconds until its budget is there
        (0 without a limit)."""
        if not self.per_s:
            return 0.0
        account = account_of(blobs)
        left, at = self.level.get(account, (self.capacity, now))
        left = min(self.capacity, left + (now - at) * self.per_s) - size_gb
        self.level[account] = (left, now)
        return max(0.0, -left / self.per_s)
