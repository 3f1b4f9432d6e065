"""`restorelab optimize` and restore.optimize: the search finds a planted best strategy,
the Pareto front is the non-dominated set, the written scenario restores to its figures,
bad input is a clear error; the scenario's workers block and a fleet group's
rehydrate_priority take effect."""

import json

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import restore
from restore.backends.optimize import pareto_front
from restore.backends.sweep import sweep
from restore.cli import app
from restore.scenario import find_scenario, parse_scenario

runner = CliRunner()
RUNS = 40


def shipped(name: str, **changes) -> dict:
    raw = yaml.safe_load(find_scenario(name).read_text())
    raw.update(changes)
    return raw


def small_archive(**changes) -> dict:
    """An archived 8 GB restore point: high priority rehydrates in under an hour (the
    account's cap is 10 GiB/h), standard in hours."""
    raw = shipped("orig-archive-standard", **changes)
    raw["source_vm"]["os_disk"] = {"size_gb": 8, "sku": "Premium_LRS"}
    raw["source_vm"]["data_disks"] = []
    return raw


def write(tmp_path, raw: dict, name: str = "scenario.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


def dominates(a, b) -> bool:
    return a[0] <= b[0] and a[1] <= b[1] and a != b


# (1) a planted best strategy, both objectives

def test_rto_objective_finds_high_priority_for_a_small_archived_restore_point():
    result = restore.optimize(parse_scenario(small_archive()), objective="rto", runs=RUNS)
    assert result.best.changes.get("rehydrate_priority") == "high"
    own = result.candidates[0]
    assert own.changes == {} and own.p95_s > result.best.p95_s + 3 * 3600


def test_cost_objective_takes_high_priority_only_when_the_rto_needs_it():
    sc = parse_scenario(small_archive())
    tight = restore.optimize(sc, objective="cost", rto="2h", runs=RUNS)
    assert tight.best.changes.get("rehydrate_priority") == "high"
    assert tight.best.p_meet >= 0.95
    loose = restore.optimize(sc, objective="cost", rto=86_400, runs=RUNS)
    assert "rehydrate_priority" not in loose.best.changes  # standard is cheaper
    assert loose.best.mean_cost < tight.best.mean_cost


def test_a_snapshot_that_exists_beats_the_backup():
    sc = restore.load_scenario(find_scenario("orig-hot-10-data-disks"))
    result = restore.optimize(sc, runs=RUNS, restore_points=("backup", "snapshot"))
    assert result.best.changes == {"restore_point": "snapshot"}
    assert result.best.scenario.restore_point.kind == "snapshot"
    assert result.best.scenario.workers is None


def test_a_small_fleet_with_one_worker_gets_more():
    raw = shipped("fleet-40-vms")
    raw["fleet"] = {"max_workers": 1, "groups": [{"count": 2, "priority": 0},
                                                 {"count": 4, "priority": 1}]}
    result = restore.optimize(parse_scenario(raw), rto=4 * 3600, runs=4)
    assert result.best.changes["fleet.max_workers"] == 4
    assert result.best.p95_s < result.candidates[0].p95_s / 2
    assert {d.name for d in result.dimensions} >= {"fleet.max_workers", "fleet.order"}


def test_keep_order_leaves_the_groups_priorities_as_they_are():
    raw = shipped("fleet-40-vms")
    raw["fleet"] = {"max_workers": 1, "groups": [{"count": 2, "priority": 0},
                                                 {"count": 4, "priority": 1}]}
    result = restore.optimize(parse_scenario(raw), rto=4 * 3600, runs=4, keep_order=True)
    assert "fleet.order" not in {d.name for d in result.dimensions}
    assert all("fleet.order" not in c.changes for c in result.candidates)
    assert [g.priority for g in result.best.scenario.fleet.groups] == [0, 1]
    assert result.best.changes["fleet.max_workers"] == 4


def test_no_candidate_within_the_budget_exits_1_naming_the_closest(tmp_path):
    path = write(tmp_path, small_archive())
    out = runner.invoke(app, ["optimize", str(path), "--budget", "0.0001", "--runs", "20",
                              "--write", str(tmp_path / "best.yaml")])
    assert out.exit_code == 1, out.output
    assert "no candidate meets the constraints; the closest is candidate" in out.output
    assert not (tmp_path / "best.yaml").exists()


def test_a_restore_that_always_fails_has_no_best():
    out = runner.invoke(app, ["optimize", "faulted-rolled-back", "--runs", "5"])
    assert out.exit_code == 1, out.output
    assert "5 of 5 runs failed" in " ".join(out.output.split())


# (2) the Pareto front

@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=12))
def test_the_front_is_exactly_the_non_dominated_points(points):
    front = set(pareto_front(points))
    for i, p in enumerate(points):
        assert (i in front) == (not any(dominates(q, p) for q in points))


