"""`sim` and `fake-arm` agree on time, not only on state: both send the same ARM calls to
fakecloud's one region layer, and `sim` models the SDK's polling (an operation is seen
done at the poll after its end)."""

from __future__ import annotations

import pytest
from helpers import SCENARIO_FILES, make_scenario, path_scenario

import restore
from restore import Fault

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

SEEDS = range(5)


def timeline(report) -> list[tuple]:
    return [(o["op"], o["resource"], o["step"], o["status"], o["attempts"], o["errors"])
            for o in report.operations]


def assert_same_outcome(sim, arm) -> None:
    assert arm.status == sim.status
    assert (arm.error or {}).get("code") == (sim.error or {}).get("code")
    assert arm.final_state == sim.final_state
    assert arm.restored_vm == sim.restored_vm
    assert arm.restored_disks == sim.restored_disks
    assert arm.removed_not_restored == sim.removed_not_restored
    assert (arm.leaked, arm.kept, arm.source_intact) == (sim.leaked, sim.kept, sim.source_intact)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_every_shipped_scenario_takes_the_same_time_on_both_paths(path, seed):
    scenario = restore.load_scenario(path)
    sim = restore.simulate(scenario, seed=seed)
    arm = restore.simulate(scenario, seed=seed, backend="fake-arm")
    assert_same_outcome(sim, arm)
    assert arm.data_verified == sim.data_verified
    assert timeline(arm) == timeline(sim)
    for on_sim, on_arm in zip(sim.operations, arm.operations, strict=True):
        assert on_arm["start_s"] == pytest.approx(on_sim["start_s"], abs=1e-6)
        assert on_arm["end_s"] - on_arm["start_s"] == pytest.approx(
            on_sim["end_s"] - on_sim["start_s"], abs=1e-6), on_sim["op"]
    tolerance = max(0.01 * sim.duration_s, 30.0)
    assert abs(arm.duration_s - sim.duration_s) <= tolerance
    assert arm.duration_s == pytest.approx(sim.duration_s, abs=1e-6)


FAULTS = [
    Fault(at="preflight", kind="crash"),
    Fault(at="preflight", kind="quota_exceeded"),
    Fault(at="check_exists", kind="transient", times=2),
    Fault(at="check_quota", kind="throttle"),
    Fault(at="create_empty_disks", kind="transient", times=3),
    Fault(at="create_disk", kind="quota_exceeded", times=9),
    Fault(at="launch_worker/create_vm", kind="allocation_failed"),
    Fault(at="launch_worker", kind="allocation_failed", times=9),
    Fault(at="attach_disks", kind="throttle", times=2),
    Fault(at="restore_data", kind="transient"),
    Fault(at="restore_data", kind="crash"),
    Fault(at="deallocate_vm", kind="quota_exceeded"),
    Fault(at="remove_source_vm", kind="transient", times=9),
    Fault(at="move_disks", kind="quota_exceeded"),
    Fault(at="delete_disk", kind="throttle", times=3),
    Fault(at="create_vm", kind="allocation_failed", times=9),
    Fault(at="delete_resource_group", kind="transient", probability=0.5, times=4),
]
ORIGINAL_ONLY = {"remove_source_vm", "move_disks", "delete_resource_group"}
VM_ONLY = {*ORIGINAL_ONLY, "attach_disks", "create_vm"}  # steps of restoring a VM


@pytest.mark.parametrize("variant", ["vm", "disks", "selective", "replace"])
@pytest.mark.parametrize("location", ["original", "new"])
@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f"{f.at}-{f.kind}-{f.times}")
def test_a_fault_ends_the_same_way_on_both_paths(fault, location, variant):
    if variant == "replace" and location == "new":
        pytest.skip("replace_disks swaps the source VM's own disks")
    scenario = path_scenario(("backup", "hot", None), location, variant)
    if location == "new" and fault.at in ORIGINAL_ONLY:
        pytest.skip("only original-location restores have that step")
    if variant in ("disks", "replace") and fault.at in VM_ONLY:
        pytest.skip("a restore that makes no VM has no such step")
    assert_same_with_faults(scenario, [fault])


def test_faults_during_a_rollback_end_the_same_way_on_both_paths():
    """The rollback's read (resources by tag) fails twice, then the rollback goes on."""
    arm = assert_same_with_faults(make_scenario(location="new"), [
        Fault(at="launch_worker", kind="allocation_failed", times=9),
        Fault(at="find_resources", kind="transient", times=2)])
    finds = [o for o in arm.operations if o["op"] == "find_resources"]
    assert finds and finds[0]["errors"] == ["ServiceUnavailable"] * 2
    assert arm.status == "rolled_back"


def assert_same_with_faults(scenario, faults: list[Fault]):
    sim = restore.simulate(scenario, seed=2, faults=faults)
    arm = restore.simulate(scenario, seed=2, faults=faults, backend="fake-arm")
    assert sim.status != "succeeded" or any(o["errors"] for o in sim.operations)  # it fired
    assert_same_outcome(sim, arm)
    assert timeline(arm) == timeline(sim)
    assert arm.duration_s == pytest.approx(sim.duration_s, abs=1e-6)
    return arm


def test_preflight_faults_take_effect_on_the_arm_fake_too():
    scenario = make_scenario(location="new")
    crashed = restore.simulate(scenario, faults=[Fault(at="preflight", kind="crash")],
                               backend="fake-arm")
    assert crashed.status == "interrupted"
    refused = restore.simulate(scenario, faults=[Fault(at="preflight", kind="quota_exceeded")],
                               backend="fake-arm")
    assert refused.status == "rolled_back" and refused.error["code"] == "QuotaExceeded"
    assert refused.error["step"] == "preflight"
