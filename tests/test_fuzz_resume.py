"""Fuzzing fault lists with crashes and resume on `fake-arm`: whatever the faults, a
journaled restore resumed until it ends ends as the same restore does on `sim`, with a
sound journal and no secret in what it wrote."""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing

import pytest
from helpers import ROOT
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import restore
from restore import Fault
from restore.backends.prepared import check_fault_targets, remembered
from restore.engine import dry_run
from restore.errors import ScenarioError
from restore.scenario import FaultKind

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

FULL_MATRIX = os.environ.get("RESTORELAB_FULL_MATRIX") == "1"  # .ci/run sets it
SCENARIOS = {name: restore.load_scenario(ROOT / "scenarios" / f"{name}.yaml")
             for name in ("orig-hot-backup", "new-hot-backup", "orig-hot-bytes")}
ENDS = {"succeeded", "rolled_back", "failed"}


def targets(name: str) -> list[str]:
    """Steps, kinds and step/kind pairs the scenario's restore sends."""
    sent = {(t.step, t.op.kind) for t in dry_run(remembered(SCENARIOS[name], None).plan)}
    return sorted({*(s for s, _ in sent), *(k for _, k in sent), *(f"{s}/{k}" for s, k in sent)})


faults = st.sampled_from(sorted(SCENARIOS)).flatmap(lambda name: st.tuples(
    st.just(name), st.lists(st.builds(
        Fault, at=st.sampled_from(targets(name)), kind=st.sampled_from(list(FaultKind)),
        times=st.sampled_from([1, 2, 9])), min_size=1, max_size=3)))


def resumed_to_its_end(scenario, rules, backend, journal):
    """Run journaled, then resume until the restore ends (each crash rule fires at most
    ``times`` times, so this ends)."""
    report = restore.simulate(scenario, faults=rules, journal=journal, backend=backend)
    for _ in range(sum(f.times for f in rules if f.kind == "crash")):
        if report.status != "interrupted":
            break
        report = restore.resume(journal)
    return report


@settings(max_examples=40 if FULL_MATRIX else 8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=faults)
def test_any_fault_list_with_crashes_resumes_to_the_same_end_on_both_backends(tmp_path_factory,
                                                                              case):
    name, rules = case
    scenario = SCENARIOS[name]
    try:
        check_fault_targets(remembered(scenario, None).plan, rules)
    except ScenarioError:
        event("refused: a rule that can never fire")  # tests/test_faults.py covers it
        return
    folder = tmp_path_factory.mktemp("fuzz")
    ends = {backend: resumed_to_its_end(scenario, rules, backend, folder / f"{backend}.db")
            for backend in ("sim", "fake-arm")}
    sim, arm = ends["sim"], ends["fake-arm"]
    event(f"ended {sim.status}")
    assert sim.status in ENDS and arm.status == sim.status, (rules, sim.error, arm.error)
    assert (arm.error or {}).get("code") == (sim.error or {}).get("code")
    assert arm.final_state == sim.final_state
    assert (arm.leaked, arm.kept) == (sim.leaked, sim.kept)
    if arm.status == "succeeded":
        assert arm.restored_vm is not None
    for backend in ends:
        with closing(sqlite3.connect(folder / f"{backend}.db")) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert "sig=" not in json.dumps(db.execute("SELECT * FROM meta").fetchall())
