"""Test helpers: a small scenario factory, fixed-latency profiles and report checks.

The checks derive what a restore must look like from the scenario's own fields (and the
seed's rules), never from the plan, so they can disagree with the engine.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from helpers_placement import assert_vm_settings, public_ips

from restore import Report, Scenario, parse_scenario
from restore.backends.prepared import tenant
from restore.backends.profiles import RestoreProfile, load_profile
from restore.backends.world import build_world
from restore.engine import dry_run
from restore.ops import CreateDisk, CreateNic, CreateResourceGroup, CreateSnapshot, CreateVm
from restore.plan import build_plan

ROOT = Path(__file__).resolve().parents[1]
ALL_SCENARIO_FILES = sorted((ROOT / "scenarios").glob("*.yaml"))
SCENARIO_FILES = [p for p in ALL_SCENARIO_FILES if not p.stem.startswith("fleet-")]
"""The single-VM scenarios (fleets are restored by simulate_fleet)."""
FAULTED_FILES = [p for p in SCENARIO_FILES if p.stem.startswith("faulted-")]
CLEAN_FILES = [p for p in SCENARIO_FILES if p not in FAULTED_FILES]

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
APPLIANCE_ID = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-backup/providers/"
                "Microsoft.Compute/virtualMachines/veeam-appliance")
RESTORE_ID_TAG = "restorelab-restore-id"
APPLIANCE_TAG = "veeam-backup-appliance-id"
DISKS = "Microsoft.Compute/disks"
VMS = "Microsoft.Compute/virtualMachines"
NICS = "Microsoft.Network/networkInterfaces"
GROUPS = "Microsoft.Resources/resourceGroups"

# The seed's twelve steps (vm_restore_entire_hiw.md), in its order.
SEED_STEPS = (
    "retrieve_archived_data", "create_staging_rg", "create_empty_disks", "launch_worker",
    "restore_data", "detach_disks", "deallocate_worker", "remove_source_vm", "move_disks",
    "create_vm", "attach_disks", "remove_staging_rg",
)
WORKER_STEPS = {"launch_worker", "restore_data", "detach_disks", "deallocate_worker",
                "remove_worker"}
WORKER_SIZES = {"Standard_F2s_v2": 4, "Standard_F4s_v2": 8, "Standard_F8s_v2": 16}

# (kind, tier, rehydrate_priority) x location: the six paths (archive in both priorities).
RESTORE_POINTS = [
    pytest.param(("backup", "hot", None), id="hot"),
    pytest.param(("backup", "archive", "standard"), id="archive-standard"),
    pytest.param(("backup", "archive", "high"), id="archive-high"),
    pytest.param(("snapshot", "hot", None), id="snapshot"),
]
LOCATIONS = [pytest.param("original", id="original"), pytest.param("new", id="new")]


# -- scenarios ---------------------------------------------------------------------------

def scenario_dict(*, name: str = "t-restore", kind: str = "backup", tier: str = "hot",
                  priority: str | None = None, location: str = "original",
                  size: str = "Standard_D4s_v5", os_disk: dict | None = None,
                  data_disks: list[dict] | None = None, zone: str | None = None,
                  network: dict | None = None, target: dict | None = None,
                  seed: int = 3) -> dict[str, Any]:
    """A small valid scenario as a plain mapping; callers tweak it before parsing."""
    source: dict[str, Any] = {
        "name": "app01", "resource_group": "rg-prod", "location": "westeurope", "size": size,
        "os_disk": os_disk or {"size_gb": 64, "sku": "Premium_LRS", "used_gb": 20},
        "data_disks": [{"size_gb": 128, "sku": "Premium_LRS", "used_gb": 40},
                       {"size_gb": 32, "sku": "StandardSSD_LRS"}]
        if data_disks is None else data_disks,
    }
    if zone is not None:
        source["zone"] = zone
    if network is not None:
        source["network"] = network
    restore_point: dict[str, Any] = {"kind": kind, "tier": tier}
    if priority is not None:
        restore_point["rehydrate_priority"] = priority
    return {
        "name": name, "seed": seed, "appliance_id": APPLIANCE_ID, "source_vm": source,
        "restore_point": restore_point,
        "target": {"location": location, **(target or {})},
    }


def make_scenario(**kwargs: Any) -> Scenario:
    return parse_scenario(scenario_dict(**kwargs))


VARIANTS = ("vm", "disks", "selective", "replace")
"""What a path restores: the VM (the default), its disks only (``target.mode: disks``),
the VM with some disks (LUN 1 not restored; at the original location its source disk is
removed with the source VM, opted in), or (original location only) the source VM's disks
replaced (``target.mode: replace_disks``)."""


def path_scenario(point: tuple[str, str, str | None], location: str, variant: str = "vm",
                  **kwargs: Any) -> Scenario:
    kind, tier, priority = point
    raw = scenario_dict(kind=kind, tier=tier, priority=priority, location=location, **kwargs)
    if variant == "disks":
        raw["target"]["mode"] = "disks"
    elif variant == "replace":
        assert location == "original", "replace_disks swaps the source VM's own disks"
        raw["target"]["mode"] = "replace_disks"
    elif variant == "drill":
        assert location == "new", "a drill restores into a network of its own"
        raw["target"] = {"location": "new", "mode": "drill"}
        raw["drill"] = {"script": "test -d /var/www"}
    elif variant == "selective":
        raw["restore_point"]["exclude_luns"] = [1]
        if location == "original":
            raw["target"]["remove_unrestored_disks"] = True
    else:
        assert variant == "vm", variant
    return parse_scenario(raw)


def with_changes(raw: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``raw`` with ``a.b.0.c`` set to ``value``."""
    raw = copy.deepcopy(raw)
    *parents, last = dotted.split(".")
    node: Any = raw
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return raw


