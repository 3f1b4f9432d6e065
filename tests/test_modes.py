"""Restore modes (issue 17, items 1 and 3): disks only (``target.mode: disks``) and a
subset of the disks (``restore_point.disks`` or ``exclude_luns``): their scenario fields,
their paths on every restore point, their plan and their report."""

from __future__ import annotations

import json

import pytest
from helpers import (
    LOCATIONS,
    RESTORE_ID_TAG,
    RESTORE_POINTS,
    ROOT,
    assert_restored,
    by_id,
    path_scenario,
    scenario_dict,
)
from typer.testing import CliRunner

import restore
from restore import Fault, ScenarioError, parse_scenario
from restore.cli import app
from restore.engine import dry_run

DISKS_ONLY_NEW = {"mode": "disks", "resource_group": "rg-disks", "region": "northeurope",
                  "zone": "3", "tags": {"case": "4711"},
                  "disk_sku": {"os": "StandardSSD_LRS", 1: "Standard_LRS"}}


def error_of(raw) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(raw, source="bad.yaml")
    assert info.value.source == "bad.yaml"
    return info.value


def with_selection(raw, **selection):
    raw["restore_point"].update(selection)
    return raw


# -- the scenario's fields -----------------------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("vm_name", "copy"), ("vm_size", "Standard_D8s_v5"), ("subnet", "vnet/app"),
    ("power_on", False)])
def test_disks_mode_refuses_what_only_a_vm_takes(field, value):
    err = error_of(scenario_dict(location="new", target={"mode": "disks", field: value}))
    assert err.field == f"target.{field}"
    assert "mode: vm" in err.message


@pytest.mark.parametrize("field", ["safety_snapshot", "remove_unrestored_disks"])
def test_disks_mode_never_removes_the_source_so_its_safeguards_are_refused(field):
    err = error_of(scenario_dict(target={"mode": "disks", field: True}))
    assert err.field == f"target.{field}"


def test_a_bad_mode_names_its_field():
    assert error_of(scenario_dict(target={"mode": "everything"})).field == "target.mode"


def test_disks_mode_takes_the_new_location_settings_that_apply_to_disks():
    scenario = parse_scenario(scenario_dict(location="new", target=DISKS_ONLY_NEW))
    assert scenario.disks_only


@pytest.mark.parametrize(("selection", "field", "words"), [
    ({"disks": ["os", 7]}, "restore_point.disks", "no data disk at LUN 7"),
    ({"exclude_luns": [3]}, "restore_point.exclude_luns", "no data disk at LUN 3"),
    ({"disks": [0, 1]}, "restore_point.disks", "needs its OS disk"),
    ({"disks": ["os"], "exclude_luns": [1]}, "restore_point.exclude_luns", "not both"),
    ({"disks": []}, "restore_point.disks", "at least 1"),
    ({"disks": ["os", 0, 0]}, "restore_point.disks", "0 named twice"),
    ({"disks": ["boot"]}, "restore_point.disks.0", ""),
    ({"exclude_luns": [64]}, "restore_point.exclude_luns.0", ""),
])
def test_bad_selections_name_their_field(selection, field, words):
    err = error_of(with_selection(scenario_dict(location="new"), **selection))
    assert err.field == field
    assert words in err.message


def test_an_original_location_restore_that_would_lose_a_disk_needs_the_opt_in():
    err = error_of(with_selection(scenario_dict(location="original"), exclude_luns=[1]))
    assert err.field == "restore_point.exclude_luns"
    assert "app01-datadisk-1" in err.message and "app01-datadisk-0" not in err.message
    assert "remove_unrestored_disks: true" in err.message
    raw = with_selection(scenario_dict(location="original",
                                       target={"remove_unrestored_disks": True}),
                         disks=["os", 0])
    assert parse_scenario(raw).restore_point.restores(0)
    assert not parse_scenario(raw).restore_point.restores(1)


@pytest.mark.parametrize(("location", "target", "selection"), [
    ("original", {}, {}),                                  # every disk is restored
    ("new", {}, {"exclude_luns": [1]}),                    # the source stays
    ("original", {"mode": "disks"}, {"disks": [1]}),       # the source stays
])
def test_the_opt_in_is_refused_where_it_can_never_take_effect(location, target, selection):
    raw = scenario_dict(location=location, target={**target, "remove_unrestored_disks": True})
    err = error_of(with_selection(raw, **selection))
    assert err.field == "target.remove_unrestored_disks"


def test_a_disk_sku_for_a_disk_not_restored_is_refused():
    raw = with_selection(scenario_dict(location="new", target={"disk_sku": {1: "Standard_LRS"}}),
                         exclude_luns=[1])
    err = error_of(raw)
    assert err.field == "target.disk_sku" and "restore_point.exclude_luns" in err.message


def test_disks_mode_restores_any_subset_even_without_the_os_disk():
    raw = with_selection(scenario_dict(target={"mode": "disks"}), disks=[1])
    scenario = parse_scenario(raw)
    assert [scenario.restore_point.restores(lun) for lun in (None, 0, 1)] == [False, False, True]


