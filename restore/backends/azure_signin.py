"""One sign-in of the azure backend used in several subscriptions: one credential, one
set of SDK clients per subscription, and the subscription each operation acts in."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import armid as arm
from restore.ops import Operation

if TYPE_CHECKING:
    from restore.backends.azure import AzureClients


class SignedIn:
    """One credential's clients: one set per subscription, made on first use."""

    def __init__(self, make: Callable[[str], AzureClients]):
        self._make, self._clients, self._lock = make, {}, threading.Lock()

    def clients(self, subscription: str) -> AzureClients:
        with self._lock:
            found = self._clients.get(subscription.lower())
            if found is None:
                found = self._clients[subscription.lower()] = self._make(subscription)
            return found

    @property
    def subscriptions(self) -> list[str]:
        """The subscriptions whose clients were made, in that order."""
        return [clients.subscription for clients in self._clients.values()]


def acts_in(op: Operation) -> str | None:
    """The subscription ``op`` acts in: the one it names, or its resource's (None for an
    operation outside ARM: a restore point's)."""
    named = getattr(op, "subscription", None)
    if named is not None:
        return named
    resource = op.resource
    if not resource.startswith("/subscriptions/"):
        return None
    return arm.parse_id(resource).subscription
