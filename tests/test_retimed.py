"""simulate re-times a compiled restore instead of running the engine: the same report,
field for field, for every seed."""

from __future__ import annotations

from pathlib import Path

import pytest

import restore
from restore.backends import sim
from restore.backends.compiled import compiled_for
from restore.backends.prepared import prepare
from restore.backends.retimed import retimed_report

pytest.importorskip("numpy")

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))
SHIPPED = {path.stem: restore.load_scenario(path) for path in SCENARIOS}
COMPILABLE = sorted(name for name, s in SHIPPED.items() if s.fleet is None and not s.faults
                    and not (s.data is not None and s.data.mode == "bytes") and not s.is_drill)


@pytest.mark.parametrize("name", COMPILABLE)
def test_a_retimed_report_is_the_engines_for_every_seed(name):
    prepared = prepare(SHIPPED[name])
    compiled = compiled_for(prepared)
    for seed in range(12):
        engine, retimed = sim.run(prepared, seed), retimed_report(compiled, seed)
        assert retimed.to_dict() == engine.to_dict(), seed
        assert retimed.cost == engine.cost and retimed.exit_code == engine.exit_code


def test_simulate_re_times_without_running_the_engine_again(monkeypatch):
    scenario = SHIPPED["orig-hot-backup"]
    first = restore.simulate(scenario, seed=3)  # traces the restore once
    monkeypatch.setattr(sim, "run", lambda *args, **kwargs: pytest.fail("the engine ran"))
    assert restore.simulate(scenario, seed=3).to_dict() == first.to_dict()
    assert restore.simulate(scenario, seed=4).duration_s != first.duration_s


def test_simulate_runs_the_engine_where_runs_can_differ_by_more_than_latency(monkeypatch):
    ran = []
    engine_run = sim.run
    monkeypatch.setattr(sim, "run", lambda *args, **kwargs: ran.append(1) or engine_run(
        *args, **kwargs))
    restore.simulate(SHIPPED["faulted-retried"], seed=1)
    restore.simulate(SHIPPED["orig-hot-backup"], seed=1, faults=[
        restore.Fault(at="create_vm", kind="throttle")])
    assert len(ran) == 2
