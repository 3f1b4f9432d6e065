"""The fault matrix: every path x every step x every fault kind keeps the promises.

Whatever fails, a restore ends succeeded, rolled back, or (once the source is gone) failed
with the restored data kept; nothing temporary is left; data is never lost.
"""

from __future__ import annotations

import pytest
from helpers import (
    FAULTED_FILES,
    LOCATIONS,
    RESTORE_ID_TAG,
    RESTORE_POINTS,
    ROOT,
    by_id,
    path_scenario,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import restore
from restore import Fault
from restore.backends.faults import ONLY_ON, FaultRule, never_fires
from restore.backends.profiles import load_profile
from restore.engine import RECOVERY_STEPS, dry_run
from restore.errors import ScenarioError
from restore.ops import OPERATION_KINDS
from restore.plan import build_plan
from restore.scenario import FaultKind
from restore.steps import CLEANUP_STEPS

SIZING = load_profile("default").sizing
PATHS = [(p.values[0], loc.values[0], variant) for p in RESTORE_POINTS for loc in LOCATIONS
         for variant in ("vm", "disks", "selective", "replace", "drill")
         if (variant != "selective" or p.values[0][1] == "hot")
         and (variant != "replace" or loc.values[0] == "original")
         and (variant != "drill" or loc.values[0] == "new")]
"""Every path, restoring the VM or its disks only; (hot and snapshot restore points) the
VM with a disk left out; (original location) the source VM's disks replaced; (new
location) a drill."""
KINDS = [k.value for k in FaultKind]


def assert_promises_kept(scenario, report) -> None:
    """The invariants of every run, faulted or not."""
    assert report.status in ("succeeded", "rolled_back", "failed", "interrupted")
    resources = by_id(report)
    ctx = build_plan(scenario, SIZING).context
    disks_only = scenario.target.mode == "disks"
    replace = ctx.replace
    no_vm_made = scenario.target.mode != "vm"  # a drill's VM is made and removed
    drill = ctx.drill is not None
    restored_disks_present = all(
        d.id.lower() in resources or d.final_id.lower() in resources for d in ctx.disks)
    # Data is never lost: the source, or every restored disk, is there.
    assert report.source_intact or restored_disks_present
    if report.status == "interrupted":
        assert report.exit_code == 3 and report.error["code"] == "Interrupted"
        return
    if report.recovery_error is not None:
        # The clean-up itself failed for good (faults on its deletes too): the restore
        # says so, and lists what is left; everything else still holds.
        assert report.status == "failed"
        tagged = {i for i, r in resources.items() if r["tags"].get(RESTORE_ID_TAG)}
        assert tagged == {i.lower() for i in report.leaked + report.kept}  # all reported
        return
    if report.status == "succeeded" and report.cleanup_errors:
        # A cleanup failed for good: the restore stands, its leftovers (if a later cleanup
        # did not take them, as the staging group's removal does) are listed.
        assert report.error is None
        assert all(resources[i.lower()]["tags"].get(RESTORE_ID_TAG) for i in report.leaked)
        if drill:  # a drill that leaves something behind fails
            assert report.drill["passed"] is (report.leaked == [])
        else:
            assert (report.restored_vm is None) is no_vm_made
        return
    assert report.leaked == [], report.leaked
    if report.status == "succeeded":
        assert report.error is None and (report.restored_vm is None) is no_vm_made
        assert len(report.restored_disks) == (0 if drill else len(ctx.disks))
        if drill:  # passed, and everything it made is gone
            assert report.drill["passed"] and report.exit_code == 0
            assert not [i for i, r in resources.items() if r["tags"].get(RESTORE_ID_TAG)]
        assert report.source_intact is (scenario.target.location == "new" or disks_only)
        assert len(report.removed_not_restored) == (0 if report.source_intact or replace
                                                    else len(ctx.unrestored_disks))
        # replace_disks keeps the VM's old disks, detached: the way back
        assert report.kept == (list(replace.replaced) if replace else [])
        if replace:
            assert [r["new"] for r in report.replaced_disks] == [n for _, _, n in replace.swaps]
            vm = resources[replace.vm.lower()]["properties"]
            assert vm["powerState"] == "running" and vm["networkInterface"] == \
                ctx.source.nic
    elif report.status == "rolled_back":
        assert report.source_intact is True
        assert report.restored_vm is None and report.restored_disks == []
        assert report.removed_not_restored == []
        assert not [i for i, r in resources.items() if r["tags"].get(RESTORE_ID_TAG)]
        assert [s["name"] for s in report.steps][-1] in ("rollback", "rollback_and_start_source")
    else:  # failed past the source's removal: rolled forward, data kept and said so
        assert report.error is not None
        assert report.kept and restored_disks_present and not disks_only
        if replace:  # the VM is the source's, with its old or its restored disks
            assert replace.vm.lower() in resources
        assert {d["id"].lower() for d in report.restored_disks} <= {i.lower() for i in
                                                                    report.kept}
        assert [s["name"] for s in report.steps][-1] == "keep_restored_data"


def steps_of(point, location, variant="vm") -> list[str]:
    return list(build_plan(path_scenario(point, location, variant), SIZING).step_names)


MATRIX = [pytest.param(point, location, variant, step, kind,
                       id=f"{point[0]}-{point[1]}-{location}-{variant}-{step}-{kind}")
          for point, location, variant in PATHS for step in steps_of(point, location, variant)
          for kind in KINDS]


@pytest.mark.parametrize(("point", "location", "variant", "step", "kind"), MATRIX)
def test_fault_at_every_step_keeps_the_promises(point, location, variant, step, kind):
    scenario = path_scenario(point, location, variant)
    only_on = ONLY_ON.get(FaultKind(kind))
    if only_on and not any(t.step == step and t.op.kind in only_on
                           for t in dry_run(build_plan(scenario, SIZING))):
        with pytest.raises(ScenarioError, match="can never fire: "):
            restore.simulate(scenario, faults=[Fault(at=step, kind=kind)])
        return  # a rule that can never fire is bad input, not a silent success
    report = restore.simulate(scenario, faults=[Fault(at=step, kind=kind)])
    assert_promises_kept(scenario, report)
    ops_of_step = [o for o in report.operations if o["step"] == step]
    if kind == "crash":
        assert report.status == "interrupted" and report.error["step"] == step
        assert ops_of_step[0]["status"] == "not_sent"
    elif kind in ("transient", "throttle"):
        # One transient failure is retried: the restore goes on as if nothing happened.
        assert report.status == "succeeded"
        retried = [o for o in ops_of_step if o["attempts"] == 2]
        assert len(retried) == 1
        code = "ServiceUnavailable" if kind == "transient" else "TooManyRequests"
        assert retried[0]["errors"] == [code]
        assert retried[0]["retry_wait_s"] >= (17.0 if kind == "throttle" else 2.0)
    elif kind == "quota_exceeded" and step in CLEANUP_STEPS:
        assert report.status == "succeeded" and report.error is None  # a leftover only
        assert report.cleanup_errors[0]["step"] == step
    elif kind == "quota_exceeded":
        assert report.status in ("rolled_back", "failed")
        assert report.error["code"] == "QuotaExceeded" and report.error["step"] == step
    elif kind in ("agent_not_ready", "check_failed"):  # the drill fails, rolled back
        assert report.status == "rolled_back" and report.exit_code == 1
        failed = [c["check"] for c in report.drill["checks"] if c["status"] == "failed"]
        assert failed == (["vm_agent"] if kind == "agent_not_ready" else ["disks_mounted"])
        assert report.error["code"] == ("VmAgentNotReady" if kind == "agent_not_ready"
                                        else "GuestCheckFailed")


@pytest.mark.parametrize(("point", "location"), [
    (("backup", "hot", None), "original"), (("backup", "hot", None), "new")])
def test_worker_allocation_failure_moves_to_the_next_profile_size(point, location):
    scenario = path_scenario(point, location)
    report = restore.simulate(scenario, faults=[Fault(at="launch_worker",
                                                      kind="allocation_failed")])
    assert report.status == "succeeded"
    vm_creates = [o for o in report.operations
                  if o["step"] == "launch_worker" and o["op"] == "create_vm"]
    assert [o["status"] for o in vm_creates] == ["failed", "succeeded"]
    assert vm_creates[0]["error_code"] == "AllocationFailed"


def test_worker_allocation_failing_at_every_size_fails_clearly_and_rolls_back():
    scenario = path_scenario(("backup", "hot", None), "original")
    report = restore.simulate(scenario, faults=[Fault(at="launch_worker",
                                                      kind="allocation_failed", times=9)])
    assert report.status == "rolled_back"
    assert report.error["code"] == "AllocationFailed"
    worker = build_plan(scenario, SIZING).context.workers[0]
    sizes = ", ".join((worker.size, *worker.fallback_sizes))
    assert worker.fallback_sizes and f"worker sizes tried: {sizes}" in report.error["message"]
    assert_promises_kept(scenario, report)


def test_transient_faults_beyond_the_retry_budget_roll_back():
    scenario = path_scenario(("backup", "hot", None), "new")
    report = restore.simulate(scenario, faults=[Fault(at="create_empty_disks",
                                                      kind="transient", times=50)])
    assert report.status == "rolled_back"
    failed = next(o for o in report.operations if o["status"] == "failed")
    assert failed["attempts"] == 5 and failed["errors"] == ["ServiceUnavailable"] * 5
    waits = failed["retry_wait_s"]
    assert waits == pytest.approx(2 + 4 + 8 + 16)  # tenacity's exponential backoff
    assert_promises_kept(scenario, report)


def test_faults_are_seeded_and_deterministic():
    scenario = path_scenario(("backup", "hot", None), "original")
    faults = [Fault(at="create_disk", kind="transient", times=3, probability=0.5)]
    first = restore.simulate(scenario, seed=4, faults=faults).to_json()
    assert first == restore.simulate(scenario, seed=4, faults=faults).to_json()


def test_unknown_fault_target_is_a_scenario_error():
    scenario = path_scenario(("backup", "hot", None), "new")
    with pytest.raises(restore.ScenarioError) as info:
        restore.simulate(scenario, faults=[Fault(at="remove_source_vm", kind="transient")])
    assert info.value.field == "faults.0.at"  # an original-location step, not in this plan


fault_targets = st.sampled_from(sorted({*OPERATION_KINDS, *RECOVERY_STEPS}
                                       | set(steps_of(("backup", "archive", "high"), "original"))
                                       | set(steps_of(("snapshot", "hot", None), "new"))))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), seed=st.integers(0, 2**16),
       faults=st.lists(st.builds(Fault, at=fault_targets, kind=st.sampled_from(KINDS),
                                 times=st.integers(1, 6),
                                 probability=st.sampled_from([0.3, 0.7, 1.0])),
                       max_size=4))