def test_the_new_fields_leave_the_restore_id_of_a_scenario_without_them_alone():
    """Left out of the dump at their defaults: the shipped scenarios keep their ids (and
    so their names and seeded timings)."""
    dumped = parse_scenario(scenario_dict()).model_dump(mode="json")
    assert "mode" not in dumped["target"] and "disks" not in dumped["restore_point"]
    assert "remove_unrestored_disks" not in dumped["target"]
    chosen = parse_scenario(with_selection(scenario_dict(location="new"), disks=["os"]))
    assert parse_scenario(chosen.model_dump(mode="json")) == chosen  # a journal's round trip


# -- the paths -------------------------------------------------------------------------------

@pytest.mark.parametrize("location", LOCATIONS)
@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_each_path_restores_disks_only(point, location):
    scenario = path_scenario(point, location, "disks")
    assert_restored(scenario, restore.simulate(scenario))


@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_each_path_restores_disks_only_with_the_targets_settings(point):
    scenario = path_scenario(point, "new", "disks", zone="1", target=DISKS_ONLY_NEW)
    report = restore.simulate(scenario, seed=5)
    assert_restored(scenario, report)
    assert [d["sku"] for d in report.restored_disks] == [
        "StandardSSD_LRS", "Premium_LRS", "Standard_LRS"]


@pytest.mark.parametrize("location", LOCATIONS)
@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_each_path_restores_the_vm_with_a_disk_left_out(point, location):
    scenario = path_scenario(point, location, "selective")
    report = restore.simulate(scenario)
    assert_restored(scenario, report)
    assert report.restored_vm is not None and len(report.restored_vm["disks"]) == 2
    assert [d["lun"] for d in report.restored_disks] == [None, 0]


@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_a_subset_of_disks_only_without_the_os_disk(point):
    raw = path_scenario(point, "original", "disks").model_dump(mode="json")
    scenario = parse_scenario(with_selection(raw, disks=[1]))
    report = restore.simulate(scenario)
    assert_restored(scenario, report)
    assert [d["lun"] for d in report.restored_disks] == [1]
    writes = [o for o in report.operations if o["op"] in ("create_disk", "write_disk_data")]
    assert all("osdisk-restored" not in o["resource"] for o in writes)


def test_a_fleet_of_disks_only_restores_uses_the_warm_pool_and_leaves_no_leak():
    raw = path_scenario(("backup", "hot", None), "new", "disks").model_dump(mode="json")
    fleet = restore.simulate_fleet(parse_scenario({**raw, "fleet": {
        "groups": [{"count": 4}], "max_workers": 2}}))
    summary = fleet.to_dict()
    assert fleet.status == "succeeded" and summary["leaked"] == 0
    assert all(vm.source_intact for vm in fleet.vms)
    assert summary["workers_created"] == 2 and summary["workers_started"] == 2


@pytest.mark.parametrize("kind", ["backup", "snapshot"])
@pytest.mark.parametrize("variant", ["disks", "selective"])
def test_the_restored_subset_holds_its_source_disks_bytes(kind, variant):
    scenario = path_scenario((kind, "hot", None), "original", variant)
    raw = scenario.model_dump(mode="json")
    raw["data"] = {"mode": "bytes", "size_mb": 4}
    if variant == "disks":
        raw["restore_point"]["disks"] = [1, "os"]
    report = restore.simulate(parse_scenario(raw))
    assert report.status == "succeeded" and report.data_verified is True
    assert [d["lun"] for d in report.restored_disks] == [None, 1 if variant == "disks" else 0]


# -- failures --------------------------------------------------------------------------------

@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_a_failed_restore_of_disks_only_deletes_the_restored_disks_too(point):
    """A worker that cannot let go of the disks (backup), one disk refused by the quota
    (snapshot): the rollback deletes every disk made, found by the restore-id tag."""
    scenario = path_scenario(point, "original", "disks")
    fault = (Fault(at="detach_disks", kind="quota_exceeded") if point[0] == "backup" else
             Fault(at="create_disk", kind="quota_exceeded"))
    report = restore.simulate(scenario, faults=[fault])
    assert report.status == "rolled_back" and report.source_intact
    assert report.restored_disks == [] and report.leaked == []
    made = {o["resource"].lower() for o in report.operations
            if o["op"] == "create_disk" and o["status"] == "succeeded"}
    deleted = {o["resource"].lower() for o in report.operations
               if o["step"] == "rollback" and o["op"] == "delete_disk"}
    assert any(i.endswith("-restored") for i in made) and made <= deleted
    assert not [r for r in by_id(report).values() if RESTORE_ID_TAG in r["tags"]]


