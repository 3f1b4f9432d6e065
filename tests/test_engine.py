"""The engine: success, failure, dry run; and the report's timeline."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

import pandas as pd
import pytest
from helpers import (
    RESTORE_ID_TAG,
    SUBSCRIPTION,
    by_id,
    expected_seed_steps,
    make_scenario,
    path_scenario,
)

import restore
from restore.backends.profiles import load_profile
from restore.engine import RECOVERY_STEPS, Engine, dry_run
from restore.errors import CloudError
from restore.plan import Plan, build_plan
from restore.steps import CLEANUP_STEPS

SIZING = load_profile("default").sizing
SOURCE_SUBNET = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-prod/providers/"
                 "Microsoft.Network/virtualNetworks/rg-prod-vnet/subnets/default")
REPORT_FIELDS = {"scenario", "backend", "seed", "status", "error", "duration_s", "steps",
                 "operations", "final_state", "restored_vm", "leaked", "source_intact",
                 "data_verified", "critical_path_s"}


def plan_for(**kwargs) -> Plan:
    return build_plan(make_scenario(**kwargs), SIZING)


class Run:
    """Drive an Engine by hand: each operation takes one second, in issue order; the
    outcome of each comes from ``outcome(ticket)`` (None means success; a recovery step's
    search for tagged resources finds nothing)."""

    def __init__(self, plan: Plan, outcome: Callable = lambda ticket: None):
        self.engine = Engine(plan)
        self.issued: list = []
        self.failed_at: float | None = None
        self.issued_after_failure: list = []
        now = 0.0
        pending = list(self.engine.start(now))
        self.issued += pending
        while pending:
            ticket = pending.pop(0)
            now += 1.0
            result = [] if ticket.op.kind == "find_resources" else outcome(ticket)
            new = self.engine.complete(ticket, result, now)
            if self.engine.error is not None and self.failed_at is None:
                self.failed_at = now
            if self.failed_at is not None:
                self.issued_after_failure += new
            self.issued += new
            pending += new
        self.end = now

    @property
    def recovery(self) -> list[str]:
        """The steps of tickets issued after the failure: only the recovery step's."""
        return sorted({t.step for t in self.issued_after_failure})

    @property
    def step_names(self) -> list[str]:
        return [s.name for s in self.engine.steps]


def fail_when(predicate: Callable, code: str = "X", message: str = "y") -> Callable:
    return lambda ticket: CloudError(code, message) if predicate(ticket) else None


# -- success -------------------------------------------------------------------------------

@pytest.mark.parametrize("location", ["original", "new"])
@pytest.mark.parametrize("kind", ["backup", "snapshot"])
def test_engine_with_all_operations_succeeding_ends_succeeded(kind, location):
    plan = plan_for(kind=kind, location=location)
    run = Run(plan)
    engine = run.engine
    assert engine.status == "succeeded"
    assert engine.error is None
    assert engine.finished
    assert sorted(run.step_names) == sorted(plan.step_names)
    assert all(s.status == "succeeded" and s.end_s is not None for s in engine.steps)
    # Dependencies hold: a step starts only after the steps it comes after ended.
    records = {s.name: s for s in engine.steps}
    for planned in plan.steps:
        for before in planned.after:
            assert records[planned.name].start_s >= records[before].end_s
    assert 0 < engine.critical_path_s() <= run.end


def test_engine_reports_the_callers_clock():
    plan = plan_for(location="new", data_disks=[])
    engine = Engine(plan)
    tickets = engine.start(100.0)
    assert [t.step for t in tickets] == ["preflight"] * 3  # three checks at once
    assert engine.complete(tickets[0], None, 105.0) == []
    assert engine.complete(tickets[1], None, 110.0) == []
    (follow,) = engine.complete(tickets[2], None, 120.0)
    assert follow.step == "create_empty_disks"
    (follow,) = engine.complete(follow, None, 130.0)
    assert follow.step == "launch_worker"
    first, second = engine.steps[:2]
    assert (first.name, first.start_s, first.end_s, first.status) == (
        "preflight", 100.0, 120.0, "succeeded")
    assert (second.name, second.start_s, second.end_s) == ("create_empty_disks", 120.0, 130.0)
    assert engine.steps[2].start_s == 130.0
    assert engine.status == "running" and not engine.finished