# -- profiles ----------------------------------------------------------------------------

def fixed_profile(seconds: float = 10.0, **overrides: float) -> RestoreProfile:
    """The default profile with every latency and rehydration fixed (deterministic time);
    reads (``get_resource``, ``find_resources``) are instant unless overridden."""
    raw = load_profile("default").model_dump()
    reads = {"get_resource": 0.0, "find_resources": 0.0}
    raw["latency"] = {kind: {"fixed": overrides.get(kind, reads.get(kind, seconds))}
                      for kind in raw["latency"]}
    high = raw["rehydration"]["high"]
    raw["rehydration"] = {
        "standard": {"fixed": overrides.get("standard", 5 * 3600.0)},
        "high": {"fixed": overrides.get("high", 1200.0),
                 **{k: high[k] for k in ("small_gb", "extra_s_per_gb", "account_gib_per_hour")}},
    }
    return RestoreProfile.model_validate(raw)


# -- report helpers ----------------------------------------------------------------------

def by_id(report: Report) -> dict[str, dict[str, Any]]:
    return {r["id"].lower(): r for r in report.final_state["resources"]}


def step(report: Report, name: str) -> dict[str, Any]:
    found = [s for s in report.steps if s["name"] == name]
    assert len(found) == 1, f"step {name} ran {len(found)} times"
    return found[0]


def step_duration(report: Report, name: str) -> float:
    s = step(report, name)
    return s["end_s"] - s["start_s"]


def steps_in_start_order(report: Report) -> list[str]:
    return [s["name"] for s in sorted(report.steps, key=lambda s: s["start_s"])]


def expected_seed_steps(sc: Scenario) -> list[str]:
    """The seed's steps this scenario must run, from the seed's 'Applies only if' notes;
    restoring disks only stops once the disks are written and the worker deallocated."""
    disks_only = sc.target.mode == "disks"
    original = sc.target.location == "original" and not disks_only
    if sc.restore_point.kind == "snapshot":
        return [] if disks_only else [*(["remove_source_vm"] if original else []),
                                      "create_vm", "attach_disks"]
    archive = sc.restore_point.tier == "archive"
    return [s for s in SEED_STEPS
            if (s != "retrieve_archived_data" or archive)
            and (s not in ("create_staging_rg", "remove_source_vm", "move_disks",
                           "remove_staging_rg") or original)
            and (s not in ("create_vm", "attach_disks") or not disks_only)]


def is_worker(resource_id: str) -> bool:
    return "restorelab-worker" in resource_id.lower()


def expected_target(sc: Scenario) -> dict[str, Any]:
    """Name, group, region, size, zone, tags, power state the restored VM must have."""
    src, t = sc.source_vm, sc.target
    if t.location == "original":
        return {"name": src.name, "resource_group": src.resource_group,
                "location": src.location, "size": src.size, "zone": src.zone, "tags": {},
                "power_state": "running" if t.power_on else "deallocated"}
    return {"name": t.vm_name or f"{src.name}-restored",
            "resource_group": t.resource_group or src.resource_group,
            "location": t.region or src.location, "size": t.vm_size or src.size,
            "zone": t.zone, "tags": dict(t.tags),
            "power_state": "running" if t.power_on else "deallocated"}


