"""Region profiles: latency distributions, rehydration, throughput caps, VM sizes (YAML)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fakecloud.models import CloudState, Quotas

PROFILES_DIR = Path(__file__).parent / "profiles"


class ProfileError(ValueError):
    """A region profile that cannot be used: ``where`` names it, ``field`` the bad field."""

    def __init__(self, where: str, field: str, message: str):
        self.where, self.field, self.message = where, field, message
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}")
Z95 = 1.6448536269514722  # standard normal quantile at 0.95

LATENCY_KINDS = (
    "create_resource_group", "delete_resource_group", "create_disk", "create_disk_from_snapshot",
    "copy_snapshot", "create_snapshot", "delete_snapshot", "create_nic", "delete_nic", "create_vm",
    "attach_disks", "detach_disks", "deallocate_vm", "delete_vm", "delete_disk",
    "move_resources", "start_restore_agent", "find_resources", "get_resource",
)
"""What the region's ARM calls take: one latency per kind (``start_restore_agent`` is Run
Command's start before the script runs; ``find_resources`` a list or query read;
``get_resource`` a GET of one resource)."""
OPTIONAL_LATENCY_KINDS = {"start_vm": "create_vm", "restart_vm": "create_vm",
                          "power_off_vm": "deallocate_vm", "swap_os_disk": "attach_disks",
                          "vm_agent_ready": "get_resource"}
"""Kinds a profile may leave out, and the kind whose latency they take then."""


Samplers = dict[str, Callable[[float], float]]
"""Latency kind -> a function from a standard normal draw to its latency."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Latency(StrictModel):
    """Lognormal fitted to a median and a 95th percentile, or a fixed value; clamped."""

    median: float | None = Field(default=None, gt=0)
    p95: float | None = Field(default=None, gt=0)
    fixed: float | None = Field(default=None, ge=0)
    min: float = Field(default=0.0, ge=0)
    max: float = math.inf

    @model_validator(mode="after")
    def _one_shape(self) -> Latency:
        if (self.fixed is None) == (self.median is None or self.p95 is None):
            raise ValueError("give either fixed, or both median and p95")
        if self.median is not None and self.p95 is not None and self.p95 < self.median:
            raise ValueError("p95 must not be below median")
        return self

    @property
    def sigma(self) -> float:
        """The lognormal's shape: ln(p95 / median) / z(0.95); 0 for a fixed latency."""
        return 0.0 if self.fixed is not None else math.log(self.p95 / self.median) / Z95

    def sampler(self) -> Callable[[float], float]:
        """A fast function from a standard normal draw ``z`` to a latency: the
        distribution's numbers taken once."""
        low, high = self.min, self.max
        if self.fixed is not None:
            value = min(max(self.fixed, low), high)
            return lambda z: value
        median, sigma, exp = self.median, self.sigma, math.exp

        def at(z: float) -> float:
            value = median * exp(sigma * z)
            return low if value < low else high if value > high else value

        return at

    def sample(self, rng: random.Random) -> float:
        return self.sampler()(rng.gauss(0.0, 1.0))


class HighPriority(Latency):
    """High priority: the lognormal draw, plus ``extra_s_per_gb`` for each GB beyond
    ``small_gb``; with ``account_gib_per_hour``, each storage account rehydrates at most
    that many GiB an hour, ``small_gb`` of it at once when the account is idle."""

    small_gb: float = Field(gt=0)
    extra_s_per_gb: float = Field(default=0.0, ge=0)
    account_gib_per_hour: float | None = Field(default=None, gt=0)


class Rehydration(StrictModel):
    standard: Latency
    high: HighPriority

    def latency(self, priority: str) -> Latency:
        return self.high if priority == "high" else self.standard

    def extra_s(self, priority: str, size_gb: float) -> float:
        """What the restore point's size adds to the draw: at high priority,
        ``extra_s_per_gb`` for each GB beyond ``small_gb``."""
        if priority != "high":
            return 0.0
        return max(0.0, size_gb - self.high.small_gb) * self.high.extra_s_per_gb

    def at(self, priority: str, size_gb: float, z: float) -> float:
        """Archive to hot for a standard normal draw ``z``, besides any wait for the
        storage account's budget (``fakecloud.region.storage``)."""
        return self.latency(priority).sampler()(z) + self.extra_s(priority, size_gb)


