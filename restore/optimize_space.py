"""The optimizer's search space: the choices an operator has for a scenario (dimensions,
each with its values, the scenario's own first) and the scenario a choice makes.

A choice is a mapping of dimension name -> value; a value that cannot take effect in the
variant (workers or rehydration of a snapshot restore) is dropped from it, so two choices
making the same restore are one candidate.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from restore.errors import ScenarioError
from restore.plan import Sizing, build_plan
from restore.scenario import (
    VEEAM_MAX_WORKERS,
    VEEAM_MIN_WORKERS,
    DiskSku,
    Scenario,
    parse_scenario,
)

RESTORE_POINTS = ("backup", "snapshot")
MAX_ORDERED_GROUPS = 4
"""Up to this many fleet groups, every order of their priorities is tried (4! = 24);
with more, only the scenario's and its reverse."""

Choice = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Dimension:
    name: str  # the scenario field (or fields) it sets
    values: tuple[Any, ...]  # the scenario's own first


@dataclass(frozen=True, slots=True)
class SpaceOptions:
    """What the operator allows beyond the scenario: restore points that exist, disk SKUs
    the restored VM may get, worker sizes and fleet pool sizes to try (None: defaults);
    ``keep_order``: a fleet's groups keep their priorities (critical ones first, say)."""

    restore_points: tuple[str, ...] | None = None
    disk_skus: tuple[str, ...] | None = None
    worker_sizes: tuple[str, ...] | None = None
    max_workers: tuple[int, ...] | None = None
    keep_order: bool = False


def dimensions(scenario: Scenario, sizing: Sizing, options: SpaceOptions) -> list[Dimension]:
    """The scenario's dimensions with more than one value (the restore point last: the
    search explores the scenario's own first); an option that can never take effect is
    a ScenarioError naming it."""
    found = [_rehydration(scenario, options.restore_points),
             _workers(scenario, sizing, options),
             _disk_skus(scenario, options.disk_skus),
             *_fleet(scenario, options.max_workers, options.keep_order),
             _restore_points(scenario, options.restore_points)]
    return [d for d in found if d is not None and len(d.values) > 1]


def own_choice(dims: Sequence[Dimension]) -> Choice:
    return {d.name: d.values[0] for d in dims}


def variant(scenario: Scenario, choice: Choice) -> Scenario:
    """The scenario with ``choice`` made (a dimension absent from it: as it is)."""
    raw = scenario.model_dump(mode="json", exclude_defaults=True)
    rp = raw.setdefault("restore_point", {})
    if choice.get("restore_point") == "snapshot":
        rp.update(kind="snapshot", tier="hot")
        rp.pop("rehydrate_priority", None)
        raw.pop("workers", None)
    elif choice.get("restore_point") == "backup" and scenario.restore_point.kind == "snapshot":
        rp.update(kind="backup", tier="hot")
    if "rehydrate_priority" in choice and rp.get("tier") == "archive":
        _set_rehydration(raw, choice["rehydrate_priority"])
    if "workers" in choice and rp.get("kind", "backup") == "backup":
        _set_workers(raw, choice["workers"])
    if "target.disk_sku" in choice:
        raw.setdefault("target", {})["disk_sku"] = choice["target.disk_sku"]
    _set_fleet(raw, choice)
    return parse_scenario(raw, scenario.name)


def effective(scenario: Scenario, choice: Choice) -> Choice:
    """``choice`` without the values that do not take effect in its variant."""
    snapshot = choice.get("restore_point", scenario.restore_point.kind) == "snapshot"
    dropped = {"workers", "rehydrate_priority"} if snapshot else set()
    return {k: v for k, v in choice.items() if k not in dropped}


def changes(scenario: Scenario, dims: Sequence[Dimension], choice: Choice) -> dict[str, Any]:
    """The choices of ``choice`` that differ from the scenario's own, as shown."""
    own = own_choice(dims)
    return {k: shown(k, v) for k, v in effective(scenario, choice).items() if own.get(k) != v}


def shown(name: str, value: Any) -> Any:
    """A dimension's value as tables and the YAML header show it."""
    if name == "workers" and value is not None:
        return f"{value[0] or 'default size'} x{value[1] or 'fewest'}"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items())
    return "default" if value is None else value


def _restore_points(sc: Scenario, allowed: tuple[str, ...] | None) -> Dimension | None:
    if allowed is None:
        return None
    unknown = [p for p in allowed if p not in RESTORE_POINTS]
    if unknown:
        raise ScenarioError(sc.name, "--restore-points", f"{unknown[0]!r} is not a restore point "
                            f"kind ({', '.join(RESTORE_POINTS)})")
    if "snapshot" in allowed and sc.restore_point.tier == "archive":
        raise ScenarioError(sc.name, "--restore-points", "snapshot: the scenario's restore point "
                            "is archived (restore_point.tier: archive); an archived backup "
                            "has no cloud-native snapshot of the same point")
    own = sc.restore_point.kind
    return Dimension("restore_point", (own, *[p for p in dict.fromkeys(allowed) if p != own]))


def _rehydration(sc: Scenario, allowed: tuple[str, ...] | None) -> Dimension | None:
    """All standard, all high, or (a fleet) high for the first groups by priority."""
    if sc.restore_point.tier != "archive":
        return None
    if sc.fleet is None or len(sc.fleet.groups) == 1:
        own = sc.restore_point.priority
        return Dimension("rehydrate_priority", (own, "high" if own == "standard" else "standard"))
    groups = sc.fleet.groups
    own = tuple(g.rehydrate_priority or sc.restore_point.priority for g in groups)
    order = sorted(range(len(groups)), key=lambda i: groups[i].priority)
    mixes = [tuple("high" if i in order[:k] else "standard" for i in range(len(groups)))
             for k in range(len(groups) + 1)]
    return Dimension("rehydrate_priority", tuple(dict.fromkeys([own, *mixes])))


