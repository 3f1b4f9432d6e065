"""The azure backend (`restore.backends.live`) resumes from every step boundary and from
inside every step: a differential crash/resume matrix under ``mock_azure``.

For each restore path (one shipped clean scenario each) and each step of its plan, the
restore is stopped like Ctrl-C (a KeyboardInterrupt out of the progress callback) just
before the step's first operation is sent, and, when the step sends more than one, just
after its first operation ended; then it is resumed. It must succeed, leave nothing
behind, end in the final state of an uninterrupted simulation, and a second resume must
find nothing to resume. The whole matrix (85 stops) takes about 45 s on one core.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from dataclasses import dataclass

import pytest
from helpers import SCENARIO_FILES, SUBSCRIPTION

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

from typer.testing import CliRunner  # noqa: E402

import restore  # noqa: E402
from fakecloud import FakeCredential, mock_azure  # noqa: E402
from restore.backends import live  # noqa: E402
from restore.backends.fake_arm import FakeRepository  # noqa: E402
from restore.backends.faults import FaultRule, arm_rule  # noqa: E402
from restore.backends.sim import prepare  # noqa: E402
from restore.backends.simregion import restore_region  # noqa: E402
from restore.cli import app  # noqa: E402
from restore.engine import Ticket, dry_run  # noqa: E402
from restore.scenario import Fault, FaultKind  # noqa: E402

PATHS = ("orig-hot-backup", "new-hot-backup", "orig-archive-standard", "new-archive-high",
         "orig-snapshot", "new-snapshot-other-region", "orig-hot-replace-disks")
"""One shipped clean scenario per restore path (hot, archive, snapshot x original, new),
and the replacement of a VM's disks."""


@dataclass(frozen=True)
class Stop:
    """Where the restore is stopped: ``before`` the step's first operation is sent, or
    ``inside`` it, once its first operation ended."""

    path: str
    step: str
    where: str

    def __str__(self) -> str:
        return f"{self.path}-{self.step}-{self.where}"


def scenario_of(path: str) -> restore.Scenario:
    return restore.load_scenario(next(p for p in SCENARIO_FILES if p.stem == path))


def stops_of(path: str) -> list[Stop]:
    """Both stops of every step of the path's plan (``inside`` when it sends two or more)."""
    plan = prepare(scenario_of(path)).plan
    sent = Counter(ticket.step for ticket in dry_run(plan))
    return [Stop(path, step, where) for step in plan.step_names
            for where in ("before", "inside") if where == "before" or sent[step] > 1]


STOPS = [stop for path in PATHS for stop in stops_of(path)]


class Stopped(KeyboardInterrupt):
    """Ctrl-C, pressed by the test at the chosen point."""


def stopper(stop: Stop):
    """A progress callback that presses Ctrl-C at ``stop`` (once)."""
    pressed = []

    def progress(ticket: Ticket) -> None:
        if pressed or ticket.step != stop.step:
            return
        sending = ticket.end_s is None
        if (stop.where == "before") == sending:
            pressed.append(ticket)
            raise Stopped
    return progress


def wait_for_operations_in_flight() -> None:
    """What the stopped orchestrator had sent, Azure finishes: its threads run out."""
    for thread in threading.enumerate():
        if thread.name.startswith("restorelab-") and thread is not threading.current_thread():
            thread.join(timeout=60)
            assert not thread.is_alive(), f"{thread.name} still runs"


@pytest.fixture(autouse=True)
def no_azure_environment(managed_identity):
    """Every test here signs in through the fake's managed identity."""


