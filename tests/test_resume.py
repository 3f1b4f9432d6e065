"""Journal and resume: an interrupted restore finishes from its journal and ends in the
same final state as an uninterrupted run; a journal has one user at a time."""

from __future__ import annotations

import contextlib
import os
import sqlite3

import pytest
from helpers import LOCATIONS, RESTORE_POINTS, ROOT, path_scenario
from typer.testing import CliRunner

import restore
from restore import Fault
from restore.backends.journal import Journal, JournalError
from restore.backends.profiles import load_profile
from restore.cli import app
from restore.engine import dry_run
from restore.plan import build_plan

SIZING = load_profile("default").sizing
FULL_MATRIX = os.environ.get("RESTORELAB_FULL_MATRIX") == "1"  # .ci/run sets it
PATHS = [*((p.values[0], loc.values[0], variant) for p in RESTORE_POINTS for loc in LOCATIONS
           for variant in ("vm", "disks")),
         (("backup", "hot", None), "original", "selective"),
         *((p.values[0], "original", "replace") for p in RESTORE_POINTS),
         *((p.values[0], "new", "drill") for p in RESTORE_POINTS)]


def final_state(report) -> list[dict]:
    return report.final_state["resources"]


def crash_points(plan) -> list[str]:
    """Where a crash can stop ``plan``: before each step (its boundary), and inside each
    step before the first operation of each kind but the step's first."""
    kinds: dict[str, list[str]] = {name: [] for name in plan.step_names}
    for ticket in dry_run(plan):
        if ticket.op.kind not in kinds[ticket.step]:
            kinds[ticket.step].append(ticket.op.kind)
    return [point for step, sent in kinds.items()
            for point in [step, *(f"{step}/{kind}" for kind in sent[1:])]]


def crash_cases(backend: str, every: int):
    """Every crash point of every path on ``backend``; one in ``every`` unless the full
    matrix runs."""
    cases = [(point, location, variant, at) for point, location, variant in PATHS
             for at in crash_points(build_plan(path_scenario(point, location, variant),
                                               SIZING))]
    for point, location, variant, at in cases[::1 if FULL_MATRIX else every]:
        yield pytest.param(backend, point, location, variant, at,
                           id=f"{backend}-{'-'.join(filter(None, point))}-{location}-"
                              f"{variant}-{at}")


@pytest.mark.parametrize(("backend", "point", "location", "variant", "at"),
                         [*crash_cases("sim", 1), *crash_cases("fake-arm", 9)])
def test_crash_at_every_step_and_inside_it_then_resume_ends_as_a_clean_run(
        tmp_path, backend, point, location, variant, at):
    if backend == "fake-arm":
        pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    scenario = path_scenario(point, location, variant)
    clean = restore.simulate(scenario, seed=3, backend=backend)
    journal = tmp_path / "restore.journal"
    crashed = restore.simulate(scenario, seed=3, faults=[Fault(at=at, kind="crash")],
                               journal=journal, backend=backend)
    assert crashed.status == "interrupted" and crashed.exit_code == 3
    assert crashed.error["step"] == at.split("/")[0]
    resumed = restore.resume(journal)
    assert resumed.status == clean.status == "succeeded"
    assert final_state(resumed) == final_state(clean)
    assert resumed.leaked == [] and resumed.source_intact == clean.source_intact
    assert resumed.restored_disks == clean.restored_disks
    names = [s["name"] for s in resumed.steps]
    assert sorted(set(names)) == sorted(set(clean_names := [s["name"] for s in clean.steps]))
    assert len(names) == len(clean_names)  # each step once: done ones are not run again


@pytest.mark.parametrize("op_kind", ["launch_worker/create_vm", "launch_worker/attach_disks",
                                     "remove_source_vm/delete_disk", "remove_worker/delete_nic",
                                     "remove_worker/delete_disk"])
def test_crash_in_the_middle_of_a_step_then_resume_checks_before_acting(tmp_path, op_kind):
    scenario = path_scenario(("backup", "hot", None), "original",
                             data_disks=[{"size_gb": 8}] * 3)
    clean = restore.simulate(scenario, seed=5)
    journal = tmp_path / "j"
    # Operations of that step before this one are done already.
    first = restore.simulate(scenario, seed=5, journal=journal,
                             faults=[Fault(at=op_kind, kind="crash")])
    assert first.status == "interrupted"
    assert first.error["step"] == op_kind.split("/")[0]
    resumed = restore.resume(journal)
    assert resumed.status == "succeeded"
    assert final_state(resumed) == final_state(clean)
    done_before = [o for o in first.operations
                   if o["step"] == first.error["step"] and o["status"] == "succeeded"]
    assert done_before  # the crash did come in the middle of the step