# -- failure -------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "step", "op"), [
    ("backup", "launch_worker", "create_nic"),
    ("snapshot", "create_vm", "create_nic"),
])
def test_target_subnet_in_another_region_rolls_the_restore_back(kind, step, op):
    scenario = make_scenario(kind=kind, location="new", target={
        "region": "northeurope", "resource_group": "rg-dr", "subnet": SOURCE_SUBNET})
    report = restore.simulate(scenario)
    assert report.status == "rolled_back"
    assert report.exit_code == 1
    assert set(report.error) == {"step", "operation", "code", "message"}
    assert (report.error["step"], report.error["operation"], report.error["code"]) == (
        step, op, "InvalidResourceReference")
    assert "northeurope" in report.error["message"]
    failed_steps = [s for s in report.steps if s["status"] == "failed"]
    assert [s["name"] for s in failed_steps] == [step]
    failed_ops = [o for o in report.operations if o["status"] == "failed"]
    assert failed_ops and all(o["op"] == op and o["step"] == step for o in failed_ops)
    assert all(o["error_code"] == "InvalidResourceReference" for o in failed_ops)
    # Only the rollback starts after the failure; the steps after it never ran.
    failed_at = failed_steps[0]["end_s"]
    started_later = {s["name"] for s in report.steps if s["start_s"] > failed_at}
    assert started_later <= {"rollback"} and "rollback" in {s["name"] for s in report.steps}
    assert not {"restore_data", "attach_disks"} & {s["name"] for s in report.steps}
    rollback_ops = {o["op"] for o in report.operations if o["step"] == "rollback"}
    assert {"find_resources", "delete_disk"} <= rollback_ops
    assert report.restored_vm is None
    assert report.source_intact is True
    # The rollback removed every resource the restore had made.
    res = by_id(report)
    assert not [i for i, r in res.items() if r["tags"].get(RESTORE_ID_TAG)]
    assert report.leaked == []


@pytest.mark.parametrize("location", ["original", "new"])
def test_failing_operation_stops_the_plan_and_names_step_operation_and_code(location):
    plan = plan_for(location=location)
    run = Run(plan, fail_when(lambda t: t.op.kind == "create_vm" and t.step == "create_vm"))
    engine = run.engine
    # Past the source's removal (original location) the restore rolls forward.
    recovery = "keep_restored_data" if location == "original" else "rollback"
    assert engine.status == ("failed" if location == "original" else "rolled_back")
    assert engine.error == {"step": "create_vm", "operation": "create_vm", "code": "X",
                            "message": "y"}
    assert engine.finished
    assert "attach_disks" not in run.step_names
    assert all(s.start_s < run.failed_at for s in engine.steps if s.name != recovery)
    assert run.recovery == [recovery]
    record = next(s for s in engine.steps if s.name == "create_vm")
    assert (record.status, record.end_s) == ("failed", run.failed_at)


def test_one_failure_in_a_parallel_batch_waits_for_the_batch_then_stops():
    plan = plan_for(location="new", data_disks=[{"size_gb": 8}] * 3)
    second_disk = plan.context.disks[1].id
    run = Run(plan, fail_when(lambda t: getattr(t.op, "id", None) == second_disk,
                              "QuotaExceeded", "no more disks"))
    engine = run.engine
    assert engine.status == "rolled_back"
    assert engine.error == {"step": "create_empty_disks", "operation": "create_disk",
                            "code": "QuotaExceeded", "message": "no more disks"}
    assert run.step_names == ["preflight", "create_empty_disks", "rollback"]
    creates = [t for t in run.issued if t.step == "create_empty_disks"]
    assert len(creates) == 4
    assert [t.status for t in creates].count("failed") == 1
    assert all(t.end_s is not None for t in creates)  # every op of the batch was heard
    assert run.recovery == ["rollback"]


