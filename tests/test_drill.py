"""Restore drills (`restorelab drill`, ``target.mode: drill``): the VM restored into an
isolated network of its own, its health checked, the time to healthy measured against the
RTO, and everything the drill made deleted, whatever happened."""

from __future__ import annotations

import json

import pytest
from helpers import RESTORE_ID_TAG, SUBSCRIPTION, by_id, path_scenario, scenario_dict
from typer.testing import CliRunner

import restore
from restore import Fault, parse_scenario
from restore.backends.guest import RestoreAgent
from restore.backends.profiles import load_profile
from restore.cli import app
from restore.drills import CHECK_MARK, EXIT_MARK, as_drill, exit_code, guest_script, mounts_script
from restore.errors import ScenarioError
from restore.plan import build_plan
from restore.shipped import find_scenario

runner = CliRunner()
SIZING = load_profile("default").sizing
NSG = "Microsoft.Network/networkSecurityGroups"
VNET = "Microsoft.Network/virtualNetworks"
NICS = "Microsoft.Network/networkInterfaces"
AGENT_NOT_READY = Fault(at="check_health/wait_vm_healthy", kind="agent_not_ready")
CHECK_FAILED = Fault(at="check_health/run_guest_check", kind="check_failed")


def drill_of(**changes) -> restore.Scenario:
    raw = scenario_dict(location="new")
    raw["target"] = {"location": "new", "mode": "drill"}
    raw["drill"] = {"script": "systemctl is-active --quiet nginx", "timeout": "10m"}
    raw.update(changes)
    return parse_scenario(raw)


def tagged(report) -> list[str]:
    return [i for i, r in by_id(report).items() if r["tags"].get(RESTORE_ID_TAG)]


# -- the plan ----------------------------------------------------------------------------

def test_the_plan_makes_the_network_first_checks_health_last_and_removes_the_group():
    plan = build_plan(drill_of(), SIZING)
    assert plan.prerequisites["create_drill_network"] == ("preflight",)
    assert plan.prerequisites["create_empty_disks"] == ("create_drill_network",)
    assert plan.prerequisites["check_health"] == ("attach_disks",)
    assert set(plan.prerequisites["remove_drill"]) == {"check_health", "remove_worker"}
    ctx = plan.context
    group = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/restorelab-drill-{ctx.restore_id}"
    assert ctx.drill.group == ctx.target_group == group
    assert ctx.vm_subnet.endswith("/subnets/restored") and ctx.subnet.endswith("/subnets/workers")
    assert all(d.id.startswith(group + "/") for d in ctx.disks)


def test_a_snapshot_drill_checks_health_after_the_disks_and_removes_the_copies_first():
    raw = scenario_dict(kind="snapshot", location="new")
    raw["target"] = {"location": "new", "mode": "drill", "region": "northeurope"}
    plan = build_plan(parse_scenario(raw), SIZING)
    assert plan.prerequisites["copy_snapshots"] == ("create_drill_network",)
    assert set(plan.prerequisites["remove_drill"]) == {"check_health", "remove_snapshot_copies"}


@pytest.mark.parametrize(("target", "field"), [
    ({"location": "original", "mode": "drill"}, "target.mode"),
    ({"location": "new", "mode": "drill", "subnet": "vnet/default"}, "target.subnet"),
    ({"location": "new", "mode": "drill", "nsg": "nsg-web"}, "target.nsg"),
    ({"location": "new", "mode": "drill", "power_on": False}, "target.power_on"),
    ({"location": "new", "mode": "drill", "public_ip": {"sku": "Standard"}}, "target.public_ip"),
])
def test_a_drill_refuses_what_cannot_be_isolated_naming_the_field(target, field):
    raw = scenario_dict(location="new")
    raw["target"] = target
    with pytest.raises(ScenarioError, match=field.replace(".", r"\.")):
        parse_scenario(raw)


@pytest.mark.parametrize("value", ["0", "4x", "1h30", True, -5])
def test_a_bad_rto_or_check_timeout_is_refused(value):
    with pytest.raises(ScenarioError, match="rto"):
        drill_of(rto=value)
    with pytest.raises(ScenarioError, match="drill.timeout"):
        drill_of(drill={"timeout": value})