def source_disk_names(sc: Scenario) -> dict[Any, str]:
    """Each source disk's name by LUN ('os' for the OS disk)."""
    src = sc.source_vm
    names = {"os": src.os_disk.name or f"{src.name}-osdisk"}
    for i, d in enumerate(src.data_disks):
        lun = d.lun if d.lun is not None else i
        names[lun] = d.name or f"{src.name}-datadisk-{lun}"
    return names


def chosen(sc: Scenario) -> set[Any]:
    """The LUNs ('os' for the OS disk) the scenario restores."""
    every = set(source_disk_names(sc))
    rp = sc.restore_point
    if rp.disks is not None:
        return set(rp.disks)
    return every - set(rp.exclude_luns or ())


def expected_disks(sc: Scenario) -> dict[Any, tuple[int, str]]:
    """(size, SKU) of each restored disk by LUN ('os' for the OS disk)."""
    src, choice = sc.source_vm, sc.target.disk_sku
    specs = {"os": src.os_disk, **{d.lun if d.lun is not None else i: d
                                   for i, d in enumerate(src.data_disks)}}
    specs = {lun: spec for lun, spec in specs.items() if lun in chosen(sc)}
    out = {}
    for lun, spec in specs.items():
        sku = str(spec.sku)
        if isinstance(choice, dict):
            sku = str(choice.get(lun, spec.sku))
        elif choice is not None:
            sku = str(choice)
        out[lun] = (spec.size_gb, sku)
    return out


def before_state(sc: Scenario) -> list[dict[str, Any]]:
    """The subscription as the sim backend seeds it before the restore."""
    profile = load_profile(sc.region_profile)
    plan = build_plan(sc, profile.sizing)
    return build_world(sc, plan, profile.sizing.max_data_disks,
                       state=tenant(sc, profile)).export()


def planned_ops(sc: Scenario) -> list[tuple[str, Any]]:
    """(step, operation) of every operation a dry run lists."""
    plan = build_plan(sc, load_profile(sc.region_profile).sizing)
    return [(t.step, t.op) for t in dry_run(plan)]


CREATE_OPS = (CreateResourceGroup, CreateDisk, CreateSnapshot, CreateNic, CreateVm)


