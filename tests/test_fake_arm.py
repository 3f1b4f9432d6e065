"""The `fake-arm` backend: the unmodified azure-mgmt-* SDK restores every path against
fakecloud's ARM fake and ends in the same final state as the SimPy backend."""

from __future__ import annotations

import json

import pytest
from helpers import (
    LOCATIONS,
    RESTORE_POINTS,
    SCENARIO_FILES,
    SUBSCRIPTION,
    path_scenario,
)

import restore
from restore import Fault

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")


def resources(report) -> list[dict]:
    return report.final_state["resources"]


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_every_shipped_scenario_ends_as_on_sim(path):
    scenario = restore.load_scenario(path)
    sim = restore.simulate(scenario)
    arm = restore.simulate(scenario, backend="fake-arm")
    assert arm.backend == "fake-arm"
    assert arm.status == sim.status
    assert resources(arm) == resources(sim)
    assert arm.leaked == sim.leaked == []
    assert arm.kept == sim.kept
    assert arm.restored_vm == sim.restored_vm
    assert arm.source_intact == sim.source_intact
    assert arm.data_verified == sim.data_verified
    assert (arm.error or {}).get("code") == (sim.error or {}).get("code")


@pytest.mark.parametrize("location", LOCATIONS)
@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_every_path_restores_through_the_sdk(point, location):
    scenario = path_scenario(point, location)
    sim = restore.simulate(scenario, seed=5)
    arm = restore.simulate(scenario, seed=5, backend="fake-arm")
    assert arm.status == "succeeded", arm.error
    assert resources(arm) == resources(sim)
    assert arm.steps and [s["name"] for s in arm.steps] == [s["name"] for s in sim.steps]


def test_the_report_lists_the_arm_requests_of_each_operation():
    report = restore.simulate(path_scenario(("backup", "hot", None), "original"),
                              backend="fake-arm")
    creates = [o for o in report.operations if o["op"] == "create_disk"]
    assert creates
    for op in creates:
        name = op["resource"].rsplit("/", 1)[-1]
        put, *polls = op["arm_requests"]
        assert put.startswith("PUT /subscriptions/") and f"/disks/{name} 202" in put
        assert polls[-1].endswith(f"/disks/{name} 200")  # the final GET of the resource
    moves = [o for o in report.operations if o["op"] == "move_resources"]
    assert any(r.startswith("POST ") and "/moveResources 202" in r
               for r in moves[0]["arm_requests"])
    reads = [o for o in report.operations if o["op"] == "find_resources"]
    assert all(r.startswith("GET ") for o in reads for r in o["arm_requests"])


def test_pollers_wait_as_arm_says_instead_of_polling_busily():
    """Every long-running operation: the request, one poll at once, one after the
    Retry-After (when its time has passed), and the final GET at most."""
    report = restore.simulate(path_scenario(("backup", "hot", None), "original"),
                              backend="fake-arm")
    for op in report.operations:
        status = [r for r in op["arm_requests"] if "/operations/" in r]
        results = [r for r in op["arm_requests"] if "/operationresults/" in r]
        polls = status or results  # with both, the result is GET once at the end
        assert len(results) <= 1 or not status, op
        writes = [r for r in op["arm_requests"] if not r.startswith("GET ")]
        assert len(polls) <= 2 * len(writes), op


def test_same_seed_same_report_on_fake_arm():
    scenario = restore.load_scenario(next(p for p in SCENARIO_FILES
                                          if p.stem == "faulted-retried"))
    first = restore.simulate(scenario, backend="fake-arm")
    assert first.to_json() == restore.simulate(scenario, backend="fake-arm").to_json()
    assert first.to_json() != restore.simulate(scenario, seed=99, backend="fake-arm").to_json()


def test_latencies_come_from_the_region_profile():
    """Simulated minutes, not milliseconds: the VM creation waits its profile time."""
    report = restore.simulate(path_scenario(("backup", "hot", None), "new"), backend="fake-arm")
    create_vm = next(o for o in report.operations if o["op"] == "create_vm"
                     and "worker" not in o["resource"])
    assert create_vm["end_s"] - create_vm["start_s"] >= 30  # profile: min 30 s, median ~2 min
    assert report.duration_s > 600


@pytest.mark.parametrize(("kind", "code"), [
    ("allocation_failed", "AllocationFailed"), ("quota_exceeded", "QuotaExceeded")])
def test_a_fault_reaches_the_engine_with_arms_code_and_rolls_back(kind, code):
    scenario = path_scenario(("backup", "hot", None), "original")
    at = "launch_worker" if kind == "allocation_failed" else "create_empty_disks"
    times = 3 if kind == "allocation_failed" else 1
    sim = restore.simulate(scenario, faults=[Fault(at=at, kind=kind, times=times)])
    arm = restore.simulate(scenario, faults=[Fault(at=at, kind=kind, times=times)],
                           backend="fake-arm")
    assert arm.status == sim.status == "rolled_back"
    assert arm.error["code"] == code
    assert resources(arm) == resources(sim)
    assert arm.source_intact and arm.leaked == []


def test_throttling_answers_429_and_the_sdk_waits_retry_after():
    scenario = path_scenario(("backup", "hot", None), "original")
    report = restore.simulate(scenario, faults=[Fault(at="create_disk", kind="throttle",
                                                      times=2)], backend="fake-arm")
    assert report.status == "succeeded"
    requests = [r for o in report.operations if o["op"] == "create_disk"
                for r in o["arm_requests"]]
    assert sum(r.endswith(" 429") for r in requests) == 2


def test_crash_then_resume_ends_as_a_clean_run(tmp_path):
    scenario = path_scenario(("backup", "hot", None), "original")
    clean = restore.simulate(scenario, seed=3, backend="fake-arm")
    journal = tmp_path / "restore.journal"
    crashed = restore.simulate(scenario, seed=3, faults=[Fault(at="move_disks", kind="crash")],
                               journal=journal, backend="fake-arm")
    assert crashed.status == "interrupted"
    resumed = restore.resume(journal)
    assert resumed.backend == "fake-arm"
    assert resumed.status == "succeeded"
    assert resources(resumed) == resources(clean)


def test_subscription_of_the_scenario_is_served():
    scenario = path_scenario(("backup", "hot", None), "new")
    report = restore.simulate(scenario, backend="fake-arm")
    assert all(f"/subscriptions/{SUBSCRIPTION}/" in r["id"] for r in resources(report))


def test_simulate_command_runs_on_fake_arm():
    from typer.testing import CliRunner

    from restore.cli import app

    result = CliRunner().invoke(app, ["simulate", "orig-snapshot", "--backend", "fake-arm",
                                      "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["backend"] == "fake-arm" and report["status"] == "succeeded"
    assert all(o["arm_requests"] for o in report["operations"])
    human = CliRunner().invoke(app, ["simulate", "orig-snapshot", "--backend", "fake-arm"])
    assert human.exit_code == 0 and "simulated timeline" in human.stdout
