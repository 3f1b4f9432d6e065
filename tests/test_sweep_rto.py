"""Sweeps of a fleet, and a sweep's answers about a recovery time objective (RTO)."""

from __future__ import annotations

import json

import pytest
from helpers import scenario_dict
from typer.testing import CliRunner

import restore
from restore.backends.fleet import simulate_fleet
from restore.backends.sweep import run_seed, sweep
from restore.cli import app
from restore.errors import ScenarioError
from restore.shipped import find_scenario


def small_fleet(count: int = 3, max_workers: int = 2, **kwargs) -> restore.Scenario:
    raw = scenario_dict(size="Standard_D2s_v5", data_disks=[{"size_gb": 512, "used_gb": 30}],
                        **kwargs)
    raw["fleet"] = {"groups": [{"count": count}], "max_workers": max_workers}
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
