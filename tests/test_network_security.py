"""Network, placement and security (issue 17, item 5): the scenario's fields and their
rules, the plan's operations, the paths on both simulated backends (the same ARM bodies,
the same outcome), preflight, rollback of the public IP, and the fault matrix."""

from __future__ import annotations

import pytest
from helpers import (
    RESTORE_ID_TAG,
    RESTORE_POINTS,
    ROOT,
    assert_restored,
    by_id,
    planned_ops,
    scenario_dict,
)
from helpers_placement import assert_vm_settings
from test_differential import assert_same_outcome
from test_faults import KINDS, SIZING, assert_promises_kept
from typer.testing import CliRunner

import restore
from restore import Fault, ScenarioError, parse_scenario
from restore.backends.faults import ONLY_ON
from restore.cli import app
from restore.engine import dry_run
from restore.ops import CreateDisk, CreateNic, CreatePublicIp, CreateVm, SecurityProfile
from restore.plan import build_plan
from restore.scenario import FaultKind

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
DES = f"{SUB}/resourceGroups/rg-keys/providers/Microsoft.Compute/diskEncryptionSets/des-we"
DES_NORTH = f"{SUB}/resourceGroups/rg-keys/providers/Microsoft.Compute/diskEncryptionSets/des-ne"
SHIPPED = ROOT / "scenarios" / "new-hot-network-security.yaml"
NEW_TARGET = {"resource_group": "rg-restore", "nsg": "nsg-app", "availability_set": "avset-app",
              "public_ip": {"sku": "Standard", "allocation": "static"}}


def secured(location="original", kind="backup", tier="hot", target=None, security=None,
            **source):
    """A Trusted Launch VM with accelerated networking whose OS disk and first data disk
    are encrypted with a disk encryption set."""
    raw = scenario_dict(location=location, kind=kind, tier=tier, target=target)
    raw["source_vm"].update(security=security or {"type": "TrustedLaunch", "vtpm": False},
                            accelerated_networking=True, **source)
    raw["source_vm"]["os_disk"]["encryption_set"] = DES
    raw["source_vm"]["data_disks"][0]["encryption_set"] = DES
    return raw


def error_of(raw) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(raw, source="bad.yaml")
    return info.value


def ops_of(raw, kind):
    return [op for _, op in planned_ops(parse_scenario(raw)) if isinstance(op, kind)]


# -- the scenario's fields -----------------------------------------------------------------

@pytest.mark.parametrize(("change", "field", "says"), [
    (lambda r: r["source_vm"].update(security={"type": "ConfidentialVM"}),
     "source_vm.security.type", "confidential VM"),
    (lambda r: r["source_vm"].update(security={"type": "Standard", "vtpm": True}),
     "source_vm.security", "TrustedLaunch"),
    (lambda r: r["target"].update(location="new", availability_set="avset", zone="1"),
     "target.availability_set", "not both"),
    (lambda r: r["target"].update(nsg="nsg-app"), "target", "location: new"),
    (lambda r: r["target"].update(location="new", mode="disks", nsg="nsg-app"),
     "target.nsg", "mode: vm"),
    (lambda r: r["target"].update(location="new", mode="disks", public_ip={}),
     "target.public_ip", "mode: vm"),
    (lambda r: r["target"].update(location="new", public_ip={"allocation": "dynamic"}),
     "target.public_ip", "static only"),
    (lambda r: r["target"].update(location="new", nsg=DES), "target.nsg",
     "networkSecurityGroups"),
    (lambda r: r["target"].update(location="new", encryption_set="des-we"),
     "target.encryption_set", "ARM id"),
    (lambda r: r["source_vm"]["os_disk"].update(encryption_set="des-we"),
     "source_vm.os_disk.encryption_set", "ARM id"),
    (lambda r: r["target"].update(location="new", region="northeurope"),
     "target.encryption_set", "northeurope"),
])
def test_bad_settings_are_errors_naming_the_field(change, field, says):
    raw = secured()
    change(raw)
    err = error_of(raw)
    assert err.field == field, (err.field, err.message)
    assert says in err.message


def test_another_region_takes_a_disk_encryption_set_there_or_platform_keys():
    for chosen in (DES_NORTH, "platform"):
        sc = parse_scenario(secured("new", target={"region": "northeurope",
                                                    "encryption_set": chosen}))
        assert sc.target.encryption_set == chosen