def _check_burst(burst: float | None, base: float, base_field: str) -> None:
    if burst is not None and burst < base:
        raise ValueError(f"burst_mbps {burst:g} is below {base_field} {base:g}: a burst "
                         "lifts the cap")


class SizeStep(StrictModel):
    """A disk performance tier: sizes up to ``max_gb``, a cap in MB/s, and the rate
    credit-based bursting lifts it to (None: the tier does not burst)."""

    max_gb: int = Field(gt=0)
    mbps: float = Field(gt=0)
    burst_mbps: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _burst_above_base(self) -> SizeStep:
        _check_burst(self.burst_mbps, self.mbps, "mbps")
        return self


class Throughput(StrictModel):
    repository_mbps: float = Field(gt=0)
    disk_skus: dict[str, list[SizeStep]]
    burst_s: float = Field(default=1800.0, ge=0)
    """How long a fresh disk's or VM's credits last at its maximum burst rate."""
    credits_after_start: Literal["full", "kept"] = "full"
    """A VM started from deallocated: allocated again with full credits, or with what it
    had left (Microsoft Learn does not say; ``kept`` is the pessimistic reading)."""

    def disk_step(self, sku: str, size_gb: int) -> SizeStep:
        """The figures of ``sku``'s performance tier for a disk of ``size_gb``."""
        steps = self.disk_skus.get(sku)
        if not steps:
            raise KeyError(f"no throughput figures for disk SKU {sku}")
        for step in steps:
            if size_gb <= step.max_gb:
                return step
        raise ValueError(f"{sku} disks go up to {steps[-1].max_gb} GB, not {size_gb}")

    def disk_mbps(self, sku: str, size_gb: int) -> float:
        return self.disk_step(sku, size_gb).mbps


class OfferedSize(StrictModel):
    """A VM size the region offers: what ARM's resource SKUs and quotas say of it."""

    vcpus: int = Field(gt=0)
    family: str = Field(min_length=1)
    max_data_disks: int = Field(ge=0)
    memory_gb: float | None = Field(default=None, gt=0)


class VmSize(OfferedSize):
    """A size the profile knows in full: also its disk throughput, its burst and its
    network bandwidth (and, in prices, its cost), so that restores can use it."""

    uncached_mbps: float = Field(gt=0)
    burst_mbps: float | None = Field(default=None, gt=0)
    network_mbit_s: float | None = Field(default=None, gt=0)
    """Expected network bandwidth in megabits per second (None: not a cap)."""

    @model_validator(mode="after")
    def _burst_above_base(self) -> VmSize:
        _check_burst(self.burst_mbps, self.uncached_mbps, "uncached_mbps")
        return self

    @property
    def network_mbps(self) -> float:
        """The network bandwidth in MB/s (10^6 bytes), the unit of disk throughput."""
        return math.inf if self.network_mbit_s is None else self.network_mbit_s / 8


class Bucket(StrictModel):
    """A token bucket: at most ``capacity`` tokens, refilled at ``per_s``; with ``every_s``
    the tokens come in lumps, every ``every_s`` seconds from the bucket's start (Compute
    refills once a minute), else continuously."""

    capacity: float = Field(gt=0)
    per_s: float = Field(gt=0)
    every_s: float = Field(default=0.0, ge=0)


class Policy(StrictModel):
    """A resource provider's throttling policy: a bucket per resource it is counted on, one
    per subscription, or both."""

    resource: Bucket | None = None
    subscription: Bucket | None = None

    @model_validator(mode="after")
    def _some_bucket(self) -> Policy:
        if self.resource is None and self.subscription is None:
            raise ValueError("a policy needs a resource or a subscription bucket")
        return self


LEGACY_VM_POLICIES = ("Microsoft.Compute/PutVM", "Microsoft.Compute/UpdateVM",
                      "Microsoft.Compute/DeleteVM")
"""The policies a profile's old ``compute_per_vm`` / ``compute_per_subscription`` set."""


