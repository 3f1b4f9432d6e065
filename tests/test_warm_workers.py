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
    assert pool["remove_with"] == (f"az group delete --name {POOL_GROUP} --subscription "
                                   f"{pool['group'].split('/')[2]} --yes")


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


def test_idle_workers_past_their_keep_warm_time_go_and_the_minimum_stays():
    everything = simulate_fleet(fleet(6, min=0), profile=ROOMY).to_dict()
    assert everything["status"] == "succeeded" and everything["worker_pool"]["kept"] == []
    assert everything["worker_pool"]["remove_with"] is None and everything["leaked"] == 0
    assert everything["worker_pool"]["idle_end_s"] >= everything["makespan_s"]
    two = simulate_fleet(fleet(6, min=2), profile=ROOMY).to_dict()
    assert len(two["worker_pool"]["kept"]) == 2 and two["leaked"] == 0


def test_a_short_keep_warm_time_removes_idle_workers_during_the_fleet():
    # two restores at a time: a released worker waits for the next restore's admission
    # (the tail of a restore after its worker is minutes long), longer than 30 s
    kept_warm = simulate_fleet(fleet(6, max_active=2), 1, ROOMY).to_dict()
    short = simulate_fleet(fleet(6, max_active=2, keep_warm_s=30, min=0), 1, ROOMY).to_dict()
    assert kept_warm["status"] == short["status"] == "succeeded"
    assert short["workers_created"] > kept_warm["workers_created"]
    assert short["workers_started"] < kept_warm["workers_started"]
    assert short["worker_pool"]["kept"] == [] and short["leaked"] == 0


def test_the_housekeeping_keeps_the_most_recently_released_and_the_held():
    from restore.backends.pool_rules import Listed, idle

    pool = {POOL_TAG: "westeurope"}
    listed = [Listed("w-a", "s", {**pool, KEEP_WARM_TAG: "100.0"}),
              Listed("w-b", "s", {**pool, KEEP_WARM_TAG: "300.0"}),
              Listed("w-c", "s", {**pool, KEEP_WARM_TAG: "900.0"}),  # still warm at 600
              Listed("w-d", "s", {**pool, RESTORE_ID_TAG: "r1"}),  # held by a restore
              Listed("w-e", "s", dict(pool)),  # never released (its restore stopped)
              Listed("other", "s", {})]  # not the pool's
    assert idle(listed, 0, 600.0) == ["w-a", "w-b", "w-e"]
    assert idle(listed, 1, 600.0) == ["w-a", "w-b", "w-e"]  # w-c is the one kept
    assert idle(listed, 2, 600.0) == ["w-a", "w-e"]
    assert idle(listed, 9, 600.0) == []


def _shrunk_pool_subnet(monkeypatch, prefix):
    from restore.backends import fleet as fleet_module

    built = fleet_module.build_world

    def world(scenario, plan, *args, **kwargs):
        state = built(scenario, plan, *args, **kwargs)
        state.put_subnet(plan.context.pool.subnet, prefix)
        return state

    monkeypatch.setattr(fleet_module, "build_world", world)


def test_the_pool_subnet_needs_a_free_address_per_worker(monkeypatch):
    # a /29 has three free addresses (Azure keeps five): three workers, warm ones included
    _shrunk_pool_subnet(monkeypatch, "10.250.0.0/29")
    three = simulate_fleet(fleet(6, max_workers=3, subnet="pool-vnet/workers"), 2, ROOMY)
    summary = three.to_dict()
    assert summary["status"] == "succeeded" and summary["workers_created"] == 3
    nics = {r.properties()["ipConfigurations"][0]["privateIPAddress"] for r in []}
    assert nics == set()
    four = simulate_fleet(fleet(6, max_workers=4, subnet="pool-vnet/workers"), 2, ROOMY)
    summary = four.to_dict()
    assert summary["status"] == "failed" and summary["workers_created"] == 3
    assert set(summary["errors"]) == {"SubnetIsFull"} and summary["leaked"] == 0
    assert all(v.source_intact for v in four.vms if v.status == "rolled_back")