def test_the_new_fields_leave_a_scenario_without_them_alone():
    dumped = parse_scenario(scenario_dict(location="new")).model_dump(mode="json")
    assert not {"security", "accelerated_networking"} & set(dumped["source_vm"])
    assert "encryption_set" not in dumped["source_vm"]["os_disk"]
    assert not {"nsg", "public_ip", "availability_set", "encryption_set",
                "security_type"} & set(dumped["target"])
    sc = parse_scenario(secured("new", target=NEW_TARGET))
    assert parse_scenario(sc.model_dump(mode="json")) == sc  # a journal's round trip


# -- the plan ------------------------------------------------------------------------------

def test_a_new_location_restore_sends_every_setting():
    raw = secured("new", target=NEW_TARGET)
    ip, = ops_of(raw, CreatePublicIp)
    assert (ip.sku, ip.allocation) == ("Standard", "Static") and ip.id.endswith(
        "/rg-restore/providers/Microsoft.Network/publicIPAddresses/app01-restored-ip")
    nic = next(op for op in ops_of(raw, CreateNic) if "worker" not in op.id)
    assert nic.nsg.endswith("/rg-restore/providers/Microsoft.Network/networkSecurityGroups/"
                            "nsg-app")
    assert (nic.public_ip, nic.accelerated_networking) == (ip.id, True)
    vm = next(op for op in ops_of(raw, CreateVm) if not op.os_disk_from_image)
    assert vm.availability_set.endswith("/availabilitySets/avset-app")
    assert vm.security == SecurityProfile("TrustedLaunch", secure_boot=True, vtpm=False)
    assert [d.encryption_set for d in ops_of(raw, CreateDisk)] == [DES, DES, None]
    workers = [op for op in ops_of(raw, CreateNic) if "worker" in op.id]
    assert all(op.nsg is op.public_ip is None for op in workers)  # workers: as before


def test_the_target_may_change_the_security_type_and_the_disks_keys():
    raw = secured("new", target={"security_type": "Standard", "encryption_set": "platform"})
    vm = next(op for op in ops_of(raw, CreateVm) if not op.os_disk_from_image)
    assert vm.security is None and not ops_of(raw, CreatePublicIp)
    assert {d.encryption_set for d in ops_of(raw, CreateDisk)} == {None}
    raw = scenario_dict(location="new", target={"security_type": "TrustedLaunch",
                                                "encryption_set": DES})
    vm = next(op for op in ops_of(raw, CreateVm) if not op.os_disk_from_image)
    assert vm.security == SecurityProfile("TrustedLaunch", True, True)
    assert {d.encryption_set for d in ops_of(raw, CreateDisk)} == {DES}


@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_preflight_checks_what_the_restore_refers_to(point):
    kind, tier, _ = point
    sc = parse_scenario(secured("new", kind, tier, target=NEW_TARGET))
    checked = next(t.op for t in dry_run(build_plan(sc, SIZING)) if t.op.kind == "check_exists")
    assert {i.rsplit("/", 1)[-1] for i in checked.ids} >= {"nsg-app", "avset-app", "des-we"}
    names = next(t.op for t in dry_run(build_plan(sc, SIZING)) if t.op.kind == "check_names")
    assert any(i.endswith("/publicIPAddresses/app01-restored-ip") for i in names.ids)


