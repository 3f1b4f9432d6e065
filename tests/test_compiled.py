"""The compiled fast path: exact against the SimPy engine when fed the engine's own
latencies, and the same distributions of duration and cost when it draws its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import restore
from restore.backends.compiled import NotCompilable, _traced_run, compile_restore
from restore.backends.prepared import prepare
from restore.backends.sweep import sweep
from restore.errors import ScenarioError

scipy_stats = pytest.importorskip("scipy.stats")

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))
SHIPPED = {path.stem: restore.load_scenario(path) for path in SCENARIOS}
COMPILABLE = sorted(name for name, s in SHIPPED.items() if s.fleet is None and not s.faults
                    and not (s.data is not None and s.data.mode == "bytes") and not s.is_drill)
COMPILED_RUNS, SIMULATED_RUNS = 20_000, 2_000


def test_every_fault_free_single_vm_scenario_compiles():
    assert sorted(set(SHIPPED) - set(COMPILABLE)) == [  # a drill, faults, a fleet, real bytes
        "drill-hot-backup", "faulted-kept-data", "faulted-retried", "faulted-rolled-back",
        "fleet-40-vms", "orig-hot-bytes"]
    for name in set(SHIPPED) - set(COMPILABLE) - {"fleet-40-vms"}:
        with pytest.raises(NotCompilable):
            compile_restore(prepare(SHIPPED[name]))


@pytest.mark.parametrize("name", COMPILABLE)
def test_fed_the_engines_latencies_it_gives_the_engines_duration_and_cost(name):
    scenario = SHIPPED[name]
    prepared = prepare(scenario)
    compiled = compile_restore(prepared)
    took: dict[int, list[float]] = {}
    _traced_run(prepared, lambda ticket, call, answer: took.setdefault(ticket.id, []).append(
        answer.latency_s))
    replayed = compiled.replay(lambda ticket, index, call: np.array([took[ticket][index]]),
                               np.zeros(1))
    report = restore.simulate(scenario, seed=scenario.seed)
    assert round(float(replayed.end_s[0]), 3) == report.duration_s
    assert float(compiled.costs(replayed)[0]) == report.cost["total"]


def _agrees(compiled: np.ndarray, simulated: np.ndarray, q: float) -> bool:
    """The compiled percentile is within 2% of the simulated one, or inside the simulated
    percentile's 99% distribution-free confidence interval (2,000 runs cannot place a
    99th percentile within 2%)."""
    mine, theirs = np.percentile(compiled, q), np.percentile(simulated, q)
    if abs(mine / theirs - 1) <= 0.02:
        return True
    n, p = len(simulated), q / 100
    spread = 2.576 * np.sqrt(n * p * (1 - p))
    ordered = np.sort(simulated)
    low = ordered[max(0, int(np.floor(n * p - spread)) - 1)]
    high = ordered[min(n - 1, int(np.ceil(n * p + spread)) - 1)]
    return bool(low <= mine <= high)


@pytest.mark.parametrize("name", COMPILABLE)
def test_sampled_runs_have_the_engines_distributions(name):
    scenario = SHIPPED[name]
    drawn = sweep(scenario, COMPILED_RUNS, seed=7, method="compiled")
    simulated = sweep(scenario, SIMULATED_RUNS, seed=7, workers=1, method="simulated")
    assert drawn.method == "compiled" and simulated.method == "simulated"
    pairs = {"duration": (drawn.outcomes.durations,
                          np.array([o.duration_s for o in simulated.outcomes])),
             "cost": (drawn.outcomes.costs, np.array([o.cost for o in simulated.outcomes]))}
    for measure, (mine, theirs) in pairs.items():
        assert scipy_stats.ks_2samp(mine, theirs).pvalue >= 0.01, measure
        for q in (50, 95, 99):
            assert _agrees(mine, theirs, q), (measure, q)


def test_a_compiled_sweep_depends_on_its_seed_alone():
    scenario = SHIPPED["orig-hot-backup"]
    one = sweep(scenario, 70_000, seed=3, method="compiled").to_dict()
    assert sweep(scenario, 70_000, seed=3, workers=1).to_dict() == one  # auto: compiled
    assert sweep(scenario, 70_000, seed=4, method="compiled").to_dict() != one
    shares = [step["share"] for step in one["critical_path"].values()]
    assert abs(sum(shares) - 1) < 0.01 and one["method"] == "compiled"


def test_compiled_on_a_scenario_it_cannot_serve_says_why():
    with pytest.raises(ScenarioError, match="fault rules"):
        sweep(SHIPPED["faulted-retried"], 10, method="compiled")
    with pytest.raises(ScenarioError, match="bytes"):
        sweep(SHIPPED["orig-hot-bytes"], 10, method="compiled")
    assert sweep(SHIPPED["faulted-retried"], 10, workers=1).method == "simulated"


def test_the_cli_sweeps_by_the_method_asked_and_says_which():
    import json

    from typer.testing import CliRunner

    from restore.cli import app

    runner = CliRunner()
    auto = runner.invoke(app, ["sweep", "orig-hot-backup", "--runs", "3000", "--json"])
    assert auto.exit_code == 0 and json.loads(auto.stdout)["method"] == "compiled"
    simulated = runner.invoke(app, ["sweep", "orig-hot-backup", "--runs", "20", "--workers", "1",
                                    "--method", "simulated", "--json"])
    assert json.loads(simulated.stdout)["method"] == "simulated"
    refused = runner.invoke(app, ["sweep", "orig-hot-bytes", "--method", "compiled"])
    assert refused.exit_code == 2 and "cannot serve it: it restores real bytes" in refused.output
    shown = runner.invoke(app, ["sweep", "orig-hot-backup", "--runs", "3000"])
    assert shown.exit_code == 0 and "(compiled, seed 1)" in shown.output
    assert "critical path" in shown.output