def test_the_pool_subnet_is_the_workers_own():
    plan = build_plan(_single(), ROOMY.sizing, pool=PoolSettings(1, 600.0, "pool-vnet/workers"))
    assert plan.context.pool.subnet == arm.subnet_id(plan.context.subscription, POOL_GROUP,
                                                     "pool-vnet", "workers")
    assert plan.context.subnet != plan.context.pool.subnet


@pytest.mark.parametrize(("block", "field"), [
    ({"min": -1}, "fleet.worker_pool.min"),
    ({"min": "1"}, "fleet.worker_pool.min"),
    ({"min": 3}, "fleet.worker_pool"),  # more than max_workers (2)
    ({"keep_warm_s": -5}, "fleet.worker_pool.keep_warm_s"),
    ({"keep_warm_s": "600"}, "fleet.worker_pool.keep_warm_s"),
    ({"keep_warm_s": True}, "fleet.worker_pool.keep_warm_s"),
    ({"warm": "yes"}, "fleet.worker_pool.warm"),
    ({"subnet": "a/b/c"}, "fleet.worker_pool.subnet"),
    ({"max": 4}, "fleet.worker_pool.max"),
])
def test_a_bad_worker_pool_names_the_field(block, field):
    with pytest.raises(restore.ScenarioError) as info:
        fleet(2, **block)
    assert info.value.field == field


POOL_FAULTS = [
    ("claim_warm_worker", "transient", 2), ("claim_warm_worker", "throttle", 2),
    ("claim_warm_worker", "quota_exceeded", 1), ("start_vm", "transient", 2),
    ("start_vm", "allocation_failed", 1), ("start_vm", "quota_exceeded", 1),
    ("launch_worker/tag_worker", "transient", 2), ("launch_worker/tag_worker", "quota_exceeded", 1),
    ("release_worker", "transient", 2), ("release_worker", "throttle", 2),
    ("deallocate_worker", "quota_exceeded", 1), ("restore_data", "transient", 1),
    ("remove_idle_worker", "transient", 2), ("find_idle_workers", "throttle", 2),
    ("launch_worker/create_vm", "allocation_failed", 1),
    ("launch_worker/create_vm", "allocation_failed", 3),  # every worker size: rolled back
    ("launch_worker/create_nic", "quota_exceeded", 1),
    ("launch_worker/create_resource_group", "transient", 2),
]


@pytest.mark.parametrize(("at", "kind", "times"), POOL_FAULTS,
                         ids=[f"{a}-{k}" for a, k, _ in POOL_FAULTS])
def test_a_fault_in_the_pool_ends_in_success_or_a_clean_rollback(at, kind, times):
    raw = fleet(4, max_workers=1, min=0).model_dump(mode="json")
    raw["faults"] = [{"at": at, "kind": kind, "times": times}]
    report = simulate_fleet(restore.parse_scenario(raw), 5, ROOMY)
    summary = report.to_dict()
    assert summary["faults_never_fired"] == []
    assert {v.status for v in report.vms} <= {"succeeded", "rolled_back"}, summary["errors"]
    assert all(v.source_intact for v in report.vms if v.status == "rolled_back")
    assert summary["leaked"] == 0 and summary["worker_pool"]["leaked"] == []
    assert summary["worker_pool"]["kept"] == []  # min 0: every worker went in the end


def test_a_journaled_restore_refuses_a_worker_pool(tmp_path):
    from restore.backends.journal import Journal

    scenario = _single()
    prepared = prepare(scenario)
    plan = build_plan(scenario, prepared.profile.sizing, pool=PoolSettings(1, 600.0))
    with Journal(tmp_path / "j.db", create=True, meta={"status": "interrupted"}) as book, \
            pytest.raises(ValueError, match="worker pool is not journaled"):
        sim.run(replace(prepared, plan=plan), 0, [], book)