def test_the_front_of_a_real_search_dominates_every_other_candidate():
    sc = restore.load_scenario(find_scenario("orig-hot-10-data-disks"))
    result = restore.optimize(sc, runs=RUNS)
    points = {c.number: (c.p95_s, c.mean_cost) for c in result.candidates}
    front = {c.number for c in result.front}
    assert len(result.candidates) > len(front) >= 1
    for number, p in points.items():
        if number in front:
            assert not any(dominates(q, p) for q in points.values())
        else:
            assert any(dominates(points[f], p) for f in front)


# (3) the written scenario

def test_the_written_scenario_loads_and_restores_to_its_figures(tmp_path):
    path = write(tmp_path, small_archive())
    best = tmp_path / "best.yaml"
    out = runner.invoke(app, ["optimize", str(path), "--runs", str(RUNS), "--seed", "3",
                              "--rto", "2h", "--write", str(best), "--json"])
    assert out.exit_code == 0, out.output
    found = json.loads(out.stdout)
    chosen = next(c for c in found["candidates"] if c["number"] == found["best"])
    assert found["written"] == str(best) and found["evaluated"] == len(found["candidates"])
    text = best.read_text()
    assert text.startswith("# Optimized by `restorelab optimize")
    assert "rehydrate_priority: high" in text.splitlines()[1]
    loaded = restore.load_scenario(best)
    summary = sweep(loaded, RUNS, 3).to_dict()
    assert summary["duration_s"]["p95"] == chosen["p95_s"]
    assert summary["cost"]["mean"] == chosen["mean_cost"]
    assert restore.simulate(loaded, seed=3).status == "succeeded"


def test_the_plot_has_labelled_axes(tmp_path):
    pytest.importorskip("matplotlib")
    result = restore.optimize(parse_scenario(small_archive()), rto=7200, runs=RUNS)
    figure = result.plot(str(tmp_path / "front.png"))
    ax = figure.axes[0]
    assert "hours" in ax.get_xlabel() and "USD" in ax.get_ylabel()
    assert (tmp_path / "front.png").stat().st_size > 0


def test_the_plot_draws_on_its_own_figure_and_leaves_pyplot_alone(tmp_path):
    """No backend switch and no pyplot figure: a notebook keeps showing its plots inline."""
    plt = pytest.importorskip("matplotlib.pyplot")
    backend, open_before = plt.get_backend(), plt.get_fignums()
    restore.optimize(parse_scenario(small_archive()), rto=7200, runs=RUNS).plot()
    assert plt.get_backend() == backend and plt.get_fignums() == open_before


def test_an_output_that_cannot_be_written_is_refused_before_the_search(monkeypatch):
    from restore.backends import optimize

    monkeypatch.setattr(optimize, "optimize", lambda *a, **k: pytest.fail("searched"))
    for option in ("--plot", "--write"):
        out = runner.invoke(app, ["optimize", "orig-archive-standard", option, "."])
        assert out.exit_code == 2, out.output
        assert f".: {option}: is a directory" in " ".join(out.output.split())


@pytest.mark.parametrize(("plot", "missing", "message"), [
    ("front.nope", False, "--plot: Format 'nope' is not supported"),
    ("no/such/dir/front.png", False, "--plot: cannot write it: there is no directory no/such"),
    ("front.png", True, "--plot: plotting needs matplotlib: pip install 'restorelab[analysis]'"),
])
def test_a_plot_that_cannot_be_made_is_a_clear_error(tmp_path, monkeypatch, plot, missing,
                                                     message):
    if missing:
        monkeypatch.setitem(__import__("sys").modules, "matplotlib.figure", None)
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, small_archive())
    out = runner.invoke(app, ["optimize", str(path), "--rto", "2h", "--runs", str(RUNS),
                              "--plot", plot])
    assert out.exit_code == 2, out.output
    assert message in " ".join(out.output.split()) and "Traceback" not in out.output