def test_random_fault_sequences_keep_the_promises(path, seed, faults):
    scenario = path_scenario(*path)
    plan = build_plan(scenario, SIZING)
    steps = set(plan.step_names) | set(RECOVERY_STEPS)
    sent = {(t.step, t.op.kind) for t in dry_run(plan)}
    usable = [f for f in faults if f.at in steps | OPERATION_KINDS
              and never_fires(FaultRule.of(f), sent, steps) is None]
    report = restore.simulate(scenario, seed=seed, faults=usable)
    assert_promises_kept(scenario, report)


SHIPPED_OUTCOMES = {"faulted-retried": "succeeded", "faulted-rolled-back": "rolled_back",
                    "faulted-kept-data": "failed"}


@pytest.mark.parametrize("path", FAULTED_FILES, ids=lambda p: p.stem)
@pytest.mark.parametrize("seed", [None, 0, 99])
def test_shipped_faulted_scenarios_end_as_their_comment_says(path, seed):
    scenario = restore.load_scenario(path)
    report = restore.simulate(scenario, seed=seed)
    assert report.status == SHIPPED_OUTCOMES[path.stem]
    assert_promises_kept(scenario, report)
    assert any(o["attempts"] > 1 or o["status"] == "failed" for o in report.operations)


def with_safety(point, location="original"):
    raw = path_scenario(point, location).model_dump(mode="json")
    raw["target"]["safety_snapshot"] = True
    return restore.parse_scenario(raw)


