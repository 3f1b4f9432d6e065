"""The benchmark scripts keep working (their figures are checked for consistency here;
their speed is measured by running them, never asserted in a test)."""

from __future__ import annotations

import json
import sys

import pytest
from helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))


def test_bench_arm_replays_exactly_the_requests_the_fake_answered(capsys):
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    import bench_arm

    assert bench_arm.main(["--rounds", "1", "--json"]) == 0  # the stubs: every answer used
    figures = json.loads(capsys.readouterr().out)
    assert figures["requests"] == figures["minimum_requests"] + figures["polls_still_running"]
    assert 0 < figures["polls_still_running"] <= figures["operations"]  # no busy polling
    assert figures["fake_s"] > 0 and figures["stubs_s"] > 0


def test_bench_agent_restores_verified_bytes(capsys, monkeypatch):
    import bench_agent

    monkeypatch.setattr(sys, "argv", ["bench_agent.py", "--mb", "8", "--rounds", "1"])
    assert bench_agent.main() == 0
    assert "verified" in capsys.readouterr().out


def test_bench_engine_breakdown_replays_the_operations_of_a_real_restore():
    """The breakdown's region part applies exactly the operations a simulated restore
    issues (none refused by ARM's rules), so its figure measures the same work."""
    import bench_engine

    from restore.engine import dry_run

    scenario = bench_engine.build_scenario()
    profile = bench_engine.load_profile("default")
    prepared = bench_engine.prepare(scenario, profile)
    operations, replay = bench_engine.region_replay(prepared)
    report = bench_engine.simulate(scenario, seed=0, profile=profile)
    assert report.status == "succeeded"
    assert sorted(t.op.kind for t in dry_run(prepared.plan)) == sorted(
        o["op"] for o in report.operations)
    assert operations == len(report.operations) == 26
    assert replay() > 0


def test_bench_engine_prints_the_ratio_and_the_breakdown(capsys):
    import bench_engine

    assert bench_engine.main(["--runs", "3", "--rounds", "1"]) == 0
    assert "ratio engine/bare:" in capsys.readouterr().out
    assert bench_engine.main(["--breakdown", "--runs", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line[:32].strip() for line in lines[1:]] == [
        "full engine restore", "engine (dry run)", "region (all ARM calls)",
        "SimPy, orchestrator, report", "bare SimPy model"]


def test_bench_floor_prints_every_ratio_to_the_floor(capsys):
    import bench_floor

    if not bench_floor.FLOOR.is_file():
        pytest.skip(f"the floor is not here: {bench_floor.FLOOR}")
    assert bench_floor.main(["--quick", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert set(found) == {"floor_per_s", "compiled", "sweep_process", "simulate",
                          "simulate_with_cost", "faulted_2_workers"}
    assert all(value > 0 for value in found.values())
    assert found["compiled"] > found["simulate"]  # sampling beats simulating, by far


def test_bench_import_times_the_cli_start_and_finds_no_heavy_package(capsys):
    import bench_import

    assert bench_import.main(["--rounds", "1", "--json", "--against", str(ROOT)]) == 0
    found = json.loads(capsys.readouterr().out)
    figures = found["this"]
    assert figures["heavy_loaded"] == found["against"]["heavy_loaded"] == []
    assert figures["baseline_s"] > 0 and figures["help_s"] > 0
    assert figures["ratio_import_to_baseline"] == pytest.approx(
        figures["import_s"] / figures["baseline_s"], abs=0.006)  # the ratio is kept to 2 decimals
    assert found["import_vs_against"] > 0
