"""Real restores (`restorelab restore --backend azure`, `restore.backends.live`) end to end
under ``mock_azure``: DefaultAzureCredential, the source read from the subscription,
read-only preflight and plan, confirmation, journal and resume."""

from __future__ import annotations

import json

import pytest
from helpers import SCENARIO_FILES, SUBSCRIPTION

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

from typer.testing import CliRunner  # noqa: E402

import restore  # noqa: E402
from datapath import delivery  # noqa: E402
from fakecloud import FakeCredential, mock_azure  # noqa: E402
from fakecloud.region import ChaosRule  # noqa: E402
from restore.backends import live  # noqa: E402
from restore.backends.data import REPOSITORY_URL  # noqa: E402
from restore.backends.fake_arm import FakeRepository  # noqa: E402
from restore.backends.sim import prepare  # noqa: E402
from restore.backends.simregion import restore_region  # noqa: E402
from restore.cli import app  # noqa: E402
from restore.errors import CloudError, ScenarioError  # noqa: E402

runner = CliRunner()
CLEAN = [p for p in SCENARIO_FILES if not p.stem.startswith("faulted-")]


@pytest.fixture(autouse=True)
def no_azure_environment(managed_identity):
    """Every test here signs in through the fake's managed identity."""


def region_of(name: str, seed: int = 3):
    """The scenario's source VM (and network) in a fake subscription."""
    scenario = restore.load_scenario(next(p for p in SCENARIO_FILES if p.stem == name))
    prepared = prepare(scenario)
    region = restore_region(prepared.world.copy(), prepared.profile, seed)
    return scenario, prepared, mock_azure(region=region)


def writes(fake) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests if r.method != "GET"]


