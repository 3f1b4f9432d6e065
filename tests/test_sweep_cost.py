"""Monte Carlo sweeps and the cost model."""

from __future__ import annotations

import json

import pytest
from helpers import fixed_profile, make_scenario
from typer.testing import CliRunner

import restore
from restore import Fault
from restore.backends.profiles import load_profile
from restore.backends.sim import simulate
from restore.backends.sweep import run_seed, sweep
from restore.cli import app

PRICES = load_profile("default").prices
SUMMARY_KEYS = ["mean", "p50", "p90", "p95", "p99", "min", "max"]


# -- sweep ---------------------------------------------------------------------------------

def test_sweep_is_the_same_whatever_the_number_of_workers():
    scenario = make_scenario(location="new")
    one = sweep(scenario, 600, seed=5, workers=1, method="simulated").to_dict()
    two = sweep(scenario, 600, seed=5, workers=2, method="simulated").to_dict()
    assert one == two
    assert one["runs"] == 600 and one["succeeded"] == 600
    assert sweep(scenario, 600, seed=6, workers=2, method="simulated").to_dict() != one


def test_sweep_runs_are_the_simulations_of_their_derived_seeds():
    scenario = make_scenario(location="original")
    result = sweep(scenario, 5, seed=9, workers=1, method="simulated")
    for run, outcome in enumerate(result.outcomes):
        report = restore.simulate(scenario, seed=run_seed(9, run))
        assert (outcome.status, outcome.duration_s, outcome.cost) == (
            report.status, report.duration_s, report.cost["total"])


def test_sweep_summary_orders_its_percentiles():
    summary = restore.sweep(make_scenario(tier="archive", priority="standard"), 300,
                            workers=1).to_dict()
    for measure in ("duration_s", "cost"):
        values = [summary[measure][k] for k in SUMMARY_KEYS]
        assert list(summary[measure]) == SUMMARY_KEYS
        assert values[-2] <= values[1] <= values[2] <= values[3] <= values[4] <= values[-1]
        assert values[-2] < values[-1]  # it does vary


def test_sweep_counts_the_runs_a_probable_fault_breaks():
    scenario = make_scenario(location="new")
    faults = [Fault(at="restore_data", kind="quota_exceeded", probability=0.3)]
    summary = restore.sweep(scenario, 400, seed=1, workers=2, faults=faults).to_dict()
    assert summary["succeeded"] + summary["failed"] == 400
    assert summary["statuses"]["rolled_back"] == summary["failed"]
    assert 80 <= summary["failed"] <= 160  # 120 expected; 4 standard deviations either way


def test_cli_sweep_json_and_table():
    runner = CliRunner()
    result = runner.invoke(app, ["sweep", "orig-snapshot", "--runs", "300", "--json",
                                 "--workers", "2"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {"runs", "succeeded", "failed", "duration_s", "cost"} <= summary.keys()
    assert list(summary["duration_s"]) == SUMMARY_KEYS and summary["runs"] == 300
    table = runner.invoke(app, ["sweep", "orig-snapshot", "--runs", "50"])
    assert table.exit_code == 0 and "p95" in table.stdout and "cost" in table.stdout
    bad = runner.invoke(app, ["sweep", "orig-snapshot", "--runs", "0"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


# -- cost ------------------------------------------------------------------------------------

def cost_of(scenario, **kwargs):
    report = simulate(scenario, **kwargs)
    assert report.status == "succeeded"
    return report.cost


def test_cost_items_add_up_to_the_total():
    cost = cost_of(make_scenario(location="new"))
    items = {k: v for k, v in cost.items() if k not in ("currency", "total")}
    assert cost["currency"] == PRICES.currency
    assert cost["total"] == pytest.approx(sum(items.values()), abs=1e-3)
    assert cost["worker_compute"] > 0 and cost["disks"] > 0


def test_worker_compute_is_its_hours_at_the_list_price():
    scenario = make_scenario(location="new", data_disks=[])
    report = simulate(scenario, profile=fixed_profile(10.0))
    ops = report.operations
    created = next(o for o in ops if o["op"] == "create_vm" and o["step"] == "launch_worker")
    stopped = next(o for o in ops if o["op"] == "deallocate_vm")
    worker_size = restore.plan_for(scenario).context.workers[0].size
    expected = (stopped["end_s"] - created["start_s"]) / 3600 * PRICES.vm_hourly[worker_size]
    assert report.cost["worker_compute"] == pytest.approx(expected, abs=1e-3)


def test_high_priority_rehydration_costs_more_than_standard():
    standard = cost_of(make_scenario(tier="archive", priority="standard"), seed=1)
    high = cost_of(make_scenario(tier="archive", priority="high"), seed=1)
    assert high["rehydration"] > standard["rehydration"] > 0
    assert cost_of(make_scenario(tier="hot"))["rehydration"] == 0


def test_cost_grows_with_data_size():
    costs = [cost_of(make_scenario(location="new", data_disks=[
        {"size_gb": 1024, "used_gb": used}]), seed=3)["total"] for used in (10, 200, 900)]
    assert costs == sorted(costs) and costs[0] < costs[-1]


def test_transfer_is_paid_only_across_regions():
    here = cost_of(make_scenario(location="new"))
    there = cost_of(make_scenario(location="new", target={"region": "northeurope",
                                                          "resource_group": "rg-dr"}))
    assert here["transfer"] == 0 and there["transfer"] > 0


def test_the_snapshot_path_runs_no_worker():
    cost = cost_of(make_scenario(kind="snapshot", location="original"))
    assert cost["worker_compute"] == 0


def test_sweep_on_a_dask_cluster_gives_the_same_numbers():
    distributed = pytest.importorskip("distributed")
    scenario = make_scenario(location="new")
    local = sweep(scenario, 600, seed=5, workers=1, method="simulated").to_dict()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        done = []
        remote = sweep(scenario, 600, seed=5, dask_address=cluster.scheduler_address,
                       progress=done.append).to_dict()
    assert remote == local
    assert sum(done) == 600


def test_cli_sweep_with_an_unreachable_dask_scheduler_is_a_clear_error():
    result = CliRunner().invoke(app, ["sweep", "orig-snapshot", "--runs", "10", "--dask",
                                      "tcp://127.0.0.1:9"])
    assert result.exit_code == 2 and "--dask" in result.stderr
    assert "Traceback" not in result.output
