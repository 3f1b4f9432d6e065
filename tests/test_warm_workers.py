"""Veeam's warm worker pool: a fleet's workers live in the region's pool group and outlive
one VM's restore; a restore claims and starts a deallocated one before it creates one,
releases it warm at its end, and the pool removes the idle ones past their keep-warm time
but its minimum. The decision is taken on what the region shows, the same on sim and
fake-arm."""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import scenario_dict

import armid as arm
import restore
from fakecloud.models import VirtualMachine
from fakecloud.profile import QuotaLimits
from restore.backends import sim
from restore.backends.fleet import simulate_fleet
from restore.backends.prepared import prepare
from restore.backends.profiles import load_profile
from restore.plan import KEEP_WARM_TAG, POOL_TAG, RESTORE_ID_TAG, PoolSettings, build_plan

ROOMY = load_profile("default").model_copy(update={"quotas": QuotaLimits(
    regional_vcpus=100_000, family_vcpus={}, managed_disks=1_000_000)})
POOL_GROUP = "restorelab-workers-westeurope"


def fleet(count, max_workers=2, max_active=None, **pool):
    raw = scenario_dict(size="Standard_D2s_v5", data_disks=[{"size_gb": 512, "used_gb": 30}])
    raw["fleet"] = {"groups": [{"count": count}], "max_workers": max_workers,
                    **({"max_active": max_active} if max_active else {}),
                    **({"worker_pool": pool} if pool else {})}
    return restore.parse_scenario(raw)


def test_a_pool_of_two_creates_two_workers_and_starts_them_for_the_other_restores():
    report = simulate_fleet(fleet(6), profile=ROOMY)
    summary = report.to_dict()
    assert summary["status"] == "succeeded" and summary["leaked"] == 0
    assert (summary["workers_created"], summary["workers_started"]) == (2, 4)
    assert report.peak_workers == 2
    pool = summary["worker_pool"]
    assert pool["warm"] and pool["group"].endswith(f"/resourceGroups/{POOL_GROUP}")
    assert len(pool["kept"]) == 1 and pool["leaked"] == []  # Veeam's minimum of one
    assert pool["remove_with"] == f"az group delete --name {POOL_GROUP} --yes"


def test_without_the_warm_pool_every_restore_creates_and_removes_its_own_worker():
    summary = simulate_fleet(fleet(6, warm=False), profile=ROOMY).to_dict()
    assert summary["status"] == "succeeded" and summary["leaked"] == 0
    assert (summary["workers_created"], summary["workers_started"]) == (6, 0)
    assert summary["worker_pool"] == {"warm": False}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_starting_warm_workers_shortens_the_makespan(seed):
    # twelve restores all admitted at once, two workers: the pool is what they wait for
    warm = simulate_fleet(fleet(12, max_active=24), seed, ROOMY)
    cold = simulate_fleet(fleet(12, max_active=24, warm=False), seed, ROOMY)
    assert warm.status == cold.status == "succeeded"
    # a worker is held ~150 s less: started (median 60 s) rather than created (120 s),
    # and given back once deallocated rather than once deleted (60 s)
    assert warm.work_s < cold.work_s - 12 * 100
    assert warm.makespan_s < cold.makespan_s - 300


def _pool_vms(state):
    group = arm.resource_group_id(state.subscription, POOL_GROUP)
    if state.find(group) is None:
        return []
    return [r for r in state.in_group(POOL_GROUP) if isinstance(r, VirtualMachine)]


def _one_restore(scenario, pool, state=None, restore_id=None, backend="sim", seed=0,
                 faults=()):
    """A single restore with a worker pool (a fleet's restore, run alone) in ``state``."""
    prepared = prepare(scenario)
    plan = build_plan(scenario, prepared.profile.sizing, restore_id, pool=pool)
    prepared = replace(prepared, plan=plan)
    state = state if state is not None else prepared.world.copy()
    if backend == "sim":
        report = sim.run(prepared, seed, list(faults), None, state)
    else:
        from restore.backends import fake_arm

        report = fake_arm.run(prepared, seed, [], None, state)
    return report, state


def _single():
    return restore.parse_scenario(scenario_dict(
        size="Standard_D2s_v5", data_disks=[{"size_gb": 128, "used_gb": 20}]))