def cli(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


@pytest.mark.parametrize("path", CLEAN, ids=lambda p: p.stem)
def test_a_real_restore_ends_as_the_simulation_does(path):
    """Same restore id, same final resources, tags and attachments as the sim backend."""
    scenario, prepared, mocked = region_of(path.stem)
    sim = restore.simulate(scenario)
    with mocked as fake:
        clients = live.connect(SUBSCRIPTION, FakeCredential(), polling_interval=0)
        ready = live.prepare(scenario, clients, restore_id=prepared.plan.context.restore_id,
                             repository=FakeRepository(fake))
        report = live.run(ready)
    assert report.backend == "azure" and report.status == sim.status == "succeeded"
    assert fake.state.export() == sim.final_state["resources"]
    assert report.leaked == [] and report.kept == sim.kept  # replace_disks: the old disks
    assert report.replaced_disks == sim.replaced_disks
    assert (report.restored_vm or {}).get("id", "").lower() == (
        sim.restored_vm or {}).get("id", "").lower()
    assert [(d["id"].lower(), d["lun"], d["sku"], d["size_gb"]) for d in report.restored_disks] \
        == [(d["id"].lower(), d["lun"], d["sku"], d["size_gb"]) for d in sim.restored_disks]
    assert [i.lower() for i in report.removed_not_restored] == [
        i.lower() for i in sim.removed_not_restored]
    assert report.source_intact == sim.source_intact
    assert all(o["arm_requests"] for o in report.operations  # rehydration: the repository's
               if o["op"] != "rehydrate_restore_point")


def test_restore_command_signs_in_reads_the_source_and_restores():
    _, _, mocked = region_of("new-hot-backup")
    with mocked as fake:
        result = cli("restore", "new-hot-backup", "--subscription", SUBSCRIPTION, "--json",
                     "--repository", REPOSITORY_URL)
        report = json.loads(result.stdout)
    assert result.exit_code == 0, result.stderr
    assert report["backend"] == "azure" and report["status"] == "succeeded"
    assert report["restored_vm"]["name"] == "web01-copy" and report["leaked"] == []
    assert report["source_intact"] is True
    assert any(r.path.endswith("/virtualMachines/web01") for r in fake.requests
               if r.method == "GET")


def test_plan_on_azure_lists_creates_and_deletes_and_writes_nothing():
    _, _, mocked = region_of("orig-hot-backup")
    with mocked as fake:
        result = cli("plan", "orig-hot-backup", "--backend", "azure",
                     "--subscription", SUBSCRIPTION, "--json", "--repository", REPOSITORY_URL)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert writes(fake) == []
    assert summary["backend"] == "azure" and summary["steps"][0]["name"] == "preflight"
    assert [d.rsplit("/", 1)[-1] for d in summary["deletes"]] == [
        "web01-datadisk-0", "web01-osdisk", "web01"]
    assert any("/resourceGroups/restorelab-staging-web01-" in c for c in summary["creates"])
    human = None
    with mocked:
        human = cli("plan", "orig-hot-backup", "--backend", "azure",
                    "--subscription", SUBSCRIPTION, "--repository", REPOSITORY_URL)
    assert human.exit_code == 0 and "Preflight passed" in human.stdout
    assert "- rg-prod/virtualMachines/web01" in human.stdout


def test_replacing_the_disks_asks_first_and_says_the_old_ones_are_kept():
    _, _, mocked = region_of("orig-hot-replace-disks")
    with mocked as fake:
        refused = cli("restore", "orig-hot-replace-disks", "--subscription", SUBSCRIPTION,
                      "--repository", REPOSITORY_URL, stdin="n\n")
        assert refused.exit_code == 1 and "nothing was changed" in refused.stderr
        assert "deallocates the VM rg-prod/virtualMachines/app02 and swaps 2 of its disks" \
            in refused.stderr and "kept, detached" in refused.stderr
        assert writes(fake) == []


def test_removing_the_source_waits_for_a_yes():
    _, _, mocked = region_of("orig-snapshot")
    with mocked as fake:
        refused = cli("restore", "orig-snapshot", "--subscription", SUBSCRIPTION, stdin="n\n")
        assert refused.exit_code == 1 and "nothing was changed" in refused.stderr
        assert "removes the source VM rg-prod/virtualMachines/web02" in refused.stderr
        assert writes(fake) == []
        no_answer = cli("restore", "orig-snapshot", "--subscription", SUBSCRIPTION)
        assert no_answer.exit_code == 1 and writes(fake) == []
        agreed = cli("restore", "orig-snapshot", "--subscription", SUBSCRIPTION, stdin="y\n")
    assert agreed.exit_code == 0, agreed.stderr
    assert "status        succeeded" in agreed.stdout and "timeline" in agreed.stdout
    assert writes(fake)


def test_a_new_location_restore_asks_nothing():
    _, _, mocked = region_of("new-snapshot-other-region")
    with mocked:
        result = cli("restore", "new-snapshot-other-region", "--subscription", SUBSCRIPTION,
                     "--json")
    assert result.exit_code == 0, result.stderr
    assert "Go on?" not in result.stderr


@pytest.mark.parametrize("args, exit_code, says", [
    (("--backend", "sim"), 2, "restore runs on 'azure' only"),
    ((), 2, "--subscription"),
    (("--subscription", SUBSCRIPTION, "--source-vm", "nosuchvm"), 2,
     "no VM 'nosuchvm' in resource group 'rg-prod'"),
])
def test_bad_flags_and_missing_sources_are_named(args, exit_code, says):
    _, _, mocked = region_of("orig-hot-backup")
    with mocked as fake:
        result = cli("restore", "orig-hot-backup", "--yes", "--repository", REPOSITORY_URL,
                     *args)
    assert result.exit_code == exit_code
    assert says in " ".join(result.stderr.split())
    assert "Traceback" not in result.output and writes(fake) == []


def test_a_failed_preflight_changes_nothing():
    scenario, prepared, mocked = region_of("new-hot-backup")
    ctx = prepared.plan.context
    with mocked as fake:  # someone else's NIC holds the restored VM's NIC name
        fake.state.create_nic(ctx.vm.nic, ctx.location, ctx.source.subnet)
        result = cli("restore", "new-hot-backup", "--subscription", SUBSCRIPTION, "--yes",
                     "--repository", REPOSITORY_URL)
        assert result.exit_code == 1
        assert "preflight failed, nothing was changed: Conflict" in " ".join(
            result.stderr.split())
        assert writes(fake) == []


def test_backups_without_a_repository_are_refused_before_any_read():
    scenario, _, mocked = region_of("orig-archive-standard")
    with mocked as fake:
        clients = live.connect(SUBSCRIPTION, FakeCredential(), polling_interval=0)
        with pytest.raises(ScenarioError, match="restore_point: .*--repository URL"):
            live.prepare(scenario, clients)
        assert fake.requests == []
        ready = live.prepare(scenario, clients,  # archived: rehydrated from its container
                             repository=live.ContainerRepository(REPOSITORY_URL))
    assert "retrieve_archived_data" in [step.name for step in ready.plan.steps]


def test_a_worker_without_the_agent_fails_the_restore_and_rolls_back(monkeypatch):
    """On Azure Run Command succeeds whatever the script did: no agent report, no data."""
    scenario, _, mocked = region_of("new-hot-backup")
    monkeypatch.setattr(delivery, "custom_data", lambda: "IyEvYmluL3NoCg==")  # "#!/bin/sh"
    with mocked as fake:
        clients = live.connect(SUBSCRIPTION, FakeCredential(), polling_interval=0)
        report = live.run(live.prepare(scenario, clients, repository=FakeRepository(fake)))
    assert report.status == "rolled_back"
    assert report.error["code"] == "AgentFailed"
    assert "command not found" in report.error["message"]
    assert report.leaked == [] and report.source_intact


def test_a_restore_stopped_midway_is_finished_by_resume(tmp_path):
    scenario, prepared, mocked = region_of("orig-hot-backup")
    journal = tmp_path / "restore.journal"
    uninterrupted = restore.simulate(scenario)

    def stop_at_move(ticket):
        if ticket.step == "move_disks" and ticket.end_s is None:
            raise KeyboardInterrupt  # Ctrl-C as the disks are about to move

    with mocked as fake:
        clients = live.connect(SUBSCRIPTION, FakeCredential(), polling_interval=0)
        ready = live.prepare(scenario, clients, restore_id=prepared.plan.context.restore_id,
                             repository=FakeRepository(fake))
        with pytest.raises(KeyboardInterrupt):
            live.run(ready, journal, stop_at_move)
        assert fake.state.find(prepared.plan.context.vm.id) is None  # source gone, not back
        result = cli("resume", str(journal), "--json", "--repository", REPOSITORY_URL)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["status"] == "succeeded"
        assert fake.state.export() == uninterrupted.final_state["resources"]
        again = cli("resume", str(journal))
    assert again.exit_code == 2 and "nothing to resume" in again.stderr


def test_cloud_errors_on_reads_become_cloud_errors(monkeypatch):
    scenario, _, mocked = region_of("new-hot-backup")
    with mocked as fake:
        fake.region.chaos.add(ChaosRule(operation="GET *", status=403, times=None,
                                        code="AuthorizationFailed"))
        clients = live.connect(SUBSCRIPTION, FakeCredential(), polling_interval=0)
        with pytest.raises(CloudError, match="AuthorizationFailed"):
            live.prepare(scenario, clients, repository=FakeRepository(fake))


def test_a_failed_sign_in_is_one_clear_line(monkeypatch):
    import fakecloud.mock

    monkeypatch.setattr(fakecloud.mock, "_imds_token", lambda request: (
        400, {"Content-Type": "application/json"},
        json.dumps({"error": "invalid_request", "error_description": "Identity not found"})))
    _, _, mocked = region_of("new-hot-backup")
    with mocked as fake:
        result = cli("plan", "new-hot-backup", "--backend", "azure",
                     "--subscription", SUBSCRIPTION, "--repository", REPOSITORY_URL)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot sign in to Azure")
    assert "Traceback" not in result.output and writes(fake) == []


def test_a_restore_of_some_disks_says_on_azure_which_source_disks_it_loses():
    _, _, mocked = region_of("orig-hot-selective-disks")
    path = str(next(p for p in SCENARIO_FILES if p.stem == "orig-hot-selective-disks"))
    with mocked as fake:
        planned = cli("plan", path, "--backend", "azure", "--subscription", SUBSCRIPTION,
                      "--repository", REPOSITORY_URL)
        refused = cli("restore", path, "--subscription", SUBSCRIPTION, "--repository",
                      REPOSITORY_URL, stdin="n\n")
        assert writes(fake) == []
    assert planned.exit_code == 0, planned.output
    assert "- rg-prod/disks/app02-scratch (not restored: lost)" in planned.stdout
    assert "- rg-prod/disks/app02-datadisk-0\n" in planned.stdout  # restored: not lost
    assert refused.exit_code == 1 and "(1 of them not restored: lost)" in refused.stderr


def test_a_restore_of_disks_only_on_azure_asks_nothing_and_removes_nothing():
    _, _, mocked = region_of("new-hot-disks-only")
    path = str(next(p for p in SCENARIO_FILES if p.stem == "new-hot-disks-only"))
    with mocked as fake:
        result = cli("restore", path, "--subscription", SUBSCRIPTION, "--repository",
                     REPOSITORY_URL, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["restored_vm"] is None and len(report["restored_disks"]) == 3
    assert report["source_intact"] and report["leaked"] == []
    assert not [w for w in writes(fake) if w.startswith("DELETE") and "/db01" in w.lower()
                and "restorelab-worker" not in w]


def test_rehydrate_with_needs_the_workers_repository_too():
    _, _, mocked = region_of("orig-archive-standard")
    with mocked as fake:
        result = cli("restore", "orig-archive-standard", "--subscription", SUBSCRIPTION,
                     "--rehydrate-with", "https://acct.blob.core.windows.net/points?sig=x")
        assert writes(fake) == []
    assert result.exit_code == 2 and "--rehydrate-with" in result.stderr
    assert "needs --repository too" in result.stderr and "sig=x" not in result.stderr
