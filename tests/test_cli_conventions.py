"""The command line's conventions (issue 19): --version, -h, shell completion, flags shown
as flags, --json on `scenarios`, shipped names wherever a scenario is read."""

from __future__ import annotations

import json
import re
from importlib.metadata import version

import pytest
import typer
from typer.testing import CliRunner

import restore
from restore.cli import app
from restore.errors import ScenarioError
from restore.scenario import shipped_scenarios

runner = CliRunner()
COMMANDS = sorted(c.name or c.callback.__name__ for c in app.registered_commands)


def test_version_prints_the_installed_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"restorelab {version('restorelab')}\n"


@pytest.mark.parametrize("args", [["-h"], ["simulate", "-h"], ["sessions", "-h"]])
def test_dash_h_is_help(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and "Usage:" in result.stdout


def test_shell_completion_is_offered():
    shown = runner.invoke(app, ["--help"]).stdout
    assert "--install-completion" in shown and "--show-completion" in shown


@pytest.mark.parametrize("command", COMMANDS)
def test_flags_show_as_flags_in_help(command):
    """A flag takes no value: its help shows no type beside it (`--json <bool>` led users
    to write `--json true`)."""
    shown = runner.invoke(app, [command, "--help"], terminal_width=200).stdout
    assert "--help" in shown and "<bool>" not in shown and "BOOLEAN" not in shown


def test_scenarios_json_lists_every_shipped_scenario():
    result = runner.invoke(app, ["scenarios", "--json"])
    assert result.exit_code == 0
    listed = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert set(listed) == set(shipped_scenarios())
    assert listed["drill-hot-backup"]["target"] == {"location": "new", "mode": "drill"}
    assert listed["drill-hot-backup"]["rto_s"] == 3600
    assert listed["fleet-40-vms"]["fleet_vms"] == 40
    assert listed["orig-archive-standard"]["restore_point"] == {
        "kind": "backup", "tier": "archive", "priority": "standard"}
    assert listed["orig-hot-selective-disks"]["disks"]["restored"] < listed[
        "orig-hot-selective-disks"]["disks"]["of"]
    assert listed["faulted-retried"]["fault_rules"] > 0


def test_scenarios_text_counts_fault_rules_in_words(monkeypatch):
    from restore.cli_output import out

    monkeypatch.setattr(out, "width", 200)  # one line per scenario
    shown = runner.invoke(app, ["scenarios"]).stdout
    assert "1 fault rules" not in shown and "fault rule" in shown
    assert "new, drill" in shown


def test_the_api_reads_shipped_scenarios_by_name():
    assert restore.load_scenario("orig-hot-backup").name == "orig-hot-backup"
    with pytest.raises(ScenarioError, match="no such file, nor a shipped scenario"):
        restore.load_scenario("orig-hot-nothing")
    with pytest.raises(ScenarioError, match="cannot read the file"):
        restore.load_scenario("missing.yaml")


def test_every_command_is_listed():
    """The commands this test file checks are the app's own (none forgotten)."""
    assert {"simulate", "sweep", "drill", "optimize", "scenarios", "plan"} <= set(COMMANDS)


def test_simulate_names_its_backend_and_cost_with_its_currency():
    shown = runner.invoke(app, ["simulate", "orig-hot-backup"]).stdout
    assert shown.startswith("orig-hot-backup on sim: simulated timeline, ")
    assert re.search(r"^cost +\d+\.\d\d USD$", shown, re.MULTILINE)


def test_fleet_and_sweep_say_their_currency_and_keep_their_titles_whole():
    fleet = runner.invoke(app, ["simulate", "fleet-40-vms"]).stdout
    assert "fleet-40-vms: 40 VMs, 4 workers at most\n" in fleet
    assert re.search(r"^cost +\d+\.\d\d USD; left behind: 0$", fleet, re.MULTILINE)
    swept = runner.invoke(app, ["sweep", "orig-hot-backup", "--runs", "50"]).stdout
    assert "orig-hot-backup: 50 runs (compiled, seed 1), 50 succeeded; time in h:mm\n" in swept
    assert "cost (USD)" in swept
    summary = json.loads(runner.invoke(app, ["sweep", "orig-hot-backup", "--runs", "50",
                                             "--json"]).stdout)
    assert summary["currency"] == "USD" and summary["cost"]["mean"] > 0
    report = json.loads(runner.invoke(app, ["simulate", "fleet-40-vms", "--json"]).stdout)
    assert report["currency"] == "USD" and report["cost"] > 0


def test_a_journal_path_taken_says_what_holds_it(tmp_path):
    done, stopped = tmp_path / "done.db", tmp_path / "stopped.db"
    assert runner.invoke(app, ["simulate", "--journal", str(done)]).exit_code == 0
    again = runner.invoke(app, ["simulate", "--journal", str(done)])
    assert again.exit_code == 2 and "a finished restore (it succeeded)" in again.stderr
    assert "resume" not in again.stderr
    runner.invoke(app, ["simulate", "--journal", str(stopped), "--crash-at", "restore_data"])
    again = runner.invoke(app, ["simulate", "--journal", str(stopped)])
    assert again.exit_code == 2 and f"restorelab resume {stopped}" in " ".join(
        again.stderr.split())


def test_a_resumed_report_keeps_the_operations_before_the_crash(tmp_path):
    journal = tmp_path / "j.db"
    crashed = restore.simulate(restore.load_scenario("orig-hot-backup"), journal=journal,
                               faults=[restore.Fault(at="restore_data", kind="crash")])
    before = [(o["step"], o["op"]) for o in crashed.operations]
    resumed = restore.resume(journal)
    kept = [(o["step"], o["op"]) for o in resumed.operations][:len(before)]
    assert kept == before and before[0] == ("preflight", "check_exists")
    assert [o["status"] for o in resumed.operations][len(before) - 1] == "not_sent"
    assert len(resumed.operations) > len(before)  # and this session's after them


def _commands(group, path=()):
    """(path, click command) of every command the app has, sub-commands included."""
    import click

    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


ALL_COMMANDS = dict(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("path", sorted(ALL_COMMANDS), ids=" ".join)
def test_every_command_has_json_output(path):
    """Each command prints a result, so each has --json for scripts."""
    assert "--json" in {opt for p in ALL_COMMANDS[path].params for opt in p.opts}


@pytest.mark.parametrize("path", sorted(ALL_COMMANDS), ids=" ".join)
def test_help_paragraphs_are_rewrapped_to_the_terminal(path):
    """A docstring's line breaks inside a paragraph are not kept: --help wraps each
    paragraph to the terminal's width (a break kept at 88 columns left a short line)."""
    help_text = ALL_COMMANDS[path].help or ""
    assert help_text and all("\n" not in p for p in help_text.split("\n\n"))
    shown = runner.invoke(app, [*path, "--help"], terminal_width=120).stdout
    first = help_text.split("\n\n")[0]
    assert " ".join(first.split()[:12]) in " ".join(shown.split())


def test_reflow_joins_lines_within_paragraphs_and_keeps_paragraphs():
    from restore.cli_help import reflow

    assert reflow("  One line\n  goes on.\n\n  Exit code: 0.\n") == (
        "One line goes on.\n\nExit code: 0.")


def test_sessions_prune_reports_in_json(tmp_path):
    result = runner.invoke(app, ["sessions", "prune", "--older-than", "30d", "--json",
                                 "--sessions", str(tmp_path / "s.db")])
    assert result.exit_code == 0 and json.loads(result.stdout) == {
        "removed": 0, "older_than_s": 30 * 86400}
