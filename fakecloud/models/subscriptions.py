"""The subscriptions of a state's tenant and their quotas: which exist, what each may use
per location and what it uses (``CloudState`` supplies the store)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

import armid as arm
from fakecloud.models.errors import ArmError
from fakecloud.models.resources import Disk, Resource, VirtualMachine


@dataclass(frozen=True)
class Quotas:
    """Per-region limits of a subscription; ``cores`` maps a VM size to (family, vCPUs)."""

    regional_vcpus: int
    family_vcpus: Mapping[str, int]
    managed_disks: int
    cores: Mapping[str, tuple[str, int]]

    @cached_property
    def limits(self) -> dict[str, int]:
        """Each limit by the name usage counts it under."""
        return {"regional_vcpus": self.regional_vcpus, "managed_disks": self.managed_disks,
                **self.family_vcpus}


class SubscriptionRules:
    """The default subscription (``subscription``) and the others added, each with its
    quotas, usage kept per (subscription, location)."""

    subscription: str
    _resources: dict[str, Resource]
    _others: dict[str, tuple[str, Quotas | None]]  # (lower) -> its id, its quotas
    _usage: dict[tuple[str, str], Counter[str]]
    _quotas: Quotas | None

    def add_subscription(self, subscription: str, quotas: Quotas | None = None) -> None:
        """Another subscription of the tenant, empty, with its own ``quotas``."""
        if not self.knows(subscription):
            self._others[subscription.lower()] = (subscription, quotas)
            self._recount()

    @property
    def subscriptions(self) -> list[str]:
        """The subscriptions' ids, the default first."""
        return [self.subscription, *(sub for sub, _ in self._others.values())]

    def knows(self, subscription: str) -> bool:
        return subscription.lower() in (self.subscription.lower(), *self._others)

    def spelling(self, subscription: str) -> str:
        """A known subscription's id as it was added (ids compare case-insensitively)."""
        return next((s for s in self.subscriptions if s.lower() == subscription.lower()),
                    subscription)

    def check_subscription(self, arm_id: str) -> None:
        """Raise ARM's 404 SubscriptionNotFound when ``arm_id`` (a subscription's scope or
        anything in it) names a subscription the tenant does not have."""
        parts = arm_id.split("/", 3)
        if len(parts) > 2 and parts[1].lower() == "subscriptions" and not self.knows(parts[2]):
            raise ArmError(404, "SubscriptionNotFound",
                           f"The subscription '{parts[2]}' could not be found.")

    def quotas_of(self, subscription: str) -> Quotas | None:
        """The quotas of one subscription (None: none enforced)."""
        if subscription.lower() == self.subscription.lower():
            return self._quotas
        return self._others.get(subscription.lower(), ("", None))[1]

    def usage(self, location: str, subscription: str | None = None) -> dict[str, int]:
        """What counts against the quotas of ``subscription`` (default: the default one) in
        ``location``: vCPUs of VMs that are not deallocated (in all and per family), and
        managed disks."""
        where = ((subscription or self.subscription).lower(), location)
        return {"regional_vcpus": 0, "managed_disks": 0, **self._usage.get(where, {})}

    @property
    def quotas(self) -> Quotas | None:
        return self._quotas

    @quotas.setter
    def quotas(self, quotas: Quotas | None) -> None:
        """Enforce ``quotas`` in the default subscription from now on (None: none)."""
        self._quotas = quotas
        self._recount()

    def _recount(self) -> None:
        """Count what exists against the quotas."""
        self._usage = {}
        for resource in self._resources.values():
            self._count(resource, +1)

    def _count(self, resource: Resource, sign: int) -> None:
        """Keep the quota usage as resources come and go (and VMs start or stop)."""
        if not isinstance(resource, (Disk, VirtualMachine)):
            return
        subscription = arm.parse_id(resource.id).subscription
        quotas = self.quotas_of(subscription)
        if quotas is None:
            return
        where = (subscription.lower(), resource.location)
        used = self._usage.get(where)
        if used is None:
            used = self._usage[where] = Counter()
        if isinstance(resource, Disk):
            used["managed_disks"] += sign
        elif resource.power_state != "deallocated":
            family, vcpus = quotas.cores.get(resource.size, ("", 0))
            used["regional_vcpus"] += sign * vcpus
            used[family] += sign * vcpus

    def check_quota(self, location: str, vm_sizes: Iterable[str] = (), disks: int = 0,
                    subscription: str | None = None) -> None:
        """Raise QuotaExceeded if these VMs and disks do not fit next to what exists in
        ``subscription`` (default: the default one)."""
        subscription = subscription or self.subscription
        quotas = self.quotas_of(subscription)
        if quotas is None:
            return
        vm_sizes = list(vm_sizes)
        if not vm_sizes and len(self._resources) + disks <= quotas.managed_disks:
            return  # fewer resources of any kind than the disk quota: it cannot be hit
        used = self._usage.get((subscription.lower(), location), {})
        wanted = {"regional_vcpus": 0, "managed_disks": disks}
        for size in vm_sizes:
            family, vcpus = quotas.cores.get(size, ("", 0))
            wanted["regional_vcpus"] += vcpus
            wanted[family] = wanted.get(family, 0) + vcpus
        limits = quotas.limits
        for name, extra in wanted.items():
            limit = limits.get(name)
            if extra and limit is not None and used.get(name, 0) + extra > limit:
                raise ArmError(409, "QuotaExceeded", f"Operation could not be completed as it "
                               f"results in exceeding approved {name} quota in {location}: "
                               f"limit {limit}, in use {used.get(name, 0)}, requested {extra}.")