def test_a_cleanup_failing_beside_running_steps_leaves_a_leftover_not_a_failed_restore():
    plan = plan_for(location="original")
    worker_vms = {w.vm for w in plan.context.workers}
    run = Run(plan, fail_when(lambda t: t.step == "remove_worker" and t.op.kind == "delete_vm"
                              and t.op.resource in worker_vms))
    engine = run.engine
    assert engine.status == "succeeded" and engine.error is None
    assert [(e["step"], e["operation"]) for e in engine.cleanup_errors] == [
        ("remove_worker", "delete_vm")]
    statuses = {s.name: s.status for s in engine.steps}
    assert statuses["remove_worker"] == "failed"
    assert all(statuses[name] == "succeeded" for name in (
        "remove_source_vm", "move_disks", "create_vm", "attach_disks", "remove_staging_rg"))
    assert not set(RECOVERY_STEPS) & set(statuses)


def test_failure_beside_a_running_step_lets_it_end_but_starts_nothing_new():
    plan = plan_for(location="original")
    run = Run(plan, fail_when(lambda t: t.step == "remove_source_vm"))
    statuses = {s.name: s.status for s in run.engine.steps}
    assert run.engine.status == "failed" and run.engine.error["step"] == "remove_source_vm"
    assert statuses["remove_worker"] == "succeeded"  # it ran beside, to its end
    assert not {"move_disks", "create_vm", "attach_disks", "remove_staging_rg"} & set(statuses)
    assert statuses["keep_restored_data"] == "succeeded"


@pytest.mark.parametrize("failing_step", ["retrieve_archived_data", "create_staging_rg",
                                          "restore_data", "move_disks", "attach_disks",
                                          "remove_staging_rg"])
def test_any_step_failing_is_the_reported_error(failing_step):
    plan = plan_for(location="original", tier="archive", priority="high")
    run = Run(plan, fail_when(lambda t: t.step == failing_step, "Boom", failing_step))
    if failing_step in CLEANUP_STEPS:  # a leftover, reported beside a restore that stands
        assert run.engine.status == "succeeded" and run.recovery == []
        assert run.engine.cleanup_errors[0]["step"] == failing_step
        return
    touched = failing_step in ("move_disks", "attach_disks")
    assert run.engine.status == ("failed" if touched else "rolled_back")
    assert run.engine.error["step"] == failing_step
    assert run.engine.error["code"] == "Boom"
    assert run.recovery == ["keep_restored_data" if touched else "rollback"]
    assert run.engine.finished
    # No step that comes after the failed one ever started.
    after = {failing_step}
    for planned in plan.steps:
        if after & set(planned.after):
            after.add(planned.name)
    assert not (after - {failing_step}) & set(run.step_names)
    assert not after & set(run.recovery)


# -- dry run ---------------------------------------------------------------------------------

@pytest.mark.parametrize("location", ["original", "new"])
@pytest.mark.parametrize("point", [("backup", "hot", None), ("backup", "archive", "standard"),
                                   ("snapshot", "hot", None)])
def test_dry_run_lists_the_operations_a_run_executes(point, location):
    scenario = path_scenario(point, location)
    tickets = dry_run(build_plan(scenario, SIZING))
    report = restore.simulate(scenario)
    planned = Counter((t.step, t.op.kind, t.op.resource) for t in tickets)
    executed = Counter((o["step"], o["op"], o["resource"]) for o in report.operations)
    assert planned == executed
    seed_order = [s for s in dict.fromkeys(t.step for t in tickets)
                  if s in expected_seed_steps(scenario)]
    assert seed_order == [s for s in expected_seed_steps(scenario)
                          if any(t.step == s for t in tickets)]