@pytest.mark.parametrize("point", [("backup", "hot", None), ("snapshot", "hot", None)])
def test_safety_snapshots_are_taken_before_the_source_goes_and_removed_after(point):
    scenario = with_safety(point)
    report = restore.simulate(scenario)
    names = [s["name"] for s in report.steps]
    assert names.index("snapshot_source") < names.index("remove_source_vm")
    assert "remove_safety_snapshots" in names
    snapshots = [o for o in report.operations if o["step"] == "snapshot_source"]
    assert len(snapshots) == 1 + len(scenario.source_vm.data_disks)
    assert_promises_kept(scenario, report)
    assert not [r for r in report.final_state["resources"] if "-safety-" in r["id"]]


def test_safety_snapshots_are_kept_when_the_restore_fails_after_the_source_went():
    scenario = with_safety(("backup", "hot", None))
    report = restore.simulate(scenario, faults=[Fault(at="move_disks", kind="quota_exceeded")])
    assert report.status == "failed"
    kept_snapshots = [i for i in report.kept if "/snapshots/" in i]
    assert len(kept_snapshots) == 1 + len(scenario.source_vm.data_disks)
    sources = {r["properties"]["sourceResourceId"] for r in report.final_state["resources"]
               if r["id"] in kept_snapshots}
    ctx = build_plan(scenario, SIZING).context
    assert sources == set(ctx.source.disks)
    assert_promises_kept(scenario, report)