# (4) bad input: exit 2, one clear line, no traceback

@pytest.mark.parametrize(("args", "message"), [
    (["--objective", "fastest"], "'fastest' is not one of"),
    (["--objective", "cost"], "needs one (--rto 4h, or the scenario's rto)"),
    (["--budget", "-1"], "--budget: a budget is at least 0 USD"),
    (["--restore-points", "snapshot"], "--restore-points: snapshot: the scenario's restore"),
    (["--restore-points", "tape"], "'tape' is not a restore point kind"),
    (["--disk-skus", "Premium_LRS"], "target.disk_sku is settable only with"),
    (["--max-workers", "8"], "--max-workers: applies to a fleet only"),
    (["--keep-order"], "--keep-order: applies to a fleet only"),
    (["--rto", "soon"], "--rto: 'soon' is not a duration"),
])
def test_bad_options_are_clear_errors(args, message):
    out = runner.invoke(app, ["optimize", "orig-archive-standard", *args])
    assert out.exit_code == 2, out.output
    assert message in " ".join(out.output.split())
    assert "Traceback" not in out.output


def test_an_unknown_worker_size_is_a_clear_error(tmp_path):
    path = write(tmp_path, shipped("orig-hot-backup", workers={"size": "Standard_X9"}))
    out = runner.invoke(app, ["optimize", str(path), "--runs", "5"])
    assert out.exit_code == 2, out.output
    assert "workers.size: 'Standard_X9' is not a size of the region profile's vm_sizes" in \
        " ".join(out.output.split())
    assert "Traceback" not in out.output


# (5) the choices take effect

def test_the_workers_block_sets_the_plans_workers():
    raw = shipped("orig-hot-10-data-disks", workers={"size": "Standard_E4s_v5", "count": 3})
    workers = restore.plan_for(parse_scenario(raw)).context.workers
    assert [w.size for w in workers] == ["Standard_E4s_v5"] * 3
    assert sorted(len(w.disks) for w in workers) == [3, 4, 4]
    default = restore.plan_for(parse_scenario(shipped("orig-hot-10-data-disks"))).context
    assert [w.size for w in default.workers] == ["Standard_F4s_v2"] * 2


@pytest.mark.parametrize(("workers", "field"), [
    ({"count": 1}, "workers.count"),  # 11 disks take two F4s_v2 (8 slots each)
    ({"count": 12}, "workers.count"),  # more workers than disks
    ({"size": "Standard_D2_v3"}, "workers.size"),  # offered, but no restore figures
])
def test_workers_out_of_range_name_the_field(workers, field):
    sc = parse_scenario(shipped("orig-hot-10-data-disks", workers=workers))
    with pytest.raises(restore.ScenarioError) as caught:
        restore.plan_for(sc)
    assert caught.value.field == field


def test_more_workers_per_vm_than_the_fleets_pool_are_refused():
    raw = shipped("fleet-40-vms", workers={"count": 5})
    with pytest.raises(restore.ScenarioError) as caught:
        parse_scenario(raw)
    assert caught.value.field == "workers.count"


def test_workers_of_a_snapshot_restore_are_refused():
    with pytest.raises(restore.ScenarioError, match="a snapshot restore uses no workers"):
        parse_scenario(shipped("orig-snapshot", workers={"count": 1}))


def test_a_groups_rehydrate_priority_reaches_its_vms():
    raw = shipped("fleet-40-vms", restore_point={"kind": "backup", "tier": "archive"})
    raw["fleet"]["groups"][0]["rehydrate_priority"] = "high"
    replicas = parse_scenario(raw).replicas()
    priorities = [(r.restore_point.priority, p) for r, p in replicas]
    assert priorities[:5] == [("high", 0)] * 5 and priorities[5:] == [("standard", 5)] * 35
    plan = restore.plan_for(replicas[0][0])
    assert plan.context.restore_point.priority == "high"


def test_a_groups_rehydrate_priority_needs_an_archived_restore_point():
    raw = shipped("fleet-40-vms")
    raw["fleet"]["groups"][1]["rehydrate_priority"] = "high"
    with pytest.raises(restore.ScenarioError) as caught:
        parse_scenario(raw)
    assert caught.value.field == "fleet.groups.1.rehydrate_priority"