def test_guest_faults_only_where_a_drill_checks_health():
    with pytest.raises(ScenarioError, match="can never fire: .*wait_vm_healthy"):
        restore.simulate(drill_of(), faults=[Fault(at="create_vm", kind="agent_not_ready")])
    with pytest.raises(ScenarioError, match="can never fire"):
        restore.simulate(path_scenario(("backup", "hot", None), "new"),
                         faults=[Fault(at="create_vm", kind="check_failed")])


# -- a passing drill ------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["sim", "fake-arm"])
def test_a_healthy_drill_passes_and_leaves_nothing(backend):
    report = restore.simulate(drill_of(rto="2h"), backend=backend)
    assert report.status == "succeeded" and report.exit_code == 0
    answer = report.drill
    assert [(c["check"], c["status"]) for c in answer["checks"]] == [
        ("provisioning", "passed"), ("power_state", "passed"), ("vm_agent", "passed"),
        ("disks_mounted", "passed"), ("script", "passed")]
    health = next(s for s in report.steps if s["name"] == "check_health")
    assert answer["time_to_healthy_s"] == health["end_s"] < report.duration_s
    assert answer["rto_s"] == 7200 and answer["rto_met"] is True and answer["passed"]
    assert report.leaked == [] and tagged(report) == [] and report.source_intact
    assert report.restored_vm is None and report.restored_disks == []


def test_sim_and_fake_arm_drill_alike_for_every_seed_and_fault():
    for seed in range(3):
        for faults in ([], [AGENT_NOT_READY], [CHECK_FAILED]):
            sim = restore.simulate(drill_of(), seed=seed, faults=faults)
            arm = restore.simulate(drill_of(), seed=seed, faults=faults, backend="fake-arm")
            assert (sim.duration_s, sim.status, sim.drill) == (
                arm.duration_s, arm.status, arm.drill)
            assert sim.final_state == arm.final_state


def test_the_drill_waits_for_the_vm_agent_polling_its_instance_view():
    """The agent reports Ready a vm_agent_ready draw after the VM booted: the wait ends on
    the first read at or after it, reads POLL_S apart."""
    report = restore.simulate(drill_of(), seed=1)
    wait = next(o for o in report.operations if o["op"] == "wait_vm_healthy")
    booted = next(o for o in report.operations if o["step"] == "create_vm"
                  and o["op"] == "create_vm")
    assert wait["start_s"] >= booted["end_s"]
    assert (wait["end_s"] - wait["start_s"]) % 15.0 == pytest.approx(0.0, abs=1e-6)


def test_while_it_runs_the_drill_network_is_closed_to_the_internet_both_ways():
    """Stopped before its removal, the drill shows what it made: the VM on the isolated
    subnet behind the NSG that denies the internet in and out, no peering."""
    report = restore.simulate(drill_of(), faults=[Fault(at="remove_drill", kind="crash")])
    assert report.status == "interrupted"
    found = by_id(report)
    nsg = next(r for r in found.values() if r["type"] == NSG)
    rules = {(r["properties"]["direction"], r["properties"]["access"],
              r["properties"]["sourceAddressPrefix"], r["properties"]["destinationAddressPrefix"])
             for r in nsg["properties"]["securityRules"]}
    assert rules == {("Inbound", "Deny", "Internet", "*"), ("Outbound", "Deny", "*", "Internet")}
    vnet = next(r for r in found.values() if r["type"] == VNET and "drill" in r["name"])
    assert vnet["properties"] == {"subnets": ["restored", "workers"]}  # no peering
    vm_nic = next(r for r in found.values() if r["type"] == NICS and "restored" in r["name"])
    assert vm_nic["properties"]["subnet"].endswith("/subnets/restored")