class Throttling(StrictModel):
    """ARM's buckets per principal, and the resource providers' own ``policies`` by the name
    ``x-ms-ratelimit-remaining-resource`` gives them (``Microsoft.Compute/PutVM``); which
    requests count against which policy is ARM's knowledge, in ``fakecloud.throttle``. A
    policy the profile leaves out limits nothing."""

    arm_writes: Bucket
    arm_deletes: Bucket
    arm_reads: Bucket
    policies: dict[str, Policy] = {}

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        """A profile written before per-category policies: its ``compute_per_vm`` and
        ``compute_per_subscription`` buckets limit Put, Update and Delete VM each."""
        if not isinstance(data, dict) or "compute_per_vm" not in data:
            return data
        data = dict(data)
        vm, subscription = data.pop("compute_per_vm"), data.pop("compute_per_subscription", None)
        data.setdefault("policies", {name: {"resource": vm, "subscription": subscription}
                                     for name in LEGACY_VM_POLICIES})
        return data

    def starved(self, per_s: float) -> Throttling:
        """The same limits with every bucket refilling at only ``per_s``."""
        def slow(bucket: Bucket | None) -> Bucket | None:
            return None if bucket is None else bucket.model_copy(update={"per_s": per_s})

        return self.model_copy(update={
            **{name: slow(getattr(self, name)) for name in ("arm_writes", "arm_deletes",
                                                             "arm_reads")},
            "policies": {name: Policy(resource=slow(p.resource), subscription=slow(p.subscription))
                         for name, p in self.policies.items()}})


class QuotaLimits(StrictModel):
    regional_vcpus: int = Field(ge=0)
    family_vcpus: dict[str, int]
    managed_disks: int = Field(ge=0)


SUBSCRIPTION_ID_PATTERN = r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"
SubscriptionId = Annotated[str, Field(pattern=SUBSCRIPTION_ID_PATTERN)]


class OtherSubscription(StrictModel):
    """Another subscription of the tenant: its own quotas (default: the profile's)."""

    quotas: QuotaLimits | None = None


class RehydrationPrice(StrictModel):
    per_gb: float = Field(ge=0)
    per_10k_reads: float = Field(ge=0)


class Prices(StrictModel):
    """List prices for the cost model (USD unless ``currency`` says otherwise)."""

    currency: str = "USD"
    region: str = ""
    vm_hourly: dict[str, float]
    disk_gb_month: dict[str, float]
    snapshot_gb_month: float = Field(ge=0)
    rehydration: dict[Literal["standard", "high"], RehydrationPrice]
    restore_point_object_mb: float = Field(gt=0)
    inter_region_gb: float = Field(ge=0)


class Locations(StrictModel):
    """The locations a region's ARM accepts, by name (``westeurope``): those ``zoned``
    offer the profile's availability zones, those ``unzoned`` none."""

    zoned: list[str] = []
    unzoned: list[str] = []

    @model_validator(mode="after")
    def _each_once(self) -> Locations:
        both = sorted(set(self.zoned) & set(self.unzoned))
        if both:
            raise ValueError(f"listed both zoned and unzoned: {', '.join(both)}")
        return self

    @property
    def names(self) -> list[str]:
        return sorted({*self.zoned, *self.unzoned})


class Consistency(StrictModel):
    """ARM's eventual consistency: how long a deleted resource (a group too) is still in
    the list answers (resources by tag or group, per-type lists) after its delete ended,
    while its GET answers 404 at once. None: lists know at once (the default)."""

    listed_after_delete_s: Latency | None = None