def test_two_crashes_two_resumes(tmp_path):
    scenario = path_scenario(("backup", "archive", "high"), "original")
    clean = restore.simulate(scenario, seed=1)
    journal = tmp_path / "j"
    faults = [Fault(at="launch_worker", kind="crash"), Fault(at="create_vm", kind="crash")]
    assert restore.simulate(scenario, seed=1, faults=faults, journal=journal).status == (
        "interrupted")
    second = restore.resume(journal)
    assert second.status == "interrupted" and second.error["step"] == "create_vm"
    third = restore.resume(journal)
    assert third.status == "succeeded"
    assert final_state(third) == final_state(clean)


def test_crash_during_rollback_then_resume_rolls_back(tmp_path):
    scenario = path_scenario(("backup", "hot", None), "new")
    failing = [Fault(at="restore_data", kind="quota_exceeded")]
    clean = restore.simulate(scenario, seed=2, faults=failing)
    assert clean.status == "rolled_back"
    journal = tmp_path / "j"
    crashed = restore.simulate(scenario, seed=2, journal=journal,
                               faults=[*failing, Fault(at="rollback", kind="crash")])
    assert crashed.status == "interrupted" and crashed.error["step"] == "rollback"
    resumed = restore.resume(journal)
    assert resumed.status == "rolled_back"
    assert resumed.error["code"] == "QuotaExceeded"
    assert final_state(resumed) == final_state(clean)
    assert resumed.leaked == [] and resumed.source_intact


def test_a_second_resume_of_the_same_journal_is_refused(tmp_path):
    scenario = path_scenario(("backup", "hot", None), "original")
    journal = tmp_path / "j"
    restore.simulate(scenario, faults=[Fault(at="restore_data", kind="crash")], journal=journal)
    with Journal(journal, create=False), pytest.raises(JournalError, match="another"):
        restore.resume(journal)
    assert restore.resume(journal).status == "succeeded"  # once the first is done


def test_journal_refuses_what_it_cannot_do(tmp_path):
    scenario = path_scenario(("backup", "hot", None), "original")
    journal = tmp_path / "j"
    assert restore.simulate(scenario, journal=journal).status == "succeeded"
    with pytest.raises(JournalError, match="nothing to resume"):
        restore.resume(journal)
    with pytest.raises(JournalError, match=r"a finished restore \(it succeeded\) is there"):
        restore.simulate(scenario, journal=journal)
    with pytest.raises(JournalError, match="no such journal"):
        restore.resume(tmp_path / "missing")
    junk = tmp_path / "junk"
    junk.write_text("this is not a database, just text that is long enough " * 50)
    with pytest.raises(JournalError, match="not a restorelab journal"):
        restore.resume(junk)


def test_journal_keeps_each_operations_intent_and_result(tmp_path):
    scenario = path_scenario(("backup", "hot", None), "original")
    journal = tmp_path / "j"
    report = restore.simulate(scenario, journal=journal,
                              faults=[Fault(at="create_empty_disks", kind="transient")])
    rows = sqlite3.connect(journal).execute(
        "SELECT op, resource, status, attempts, intent FROM operations").fetchall()
    assert len(rows) == len(report.operations)
    assert {r[2] for r in rows} == {"succeeded"}
    assert any(r[3] == 2 for r in rows)
    assert all('"kind"' in r[4] for r in rows)
    mode = sqlite3.connect(journal).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_cli_crash_then_resume(tmp_path):
    runner = CliRunner()
    journal = str(tmp_path / "j")
    crashed = runner.invoke(app, ["simulate", "orig-snapshot", "--journal", journal,
                                  "--crash-at", "create_vm"])
    assert crashed.exit_code == 3 and "restorelab resume" in crashed.stdout
    resumed = runner.invoke(app, ["resume", journal, "--json"])
    assert resumed.exit_code == 0, resumed.output
    again = runner.invoke(app, ["resume", journal])
    assert again.exit_code == 2 and "nothing to resume" in again.stderr
    assert "Traceback" not in again.output