def _housekeeping(state, backend, keep=0):
    from restore.plan import Plan, PlannedStep

    scenario = _single()
    prepared = prepare(scenario)
    plan = build_plan(scenario, prepared.profile.sizing, "chores01", pool=PoolSettings(keep, 600))
    chore = replace(prepared, plan=Plan(plan.scenario, (PlannedStep("remove_idle_workers"),),
                                        plan.context))
    if backend == "sim":
        return sim.run(chore, 0, [], None, state), plan
    from restore.backends import fake_arm

    return fake_arm.run(chore, 0, [], None, state), plan


def test_the_housekeeping_leaves_a_worker_whose_keep_warm_time_is_not_over():
    _, state = _one_restore(_single(), PoolSettings(0, 600.0))
    (warm,) = _pool_vms(state)
    state.retag(warm.id, {**warm.tags, KEEP_WARM_TAG: "601.0"})  # the chore runs at 0-2 s
    report, _ = _housekeeping(state, "sim")
    assert [o["op"] for o in report.operations] == ["find_idle_workers"]
    assert state.find(warm.id) is not None


@pytest.mark.parametrize("backend", ["sim", "fake-arm"])
def test_the_housekeeping_removes_an_expired_worker_with_its_nic_and_os_disk(backend):
    if backend == "fake-arm":
        pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    _, state = _one_restore(_single(), PoolSettings(0, 600.0))
    (warm,) = _pool_vms(state)
    state.retag(warm.id, {**warm.tags, KEEP_WARM_TAG: "-1.0"})  # its time is over
    report, plan = _housekeeping(state, backend)
    assert report.status == "succeeded"
    assert [(o["op"], o["resource"]) for o in report.operations] == [
        ("find_idle_workers", plan.context.pool.group), ("remove_idle_worker", warm.id)]
    removed = report.operations[-1]
    assert removed["end_s"] > removed["start_s"]  # a VM's delete, not a skip
    assert all(state.find(i) is None for i in (warm.id, warm.nic, warm.os_disk))


def test_sim_and_fake_arm_resize_a_claimed_worker_alike():
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    pool = PoolSettings(1, 600.0)
    big = restore.parse_scenario(scenario_dict(
        size="Standard_D2s_v5", data_disks=[{"size_gb": 2048, "used_gb": 20}]))
    _, sim_state = _one_restore(_single(), pool)
    _, arm_state = _one_restore(_single(), pool, backend="fake-arm")
    on_sim, _ = _one_restore(big, pool, sim_state, "second02", seed=3)
    on_arm, _ = _one_restore(big, pool, arm_state, "second02", "fake-arm", seed=3)
    _differential(on_sim, on_arm)
    (worker,) = _pool_vms(sim_state)
    assert worker.size == "Standard_F8s_v2"


def test_a_worker_made_but_not_held_is_deleted_at_once():
    # its hold (the restore-id tag) fails: nothing else would ever find it, so it goes now
    raw = fleet(1).model_dump(mode="json")
    raw["faults"] = [{"at": "launch_worker/tag_worker", "kind": "quota_exceeded"}]
    summary = simulate_fleet(restore.parse_scenario(raw), 0, ROOMY).to_dict()
    assert summary["errors"] == {"QuotaExceeded": 1} and summary["faults_never_fired"] == []
    assert summary["worker_pool"]["kept"] == [] and summary["worker_pool"]["leaked"] == []
    assert summary["leaked"] == 0 and summary["workers_created"] == 1