def test_the_plan_shows_the_settings():
    result = CliRunner().invoke(app, ["plan", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    for says in ("network security group rg-restore/networkSecurityGroups/nsg-app",
                 "new public IP rg-restore/publicIPAddresses/app01-copy-ip (Standard, Static)",
                 "availability set rg-restore/availabilitySets/avset-app",
                 "accelerated networking", "TrustedLaunch (secure boot on, vTPM on)",
                 "encrypted by rg-keys/diskEncryptionSets/des-westeurope"):
        assert says in result.output, says


# -- the paths, on both backends -----------------------------------------------------------

BACKENDS = ["sim", "fake-arm"]


def needs_the_sdk(backend: str) -> None:
    if backend == "fake-arm":
        pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("location", ["original", "new"])
@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_each_path_carries_the_settings_over(point, location, backend):
    needs_the_sdk(backend)
    kind, tier, priority = point
    raw = secured(location, kind, tier, target=NEW_TARGET if location == "new" else None)
    if priority:
        raw["restore_point"]["rehydrate_priority"] = priority
    sc = parse_scenario(raw)
    report = restore.simulate(sc, backend=backend)
    assert_restored(sc, report)  # helpers_placement checks each setting in the state
    assert report.restored_vm["settings"]["security"] == {
        "type": "TrustedLaunch", "secure_boot": True, "vtpm": False}
    assert [d["encryption_set"] for d in report.restored_disks] == [DES, DES, None]


@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_sim_and_fake_arm_send_the_same_settings(point):
    pytest.importorskip("azure.mgmt.compute")
    kind, tier, priority = point
    raw = secured("new", kind, tier, target=NEW_TARGET)
    if priority:
        raw["restore_point"]["rehydrate_priority"] = priority
    sc = parse_scenario(raw)
    sim, arm = restore.simulate(sc, seed=1), restore.simulate(sc, seed=1, backend="fake-arm")
    assert_same_outcome(sim, arm)  # the final state shows the bodies the region was sent
    assert [(o["op"], o["resource"]) for o in arm.operations] == [
        (o["op"], o["resource"]) for o in sim.operations]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_missing_security_group_fails_preflight_and_creates_nothing(backend, monkeypatch):
    needs_the_sdk(backend)
    from restore.backends import world

    made = world._ensure_referenced

    def without_the_nsg(state, scenario, plan):
        made(state, scenario, plan)
        state.delete_echoed(plan.context.vm.settings.nsg)

    monkeypatch.setattr(world, "_ensure_referenced", without_the_nsg)
    report = restore.simulate(parse_scenario(secured("new", target=NEW_TARGET)),
                              backend=backend)
    assert report.status == "rolled_back" and report.error["step"] == "preflight"
    assert report.error["code"] == "ResourceNotFound"
    assert "networkSecurityGroups/nsg-app" in report.error["message"]
    assert not [i for i, r in by_id(report).items() if r["tags"].get(RESTORE_ID_TAG)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failed_vm_create_rolls_back_the_public_ip_after_its_nic(backend):
    needs_the_sdk(backend)
    sc = parse_scenario(secured("new", target=NEW_TARGET))
    report = restore.simulate(sc, backend=backend, faults=[
        Fault(at="create_vm/create_vm", kind="quota_exceeded")])
    assert report.status == "rolled_back" and report.leaked == []
    deletes = [(o["op"], o["resource"].rsplit("/", 1)[-1]) for o in report.operations
               if o["step"] == "rollback" and o["op"].startswith("delete_")]
    assert deletes.index(("delete_public_ip", "app01-restored-ip")) > deletes.index(
        ("delete_nic", "app01-restored-nic"))
    assert not [i for i, r in by_id(report).items() if r["tags"].get(RESTORE_ID_TAG)]


# -- the fault matrix ----------------------------------------------------------------------

def _matrix():
    out = []
    for point in ("backup", "snapshot"):
        for location in ("original", "new"):
            raw = secured(location, point, target=NEW_TARGET if location == "new" else None)
            for step in build_plan(parse_scenario(raw), SIZING).step_names:
                out += [pytest.param(raw, step, kind, id=f"{point}-{location}-{step}-{kind}")
                        for kind in KINDS]
    return out


@pytest.mark.parametrize(("raw", "step", "kind"), _matrix())
def test_a_fault_at_every_step_keeps_the_promises(raw, step, kind):
    sc = parse_scenario(raw)
    only_on = ONLY_ON.get(FaultKind(kind))
    if only_on and not any(t.step == step and t.op.kind in only_on
                           for t in dry_run(build_plan(sc, SIZING))):
        return  # a rule that can never fire: test_faults shows it refused
    report = restore.simulate(sc, faults=[Fault(at=step, kind=kind)])
    assert_promises_kept(sc, report)
    if report.status == "succeeded":  # retried, or a leftover only: the settings hold
        res = by_id(report)
        vm = res[report.restored_vm["id"].lower()]
        props = vm["properties"]
        disks = {"os": props["osDisk"], **{d["lun"]: d["id"] for d in props["dataDisks"]}}
        assert_vm_settings(sc, res, vm, res[props["networkInterface"].lower()], disks)


# -- a real restore (the azure backend under mock_azure) reads the source's settings -------

def _live(sc, bare, change_world=None):
    """A real restore of ``bare`` (the source as the user names it) in the subscription
    the sim backend seeds for ``sc``: the LiveRestore and the fake."""
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    from fakecloud import FakeCredential, mock_azure
    from restore.backends import live
    from restore.backends.fake_arm import FakeRepository
    from restore.backends.sim import prepare
    from restore.backends.simregion import restore_region

    prepared = prepare(sc)
    world = prepared.world.copy()
    if change_world:
        change_world(world, prepared.plan.context)
    with mock_azure(region=restore_region(world, prepared.profile, 3)) as fake:
        clients = live.connect(sc.subscription, FakeCredential(), polling_interval=0)
        ready = live.prepare(bare, clients, restore_id=prepared.plan.context.restore_id,
                             repository=FakeRepository(fake))
        return ready, live.run(ready), fake


def _bare(raw):
    """The scenario without the source's settings: a real restore reads them from Azure."""
    raw = {**raw, "source_vm": {k: v for k, v in raw["source_vm"].items()
                                if k not in ("security", "accelerated_networking")}}
    raw["source_vm"]["os_disk"] = {k: v for k, v in raw["source_vm"]["os_disk"].items()
                                   if k != "encryption_set"}
    raw["source_vm"]["data_disks"] = [{k: v for k, v in d.items() if k != "encryption_set"}
                                      for d in raw["source_vm"]["data_disks"]]
    return parse_scenario(raw)


def test_a_real_restore_reads_the_sources_settings_and_restores_them_as_the_sim_does():
    raw = secured("new", target=NEW_TARGET)
    sc = parse_scenario(raw)
    ready, report, fake = _live(sc, _bare(raw))
    found = ready.scenario.source_vm
    assert found.security.model_dump() == {"type": "TrustedLaunch", "secure_boot": True,
                                           "vtpm": False}
    assert found.accelerated_networking is True
    assert [spec.encryption_set for _, spec, _ in found.disks()] == [DES, DES, None]
    assert report.status == "succeeded"
    assert fake.state.export() == restore.simulate(sc).final_state["resources"]


def test_a_real_restore_refuses_a_confidential_source():
    raw = secured("new", target=NEW_TARGET)

    def confidential(world, ctx):
        world.find(ctx.source.vm).requested["securityProfile"]["securityType"] = \
            "ConfidentialVM"

    with pytest.raises(ScenarioError) as info:
        _live(parse_scenario(raw), _bare(raw), confidential)
    assert info.value.field == "source_vm.security.type"
    assert "confidential VM" in info.value.message


# -- the source's availability set -----------------------------------------------------------

def in_availability_set(location="original", kind="backup", tier="hot", target=None):
    raw = scenario_dict(location=location, kind=kind, tier=tier, target=target)
    raw["source_vm"]["availability_set"] = "avset-web"
    return raw


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_an_original_location_restore_puts_the_vm_back_in_its_availability_set(point, backend):
    needs_the_sdk(backend)
    kind, tier, priority = point
    raw = in_availability_set("original", kind, tier)
    if priority:
        raw["restore_point"]["rehydrate_priority"] = priority
    sc = parse_scenario(raw)
    report = restore.simulate(sc, backend=backend)
    assert_restored(sc, report)  # helpers_placement checks the VM's availability set
    assert report.restored_vm["settings"]["availability_set"].endswith(
        "/resourceGroups/rg-prod/providers/Microsoft.Compute/availabilitySets/avset-web")


def test_a_new_location_restore_takes_only_the_targets_availability_set():
    sc = parse_scenario(in_availability_set("new", target={"resource_group": "rg-restore"}))
    assert [op.availability_set for op in ops_of(sc.model_dump(mode="json"), CreateVm)
            if not op.os_disk_from_image] == [None]
    report = restore.simulate(sc)
    assert_restored(sc, report)


def test_a_source_in_an_availability_set_and_a_zone_is_refused():
    raw = in_availability_set()
    raw["source_vm"]["zone"] = "1"
    error = error_of(raw)
    assert error.field == "source_vm.availability_set" and "not both" in error.message


def test_a_real_restore_reads_the_sources_availability_set():
    raw = in_availability_set()
    sc = parse_scenario(raw)
    bare = parse_scenario({**raw, "source_vm": {k: v for k, v in raw["source_vm"].items()
                                                if k != "availability_set"}})
    ready, report, fake = _live(sc, bare)
    assert ready.scenario.source_vm.availability_set.endswith("/availabilitySets/avset-web")
    assert report.status == "succeeded"
    assert fake.state.export() == restore.simulate(sc).final_state["resources"]