@pytest.mark.parametrize("backend", ["sim", "fake-arm"])
def test_what_was_verified_before_a_crash_is_still_verified_after_resume(tmp_path, backend):
    """Issue 15, defect 3: a bytes-mode restore resumed after a crash said data_verified
    false, where a clean run says true."""
    if backend == "fake-arm":
        pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    scenario = restore.load_scenario(ROOT / "scenarios" / "orig-hot-bytes.yaml")
    assert restore.simulate(scenario, backend=backend).data_verified is True
    journal = tmp_path / "j.db"
    crashed = restore.simulate(scenario, backend=backend, journal=journal,
                               faults=[Fault(at="create_vm", kind="crash")])
    assert crashed.status == "interrupted"
    resumed = restore.resume(journal)
    assert resumed.status == "succeeded" and resumed.data_verified is True


@pytest.mark.parametrize("step", ["launch_worker", "restore_data", "detach_disks"])
def test_fake_arm_resumes_once_a_worker_exists(tmp_path, step):
    """Issue 15, defect 2: after a resume the worker's Run Command answered
    "restorelab-agent: command not found". The worker keeps what cloud-init delivered
    (its custom data, in the journaled region), so the agent is there after a resume."""
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    scenario = restore.load_scenario(ROOT / "scenarios" / "orig-hot-backup.yaml")
    journal = tmp_path / "j.db"
    crashed = restore.simulate(scenario, backend="fake-arm", journal=journal,
                               faults=[Fault(at=step, kind="crash")])
    assert crashed.status == "interrupted"
    resumed = restore.resume(journal)
    clean = restore.simulate(scenario, backend="fake-arm")
    assert resumed.status == "succeeded", resumed.error
    assert final_state(resumed) == final_state(clean)


class Killed(BaseException):
    """The process dies: nothing after this runs, nothing catches it."""


def killed_after(monkeypatch, records: int) -> None:
    """Let the journal take ``records`` records, then kill the restore right after one."""
    taken = 0

    def then_die(write):
        def record(book, item):
            nonlocal taken
            write(book, item)
            taken += 1
            if taken == records:
                raise Killed
        return record

    monkeypatch.setattr(Journal, "record_operation", then_die(Journal.record_operation))
    monkeypatch.setattr(Journal, "record_step", then_die(Journal.record_step))


def kill_points(backend: str, every: int):
    """Instants to kill at, in journal records (a clean run of these takes 70)."""
    return [pytest.param(backend, n, id=f"{backend}-after-{n}")
            for n in range(1, 71, 1 if FULL_MATRIX else every)]


@pytest.mark.parametrize(("backend", "records"),
                         [*kill_points("sim", 5), *kill_points("fake-arm", 12)])
def test_a_restore_killed_after_any_record_resumes_to_a_clean_runs_state(
        tmp_path, monkeypatch, backend, records):
    """Issue 15, defect 1: the region was journaled only at a session's end, so a killed
    first run left nothing to resume ("the restore ended None") and a killed resume left
    steps ahead of the region (a raw KeyError, or a rollback). Each record now carries the
    session's state in the same transaction."""
    if backend == "fake-arm":
        pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    scenario = restore.load_scenario(ROOT / "scenarios" / "orig-hot-bytes.yaml")
    clean = restore.simulate(scenario, backend=backend)
    journal = tmp_path / "j.db"
    first = (records + 1) // 2  # killed in the first run, then (if any left) in its resume
    with monkeypatch.context() as patch:
        killed_after(patch, first)
        with pytest.raises(Killed):
            restore.simulate(scenario, backend=backend, journal=journal)
    resumed = None
    with monkeypatch.context() as patch:
        if records > first:
            killed_after(patch, records - first)
        with contextlib.suppress(Killed):  # unless it is killed before its end
            resumed = restore.resume(journal)
    resumed = resumed or restore.resume(journal)
    assert resumed.status == "succeeded", resumed.error
    assert final_state(resumed) == final_state(clean)
    assert resumed.data_verified is True and resumed.leaked == []
    with sqlite3.connect(journal) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_journal_its_process_never_wrote_is_written_anew(tmp_path):
    """A process killed before a new journal's first transaction leaves an empty file (or
    a database without tables): resume says so, and the next run naming it takes it."""
    journal = tmp_path / "j.db"
    journal.write_bytes(b"")
    with pytest.raises(JournalError, match="holds no restore"):
        restore.resume(journal)
    scenario = restore.load_scenario(ROOT / "scenarios" / "orig-hot-backup.yaml")
    assert restore.simulate(scenario, journal=journal).status == "succeeded"
    with pytest.raises(JournalError, match=r"a finished restore \(it succeeded\) is there"):
        restore.simulate(scenario, journal=journal)  # a journal with a restore is kept
