"""The `restorelab` command line: contracts of ARCHITECTURE.md (JSON report, exit codes)."""

import json

import pytest
from typer.testing import CliRunner

from restore.cli import app
from restore.scenario import shipped_scenarios

REPORT_FIELDS = {
    "scenario", "backend", "seed", "status", "error", "duration_s", "steps", "operations",
    "final_state", "restored_vm", "leaked", "source_intact", "data_verified", "critical_path_s",
    "restored_disks", "removed_not_restored",
}
DISK_FIELDS = {"id", "lun", "sku", "size_gb", "source"}
STEP_FIELDS = {"name", "start_s", "end_s", "status", "attempts"}
OPERATION_FIELDS = {"op", "resource", "start_s", "end_s", "status", "attempts"}
RESOURCE_FIELDS = {"type", "id", "name", "resource_group", "location", "tags", "properties"}

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


@pytest.mark.parametrize("name", sorted(n for n in shipped_scenarios()
                                         if not n.startswith("fleet-")))
def test_simulate_json_prints_only_the_report_with_every_field(name):
    result = run("simulate", name, "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == (0 if report["status"] == "succeeded" else 1), result.output
    assert report.keys() >= REPORT_FIELDS
    assert report["status"] in ("succeeded", "rolled_back", "failed")
    assert report["leaked"] == []
    assert name.startswith("faulted-") or report["status"] == "succeeded"
    assert all(s.keys() >= STEP_FIELDS for s in report["steps"])
    assert all(o.keys() >= OPERATION_FIELDS for o in report["operations"])
    assert all(r.keys() >= RESOURCE_FIELDS for r in report["final_state"]["resources"])
    if report["status"] == "succeeded" and report["drill"] is not None:
        assert report["drill"]["passed"] and report["restored_disks"] == []
    elif report["status"] == "succeeded":
        assert report["restored_disks"] and all(d.keys() >= DISK_FIELDS
                                                for d in report["restored_disks"])
        if "disks-only" in name or "replace-disks" in name:
            assert report["restored_vm"] is None
        else:
            assert {"id", "name", "resource_group", "location", "size", "disks"} <= report[
                "restored_vm"].keys()


def test_seed_flag_overrides_the_scenario_seed_and_is_reproducible():
    first = run("simulate", "orig-hot-backup", "--json", "--seed", "11").stdout
    again = run("simulate", "orig-hot-backup", "--json", "--seed", "11").stdout
    other = run("simulate", "orig-hot-backup", "--json", "--seed", "12").stdout
    assert json.loads(first)["seed"] == 11
    assert first == again
    assert json.loads(first)["duration_s"] != json.loads(other)["duration_s"]


def test_simulate_without_arguments_runs_the_embedded_default():
    result = run("simulate")
    assert result.exit_code == 0, result.output
    assert "orig-hot-backup" in result.stdout and "succeeded" in result.stdout
    for step in ("create_staging_rg", "restore_data", "remove_staging_rg"):
        assert step in result.stdout


def test_plan_json_lists_steps_with_operations_and_runs_nothing():
    result = run("plan", "orig-archive-standard", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    names = [s["name"] for s in plan["steps"]]
    assert names[:2] == ["preflight", "retrieve_archived_data"] and "move_disks" in names
    ops = {o["op"] for s in plan["steps"] for o in s["operations"]}
    assert {"create_disk", "create_vm", "move_resources", "delete_resource_group"} <= ops


def test_scenarios_lists_every_shipped_scenario():
    result = run("scenarios")
    assert result.exit_code == 0
    # rich may shorten long names in narrow terminals; their first 20 characters stay
    for name in shipped_scenarios():
        assert name[:20] in result.stdout


@pytest.mark.parametrize(("content", "field"), [
    ("name: x\nappliance_id: a\n", "source_vm"),
    ("name: [unclosed\n", "not valid YAML"),
    ("- a list\n", "mapping"),
    ("name: x\nappliance_id: a\nsource_vm: {name: v, resource_group: g, location: l, "
     "size: Standard_D2s_v5, os_disk: {size_gb: 0}}\n", "source_vm.os_disk.size_gb"),
    ("name: x\nappliance_id: a\nsource_vm: {name: v, resource_group: g, location: westus, "
     "size: Standard_Q1, os_disk: {size_gb: 8}}\n", "source_vm.size"),
    ("name: x\nappliance_id: a\nbogus: 1\nsource_vm: {name: v, resource_group: g, location: l, "
     "size: Standard_D2s_v5, os_disk: {size_gb: 8}}\n", "bogus"),
])
@pytest.mark.parametrize("command", ["simulate", "plan"])
def test_bad_scenario_exits_2_with_one_clear_line(tmp_path, content, field, command):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    result = run(command, str(path))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    message = result.stderr.strip()
    assert message.startswith("error:") and "bad.yaml" in message and field in message
    assert result.stdout == ""


def test_missing_file_and_unknown_backend_exit_2():
    missing = run("simulate", "no-such-file.yaml")
    assert missing.exit_code == 2 and "no-such-file.yaml" in missing.stderr
    backend = run("simulate", "orig-hot-backup", "--backend", "nowhere")
    assert backend.exit_code == 2 and "--backend" in backend.stderr


def test_help_teaches_the_commands():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("simulate", "plan", "scenarios"):
        assert command in result.stdout


@pytest.mark.parametrize(("faults", "says"), [
    ([{"at": "move_disks", "kind": "quota_exceeded"}],
     "the source's removal had started: the restored data was kept"),
    ([{"at": "preflight", "kind": "quota_exceeded"},
      {"at": "find_resources", "kind": "quota_exceeded", "times": 100}],
     "the rollback failed: the source is untouched"),
])
def test_a_failed_restore_says_what_its_recovery_did(tmp_path, faults, says):
    """``failed`` with nothing kept is a rollback that failed, not data kept."""
    import yaml

    raw = yaml.safe_load(shipped_scenarios()["orig-hot-backup"].read_text())
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**raw, "faults": faults}))
    result = run("simulate", str(path))
    assert result.exit_code == 1
    assert says in " ".join(result.stdout.split())
    assert "status failed" in " ".join(result.stdout.split())
