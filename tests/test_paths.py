"""Every restore path follows the seed's steps and ends in the right state."""

from __future__ import annotations

from collections import Counter

import pytest
from helpers import (
    APPLIANCE_ID,
    APPLIANCE_TAG,
    CLEAN_FILES,
    LOCATIONS,
    RESTORE_ID_TAG,
    RESTORE_POINTS,
    SCENARIO_FILES,
    WORKER_SIZES,
    assert_restored,
    by_id,
    make_scenario,
    path_scenario,
    planned_ops,
    scenario_dict,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import restore
from fakecloud.models import CloudState
from restore import load_scenario
from restore.backends.profiles import load_profile
from restore.engine import dry_run
from restore.ops import AttachDisks, CreateNic, CreateVm, WriteDiskData
from restore.plan import build_plan

# -- the six paths -------------------------------------------------------------------------


@pytest.mark.parametrize("location", LOCATIONS)
@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_each_path_runs_the_seeds_steps_and_restores_the_vm(point, location):
    scenario = path_scenario(point, location)
    assert_restored(scenario, restore.simulate(scenario))


@pytest.mark.parametrize("location", LOCATIONS)
@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_each_path_in_an_availability_zone_with_custom_luns_and_names(point, location):
    scenario = path_scenario(point, location, zone="2", data_disks=[
        {"size_gb": 256, "sku": "Premium_LRS", "lun": 5, "name": "logs"},
        {"size_gb": 16, "sku": "Standard_LRS", "lun": 2},
    ], target={"zone": "2", "resource_group": "rg-restore"} if location == "new" else None)
    assert_restored(scenario, restore.simulate(scenario, seed=11))


@pytest.mark.parametrize("location", LOCATIONS)
@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_each_path_without_data_disks(point, location):
    scenario = path_scenario(point, location, data_disks=[])
    report = restore.simulate(scenario)
    assert_restored(scenario, report)
    assert not any(o["op"] == "attach_disks" and o["step"] == "attach_disks"
                   for o in report.operations)


@pytest.mark.parametrize("path", CLEAN_FILES, ids=lambda p: p.stem)
def test_shipped_scenario_restores_correctly(path):
    scenario = load_scenario(path)
    assert_restored(scenario, restore.simulate(scenario))


@pytest.mark.parametrize("path", CLEAN_FILES, ids=lambda p: p.stem)
@pytest.mark.parametrize("seed", [0, 1234])
def test_shipped_scenario_restores_correctly_with_other_seeds(path, seed):
    scenario = load_scenario(path)
    assert_restored(scenario, restore.simulate(scenario, seed=seed))


def test_shipped_scenarios_cover_every_path():
    covered = set()
    for path in SCENARIO_FILES:
        sc = load_scenario(path)
        rp = sc.restore_point
        covered.add((rp.kind, rp.tier, rp.priority if rp.tier == "archive" else None,
                     sc.target.location))
    for kind, tier in [("backup", "hot"), ("backup", "archive"), ("snapshot", "hot")]:
        for location in ("original", "new"):
            assert any(c[0] == kind and c[1] == tier and c[3] == location for c in covered), (
                kind, tier, location)
    assert {c[2] for c in covered if c[1] == "archive"} == {"standard", "high"}


def test_new_location_changed_settings_literally():
    """scenarios/new-location-changed-settings.yaml, spelled out."""
    scenario = load_scenario(next(p for p in SCENARIO_FILES
                                  if p.stem == "new-location-changed-settings"))
    report = restore.simulate(scenario)
    assert report.status == "succeeded"
    res = by_id(report)
    vm = report.restored_vm
    assert (vm["name"], vm["resource_group"], vm["location"], vm["size"], vm["zone"]) == (
        "app02-dr", "rg-dr", "northeurope", "Standard_D8s_v5", "2")
    assert vm["power_state"] == "deallocated"
    assert vm["tags"] == {"env": "dr", "owner": "ops", RESTORE_ID_TAG: report.restore_id}
    skus = [(res[d.lower()]["properties"]["sku"], res[d.lower()]["properties"]["diskSizeGB"])
            for d in vm["disks"]]
    assert skus == [("Premium_LRS", 64), ("PremiumV2_LRS", 256), ("StandardSSD_LRS", 512)]
    nic = res[res[vm["id"].lower()]["properties"]["networkInterface"].lower()]
    assert nic["resource_group"] == "rg-dr"
    assert nic["properties"]["subnet"].endswith(
        "/resourceGroups/rg-dr/providers/Microsoft.Network/virtualNetworks/vnet-dr/subnets/app")
    # The worker ran in the target region, and the VM was deallocated after the disks went on.
    worker_vms = [op for _, op in planned_ops(scenario) if isinstance(op, CreateVm)
                  and op.os_disk_from_image]
    assert worker_vms and all(op.location == "northeurope" for op in worker_vms)
    stop = next(s for s in report.steps if s["name"] == "stop_restored_vm")
    attach = next(s for s in report.steps if s["name"] == "attach_disks")
    assert stop["start_s"] >= attach["end_s"]


def test_power_on_default_leaves_the_vm_running_and_skips_the_stop():
    report = restore.simulate(make_scenario(location="new"))
    assert report.restored_vm["power_state"] == "running"
    assert "stop_restored_vm" not in {s["name"] for s in report.steps}


def test_staging_group_carries_the_appliance_tag_while_it_exists(monkeypatch):
    """Watch the region model itself: the staging group has both tags from its creation
    until its removal."""
    scenario = make_scenario(location="original")
    seen: dict[str, dict[str, str]] = {}
    create, delete = CloudState.create_resource_group, CloudState.delete_resource_group

    def watch_create(self, group_id, location, tags={}):  # noqa: B006 - mirrors the API
        made = create(self, group_id, location, tags)
        seen[f"created {made.name}"] = dict(made.tags)
        return made

    def watch_delete(self, group_id):
        seen[f"deleted {self.find(group_id).name}"] = dict(self.find(group_id).tags)
        return delete(self, group_id)

    monkeypatch.setattr(CloudState, "create_resource_group", watch_create)
    monkeypatch.setattr(CloudState, "delete_resource_group", watch_delete)
    report = restore.simulate(scenario)
    assert report.status == "succeeded"
    staging = f"restorelab-staging-app01-{report.restore_id}"
    expected = {APPLIANCE_TAG: APPLIANCE_ID, RESTORE_ID_TAG: report.restore_id}
    assert seen[f"created {staging}"] == expected
    assert seen[f"deleted {staging}"] == expected
    assert staging.lower() not in " ".join(by_id(report))
    # Only the staging group is created with our tags (the world's groups are untagged).
    assert [k for k, v in seen.items() if v] == [f"created {staging}", f"deleted {staging}"]


# -- worker sizing ---------------------------------------------------------------------------


def _workers(os_gb: int, data_gbs: list[int], size: str = "Standard_D16s_v5", **kw):
    scenario = make_scenario(size=size, os_disk={"size_gb": os_gb},
                             data_disks=[{"size_gb": g} for g in data_gbs], **kw)
    return scenario, build_plan(scenario, load_profile("default").sizing)


@pytest.mark.parametrize(("os_gb", "data_gbs", "worker"), [
    (32, [], "Standard_F2s_v2"),
    (64, [35], "Standard_F2s_v2"),           # 99 GB
    (64, [36], "Standard_F4s_v2"),           # 100 GB
    (64, [128, 256], "Standard_F4s_v2"),
    (64, [959], "Standard_F4s_v2"),          # 1023 GB
    (64, [961], "Standard_F8s_v2"),          # 1025 GB
    (128, [1024, 2048], "Standard_F8s_v2"),
])
def test_worker_size_follows_total_disk_size(os_gb, data_gbs, worker):
    _, plan = _workers(os_gb, data_gbs)
    assert {w.size for w in plan.context.workers} == {worker}
    assert len(plan.context.workers) == 1


def test_exactly_one_terabyte_gets_the_medium_worker():
    _, plan = _workers(64, [960])
    assert [w.size for w in plan.context.workers] == ["Standard_F4s_v2"]


@pytest.mark.parametrize(("os_gb", "data_gbs", "worker", "count"), [
    (64, [64] * 10, "Standard_F4s_v2", 2),       # 11 disks, F4s_v2 takes 8
    (10, [10] * 4, "Standard_F2s_v2", 2),        # 5 disks, F2s_v2 takes 4
    (10, [10] * 8, "Standard_F2s_v2", 3),        # 9 disks
    (1024, [64] * 16, "Standard_F8s_v2", 2),     # 17 disks, F8s_v2 takes 16
    (1024, [64] * 32, "Standard_F8s_v2", 3),     # 33 disks
])
def test_more_disks_than_a_worker_takes_get_more_workers(os_gb, data_gbs, worker, count):
    scenario, plan = _workers(os_gb, data_gbs)
    workers = plan.context.workers
    assert len(workers) == count
    assert {w.size for w in workers} == {worker}
    assert all(0 < len(w.disks) <= WORKER_SIZES[worker] for w in workers)
    assigned = Counter(d.id for w in workers for d in w.disks)
    assert sorted(assigned) == sorted(d.id for d in plan.context.disks)
    assert set(assigned.values()) == {1}
    # No attach to a worker ever exceeds its size's data-disk slots.
    attaches = [op for step, op in planned_ops(scenario) if step == "launch_worker"
                and isinstance(op, AttachDisks)]
    assert len(attaches) == count
    assert all(len(op.disks) <= WORKER_SIZES[worker] for op in attaches)


@pytest.mark.parametrize("location", LOCATIONS)
def test_eleven_disks_restore_with_two_workers_that_are_removed(location):
    scenario = make_scenario(location=location, size="Standard_D16s_v5",
                             os_disk={"size_gb": 64, "used_gb": 10},
                             data_disks=[{"size_gb": 64, "used_gb": 20}] * 10)
    report = restore.simulate(scenario)
    assert_restored(scenario, report)
    ops = planned_ops(scenario)
    workers = [op for _, op in ops if isinstance(op, CreateVm) and op.os_disk_from_image]
    assert len(workers) == 2 and {w.size for w in workers} == {"Standard_F4s_v2"}
    writes = [op for _, op in ops if isinstance(op, WriteDiskData)]
    assert all(len(w.writes) <= 8 for w in writes)
    assert sum(len(w.writes) for w in writes) == 11
    # Worker VM, NIC and OS disk existed during the restore and are gone at the end.
    res = by_id(report)
    for w in workers:
        for rid in (w.id, w.nic, w.os_disk):
            assert rid.lower() not in res
            assert any(o["resource"].lower() == rid.lower() and o["op"].startswith("delete")
                       for o in report.operations), rid
    nics = [op for _, op in ops if isinstance(op, CreateNic) and "worker" in op.id]
    assert len(nics) == 2


def test_snapshot_path_plans_no_worker_operations():
    for location in ("original", "new"):
        scenario = make_scenario(kind="snapshot", location=location)
        plan = build_plan(scenario, load_profile("default").sizing)
        assert plan.context.workers == ()
        kinds = {t.op.kind for t in dry_run(plan)}
        assert "write_disk_data" not in kinds
        assert not any(isinstance(t.op, CreateVm) and t.op.os_disk_from_image
                       for t in dry_run(plan))


# -- property ------------------------------------------------------------------------------

SKUS = ["Premium_LRS", "StandardSSD_LRS", "Standard_LRS"]
POINTS = [("backup", "hot", None), ("backup", "archive", "standard"),
          ("backup", "archive", "high"), ("snapshot", "hot", None)]


@st.composite
def random_restores(draw):
    disks = draw(st.lists(st.tuples(st.integers(1, 2048), st.sampled_from(SKUS)),
                          min_size=1, max_size=12))
    point = draw(st.sampled_from(POINTS))
    location = draw(st.sampled_from(["original", "new"]))
    target = None
    if location == "new":
        target = draw(st.sampled_from([{}, {"resource_group": "rg-dr", "vm_name": "copy"},
                                       {"region": "northeurope", "resource_group": "rg-dr",
                                        "subnet": "vnet-dr/app"}]))
    (os_gb, os_sku), *data = disks
    mode = draw(st.sampled_from(["vm", "disks"]))
    if mode == "disks" and target:  # no VM: no name, no subnet
        target = {k: v for k, v in target.items() if k not in ("vm_name", "subnet")}
    every = ["os", *range(len(data))]
    chosen = draw(st.none() | st.lists(st.sampled_from(every), unique=True, min_size=1))
    if chosen is not None and mode == "vm" and "os" not in chosen:
        chosen = ["os", *chosen]  # a VM needs its OS disk
    target = {**(target or {}), "mode": mode}
    if chosen is not None and len(chosen) < len(every) and location == "original" and (
            mode == "vm"):
        target["remove_unrestored_disks"] = True
    kind, tier, priority = point
    raw = scenario_dict(kind=kind, tier=tier, priority=priority, location=location,
                        size="Standard_D8s_v5", os_disk={"size_gb": os_gb, "sku": os_sku},
                        data_disks=[{"size_gb": g, "sku": s} for g, s in data],
                        target=target, seed=draw(st.integers(0, 2**16)))
    if chosen is not None:
        raw["restore_point"]["disks"] = chosen
    return restore.parse_scenario(raw)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_restores())
def test_any_disk_layout_restores_without_leaks(scenario):
    report = restore.simulate(scenario)
    assert_restored(scenario, report)
    ops = planned_ops(scenario)
    worker_sizes = {op.id: op.size for _, op in ops
                    if isinstance(op, CreateVm) and op.os_disk_from_image}
    for _, op in ops:
        if isinstance(op, AttachDisks) and op.vm in worker_sizes:
            assert len(op.disks) <= WORKER_SIZES[worker_sizes[op.vm]]


@pytest.mark.parametrize("kind", ["backup", "snapshot"])
def test_new_region_with_default_group_and_subnet(kind):
    scenario = make_scenario(kind=kind, location="new", target={"region": "northeurope"})
    assert_restored(scenario, restore.simulate(scenario))


@pytest.mark.parametrize("kind", ["backup", "snapshot"])
def test_new_region_with_its_own_group(kind):
    scenario = make_scenario(kind=kind, location="new",
                             target={"region": "northeurope", "resource_group": "rg-dr"})
    report = restore.simulate(scenario)
    assert_restored(scenario, report)
    copies = [o for o in report.operations if o["op"] == "create_snapshot"]
    assert len(copies) == (3 if kind == "snapshot" else 0)