# -- a failing drill ------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["sim", "fake-arm"])
def test_an_agent_never_ready_fails_the_drill_after_its_timeout_and_removes_everything(
        backend):
    report = restore.simulate(drill_of(), faults=[AGENT_NOT_READY], backend=backend)
    assert report.status == "rolled_back" and report.exit_code == 1
    assert [(c["check"], c["status"]) for c in report.drill["checks"]] == [
        ("provisioning", "passed"), ("power_state", "passed"), ("vm_agent", "failed"),
        ("disks_mounted", "not run"), ("script", "not run")]
    assert "not Ready" in report.drill["checks"][2]["detail"]
    wait = next(o for o in report.operations if o["op"] == "wait_vm_healthy")
    assert wait["end_s"] - wait["start_s"] == pytest.approx(600.0)
    assert report.drill["time_to_healthy_s"] is None and not report.drill["passed"]
    assert report.leaked == [] and tagged(report) == [] and report.source_intact


def test_a_failing_script_fails_the_drill_naming_its_exit_code():
    scenario = drill_of(drill={"script": "curl -fs localhost/health", "mounts": False})
    report = restore.simulate(scenario, faults=[CHECK_FAILED])
    checks = {c["check"]: c for c in report.drill["checks"]}
    assert "disks_mounted" not in checks and checks["script"]["status"] == "failed"
    assert "exit code 1" in checks["script"]["detail"] and report.exit_code == 1
    assert tagged(report) == []


def test_a_missed_rto_fails_a_healthy_drill():
    report = restore.simulate(drill_of(rto="5m"))
    assert report.status == "succeeded" and report.drill["rto_met"] is False
    assert not report.drill["passed"] and report.exit_code == 1


def test_a_drill_whose_group_cannot_be_removed_fails_and_lists_it():
    report = restore.simulate(drill_of(), faults=[Fault(at="remove_drill", kind="quota_exceeded")])
    assert report.status == "succeeded" and report.leaked
    assert not report.drill["passed"] and report.exit_code == 1


# -- the guest's side -----------------------------------------------------------------------

def test_the_drill_network_puts_its_security_group_on_the_vm_subnet_only():
    from restore.backends.drill_calls import vnet_body
    from restore.drill_steps import create_drill_network

    ctx = build_plan(drill_of(), SIZING).context
    *_, vnet_op = list(create_drill_network(ctx))
    subnets = {s["name"]: s["properties"] for s in vnet_body(vnet_op)["properties"]["subnets"]}
    assert subnets["restored"]["networkSecurityGroup"] == {"id": ctx.drill.nsg}
    assert "networkSecurityGroup" not in subnets["workers"]
    assert "virtualNetworkPeerings" not in vnet_body(vnet_op)["properties"]


def test_a_check_script_prints_its_exit_code_and_runs_under_timeout():
    script = guest_script("script", "echo hi\nexit 3", 300)
    assert script[0] == f"{CHECK_MARK} script" and "timeout 300s bash -s" in script[1]
    assert script[2:4] == ["echo hi", "exit 3"] and EXIT_MARK in script[-1]
    assert exit_code(f"hi\n{EXIT_MARK} 3") == 3 and exit_code("no mark") is None


def test_the_fake_guest_finds_a_disk_missing_at_its_lun():
    from fakecloud.models import VirtualMachine

    agent = RestoreAgent(load_profile("default"), None, False)
    vm = VirtualMachine(id="/subscriptions/s/resourceGroups/g/providers/"
                        "Microsoft.Compute/virtualMachines/vm", location="westeurope",
                        data_disks={0: "disk-0"})
    ok = agent.drill_check(vm, "disks_mounted", guest_script(
        "disks_mounted", mounts_script((0,)), 60))
    missing = agent.drill_check(vm, "disks_mounted", guest_script(
        "disks_mounted", mounts_script((0, 1)), 60))
    assert exit_code(ok.output["value"][0]["message"]) == 0
    message = missing.output["value"][0]["message"]
    assert exit_code(message) == 1 and "LUN 1: no disk" in message


# -- any scenario as a drill ----------------------------------------------------------------