def test_a_released_worker_is_deallocated_untagged_and_kept_warm_for_its_time():
    report, state = _one_restore(_single(), PoolSettings(1, 600.0))
    assert report.status == "succeeded" and report.leaked == []
    (worker,) = _pool_vms(state)
    assert worker.power_state == "deallocated" and not worker.data_disks
    assert worker.tags[POOL_TAG] == "westeurope" and RESTORE_ID_TAG not in worker.tags
    released = next(o for o in report.operations if o["op"] == "tag_worker"
                    and o["step"] == "release_worker")
    assert float(worker.tags[KEEP_WARM_TAG]) == pytest.approx(released["start_s"] + 600.0)
    nic, os_disk = state.find(worker.nic), state.find(worker.os_disk)
    assert nic is not None and os_disk is not None
    assert RESTORE_ID_TAG not in nic.tags and RESTORE_ID_TAG not in os_disk.tags


def test_a_later_restore_starts_the_warm_worker_instead_of_creating_one():
    _, state = _one_restore(_single(), PoolSettings(1, 600.0))
    (warm,) = _pool_vms(state)
    report, state = _one_restore(_single(), PoolSettings(1, 600.0), state, "second01")
    assert report.status == "succeeded" and report.leaked == []
    sent = [o["op"] for o in report.operations if o["step"] == "launch_worker"]
    assert "start_vm" in sent and "create_vm" not in sent and "create_nic" not in sent
    assert [vm.id for vm in _pool_vms(state)] == [warm.id]  # the same worker, warm again
    written = next(o for o in report.operations if o["op"] == "write_disk_data")
    assert written["resource"] == warm.id


def test_a_warm_worker_of_another_size_is_resized_when_claimed():
    _, state = _one_restore(_single(), PoolSettings(1, 600.0))
    (warm,) = _pool_vms(state)
    assert warm.size == "Standard_F4s_v2"  # 192 GB of disks
    big = restore.parse_scenario(scenario_dict(
        size="Standard_D2s_v5", data_disks=[{"size_gb": 2048, "used_gb": 20}]))
    report, state = _one_restore(big, PoolSettings(1, 600.0), state, "second02")
    assert report.status == "succeeded"
    assert [vm.id for vm in _pool_vms(state)] == [warm.id]
    assert state.find(warm.id).size == "Standard_F8s_v2"


def test_a_failed_restore_deletes_the_worker_it_held_with_its_nic_and_os_disk():
    _, state = _one_restore(_single(), PoolSettings(1, 600.0))
    (warm,) = _pool_vms(state)
    report, state = _one_restore(_single(), PoolSettings(1, 600.0), state, "second03",
                                 faults=[restore.Fault(at="restore_data",
                                                       kind="quota_exceeded")])
    assert report.status == "rolled_back" and report.leaked == []
    source = build_plan(_single(), ROOMY.sizing).context.source
    assert all(state.find(i) is not None for i in (source.vm, *source.disks))
    assert state.find(warm.id) is None and state.find(warm.nic) is None
    assert state.find(warm.os_disk) is None


def _differential(first, second):
    """The same restores on both backends: same operations, same times, same state."""
    assert first.status == second.status
    assert [(o["op"], o["resource"], o["status"]) for o in first.operations] == [
        (o["op"], o["resource"], o["status"]) for o in second.operations]
    for a, b in zip(first.operations, second.operations, strict=True):
        assert b["start_s"] == pytest.approx(a["start_s"], abs=1e-6), a["op"]
        assert b["end_s"] == pytest.approx(a["end_s"], abs=1e-6), a["op"]
    assert first.final_state == second.final_state
    assert (first.leaked, first.source_intact) == (second.leaked, second.source_intact)


@pytest.mark.parametrize("seed", [0, 4])
def test_sim_and_fake_arm_create_claim_start_and_release_alike(seed):
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    pool = PoolSettings(1, 600.0)
    on_sim, sim_state = _one_restore(_single(), pool, seed=seed)
    on_arm, arm_state = _one_restore(_single(), pool, backend="fake-arm", seed=seed)
    _differential(on_sim, on_arm)
    again_sim, _ = _one_restore(_single(), pool, sim_state, "second01", seed=seed)
    again_arm, _ = _one_restore(_single(), pool, arm_state, "second01", "fake-arm", seed)
    assert "start_vm" in [o["op"] for o in again_sim.operations]
    _differential(again_sim, again_arm)