def test_dry_run_executes_nothing():
    """A plan that would fail in the region is listed in full: no region is touched."""
    scenario = make_scenario(location="new", target={
        "region": "northeurope", "resource_group": "rg-dr", "subnet": SOURCE_SUBNET})
    tickets = dry_run(build_plan(scenario, SIZING))
    steps = {t.step for t in tickets}
    assert {"launch_worker", "restore_data", "create_vm", "attach_disks"} <= steps
    assert restore.simulate(scenario).status == "rolled_back"
    assert all(t.status == "succeeded" for t in tickets)


def test_dry_run_is_deterministic_and_plans_match_plan_api():
    scenario = make_scenario(location="original", tier="archive", priority="standard")
    first = [(t.step, t.op) for t in dry_run(build_plan(scenario, SIZING))]
    again = [(t.step, t.op) for t in dry_run(restore.plan_for(scenario))]
    assert first == again


# -- report ------------------------------------------------------------------------------------

@pytest.mark.parametrize("location", ["original", "new"])
def test_timeline_has_a_row_per_step_and_per_operation(location):
    report = restore.simulate(make_scenario(location=location, tier="archive",
                                            priority="high"))
    df = report.timeline()
    assert isinstance(df, pd.DataFrame)
    assert len(df) == len(report.steps) + len(report.operations)
    assert {"level", "name", "step", "start_s", "end_s", "duration_s"} <= set(df.columns)
    assert (df["level"] == "step").sum() == len(report.steps)
    assert (df["level"] == "operation").sum() == len(report.operations)
    steps = df[df["level"] == "step"]
    assert list(steps["name"]) == [s["name"] for s in report.steps]
    ops = df[df["level"] == "operation"]
    assert list(ops["name"]) == [o["op"] for o in report.operations]
    assert list(ops["step"]) == [o["step"] for o in report.operations]
    assert ((df["end_s"] - df["start_s"] - df["duration_s"]).abs() < 2e-3).all()
    assert (df["duration_s"] >= 0).all()
    row = steps[steps["name"] == "retrieve_archived_data"].iloc[0]
    rehydrate = next(s for s in report.steps if s["name"] == "retrieve_archived_data")
    assert (row["start_s"], row["end_s"]) == (rehydrate["start_s"], rehydrate["end_s"])


def test_timeline_of_a_failed_restore():
    scenario = make_scenario(location="new", target={
        "region": "northeurope", "resource_group": "rg-dr", "subnet": SOURCE_SUBNET})
    report = restore.simulate(scenario)
    df = report.timeline()
    assert len(df) == len(report.steps) + len(report.operations)
    assert "failed" in set(df["status"])


def test_report_has_the_contract_fields_and_round_trips_through_json():
    report = restore.simulate(make_scenario())
    data = report.to_dict()
    assert set(data) >= REPORT_FIELDS
    assert json.loads(report.to_json()) == json.loads(json.dumps(data))
    assert data["backend"] == "sim" and data["scenario"] == "t-restore"
    assert report.exit_code == 0


def test_a_delete_of_what_is_gone_already_is_done_and_any_other_404_fails():
    """A list may show a deleted resource for a while (eventual consistency): deleting it
    again answers 404, and the delete's aim, that it be gone, is met."""
    gone = CloudError("ResourceGroupNotFound", "Resource group 'x' could not be found.", 404)
    run = Run(plan_for(location="original"),
              lambda t: gone if t.op.kind == "delete_resource_group" else None)
    statuses = {s.name: s.status for s in run.engine.steps}
    assert run.engine.status == "succeeded" and run.engine.cleanup_errors == []
    assert statuses["remove_staging_rg"] == "succeeded"
    missing = CloudError("ResourceNotFound", "The Resource 'vm' was not found.", 404)
    failing = Run(plan_for(location="new"),
                  lambda t: missing if t.op.kind == "attach_disks" else None)
    assert failing.engine.status == "rolled_back"
    assert failing.engine.error["code"] == "ResourceNotFound"