def stopped_and_resumed(scenario, stops: list[Stop], tmp_path, failing: str | None = None):
    """Run ``scenario`` on the azure backend under ``mock_azure`` until the first of
    ``stops``, resume it until the next one, and so on; then resume it to its end. With
    ``failing``, that step's first operation is refused once (QuotaExceeded). Returns the
    last report, the fake's final state and what one more resume said."""
    prepared = prepare(scenario)
    journal = tmp_path / "restore.journal"
    region = restore_region(prepared.world.copy(), prepared.profile, 3)
    with mock_azure(region=region) as fake:
        if failing is not None:
            op = next(t.op for t in dry_run(prepared.plan) if t.step == failing)
            fake.region.chaos.add(arm_rule(FaultRule(failing, FaultKind.QUOTA_EXCEEDED), op))
        clients = live.connect(SUBSCRIPTION, FakeCredential(), polling_interval=0)
        ready = live.prepare(scenario, clients, restore_id=prepared.plan.context.restore_id,
                             repository=FakeRepository(fake))
        with pytest.raises(Stopped):
            live.run(ready, journal, stopper(stops[0]))
        for stop in [*stops[1:], None]:
            wait_for_operations_in_flight()
            progress = stopper(stop) if stop else (lambda ticket: None)
            with pytest.raises(Stopped) if stop else contextlib.nullcontext():
                report = live.resume(journal, FakeCredential(), polling_interval=0,
                                     progress=progress, repository=FakeRepository(fake))
        again = CliRunner().invoke(app, ["resume", str(journal)])
        return report, fake.state.export(), again


@pytest.mark.parametrize("stop", STOPS, ids=str)
def test_a_restore_stopped_anywhere_is_finished_by_resume(stop, tmp_path):
    scenario = scenario_of(stop.path)
    uninterrupted = restore.simulate(scenario)
    report, final_state, again = stopped_and_resumed(scenario, [stop], tmp_path)
    assert report.status == "succeeded", report.error
    assert report.leaked == [] and report.kept == uninterrupted.kept  # replaced disks: kept
    assert final_state == uninterrupted.final_state["resources"]
    assert again.exit_code == 2 and "nothing to resume" in again.stderr


@pytest.mark.parametrize(("path", "failing", "recovery"), [
    ("new-hot-backup", "restore_data", "rollback"),
    ("orig-hot-backup", "create_vm", "keep_restored_data")])
@pytest.mark.parametrize("where", ["before", "inside"])
def test_a_restore_stopped_while_recovering_resumes_the_recovery(path, failing, recovery,
                                                                 where, tmp_path):
    """The failure is journaled with each record, so resume finishes the recovery (each
    recovery here sends two operations or more). It was journaled only at the end:
    resume ran the failed step again, and a failure that did not recur let the restore
    go on after its rollback had begun."""
    scenario = scenario_of(path)
    faulted = restore.simulate(scenario, faults=[Fault(at=failing, kind="quota_exceeded")])
    report, final_state, again = stopped_and_resumed(
        scenario, [Stop(path, recovery, where)], tmp_path, failing)
    assert (report.status, report.error) == (faulted.status, faulted.error)
    assert report.leaked == [] and sorted(report.kept) == sorted(faulted.kept)
    assert final_state == faulted.final_state["resources"]
    assert again.exit_code == 2 and "nothing to resume" in again.stderr


TWICE = [
    ("orig-hot-backup", ("create_empty_disks", "inside"), ("launch_worker", "before")),
    ("orig-hot-backup", ("restore_data", "before"), ("move_disks", "before")),
    ("new-snapshot-other-region", ("copy_snapshots", "inside"), ("create_vm", "inside")),
]
"""(path, first stop, stop of the resume): the resume finishes a step, then stops."""


@pytest.mark.parametrize(("path", "first", "then"), [
    pytest.param(*case, id=f"{case[0]}-{'-'.join(case[1])}-then-{'-'.join(case[2])}")
    for case in TWICE])
def test_a_resume_stopped_in_turn_is_finished_by_the_next(path, first, then, tmp_path):
    """Each session's clock goes on from the journal's: a resume's steps were journaled at
    times earlier than the first session's, the next resume read them out of order and
    failed with KeyError."""
    scenario = scenario_of(path)
    uninterrupted = restore.simulate(scenario)
    report, final_state, again = stopped_and_resumed(
        scenario, [Stop(path, *first), Stop(path, *then)], tmp_path)
    assert report.status == "succeeded", report.error
    assert report.leaked == [] and report.kept == uninterrupted.kept  # replaced disks: kept
    assert final_state == uninterrupted.final_state["resources"]
    assert again.exit_code == 2 and "nothing to resume" in again.stderr
    starts = [s["start_s"] for s in report.steps]
    assert starts == sorted(starts)  # one timeline across the sessions