def test_a_failed_safety_snapshot_rolls_back_with_the_source_untouched():
    scenario = with_safety(("backup", "hot", None))
    report = restore.simulate(scenario, faults=[Fault(at="snapshot_source",
                                                      kind="quota_exceeded")])
    assert report.status == "rolled_back" and report.source_intact
    assert_promises_kept(scenario, report)


def test_safety_snapshot_is_refused_for_a_new_location():
    with pytest.raises(restore.ScenarioError) as info:
        with_safety(("backup", "hot", None), "new")
    assert info.value.field == "target"
    assert "safety_snapshot" in info.value.message


@pytest.mark.parametrize(("at", "kind", "says"), [
    ("create_empty_disks", "allocation_failed", "create_empty_disks creates no VM"),
    ("create_empty_disks/create_vm", "transient", "step create_empty_disks sends no create_vm"),
    ("create_snapshot", "quota_exceeded", "this restore sends no create_snapshot"),
    ("rollback", "probability 0", "its probability is 0"),
])
def test_a_fault_rule_that_can_never_fire_is_bad_input(at, kind, says):
    scenario = path_scenario(("backup", "hot", None), "new")
    with pytest.raises(ScenarioError, match=f"can never fire: {says}") as raised:
        rule = (Fault(at=at, kind="transient", probability=0.0) if kind == "probability 0"
                else Fault(at=at, kind=kind, times=1000))
        restore.simulate(scenario, faults=[Fault(at="restore_data", kind="transient"), rule])
    assert raised.value.field == "faults.1"


def test_rules_a_failure_can_reach_are_taken():
    scenario = path_scenario(("backup", "hot", None), "new")
    report = restore.simulate(scenario, faults=[
        Fault(at="restore_data", kind="quota_exceeded"), Fault(at="rollback", kind="transient"),
        Fault(at="delete_disk", kind="transient")])  # only rollback deletes disks here
    assert report.status == "rolled_back"