def assert_restored(sc: Scenario, report: Report) -> None:
    """Every property a successful restore of ``sc`` must have (see the issue)."""
    if sc.target.mode == "disks":
        assert_disks_restored(sc, report)
        return
    if sc.target.mode == "replace_disks":
        from helpers_modes import assert_disks_replaced

        assert_disks_replaced(sc, report)
        return
    if sc.target.mode == "drill":
        from helpers_modes import assert_drilled

        assert_drilled(report)
        return
    assert report.status == "succeeded", report.error
    assert report.error is None
    res = by_id(report)
    rid = report.restore_id
    original = sc.target.location == "original"
    snapshot = sc.restore_point.kind == "snapshot"

    # The seed's steps, in the seed's order, each after the previous one ended.
    seed_steps = [s for s in steps_in_start_order(report) if s in SEED_STEPS]
    assert seed_steps == expected_seed_steps(sc)
    for earlier, later in zip(seed_steps, seed_steps[1:], strict=False):
        assert step(report, later)["start_s"] >= step(report, earlier)["end_s"]
    assert all(s["status"] == "succeeded" for s in report.steps)
    assert all(o["status"] == "succeeded" for o in report.operations)
    ops = planned_ops(sc)
    if snapshot:
        assert not WORKER_STEPS & {s["name"] for s in report.steps}
        assert not any(o["op"] == "write_disk_data" or is_worker(o["resource"])
                       for o in report.operations)
        assert not any(is_worker(op.resource) for _, op in ops)
    else:
        assert "create_disks_from_snapshots" not in {s["name"] for s in report.steps}

    # The restored VM: the target's settings.
    want = expected_target(sc)
    vm_id = (f"/subscriptions/{sc.target_subscription}/resourceGroups/{want['resource_group']}"
             f"/providers/{VMS}/{want['name']}")
    vm = res.get(vm_id.lower())
    assert vm is not None, f"no VM at {vm_id}"
    props = vm["properties"]
    assert (vm["name"], vm["resource_group"], vm["location"]) == (
        want["name"], want["resource_group"], want["location"])
    assert props["vmSize"] == want["size"]
    assert props["zone"] == want["zone"]
    assert props["powerState"] == want["power_state"]
    assert vm["tags"] == {**want["tags"], RESTORE_ID_TAG: rid}
    assert report.restored_vm is not None
    assert report.restored_vm["id"].lower() == vm_id.lower()
    assert (report.restored_vm["name"], report.restored_vm["resource_group"],
            report.restored_vm["location"], report.restored_vm["size"]) == (
        want["name"], want["resource_group"], want["location"], want["size"])

    # Its disks: the source's count and sizes, the target's SKUs, group, region and zone.
    disks = {"os": props["osDisk"], **{d["lun"]: d["id"] for d in props["dataDisks"]}}
    assert set(disks) == chosen(sc)
    assert report.restored_vm["disks"] == [props["osDisk"],
                                           *(d["id"] for d in props["dataDisks"])]
    expected = expected_disks(sc)
    assert set(disks) == set(expected)
    for lun, disk_id in disks.items():
        disk = res[disk_id.lower()]
        assert (disk["properties"]["diskSizeGB"], disk["properties"]["sku"]) == expected[lun], lun
        assert disk["resource_group"] == want["resource_group"]
        assert disk["location"] == want["location"]
        assert disk["properties"]["zone"] == want["zone"]
        assert disk["properties"]["managedBy"].lower() == vm_id.lower()
        assert disk["tags"].get(RESTORE_ID_TAG) == rid
        assert disk["properties"]["createOption"] == ("Copy" if snapshot else "Empty")
    nic = res[props["networkInterface"].lower()]
    assert nic["location"] == want["location"]
    assert nic["properties"]["virtualMachine"].lower() == vm_id.lower()
    assert_vm_settings(sc, res, vm, nic, disks)

    # The source: gone after an original-location restore, untouched after a new one.
    before = {r["id"].lower(): r for r in before_state(sc)}
    src = sc.source_vm
    src_vm = (f"/subscriptions/{sc.subscription}/resourceGroups/{src.resource_group}"
              f"/providers/{VMS}/{src.name}").lower()
    src_disks = [i for i, r in before.items() if r["type"] == DISKS]
    assert src_vm in before and len(src_disks) == 1 + len(src.data_disks)
    not_restored = [source_disk_id(sc, name) for lun, name in source_disk_names(sc).items()
                    if lun not in chosen(sc)]
    assert report.removed_not_restored == (not_restored if original else [])
    assert {d["lun"] if d["lun"] is not None else "os": d["id"].lower()
            for d in report.restored_disks} == {lun: i.lower() for lun, i in disks.items()}
    if original:
        assert report.source_intact is False
        for old in [src_vm, *src_disks]:
            # Only a restored resource (with our tag) may now stand at a source id.
            now = res.get(old)
            assert now is None or now["tags"].get(RESTORE_ID_TAG) == rid, old
            if snapshot and old != src_vm:
                assert now is None, old
        assert not any(r["type"] in (DISKS, VMS) and RESTORE_ID_TAG not in r["tags"]
                       for r in res.values())
    else:
        assert report.source_intact is True
        for old in [src_vm, *src_disks]:
            assert res[old] == before[old]

    # Nothing temporary is left.
    assert report.leaked == []
    kept = {vm_id.lower(), props["networkInterface"].lower(), *(d.lower() for d in disks.values()),
            *public_ips(nic)}
    tagged = {i for i, r in res.items() if r["tags"].get(RESTORE_ID_TAG) == rid}
    assert tagged <= kept
    assert not [i for i in res if is_worker(i)]
    assert not [i for i in res if "restorelab-staging" in i]
    # Everything that was not there before the restore carries the restore-id tag.
    for new_id in set(res) - set(before):
        assert res[new_id]["tags"].get(RESTORE_ID_TAG) == rid, new_id

    # Every resource the engine creates is tagged; the staging group also with the appliance.
    groups = [op for _, op in ops if isinstance(op, CreateResourceGroup)]
    if original and not snapshot:
        assert len(groups) == 1
        tags = dict(groups[0].tags)
        assert tags[APPLIANCE_TAG] == sc.appliance_id
        assert tags[RESTORE_ID_TAG] == rid
        assert groups[0].id.lower() not in res
        assert [s for s, op in ops if op is groups[0]] == ["create_staging_rg"]
    else:
        assert groups == []
    for _, op in ops:
        if isinstance(op, CREATE_OPS):
            assert dict(op.tags).get(RESTORE_ID_TAG) == rid, op


def source_disk_id(sc: Scenario, name: str) -> str:
    return (f"/subscriptions/{sc.subscription}/resourceGroups/{sc.source_vm.resource_group}"
            f"/providers/{DISKS}/{name}")


