"""Sweeps of a fleet, and a sweep's answers about a recovery time objective (RTO)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from helpers import ROOT, make_scenario, readme_example, scenario_dict
from typer.testing import CliRunner

import restore
from restore import Fault
from restore.backends.fleet import simulate_fleet
from restore.backends.prepared import remembered
from restore.backends.sweep import run_seed, summary, sweep
from restore.backends.sweep_rto import WAIT_FOR_WORKER, WAIT_TO_START, critical_chain, wilson
from restore.cli import app
from restore.errors import ScenarioError
from restore.shipped import find_scenario


def small_fleet(count: int = 3, max_workers: int = 2, faults=()) -> restore.Scenario:
    raw = scenario_dict(size="Standard_D2s_v5", data_disks=[{"size_gb": 512, "used_gb": 30}])
    raw["fleet"] = {"groups": [{"count": count}], "max_workers": max_workers}
    raw["faults"] = list(faults)
    return restore.parse_scenario(raw)


# -- fleets ----------------------------------------------------------------------------------

def test_a_fleet_sweep_runs_are_the_fleet_simulations_of_their_derived_seeds():
    scenario = small_fleet()
    result = sweep(scenario, 4, seed=3, workers=1)
    assert result.method == "simulated"
    for run, outcome in enumerate(result.outcomes):
        fleet = simulate_fleet(scenario, seed=run_seed(3, run))
        assert (outcome.status, outcome.duration_s, outcome.cost) == (
            fleet.status, round(fleet.makespan_s, 3), fleet.to_dict()["cost"])
    single = sweep(scenario.model_copy(update={"fleet": None}), 4, seed=3, workers=1,
                   method="simulated")
    assert [o.duration_s for o in single.outcomes] != [o.duration_s for o in result.outcomes]


def test_a_fleet_sweep_is_the_same_on_one_worker_or_two():
    scenario = small_fleet()
    one = sweep(scenario, 6, seed=2, workers=1)
    two = sweep(scenario, 6, seed=2, workers=2)
    assert one.to_dict() == two.to_dict()


def test_the_compiled_method_refuses_a_fleet():
    with pytest.raises(ScenarioError, match="fleet"):
        sweep(small_fleet(), 4, method="compiled")


def test_the_cli_sweeps_the_shipped_fleet():
    result = CliRunner().invoke(app, ["sweep", "fleet-40-vms", "--runs", "2", "--workers",
                                      "1", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    scenario = restore.load_scenario(find_scenario("fleet-40-vms"))
    spans = sorted(round(simulate_fleet(scenario, seed=run_seed(scenario.seed, run))
                         .makespan_s, 3) for run in range(2))
    assert summary["method"] == "simulated"
    assert [summary["duration_s"]["min"], summary["duration_s"]["max"]] == spans


# -- RTO answers -----------------------------------------------------------------------------

HOUR = 3600.0
SHIPPED = {name: restore.load_scenario(find_scenario(name))
           for name in ("faulted-retried", "orig-hot-backup")}


def rto_of(scenario, runs, rto_s, **kwargs):
    return sweep(scenario, runs, seed=4, rto_s=rto_s, **kwargs).to_dict()["rto"]


def test_the_wilson_interval_is_the_hand_computed_one():
    # 8 of 10, z = 1.96: centre (0.8 + z²/20) / (1 + z²/10), half-width
    # z / (1 + z²/10) * sqrt(0.8 * 0.2 / 10 + z² / 400)
    assert wilson(8, 10) == pytest.approx((0.4901625, 0.9433178), abs=1e-6)
    assert wilson(0, 50)[0] == 0 and wilson(50, 50)[1] == 1
    assert wilson(0, 50)[1] == pytest.approx(0.071348, abs=1e-6)


def test_the_critical_chain_follows_the_last_to_end_of_the_steps_waited_for():
    spans = [("a", 0, 10), ("b", 10, 30), ("c", 10, 20), ("d", 30, 40), ("e", 10, 35)]
    after = {"b": ("a",), "c": ("a",), "d": ("b", "c"), "e": ("a",)}
    assert [s[0] for s in critical_chain(spans, after)] == ["d", "b", "a"]
    spans[-1] = ("e", 10, 45)
    assert [s[0] for s in critical_chain(spans, after)] == ["e", "a"]


def test_a_certain_failure_misses_every_run_at_its_step():
    scenario = make_scenario(location="new")
    faults = [Fault(at="restore_data", kind="quota_exceeded")]
    rto = rto_of(scenario, 20, 100 * HOUR, workers=1, faults=faults)
    assert (rto["met"], rto["p_meet"], rto["percentile"]) == (0, 0.0, None)
    assert rto["missed"] == {"failed": 20, "slow": 0, "failed_at": [
        {"step": "restore_data", "code": "QuotaExceeded", "runs": 20}]}
    assert rto["ci95"][0] == 0 and rto["ci95"][1] == pytest.approx(wilson(0, 20)[1], abs=1e-6)
    assert rto["tail"]["runs"] == 0


@pytest.mark.parametrize("method", ["simulated", "compiled"])
def test_an_rto_above_or_below_every_run(method):
    scenario = make_scenario(location="new")
    above = rto_of(scenario, 50, 100 * HOUR, workers=1, method=method)
    assert (above["p_meet"], above["ci95"][1], above["percentile"]) == (1.0, 1.0, 100.0)
    assert above["missed"] == {"failed": 0, "slow": 0, "failed_at": []}
    below = rto_of(scenario, 50, 1.0, workers=1, method=method)
    assert (below["p_meet"], below["percentile"], below["missed"]["slow"]) == (0.0, 0.0, 50)


def test_the_rto_percentile_is_the_empirical_cdf_of_the_succeeded_runs():
    result = sweep(SHIPPED["faulted-retried"], 40, seed=4, workers=1, rto_s=1)
    durations = sorted(o.duration_s for o in result.outcomes if o.status == "succeeded")
    rto_s = durations[9]  # 10 of the succeeded runs take at most this (no ties)
    result.rto_s = rto_s
    rto = result.to_dict()["rto"]
    assert rto["percentile"] == round(100 * 10 / len(durations), 2)
    assert rto["met"] == 10 and rto["missed"]["slow"] == len(durations) - 10


def test_a_runs_critical_path_is_its_chain_of_steps_and_the_shares_add_up():
    scenario = SHIPPED["faulted-retried"]
    result = sweep(scenario, 30, seed=4, workers=1, rto_s=HOUR)
    prerequisites = remembered(scenario, None).plan.prerequisites
    for outcome in result.outcomes:
        assert sum(share for _, share in outcome.detail.path) == pytest.approx(1, abs=2e-3)
    report = restore.simulate(scenario, seed=run_seed(4, 0))
    spans = {s["name"]: s for s in report.steps}
    chain = [spans[name] for name, _ in result.outcomes[0].detail.path]
    assert chain[0]["start_s"] == 0 and chain[-1]["end_s"] == report.duration_s
    for before, after in zip(chain, chain[1:], strict=False):  # each started by the one before
        assert before["name"] in prerequisites[after["name"]]
        assert after["start_s"] == before["end_s"]
        assert before["end_s"] == max(spans[b]["end_s"] for b in prerequisites[after["name"]]
                                      if b in spans)
    for (_, share), step in zip(result.outcomes[0].detail.path, chain, strict=True):
        assert share == round((step["end_s"] - step["start_s"]) / report.duration_s, 4)


def test_the_tail_and_the_misses_are_those_of_the_runs_reports():
    scenario = SHIPPED["faulted-retried"].model_copy(update={"faults": [
        *SHIPPED["faulted-retried"].faults,
        Fault(at="create_vm", kind="quota_exceeded", probability=0.2)]})
    runs, rto_s = 60, 40 * 60
    rto = rto_of(scenario, runs, rto_s, workers=1)
    reports = [restore.simulate(scenario, seed=run_seed(4, run)) for run in range(runs)]
    ok = [r for r in reports if r.status == "succeeded"]
    threshold = summary([r.duration_s for r in ok])["p95"]
    tail = [r for r in ok if r.duration_s >= threshold]
    retried = Counter()
    for report in tail:
        for op in report.operations:
            if op["attempts"] > 1:
                retried[op["step"], op["op"]] += op["attempts"] - 1
    failed = Counter((r.error["step"], r.error["code"]) for r in reports if r not in ok)
    assert failed and retried  # the planted faults fire
    assert {(r["step"], r["op"]): r["retries"] for r in rto["tail"]["retried"]} == retried
    assert {(f["step"], f["code"]): f["runs"] for f in rto["missed"]["failed_at"]} == failed
    assert rto["missed"]["failed"] == len(reports) - len(ok)
    assert rto["missed"]["slow"] == sum(r.duration_s > rto_s for r in ok)
    assert rto["met"] == sum(r.duration_s <= rto_s for r in ok)
    assert rto["tail"]["runs"] == len(tail) and rto["tail"]["threshold_s"] == threshold


def test_compiled_and_simulated_sweeps_agree_on_the_chance_of_meeting_the_rto():
    scenario = SHIPPED["orig-hot-backup"]
    rto_s = sweep(scenario, 2000, seed=1).to_dict()["duration_s"]["p90"]
    compiled = rto_of(scenario, 20_000, rto_s, method="compiled")
    simulated = rto_of(scenario, 600, rto_s, workers=2, method="simulated")
    assert compiled["ci95"][0] <= simulated["ci95"][1]
    assert simulated["ci95"][0] <= compiled["ci95"][1]
    assert compiled["tail"]["retried"] is None
    assert list(compiled["tail"]["critical_path"])[:2] == list(
        simulated["tail"]["critical_path"])[:2]


def test_an_rto_sweep_is_the_same_on_one_worker_or_two():
    scenario = SHIPPED["faulted-retried"]
    one = sweep(scenario, 300, seed=2, workers=1, rto_s=HOUR / 2).to_dict()
    two = sweep(scenario, 300, seed=2, workers=2, rto_s=HOUR / 2).to_dict()
    assert one == two and one["rto"]["tail"]["retried"]


def test_a_fleet_rto_names_the_last_vms_path_and_its_waits():
    scenario = small_fleet(count=4, max_workers=1)
    result = sweep(scenario, 6, seed=3, workers=1, rto_s=HOUR)
    fleet = simulate_fleet(scenario, seed=run_seed(3, 0))
    last = max(fleet.vms, key=lambda v: v.end_s)
    path = dict(result.outcomes[0].detail.path)
    assert sum(path.values()) == pytest.approx(1, abs=2e-3)
    assert path[WAIT_TO_START] + path[WAIT_FOR_WORKER] == pytest.approx(
        (last.end_s - last.critical_path_s) / fleet.makespan_s, abs=0.01)
    assert path[WAIT_TO_START] + path[WAIT_FOR_WORKER] > 0.3  # one worker for four VMs
    rto = result.to_dict()["rto"]
    assert rto["runs"] == 6 and WAIT_TO_START in rto["tail"]["critical_path"]


def test_no_rto_no_rto_block_and_the_scenarios_own_rto_is_used():
    scenario = make_scenario(location="new")
    assert "rto" not in sweep(scenario, 20, workers=1).to_dict()
    timed = scenario.model_copy(update={"rto": 2 * HOUR})
    assert sweep(timed, 20, workers=1).to_dict()["rto"]["target_s"] == 2 * HOUR
    assert sweep(timed, 20, workers=1, rto_s=HOUR).to_dict()["rto"]["target_s"] == HOUR
    assert restore.sweep(scenario, 20, workers=1, rto="1h30m").to_dict()["rto"][
        "target_s"] == 1.5 * HOUR


def test_cli_sweep_rto_text_json_and_bad_values():
    runner = CliRunner()
    text = runner.invoke(app, ["sweep", "faulted-rolled-back", "--runs", "30", "--workers",
                               "1", "--rto", "4h"])
    assert text.exit_code == 0, text.output
    assert "RTO 4:00: met by 0.0% of runs (95% CI 0.0%-11.4%; 0 of 30)" in text.stdout
    assert "30 failed (at launch_worker: QuotaExceeded ×30)" in text.stdout
    shown = runner.invoke(app, ["sweep", "orig-hot-backup", "--runs", "3000", "--rto", "90m"])
    assert "none (a compiled sweep is fault-free)" in shown.stdout
    assert "the slowest 5% (150 runs" in shown.stdout
    found = runner.invoke(app, ["sweep", "orig-hot-backup", "--runs", "3000", "--rto", "90m",
                                "--json"])
    rto = json.loads(found.stdout)["rto"]
    assert rto["target_s"] == 5400.0 and rto["runs"] == 3000
    for bad in ("4x", "0", "-1h", ""):
        refused = runner.invoke(app, ["sweep", "orig-hot-backup", "--runs", "10", "--rto", bad])
        assert refused.exit_code == 2, (bad, refused.output)
        assert "--rto" in refused.stderr and "Traceback" not in refused.output


def test_the_readme_rto_example_runs(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    answer = readme_example('rto="12h"')["answer"]
    assert answer["target_s"] == 12 * HOUR and answer["runs"] == 20_000
    assert 0.8 < answer["p_meet"] < 0.95  # an archive restore's rehydration: often, not always
    assert next(iter(answer["tail"]["critical_path"])) == "retrieve_archived_data"
    assert "meet it (95% CI" in capsys.readouterr().out


def test_a_fleets_failed_runs_are_named_by_where_its_vms_failed():
    scenario = small_fleet(count=2, max_workers=2, faults=[
        {"at": "restore_data", "kind": "quota_exceeded", "probability": 0.3}])
    rto = rto_of(scenario, 8, 100 * HOUR, workers=1)
    fleets = [simulate_fleet(scenario, seed=run_seed(4, run)) for run in range(8)]
    failed = sum(f.status == "failed" for f in fleets)
    assert 0 < failed < 8 and rto["missed"]["failed"] == failed
    assert rto["missed"]["failed_at"] == [
        {"step": "restore_data", "code": "QuotaExceeded", "runs": failed}]
    assert rto["met"] == 8 - failed
