"""Replace the disks of an existing VM (issue 17, item 2; Azure Backup's "Replace
existing", Commvault's OS disk swap): ``target.mode: replace_disks`` restores the disks,
deallocates the source VM, swaps its disks in one update, keeps the old ones (tagged) and
starts it; its NIC, identity and extensions stay. A failure before the swap leaves the VM
as it was; one after it leaves the old disks to go back to."""

from __future__ import annotations

import json

import pytest
from helpers import (
    RESTORE_POINTS,
    ROOT,
    assert_restored,
    by_id,
    path_scenario,
    scenario_dict,
    step,
)
from typer.testing import CliRunner

import restore
from restore import Fault, ScenarioError, parse_scenario
from restore.cli import app
from restore.plan import REPLACED_BY_TAG, RESTORE_ID_TAG

SHIPPED = ROOT / "scenarios" / "orig-hot-replace-disks.yaml"


def replacing(point=("backup", "hot", None), disks=None, **target):
    raw = path_scenario(point, "original", "replace").model_dump(mode="json")
    raw["target"].update(target)
    if disks is not None:
        raw["restore_point"]["disks"] = disks
    return parse_scenario(raw)


def error_of(raw) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(raw, source="bad.yaml")
    return info.value


def vm_of(scenario, report) -> dict:
    ctx = restore.plan_for(scenario).context
    return by_id(report)[ctx.replace.vm.lower()]


def disks_of(vm: dict) -> dict:
    props = vm["properties"]
    return {None: props["osDisk"].lower(), **{d["lun"]: d["id"].lower()
                                             for d in props["dataDisks"]}}


# -- the scenario's fields -----------------------------------------------------------------

def test_replace_disks_swaps_the_source_vms_own_disks_so_it_takes_the_original_location():
    raw = scenario_dict(location="new")
    raw["target"]["mode"] = "replace_disks"
    error = error_of(raw)
    assert error.field == "target.mode" and "location: original" in error.message


@pytest.mark.parametrize("field", ["safety_snapshot", "remove_unrestored_disks"])
def test_replace_disks_never_removes_the_source_so_its_safeguards_are_refused(field):
    raw = scenario_dict(location="original")
    raw["target"].update({"mode": "replace_disks", field: True})
    error = error_of(raw)
    assert error.field == f"target.{field}" and "mode: vm" in error.message


@pytest.mark.parametrize("mode", ["vm", "disks"])
def test_delete_replaced_disks_is_refused_where_nothing_is_replaced(mode):
    raw = scenario_dict(location="original")
    raw["target"].update({"mode": mode, "delete_replaced_disks": True})
    error = error_of(raw)
    assert error.field == "target.delete_replaced_disks" and "replace_disks" in error.message


def test_the_plan_restores_next_to_the_source_without_staging_and_never_deletes_it():
    plan = restore.plan_for(replacing())
    ctx, names = plan.context, plan.step_names
    assert ctx.staging_group is None and ctx.vm is None
    assert "remove_source_vm" not in names and "create_vm" not in names
    assert plan.prerequisites["deallocate_source_vm"] == ("detach_disks",)
    assert plan.prerequisites["swap_disks"] == ("deallocate_source_vm",)
    assert [(lun, old.rsplit("/", 1)[1], new.rsplit("/", 1)[1])
            for lun, old, new in ctx.replace.swaps] == [
        (None, "app01-osdisk", f"app01-osdisk-{ctx.restore_id}"),
        (0, "app01-datadisk-0", f"app01-datadisk-0-{ctx.restore_id}"),
        (1, "app01-datadisk-1", f"app01-datadisk-1-{ctx.restore_id}")]


# -- the paths -------------------------------------------------------------------------------