def test_the_cli_names_the_rule_that_can_never_fire(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from restore.cli import app

    raw = yaml.safe_load((ROOT / "scenarios" / "new-hot-backup.yaml").read_text())
    raw["faults"] = [{"at": "create_empty_disks", "kind": "allocation_failed", "times": 1000}]
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(app, ["simulate", str(path)])
    assert result.exit_code == 2 and "faults.0: allocation_failed at 'create_empty_disks' " \
        "can never fire" in result.output


def test_fake_arm_refuses_the_same_rules_before_sending_anything():
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    scenario = path_scenario(("backup", "hot", None), "new")
    for fault in (Fault(at="create_empty_disks", kind="allocation_failed"),
                  Fault(at="remove_source_vm", kind="transient")):
        with pytest.raises(ScenarioError, match="faults.0"):
            restore.simulate(scenario, faults=[fault], backend="fake-arm")


@pytest.mark.parametrize("backend", ["sim", "fake-arm"])
def test_every_report_lists_the_rules_that_never_fired(backend):
    if backend == "fake-arm":
        pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    scenario = path_scenario(("backup", "hot", None), "new")
    fired = Fault(at="restore_data", kind="transient")
    unlucky = Fault(at="create_empty_disks", kind="transient", probability=1e-12)
    rollback_only = Fault(at="rollback", kind="transient")
    report = restore.simulate(scenario, faults=[fired, unlucky, rollback_only],
                              backend=backend)
    assert report.status == "succeeded"
    assert [(f["at"], f["kind"]) for f in report.to_dict()["faults_never_fired"]] == [
        ("create_empty_disks", "transient"), ("rollback", "transient")]
    assert restore.simulate(scenario).to_dict()["faults_never_fired"] == []


def test_a_sweep_refuses_a_rule_that_can_never_fire_before_it_starts():
    scenario = path_scenario(("backup", "hot", None), "new")
    with pytest.raises(ScenarioError, match="faults.0: .*can never fire"):
        restore.sweep(scenario, 500, workers=2, faults=[
            Fault(at="create_empty_disks", kind="allocation_failed")])


@pytest.mark.parametrize("backend", ["sim", "fake-arm"])
def test_a_failed_cleanup_never_undoes_a_finished_restore(backend):
    """Issue 15, defect 5: a permanent failure removing the worker's NIC rolled the
    restored VM back; now the restore stands and the NIC is listed as left behind."""
    if backend == "fake-arm":
        pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    scenario = restore.load_scenario(ROOT / "scenarios" / "new-hot-backup.yaml")
    report = restore.simulate(scenario, backend=backend, faults=[
        Fault(at="remove_worker/delete_nic", kind="quota_exceeded", times=100)])
    assert report.status == "succeeded" and report.exit_code == 0
    assert report.restored_vm is not None and report.source_intact
    assert [r.rsplit("/", 1)[-1] for r in report.leaked] == [
        f"restorelab-worker-{report.restore_id}-0-nic"]
    assert [(e["step"], e["code"]) for e in report.cleanup_errors] == [
        ("remove_worker", "QuotaExceeded")]


def test_the_cli_warns_of_a_failed_cleanup(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from restore.cli import app

    raw = yaml.safe_load((ROOT / "scenarios" / "new-hot-backup.yaml").read_text())
    raw["faults"] = [{"at": "remove_worker/delete_nic", "kind": "quota_exceeded",
                      "times": 100}]
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(app, ["simulate", str(path)])
    assert result.exit_code == 0, result.output
    assert "remove_worker could not delete_nic (QuotaExceeded)" in result.output


@pytest.mark.parametrize("backend", ["sim", "fake-arm"])
def test_one_allocation_failure_of_the_restored_vm_is_retried_on_the_same_size(backend):
    """Issue 15, defect 5: with the source gone, one AllocationFailed of the final VM kept
    the data and failed the restore; now it is tried again, same size and zone, later."""
    if backend == "fake-arm":
        pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    scenario = restore.load_scenario(ROOT / "scenarios" / "orig-hot-backup.yaml")
    report = restore.simulate(scenario, backend=backend, faults=[
        Fault(at="create_vm", kind="allocation_failed", times=1)])
    assert report.status == "succeeded" and report.error is None
    creates = [o for o in report.operations if o["step"] == "create_vm" and o["op"] == "create_vm"]
    assert [(o["attempts"], o["errors"]) for o in creates] == [(2, ["AllocationFailed"])]
    assert creates[0]["retry_wait_s"] == 60.0
    assert report.restored_vm["size"] == scenario.source_vm.size
    assert report.restored_vm["zone"] == scenario.source_vm.zone
    assert_promises_kept(scenario, report)


@pytest.mark.parametrize("backend", ["sim", "fake-arm"])
def test_an_allocation_failure_that_lasts_keeps_the_restored_data(backend):
    if backend == "fake-arm":
        pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    scenario = restore.load_scenario(ROOT / "scenarios" / "orig-hot-backup.yaml")
    report = restore.simulate(scenario, backend=backend, faults=[
        Fault(at="create_vm", kind="allocation_failed", times=1000)])
    assert report.status == "failed" and report.kept
    assert (report.error["step"], report.error["code"]) == ("create_vm", "AllocationFailed")
    creates = [o for o in report.operations if o["step"] == "create_vm" and o["op"] == "create_vm"]
    assert creates[0]["attempts"] == 4  # bounded: 3 retries, 1 + 2 + 4 minutes apart
    assert creates[0]["retry_wait_s"] == 60.0 + 120.0 + 240.0
    assert_promises_kept(scenario, report)