def test_disks_only_preflight_checks_names_and_quota_for_disks_and_workers_only():
    plan = restore.plan_for(path_scenario(("backup", "hot", None), "new", "disks"))
    preflight = {t.op.kind: t.op for t in dry_run(plan) if t.step == "preflight"}
    worker = f"restorelab-worker-{plan.context.restore_id}-0"
    assert {i.rsplit("/", 1)[-1] for i in preflight["check_names"].ids} == {
        "app01-osdisk-restored", "app01-datadisk-0-restored", "app01-datadisk-1-restored",
        worker, f"{worker}-nic", f"{worker}-osdisk"}
    quota = preflight["check_quota"]
    assert quota.vm_sizes == ("Standard_F4s_v2",)  # the worker's: no VM is made
    assert quota.disks == 3 + 1


def test_disks_only_preflight_counts_no_vm_but_the_workers():
    """The source (4 vCPUs) and one F4s_v2 worker fill 8; a new VM would need 4 more."""
    from test_limits import assert_rolled_back_at_preflight, with_quotas

    from restore.backends.sim import simulate

    tight = with_quotas(regional_vcpus=8)
    assert simulate(path_scenario(("backup", "hot", None), "new", "disks"),
                    profile=tight).status == "succeeded"
    refused = simulate(path_scenario(("backup", "hot", None), "new"), profile=tight)
    assert_rolled_back_at_preflight(refused, "QuotaExceeded")
    # The source's 3 disks, the 3 restored and the worker's OS disk: 7.
    scenario = path_scenario(("backup", "hot", None), "original", "disks")
    assert simulate(scenario, profile=with_quotas(managed_disks=7)).status == "succeeded"
    assert_rolled_back_at_preflight(simulate(scenario, profile=with_quotas(managed_disks=6)),
                                    "QuotaExceeded")


def test_disks_only_preflight_refuses_a_restored_disks_name_that_is_taken():
    from test_limits import assert_rolled_back_at_preflight

    scenario = path_scenario(("snapshot", "hot", None), "original", "disks", data_disks=[
        {"size_gb": 32, "name": "app01-osdisk-restored"}])
    report = restore.simulate(scenario)
    assert_rolled_back_at_preflight(report, "Conflict")
    assert "app01-osdisk-restored" in report.error["message"]


# -- plan and report -------------------------------------------------------------------------

def run_cli(*args: str):
    return CliRunner().invoke(app, list(args))


def test_plan_lists_the_restored_disks_and_what_is_lost():
    shown = run_cli("plan", str(ROOT / "scenarios" / "orig-hot-selective-disks.yaml"))
    assert shown.exit_code == 0, shown.output
    assert "Removes with the source VM and does not restore" in shown.output
    assert "rg-prod/disks/app02-scratch" in shown.output
    summary = json.loads(run_cli("plan", str(ROOT / "scenarios" /
                                             "orig-hot-selective-disks.yaml"), "--json").stdout)
    assert summary["mode"] == "vm"
    assert [d["lun"] for d in summary["restored_disks"]] == [None, 0, 2]
    assert [i.rsplit("/", 1)[-1] for i in summary["removed_not_restored"]] == ["app02-scratch"]


def test_scenarios_shows_each_ones_mode_and_disks_restored():
    from restore.cli_output import out, show_scenarios

    with out.capture() as captured:
        show_scenarios({p: restore.load_scenario(ROOT / "scenarios" / f"{p}.yaml")
                        for p in ("new-hot-disks-only", "orig-hot-selective-disks")})
    shown = captured.get()
    assert "new, disks only" in shown and "3 of 4" in shown


def test_plan_of_disks_only_says_so_and_removes_nothing():
    summary = json.loads(run_cli("plan", str(ROOT / "scenarios" / "new-hot-disks-only.yaml"),
                                 "--json").stdout)
    assert summary["mode"] == "disks" and summary["removed_not_restored"] == []
    assert [d["id"].rsplit("/", 1)[-1] for d in summary["restored_disks"]] == [
        "db01-osdisk-restored", "db01-datadisk-0-restored", "db01-logs-restored"]
    assert {s["name"] for s in summary["steps"]}.isdisjoint({"create_vm", "remove_source_vm"})


def test_the_report_lists_the_restored_disks():
    ran = run_cli("simulate", str(ROOT / "scenarios" / "new-hot-disks-only.yaml"), "--json")
    assert ran.exit_code == 0
    report = json.loads(ran.stdout)
    assert report["restored_vm"] is None and report["removed_not_restored"] == []
    assert [(d["lun"], d["sku"], d["size_gb"]) for d in report["restored_disks"]] == [
        (None, "StandardSSD_LRS", 64), (0, "StandardSSD_LRS", 512), (1, "StandardSSD_LRS", 128)]
    shown = run_cli("simulate", str(ROOT / "scenarios" / "new-hot-disks-only.yaml"))
    assert "3 disks, attached to nothing" in shown.output


def test_the_report_says_which_source_disks_were_removed_and_not_restored():
    ran = run_cli("simulate", str(ROOT / "scenarios" / "orig-hot-selective-disks.yaml"))
    assert ran.exit_code == 0
    assert "not restored  removed with the source: rg-prod/disks/app02-scratch" in ran.output