@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_each_path_swaps_every_disk_keeps_the_old_ones_and_starts_the_vm(point):
    scenario = replacing(point)
    report = restore.simulate(scenario)
    assert_restored(scenario, report)
    ctx = restore.plan_for(scenario).context
    vm = vm_of(scenario, report)
    assert disks_of(vm) == {lun: new.lower() for lun, _, new in ctx.replace.swaps}
    assert vm["properties"]["powerState"] == "running"
    assert vm["properties"]["networkInterface"].lower() == ctx.source.nic.lower()
    assert vm["tags"] == {}  # the VM is the user's: no restore tag on it
    resources = by_id(report)
    for _, old, new in ctx.replace.swaps:
        kept = resources[old.lower()]
        assert kept["properties"]["diskState"] == "Unattached"
        assert kept["tags"] == {REPLACED_BY_TAG: report.restore_id}
        assert resources[new.lower()]["tags"] == {RESTORE_ID_TAG: report.restore_id}
    assert report.kept == list(ctx.replace.replaced) and report.leaked == []
    assert [r["old_kept"] for r in report.replaced_disks] == [True] * 3
    assert report.restored_vm is None and not report.source_intact
    # the VM is down only from its deallocation to its start, after the disks are ready
    down = step(report, "deallocate_source_vm")["start_s"]
    ready = "create_disks_from_snapshots" if point[0] == "snapshot" else "detach_disks"
    assert down >= step(report, ready)["end_s"]
    assert step(report, "start_source_vm")["start_s"] >= step(report, "swap_disks")["end_s"]


@pytest.mark.parametrize(("chosen", "swapped"), [(["os"], [None]), ([1], [1])])
def test_a_subset_replaces_only_those_disks_and_leaves_the_others_attached(chosen, swapped):
    """The OS disk alone (Commvault's OS disk swap), or one data disk alone."""
    scenario = replacing(disks=chosen)
    before = disks_of(vm_of(scenario, restore.simulate(scenario, faults=[
        Fault(at="preflight", kind="quota_exceeded")])))  # rolled back at once: as it was
    report = restore.simulate(scenario)
    assert_restored(scenario, report)
    after = disks_of(vm_of(scenario, report))
    assert sorted(lun for lun in after if after[lun] != before[lun]) == swapped
    assert [r["lun"] for r in report.replaced_disks] == swapped


def test_delete_replaced_disks_removes_the_old_disks_once_the_vm_runs():
    scenario = replacing(delete_replaced_disks=True)
    report = restore.simulate(scenario)
    assert report.status == "succeeded" and report.kept == [] and report.leaked == []
    ctx = restore.plan_for(scenario).context
    assert not {old.lower() for old in ctx.replace.replaced} & set(by_id(report))
    assert step(report, "remove_replaced_disks")["start_s"] >= step(
        report, "start_source_vm")["end_s"]
    assert [r["old_kept"] for r in report.replaced_disks] == [False] * 3


def test_power_on_false_leaves_the_vm_deallocated_on_its_restored_disks():
    scenario = replacing(power_on=False)
    report = restore.simulate(scenario)
    assert report.status == "succeeded"
    assert "start_source_vm" not in {s["name"] for s in report.steps}
    assert vm_of(scenario, report)["properties"]["powerState"] == "deallocated"


@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_both_simulated_backends_replace_the_same_way(point):
    scenario = replacing(point)
    sim = restore.simulate(scenario, seed=4)
    arm = restore.simulate(scenario, seed=4, backend="fake-arm")
    assert arm.final_state == sim.final_state and arm.duration_s == sim.duration_s
    assert arm.replaced_disks == sim.replaced_disks and arm.kept == sim.kept


# -- failures --------------------------------------------------------------------------------

@pytest.mark.parametrize("at", ["deallocate_source_vm", "swap_disks"])
def test_a_failure_before_the_swap_took_effect_leaves_the_vm_as_it_was(at):
    scenario = replacing()
    clean_before = restore.simulate(scenario, faults=[Fault(at="preflight",
                                                            kind="quota_exceeded")])
    report = restore.simulate(scenario, faults=[Fault(at=at, kind="quota_exceeded")])
    assert report.status == "rolled_back" and report.source_intact
    assert report.steps[-1]["name"] == "rollback_and_start_source"
    vm = vm_of(scenario, report)
    assert vm == vm_of(scenario, clean_before)  # running, on its own disks
    assert vm["properties"]["powerState"] == "running"
    assert not [r for r in by_id(report).values() if RESTORE_ID_TAG in r["tags"]]
    assert report.kept == [] and report.leaked == []