def test_a_claim_sent_again_finds_the_worker_it_got():
    from restore.backends.pool_rules import Listed, already_claimed
    from restore.ops import ClaimWarmWorker
    from restore.plan import SLOT_TAG

    holder = {POOL_TAG: "westeurope", RESTORE_ID_TAG: "r1", SLOT_TAG: "restorelab-worker-r1-0"}
    claim = ClaimWarmWorker("planned", "group", "s", tuple(sorted(holder.items())))
    listed = [Listed("w-free", "s", {POOL_TAG: "westeurope"}),
              Listed("w-other", "s", {**holder, SLOT_TAG: "restorelab-worker-r1-1"}),
              Listed("w-mine", "s", dict(holder))]
    assert already_claimed(listed, claim) == "w-mine"
    assert already_claimed(listed[:2], claim) is None


def test_a_worker_being_made_is_nobodys_to_claim_or_remove():
    from restore.backends.pool_rules import Listed, candidates, idle
    from restore.plan import CREATING_TAG

    making = Listed("w-new", "s", {POOL_TAG: "westeurope", CREATING_TAG: "r1"})
    # its create takes minutes: a housekeeping meanwhile must not delete it (it has no
    # keep-warm time yet), nor a claim take it
    assert idle([making], 0, 1e9) == [] and candidates([making], "s") == []


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_housekeeping_during_a_workers_create_leaves_it_alone(seed):
    # short keep-warm times: housekeeping runs while other restores create workers (a
    # create takes minutes); it once deleted one mid-create (ResourceNotFound)
    summary = simulate_fleet(fleet(10, max_workers=3, max_active=6, keep_warm_s=30, min=0),
                             seed, ROOMY).to_dict()
    assert summary["status"] == "succeeded", summary["errors"]
    assert summary["leaked"] == 0 and summary["worker_pool"]["kept"] == []


def _claim(restore_id, pool_group, size):
    from restore.ops import ClaimWarmWorker
    from restore.plan import SLOT_TAG

    holder = {POOL_TAG: "westeurope", RESTORE_ID_TAG: restore_id,
              SLOT_TAG: f"restorelab-worker-{restore_id}-0"}
    return ClaimWarmWorker(f"planned-{restore_id}", pool_group, size,
                           tuple(sorted(holder.items())))


def _warm_pool(spare):
    """A region with the pool's warm worker of one restore, and (``spare``) a second one
    made beside it with the SDK: the state, the pool group, the workers (first the one
    a claim takes first)."""
    _, state = _one_restore(_single(), PoolSettings(1, 600.0))
    (warm,) = _pool_vms(state)
    group = arm.resource_group_id(state.subscription, POOL_GROUP)
    if spare:
        from azure.mgmt.compute import models as compute
        from azure.mgmt.network import models as network

        from fakecloud import FakeCredential, mock_azure
        from fakecloud.clock import VirtualClock
        from restore.backends.azure import AzureClients

        clock = VirtualClock()
        with mock_azure(state=state, clock=clock):
            clients = AzureClients.connect(FakeCredential(), state.subscription, clock,
                                           polling_interval=0, retry_total=0)
            nic = clients.network.network_interfaces.begin_create_or_update(
                POOL_GROUP, "spare-nic", network.NetworkInterface(
                    location=warm.location, ip_configurations=[
                        network.NetworkInterfaceIPConfiguration(name="ipconfig1", subnet=(
                            network.Subnet(id=state.find(warm.nic).subnet)))])).result()
            clients.compute.virtual_machines.begin_create_or_update(
                POOL_GROUP, "spare", compute.VirtualMachine(
                    location=warm.location, tags=dict(warm.tags),
                    hardware_profile=compute.HardwareProfile(vm_size=warm.size),
                    storage_profile=compute.StorageProfile(
                        image_reference=compute.ImageReference(
                            publisher="Canonical", offer="ubuntu-24_04-lts", sku="server",
                            version="latest"),
                        os_disk=compute.OSDisk(create_option="FromImage")),
                    network_profile=compute.NetworkProfile(network_interfaces=[
                        compute.NetworkInterfaceReference(id=nic.id, primary=True)]))
            ).result()
            clients.compute.virtual_machines.begin_deallocate(POOL_GROUP, "spare").result()
    workers = sorted(_pool_vms(state), key=lambda vm: vm.id.lower())
    assert [w.power_state for w in workers] == ["deallocated"] * (2 if spare else 1)
    return state, group, workers