def assert_disks_restored(sc: Scenario, report: Report) -> None:
    """Every property of a successful restore of disks only (``target.mode: disks``): the
    chosen disks, named ``<source disk>-restored``, in the target group and region,
    attached to nothing; the source untouched; nothing temporary left."""
    assert report.status == "succeeded", report.error
    assert all(s["status"] == "succeeded" for s in report.steps)
    seed_steps = [s for s in steps_in_start_order(report) if s in SEED_STEPS]
    assert seed_steps == expected_seed_steps(sc)
    assert not {"create_vm", "attach_disks", "remove_source_vm", "create_staging_rg",
                "stop_restored_vm"} & {s["name"] for s in report.steps}
    res, rid, t = by_id(report), report.restore_id, sc.target
    original = t.location == "original"
    group = sc.source_vm.resource_group if original else (t.resource_group or
                                                         sc.source_vm.resource_group)
    location = sc.source_vm.location if original else (t.region or sc.source_vm.location)
    zone = sc.source_vm.zone if original else t.zone
    assert report.restored_vm is None
    assert not [r for r in res.values() if r["type"] == VMS and RESTORE_ID_TAG in r["tags"]]
    names, expected = source_disk_names(sc), expected_disks(sc)
    listed = {d["lun"] if d["lun"] is not None else "os": d for d in report.restored_disks}
    assert set(listed) == set(expected) == chosen(sc)
    for lun, entry in listed.items():
        disk_id = (f"/subscriptions/{sc.subscription}/resourceGroups/{group}/providers/"
                   f"{DISKS}/{names[lun]}-restored")
        assert entry["id"].lower() == disk_id.lower()
        assert entry["source"].lower() == source_disk_id(sc, names[lun]).lower()
        disk = res[disk_id.lower()]
        assert (disk["properties"]["diskSizeGB"], disk["properties"]["sku"]) == expected[lun]
        assert (entry["size_gb"], entry["sku"]) == expected[lun]
        assert (disk["resource_group"], disk["location"]) == (group, location)
        assert disk["properties"]["zone"] == zone
        assert disk["properties"]["managedBy"] is None
        assert disk["tags"] == {**(dict(t.tags) if not original else {}), RESTORE_ID_TAG: rid}
        snapshot = sc.restore_point.kind == "snapshot"
        assert disk["properties"]["createOption"] == ("Copy" if snapshot else "Empty")
    # The source is untouched; nothing but the restored disks is left of the restore.
    before = {r["id"].lower(): r for r in before_state(sc)}
    assert report.source_intact is True and report.removed_not_restored == []
    for old, resource in before.items():
        assert res[old] == resource, old
    assert report.leaked == [] and report.kept == []
    tagged = {i for i, r in res.items() if r["tags"].get(RESTORE_ID_TAG) == rid}
    assert tagged == {d["id"].lower() for d in report.restored_disks}
    assert set(res) - set(before) == tagged
    for _, op in planned_ops(sc):
        assert not isinstance(op, CreateResourceGroup)
        assert not isinstance(op, CreateVm) or op.os_disk_from_image  # workers only
        if isinstance(op, CREATE_OPS):
            assert dict(op.tags).get(RESTORE_ID_TAG) == rid, op


def readme_example(marker: str) -> dict[str, Any]:
    """Run the README's one ```python block containing ``marker``; its namespace."""
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", readme, re.DOTALL) if marker in b]
    assert len(blocks) == 1, f"{len(blocks)} README blocks contain {marker!r}"
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    return namespace


def vm_network(net: Any, group: str, location: str = "eastus") -> Any:
    """A virtual network ``vnet`` (10.0.0.0/16) with subnet ``default`` and a NIC ``nic``
    on it in ``group``, made with the network SDK client ``net``; the NIC."""
    from azure.mgmt.network import models as network

    vnet = net.virtual_networks.begin_create_or_update(group, "vnet", network.VirtualNetwork(
        location=location, address_space=network.AddressSpace(
            address_prefixes=["10.0.0.0/16"]))).result()
    subnet = net.subnets.begin_create_or_update(
        group, vnet.name, "default", network.Subnet(address_prefix="10.0.0.0/24")).result()
    return net.network_interfaces.begin_create_or_update(group, "nic", network.NetworkInterface(
        location=location, ip_configurations=[network.NetworkInterfaceIPConfiguration(
            name="ipconfig1", subnet=network.Subnet(id=subnet.id))])).result()