def _workers(sc: Scenario, sizing: Sizing, options: SpaceOptions) -> Dimension | None:
    """The profile's worker sizes (or those asked), each at the fewest workers its slots
    take, doubling up to one per disk: (size, count) pairs; None is Veeam's sizing."""
    kinds = options.restore_points or (sc.restore_point.kind,)
    if "backup" not in kinds:
        if options.worker_sizes:
            raise ScenarioError(sc.name, "--worker-sizes", "a snapshot restore uses no workers")
        return None
    for size in options.worker_sizes or ():
        if size not in sizing.vm_sizes:
            raise ScenarioError(sc.name, "--worker-sizes", f"{size!r} is not a size of the region "
                                f"profile's vm_sizes ({', '.join(sorted(sizing.vm_sizes))})")
    base = sc if sc.restore_point.kind == "backup" else variant(sc, {"restore_point": "backup"})
    plan = build_plan(base.model_copy(update={"workers": None}), sizing)
    default = (plan.context.workers[0].size, len(plan.context.workers))
    disks = len(plan.context.disks)
    sizes = options.worker_sizes or tuple(dict.fromkeys(r.size for r in sizing.worker_profile))
    pairs = [(size, count) for size in sizes for count in _counts(disks, sizing, size)]
    own = [sc.workers.size, sc.workers.count] if sc.workers else None
    values = [own, *[None if p == default else list(p) for p in pairs]]
    return Dimension("workers", tuple(_unique(values)))


def _counts(disks: int, sizing: Sizing, size: str) -> list[int]:
    fewest = math.ceil(disks / sizing.max_data_disks[size])
    counts = [fewest * 2 ** k for k in range(disks.bit_length()) if fewest * 2 ** k < disks]
    return [*counts, disks]


def _disk_skus(sc: Scenario, skus: tuple[str, ...] | None) -> Dimension | None:
    if skus is None:
        return None
    if sc.is_original_location:
        raise ScenarioError(sc.name, "--disk-skus", "target.disk_sku is settable only with "
                            "target.location: new (an original-location restore keeps the "
                            "source's disks' SKUs)")
    known = {s.value for s in DiskSku}
    unknown = [s for s in skus if s not in known]
    if unknown:
        raise ScenarioError(sc.name, "--disk-skus", f"{unknown[0]!r} is not a disk SKU "
                            f"({', '.join(sorted(known))})")
    own = sc.target.disk_sku
    own = {str(k): str(v) for k, v in own.items()} if isinstance(own, dict) else (
        None if own is None else str(own))
    return Dimension("target.disk_sku", tuple(_unique([own, *skus])))


def _fleet(sc: Scenario, max_workers: tuple[int, ...] | None,
           keep_order: bool) -> list[Dimension | None]:
    """A fleet's pool size, its warm pool and (unless ``keep_order``) the order of its
    groups."""
    fleet = sc.fleet
    if fleet is None:
        given = "--max-workers" if max_workers else "--keep-order" if keep_order else None
        if given:
            raise ScenarioError(sc.name, given, "applies to a fleet only (the scenario has no "
                                "fleet block)")
        return []
    own = fleet.max_workers
    sizes = max_workers or (max(1, own // 2), own, own * 2, own * 4)
    pool = fleet.worker_pool
    pools = [{"warm": pool.warm, "min": pool.min}, {"warm": True, "min": "max_workers"},
             {"warm": not pool.warm, "min": pool.min}]
    priorities = [g.priority for g in fleet.groups]
    orders = itertools.permutations(priorities) if len(priorities) <= MAX_ORDERED_GROUPS \
        else [tuple(priorities), tuple(reversed(priorities))]
    return [Dimension("fleet.max_workers", tuple(_unique(
                [own, *[n for n in sizes if 1 <= n <= fleet.count]]))),
            Dimension("fleet.worker_pool", tuple(_unique(pools))),
            None if keep_order else Dimension("fleet.order", tuple(_unique(
                [list(o) for o in orders])))]


def _unique(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def _set_rehydration(raw: dict, value: str | Sequence[str]) -> None:
    groups = raw.get("fleet", {}).get("groups", [])
    each = [value] * len(groups) if isinstance(value, str) else list(value)
    if isinstance(value, str) or len(set(each)) == 1:
        raw["restore_point"]["rehydrate_priority"] = each[0] if each else value
        for group in groups:
            group.pop("rehydrate_priority", None)
        return
    for group, priority in zip(groups, each, strict=True):
        group["rehydrate_priority"] = priority


def _set_workers(raw: dict, value: Sequence | None) -> None:
    if value is None:
        raw.pop("workers", None)
    else:
        raw["workers"] = {"size": value[0], "count": value[1]}


def _set_fleet(raw: dict, choice: Choice) -> None:
    fleet = raw.get("fleet")
    if fleet is None:
        return
    if "fleet.max_workers" in choice:
        fleet["max_workers"] = choice["fleet.max_workers"]
    most = fleet.get("max_workers", VEEAM_MAX_WORKERS)
    pool = {**fleet.get("worker_pool", {}), **(choice.get("fleet.worker_pool") or {})}
    fewest = pool.get("min", VEEAM_MIN_WORKERS)
    pool["min"] = most if fewest == "max_workers" else min(fewest, most)
    fleet["worker_pool"] = pool
    for group, priority in zip(fleet["groups"], choice.get("fleet.order", ()), strict=False):
        group["priority"] = priority