def _held_by(state, restore_id):
    return [vm.id for vm in _pool_vms(state) if vm.tags.get(RESTORE_ID_TAG) == restore_id]


@pytest.mark.parametrize("spare", [True, False])
def test_two_claimers_of_one_warm_worker_on_fake_arm_the_first_patch_wins(spare):
    # B reads the worker, then A reads it too and claims it: B's PATCH carries the etag
    # B read, ARM answers 412 PreconditionFailed, and B goes on to the next worker (or,
    # with none left, creates its own); without If-Match B would take A's worker
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    from fakecloud import FakeCredential, mock_azure
    from fakecloud.clock import VirtualClock
    from restore.backends.azure import AzureClients, AzureExecutor

    state, group, workers = _warm_pool(spare)
    size = workers[0].size
    before = sorted(r.id for r in state.resources())
    clock = VirtualClock()
    with mock_azure(state=state, clock=clock) as fake:
        clients = AzureClients.connect(FakeCredential(), state.subscription, clock,
                                       polling_interval=0, retry_total=0)
        first = AzureExecutor(clients, None, lambda: clock.now)
        second = AzureExecutor(clients, None, lambda: clock.now)
        won: list[str] = []
        read = second.get

        def read_then_the_other_claims(arm_id):
            found = read(arm_id)
            if not won:
                won.append(first.claim_warm_worker(_claim("racea001", group, size)))
            return found

        second.get = read_then_the_other_claims
        got = second.claim_warm_worker(_claim("raceb001", group, size))
        sent = [(r.method, r.path.lower(), r.status) for r in fake.requests]
    assert won == [workers[0].id]
    assert got == (workers[1].id if spare else "")  # "": the restore creates its worker
    patches = [(path, status) for method, path, status in sent if method == "PATCH"]
    first_path = workers[0].id.lower()
    assert patches[:2] == [(first_path, 200), (first_path, 412)]
    assert len(patches) == (3 if spare else 2)
    assert _held_by(state, "racea001") == [workers[0].id]
    assert _held_by(state, "raceb001") == ([workers[1].id] if spare else [])
    assert sorted(r.id for r in state.resources()) == before  # nothing made, nothing left
    assert all(vm.power_state == "deallocated" for vm in _pool_vms(state))


@pytest.mark.parametrize("spare", [True, False])
def test_sim_decides_a_lost_claim_race_as_fake_arm_does(spare):
    # the same race on the sim backend's calls: its PATCH sends the etag its GET saw
    if spare:
        pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    from fakecloud.models import ArmError
    from fakecloud.region import Region
    from restore.backends.arm_calls import calls_for

    state, group, workers = _warm_pool(spare)
    region = Region(state, ROOMY)

    def run(calls, before_patch=lambda: None):
        answer, error = None, None
        while True:
            try:
                call = calls.send(answer) if error is None else calls.throw(error)
            except StopIteration as end:
                return end.value
            if call.method == "PATCH":
                before_patch()
                before_patch = lambda: None  # noqa: E731
            try:
                answer, error = region.call(call, 0.0), None
            except ArmError as exc:
                answer, error = None, exc

    size, sub = workers[0].size, state.subscription
    won = []
    got = run(calls_for(_claim("raceb001", group, size), sub),
              lambda: won.append(run(calls_for(_claim("racea001", group, size), sub))))
    assert won == [workers[0].id]
    assert got == (workers[1].id if spare else "")
    assert _held_by(state, "racea001") == [workers[0].id]
    assert _held_by(state, "raceb001") == ([workers[1].id] if spare else [])