def test_any_scenario_drills_keeping_a_new_locations_settings_but_its_network():
    shipped = restore.load_scenario(find_scenario("new-location-changed-settings"))
    drilled = as_drill(shipped, rto_s=3600)
    assert drilled.is_drill and drilled.rto == 3600
    for kept in ("region", "vm_size", "disk_sku", "zone"):
        assert getattr(drilled.target, kept) == getattr(shipped.target, kept)
    assert drilled.target.subnet is None and drilled.target.resource_group is None
    original = as_drill(restore.load_scenario(find_scenario("orig-hot-backup")))
    assert original.target.location == "new" and original.target.region is None
    fleet = as_drill(restore.load_scenario(find_scenario("fleet-40-vms")))
    assert fleet.fleet is None and fleet.source_vm.name == "web"


# -- the CLI -------------------------------------------------------------------------------

def test_drill_command_shows_the_checks_and_the_time_to_healthy():
    result = runner.invoke(app, ["drill", "orig-hot-backup", "--rto", "4h"])
    assert result.exit_code == 0, result.stdout
    assert "health checks" in result.stdout and "drill passed" in result.stdout
    assert "RTO 4:00:00: met" in result.stdout
    report = json.loads(runner.invoke(app, ["drill", "orig-hot-backup", "--json"]).stdout)
    assert report["drill"]["passed"] and report["drill"]["rto_s"] is None
    assert report["leaked"] == [] and report["source_intact"] is True


def test_drill_command_exits_1_on_a_missed_rto_and_2_on_bad_flags():
    missed = runner.invoke(app, ["drill", "drill-hot-backup", "--rto", "10m"])
    assert missed.exit_code == 1 and "missed" in missed.stdout and "drill failed" in missed.stdout
    bad = runner.invoke(app, ["drill", "drill-hot-backup", "--rto", "soon"])
    assert bad.exit_code == 2 and "--rto" in bad.stderr and "Traceback" not in bad.stderr
    unknown = runner.invoke(app, ["drill", "drill-hot-backup", "--backend", "cloud"])
    assert unknown.exit_code == 2 and "unknown backend 'cloud'" in unknown.stderr


def test_the_readme_drill_block_drills():
    import re

    import yaml
    from helpers import ROOT, assert_restored

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [block] = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL)
               if "mode: drill" in b]
    scenario = parse_scenario({**scenario_dict(location="new"), **yaml.safe_load(block)})
    report = restore.simulate(scenario)
    assert_restored(scenario, report)
    assert scenario.rto == 3600 and report.drill["rto_met"] is True


def test_the_python_api_drills_any_scenario_against_an_rto():
    shipped = restore.load_scenario(find_scenario("orig-snapshot"))
    report = restore.drill(shipped, rto="30m")
    assert report.drill["passed"] and report.drill["rto_s"] == 1800
    assert "create_disks_from_snapshots" in {s["name"] for s in report.steps}
    assert report.source_intact and tagged(report) == []
    with pytest.raises(ValueError, match="rto: 'soon' is not a duration"):
        restore.drill(shipped, rto="soon")


def test_a_real_drill_on_the_azure_backend_signs_in_checks_and_removes_everything(
        managed_identity):
    """`restorelab drill --backend azure` under mock_azure: the SDK's calls, the agent's
    wait on the (virtual) clock, the guest checks through Run Command, nothing left."""
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    from test_live_restore import region_of

    from restore.backends.data import REPOSITORY_URL

    _, _, mocked = region_of("drill-hot-backup")
    with mocked as fake:
        before = {r["id"] for r in fake.state.export()}
        result = runner.invoke(app, ["drill", "drill-hot-backup", "--backend", "azure",
                                     "--subscription", SUBSCRIPTION, "--json",
                                     "--repository", REPOSITORY_URL])
        after = {r["id"] for r in fake.state.export()}
        calls = [f"{r.method} {r.path}" for r in fake.requests]
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["backend"] == "azure" and report["drill"]["passed"]
    assert all(c["status"] == "passed" for c in report["drill"]["checks"])
    assert after == before  # the drill's group and all in it are gone
    assert any(c.startswith("GET ") and c.endswith("/instanceView") for c in calls)
    assert sum(c.endswith("/virtualMachines/web01-restored/runCommand") for c in calls) == 2