def test_a_failure_after_the_swap_keeps_the_old_disks_to_go_back_to():
    """The VM cannot be started again (no capacity): it stays deallocated on its restored
    disks; the report lists the old ones and the restored ones under kept."""
    scenario = replacing()
    report = restore.simulate(scenario, faults=[Fault(at="start_source_vm",
                                                      kind="allocation_failed")])
    assert report.status == "failed" and report.steps[-1]["name"] == "keep_restored_data"
    assert report.error["step"] == "start_source_vm"
    ctx = restore.plan_for(scenario).context
    kept = {i.lower() for i in report.kept}
    assert {old.lower() for old in ctx.replace.replaced} <= kept
    assert {new.lower() for _, _, new in ctx.replace.swaps} <= kept
    assert [r["old_kept"] for r in report.replaced_disks] == [True] * 3
    assert vm_of(scenario, report)["properties"]["powerState"] == "deallocated"
    assert not [i for i in by_id(report) if "restorelab-worker" in i]


# -- fakecloud: the OS disk swap as ARM documents it -------------------------------------------

def _deallocated_vm_and_a_spare_disk(client, nic):
    from test_mock_vms import vm_with_data_disks

    client.virtual_machines.begin_create_or_update("rg", "vm1", vm_with_data_disks(
        nic.id, identity={"type": "SystemAssigned"})).result()
    spare = client.disks.begin_create_or_update("rg", "spare-os", {
        "location": "eastus", "sku": {"name": "Premium_LRS"}, "properties": {
            "creationData": {"createOption": "Empty"}, "diskSizeGB": 30}}).result()
    return client.virtual_machines.get("rg", "vm1"), spare


def test_the_fake_swaps_the_os_disk_only_of_a_stopped_vm(vm_azure):
    from azure.core.exceptions import HttpResponseError

    client, nic, _ = vm_azure
    vm, spare = _deallocated_vm_and_a_spare_disk(client, nic)
    old = vm.storage_profile.os_disk.managed_disk.id
    vm.storage_profile.os_disk.managed_disk.id, vm.storage_profile.os_disk.name = \
        spare.id, spare.name
    with pytest.raises(HttpResponseError) as refused:
        client.virtual_machines.begin_create_or_update("rg", "vm1", vm).result()
    assert refused.value.status_code == 409 and refused.value.error.code == "OperationNotAllowed"
    assert client.virtual_machines.get("rg", "vm1").storage_profile.os_disk.name == "vm1-os"
    client.virtual_machines.begin_deallocate("rg", "vm1").result()
    swapped = client.virtual_machines.begin_create_or_update("rg", "vm1", vm).result()
    assert swapped.storage_profile.os_disk.managed_disk.id.lower() == spare.id.lower()
    assert client.disks.get("rg", "spare-os").disk_state == "Attached"
    assert client.disks.get("rg", old.rsplit("/", 1)[1]).disk_state == "Unattached"


def test_the_fake_swaps_all_the_disks_of_an_update_or_none(vm_azure):
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.compute import models as compute

    client, nic, _ = vm_azure
    vm, spare = _deallocated_vm_and_a_spare_disk(client, nic)
    client.virtual_machines.begin_deallocate("rg", "vm1").result()
    vm.storage_profile.os_disk.managed_disk.id = spare.id
    vm.storage_profile.data_disks[0] = compute.DataDisk(
        lun=0, create_option="Attach", managed_disk=compute.ManagedDiskParameters(
            id=spare.id.replace("spare-os", "no-such-disk")))
    with pytest.raises(HttpResponseError):
        client.virtual_machines.begin_create_or_update("rg", "vm1", vm).result()
    assert client.virtual_machines.get("rg", "vm1").storage_profile.os_disk.name == "vm1-os"
    assert client.disks.get("rg", "spare-os").disk_state == "Unattached"