class RegionProfile(StrictModel):
    name: str
    description: str = ""
    latency: dict[str, Latency]
    rehydration: Rehydration
    throughput: Throughput
    vm_sizes: dict[str, VmSize]
    offered_sizes: dict[str, OfferedSize] = {}
    """More sizes the region offers (for its ARM fake's clients), beyond ``vm_sizes``."""
    zones: list[str] = ["1", "2", "3"]
    """The availability zones of the region's locations (of its ``zoned`` ones)."""
    locations: Locations | None = None
    """The locations the region's ARM accepts; None: any, each with ``zones``."""
    throttling: Throttling
    quotas: QuotaLimits
    subscriptions: dict[SubscriptionId, OtherSubscription] = {}
    """More subscriptions of the tenant than a state's own (its default), by id: empty,
    each with its quotas; ARM knows of no others (SubscriptionNotFound)."""
    prices: Prices
    consistency: Consistency = Consistency()

    @model_validator(mode="after")
    def _complete(self) -> RegionProfile:
        missing = [k for k in LATENCY_KINDS if k not in self.latency]
        if missing:
            raise ValueError(f"latency lacks {', '.join(missing)}")
        unknown = sorted(set(self.latency) - set(LATENCY_KINDS) - set(OPTIONAL_LATENCY_KINDS))
        if unknown:
            raise ValueError(f"latency has no kind {', '.join(unknown)} (kinds: "
                             f"{', '.join([*LATENCY_KINDS, *OPTIONAL_LATENCY_KINDS])})")
        unpriced = sorted(set(self.vm_sizes) - set(self.prices.vm_hourly))
        if unpriced:
            raise ValueError(f"prices.vm_hourly lacks {', '.join(unpriced)}")
        return self

    def samplers(self) -> Samplers:
        """One fast latency function per kind (an optional kind left out: its stand-in's)."""
        samplers = {kind: latency.sampler() for kind, latency in self.latency.items()}
        for kind, stand_in in OPTIONAL_LATENCY_KINDS.items():
            samplers.setdefault(kind, samplers[stand_in])
        return samplers

    def zones_in(self, location: str) -> list[str] | None:
        """The availability zones ``location`` (a name, ``westeurope``) offers; None when
        the profile lists its locations and this is not one."""
        if self.locations is None or location in self.locations.zoned:
            return list(self.zones)
        return [] if location in self.locations.unzoned else None

    @property
    def quota(self) -> Quotas:
        """The region's quotas as the state model enforces them."""
        return self._quota(self.quotas)

    def add_subscriptions(self, state: CloudState) -> CloudState:
        """``state`` with the profile's other subscriptions added, each with its quotas."""
        for subscription, other in self.subscriptions.items():
            state.add_subscription(subscription, self._quota(other.quotas or self.quotas))
        return state

    def _quota(self, limits: QuotaLimits) -> Quotas:
        return Quotas(limits.regional_vcpus, limits.family_vcpus, limits.managed_disks,
                      {name: (size.family, size.vcpus) for name, size in self.offered.items()})

    @property
    def offered(self) -> dict[str, OfferedSize]:
        """Every VM size the region offers."""
        return {**self.offered_sizes, **self.vm_sizes}

    @property
    def max_data_disks(self) -> dict[str, int]:
        """The data-disk slots of each VM size the region offers."""
        return {name: size.max_data_disks for name, size in self.offered.items()}


P = TypeVar("P", bound=RegionProfile)
T = TypeVar("T")
_derived: dict[tuple[int, Hashable], tuple[RegionProfile, Any]] = {}
DERIVED_LIMIT = 256


def derived(profile: RegionProfile, key: Hashable, make: Callable[[], T]) -> T:
    """What ``make`` derives from ``profile`` (named ``key``), made once per profile:
    profiles are frozen but not hashable."""
    known = _derived.get((id(profile), key))
    if known is None or known[0] is not profile:
        if len(_derived) >= DERIVED_LIMIT:  # many profiles made on the fly (studies)
            _derived.clear()
        known = _derived[(id(profile), key)] = (profile, make())
    return known[1]


def load_profile(name_or_path: str, model: type[P] = RegionProfile) -> P:
    """A shipped profile by name (``default``) or a YAML file by path, validated as
    ``model`` (a tool built on fakecloud may add its own settings in a subclass)."""
    if "\x00" in name_or_path:  # no file system takes it: say so, as for a missing file
        raise ProfileError(f"region profile {name_or_path!r}", "",
                           "not a profile name nor a file path (it holds a NUL character)")
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = PROFILES_DIR / f"{name_or_path}.yaml"
    return _load(path.resolve(), name_or_path, model)


@cache
def _load(path: Path, shown_as: str, model: type[P]) -> P:
    """Parse and validate a profile; errors name it as the user did (``shown_as``)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError:
        shipped = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
        raise ProfileError(f"region profile {shown_as!r}", "",
                            f"no such profile (shipped: {shipped}; or give a .yaml path)") from None
    except yaml.YAMLError as exc:
        raise ProfileError(shown_as, "", f"not valid YAML: {exc}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ProfileError(shown_as, field, first["msg"].removeprefix("Value error, ")) from None