def test_the_azure_backends_swap_keeps_the_vms_nic_identity_and_extensions(vm_azure):
    from azure.mgmt.compute import models as compute

    from restore import ops
    from restore.backends.azure import AzureClients, AzureExecutor

    client, nic, _ = vm_azure
    vm, spare = _deallocated_vm_and_a_spare_disk(client, nic)
    client.virtual_machine_extensions.begin_create_or_update(
        "rg", "vm1", "watcher", compute.VirtualMachineExtension(
            location="eastus", properties=compute.VirtualMachineExtensionProperties(
                publisher="Microsoft.Azure.NetworkWatcher", type="NetworkWatcherAgentLinux",
                type_handler_version="1.4"))).result()
    client.virtual_machines.begin_deallocate("rg", "vm1").result()
    executor = AzureExecutor(AzureClients(client, None, None, vm.id.split("/")[2], 0))
    executor.execute(ops.SwapDisks(vm.id, spare.id))
    after = client.virtual_machines.get("rg", "vm1")
    assert after.storage_profile.os_disk.managed_disk.id.lower() == spare.id.lower()
    assert after.storage_profile.os_disk.name == "spare-os"
    assert after.identity.type == "SystemAssigned" and after.identity.principal_id
    assert after.identity.principal_id == vm.identity.principal_id
    assert [n.id for n in after.network_profile.network_interfaces] == [nic.id]
    assert [d.lun for d in after.storage_profile.data_disks] == [0, 1]
    assert [e.name for e in client.virtual_machine_extensions.list("rg", "vm1").value] == [
        "watcher"]
    executor.execute(ops.TagDisk(vm.storage_profile.os_disk.managed_disk.id,
                                 ((REPLACED_BY_TAG, "r1"),)))
    assert client.disks.get("rg", "vm1-os").tags == {REPLACED_BY_TAG: "r1"}


# -- plan, report, shipped scenario ----------------------------------------------------------

def test_plan_says_which_disks_are_replaced_and_that_the_old_ones_are_kept():
    result = CliRunner().invoke(app, ["plan", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert "swapped into the source VM" in result.output
    assert "kept detached and tagged" in result.output and "swap_disks" in result.output
    summary = json.loads(CliRunner().invoke(app, ["plan", str(SHIPPED), "--json"]).output)
    assert summary["mode"] == "replace_disks" and summary["removed_not_restored"] == []
    assert [s["kept"] for s in summary["replaced_disks"]] == [True] * len(
        summary["restored_disks"])


def test_the_shipped_scenario_replaces_and_its_report_says_so():
    result = CliRunner().invoke(app, ["simulate", str(SHIPPED), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["status"] == "succeeded" and report["leaked"] == []
    assert len(report["replaced_disks"]) == len(report["restored_disks"]) == len(report["kept"])
    shown = CliRunner().invoke(app, ["simulate", str(SHIPPED)])
    assert "replaced" in shown.output and "kept" in shown.output


def test_the_readmes_replace_disks_example_restores_as_it_says():
    import re

    import yaml

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [block] = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL)
               if "mode: replace_disks" in b]
    raw = {**scenario_dict(location="original"), **yaml.safe_load(block)}
    scenario = parse_scenario(raw)
    report = restore.simulate(scenario)
    assert_restored(scenario, report)
    assert [r["lun"] for r in report.replaced_disks] == [None]  # the OS disk only


# -- downtime ------------------------------------------------------------------------------

def test_downtime_runs_from_the_sources_stop_to_the_vm_running_again():
    replaced = restore.simulate(replacing(), seed=3)
    assert replaced.downtime_s == pytest.approx(
        step(replaced, "start_source_vm")["end_s"] - step(replaced, "deallocate_source_vm")[
            "start_s"]) and replaced.downtime_s > 0
    whole = restore.simulate(path_scenario(("backup", "hot", None), "original"), seed=3)
    assert whole.downtime_s == pytest.approx(
        step(whole, "attach_disks")["end_s"] - step(whole, "remove_source_vm")["start_s"])
    assert replaced.to_dict()["downtime_s"] == replaced.downtime_s


@pytest.mark.parametrize("scenario", [
    path_scenario(("backup", "hot", None), "new"),
    path_scenario(("backup", "hot", None), "original", "disks"),
    replacing(power_on=False),
], ids=["new-location", "disks-only", "left-off"])
def test_no_downtime_where_the_source_is_never_stopped_or_nothing_runs_at_the_end(scenario):
    report = restore.simulate(scenario)
    assert report.status == "succeeded" and report.downtime_s is None


def test_a_failed_restore_has_no_downtime_and_each_seed_has_its_own():
    failed = restore.simulate(replacing(), faults=[Fault(at="start_source_vm",
                                                        kind="allocation_failed")])
    assert failed.status == "failed" and failed.downtime_s is None
    downs = {restore.simulate(replacing(), seed=seed).downtime_s for seed in range(4)}
    assert len(downs) > 1  # a timed field: each seed's own
