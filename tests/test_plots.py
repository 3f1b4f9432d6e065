"""Plots: a restore's and a fleet's Gantt chart, a sweep's distributions; checked on the
figure's artists (bars, lines, labels), not only that a figure comes back."""

from __future__ import annotations

import sys

import pytest
from matplotlib.colors import to_rgb

import restore
from restore.backends.sweep import Outcome, SweepResult
from restore.plots import lanes, time_unit

RETRIED = [restore.Fault(at="create_empty_disks", kind="transient", times=2)]


@pytest.fixture(scope="module")
def retried():
    report = restore.simulate(restore.load_scenario("orig-hot-backup"), faults=RETRIED)
    assert any(o["attempts"] > 1 for o in report.operations)  # the fault made retries
    return report


@pytest.fixture(scope="module")
def small_fleet():
    raw = restore.load_scenario("fleet-40-vms").model_dump(mode="json")
    raw["fleet"] = {"max_workers": 2, "groups": [{"count": 2, "priority": 0},
                                                  {"count": 4, "priority": 5}]}
    return restore.simulate_fleet(restore.parse_scenario(raw))


def patches(figure, prefix: str) -> list:
    return [p for ax in figure.axes for p in ax.patches
            if (p.get_gid() or "").startswith(prefix)]


def lines(ax, gid: str) -> list:
    return [line for line in ax.get_lines() if line.get_gid() == gid]


def legend_texts(figure) -> list[str]:
    return [t.get_text() for legend in figure.legends for t in legend.get_texts()]


def test_a_bar_per_step_in_start_order_each_its_own_colour(retried):
    figure = retried.gantt()
    bars = patches(figure, "step:")
    assert [b.get_gid() for b in bars] == [f"step:{s['name']}" for s in sorted(
        retried.steps, key=lambda s: s["start_s"])]
    colours = {to_rgb(b.get_facecolor()[:3]) for b in bars}
    assert len(colours) == len(retried.steps)
    assert [t.get_text() for t in figure.axes[0].get_yticklabels()] == [
        b.get_gid().removeprefix("step:") for b in bars]


def test_each_operation_is_drawn_inside_its_steps_row(retried):
    figure = retried.gantt()
    rows = {b.get_gid().removeprefix("step:"): b for b in patches(figure, "step:")}
    ops = patches(figure, "op:")
    assert len(ops) == len(retried.operations)
    for bar in ops:
        step = rows[bar.get_gid().split(":")[2]]
        assert step.get_y() <= bar.get_y() and (
            bar.get_y() + bar.get_height() <= step.get_y() + step.get_height())
        assert to_rgb(bar.get_facecolor()[:3]) == to_rgb(step.get_facecolor()[:3])


def test_retried_operations_are_hatched_labelled_and_explained(retried):
    figure = retried.gantt()
    hatched = [p.get_gid() for p in patches(figure, "op:") if p.get_hatch()]
    assert hatched == [f"op:{i}:{o['step']}:{o['op']}" for i, o in enumerate(
        retried.operations) if o["attempts"] > 1]
    counts = [t.get_text() for t in figure.axes[0].texts]
    assert counts == [f"×{o['attempts']}" for o in retried.operations if o["attempts"] > 1]
    assert any("retried" in text for text in legend_texts(figure))


def test_the_axes_name_their_unit_and_the_title_the_outcome(retried):
    ax = retried.gantt().axes[0]
    assert ax.get_xlabel() == "time since the restore started (minutes)"
    assert ax.get_xlim()[1] >= retried.duration_s / 60
    assert "orig-hot-backup" in ax.get_title() and "succeeded" in ax.get_title()
    assert f"{retried.duration_s / 60:.1f} minutes" in ax.get_title()


def test_a_long_span_is_drawn_in_hours():
    assert time_unit(2 * 3600) == (60.0, "minutes")
    assert time_unit(5 * 3600) == (3600.0, "hours")


def test_without_operations_only_the_steps_are_drawn(retried):
    figure = retried.gantt(operations=False)
    assert not patches(figure, "op:") and len(patches(figure, "step:")) == len(retried.steps)


def test_a_failed_restore_draws_its_failed_step_red_and_its_rollback_hatched():
    report = restore.simulate(restore.load_scenario("faulted-rolled-back"))
    assert report.status == "rolled_back"
    figure = report.gantt()
    bars = {b.get_gid().removeprefix("step:"): b for b in patches(figure, "step:")}
    failed = report.error["step"]
    assert to_rgb(bars[failed].get_edgecolor()[:3]) == to_rgb("tab:red")
    assert bars["rollback"].get_hatch() == "xx"
    assert not any(b.get_hatch() for name, b in bars.items() if name != "rollback")
    red = [t.get_text() for t in figure.axes[0].get_yticklabels()
           if to_rgb(t.get_color()) == to_rgb("tab:red")]
    assert red == [failed]
    assert failed in figure.axes[0].get_title()
    assert any("failed step" in text for text in legend_texts(figure))


def test_a_resumed_restore_draws_its_earlier_sessions_operations_faded(tmp_path):
    journal = tmp_path / "journal"
    scenario = restore.load_scenario("orig-hot-backup")
    crashed = restore.simulate(scenario, faults=[restore.Fault(at="restore_data",
                                                               kind="crash")], journal=journal)
    assert crashed.status == "interrupted"
    crashed.gantt()  # an interrupted report draws too
    resumed = restore.resume(journal)
    earlier = len(resumed.earlier_operations)
    assert earlier
    ops = patches(resumed.gantt(), "op:")
    assert len(ops) == len(resumed.operations)
    assert [op.get_alpha() for op in ops] == [0.45] * earlier + [1.0] * (len(ops) - earlier)
    assert "(resumed)" in resumed.gantt().axes[0].get_title()


@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_path_saves_the_figure_in_the_suffixs_format(retried, tmp_path, suffix, magic):
    path = tmp_path / f"gantt{suffix}"
    retried.gantt(path)
    assert path.read_bytes().startswith(magic)


def test_without_matplotlib_the_error_says_what_to_install(retried, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'restorelab\[analysis\]'"):
        retried.gantt()


def test_lanes_never_overlap_and_are_as_few_as_spans_at_once():
    spans = [(0, 10), (5, 15), (10, 20), (12, 13), (30, 40)]
    found = lanes(spans)
    assert max(found) + 1 == 3  # (5, 15), (10, 20) and (12, 13) run at once
    for i, a in enumerate(spans):
        for j, b in enumerate(spans[:i]):
            assert found[i] != found[j] or a[0] >= b[1] or b[0] >= a[1]


def test_a_fleet_by_vm_has_a_row_per_vm_coloured_by_priority(small_fleet):
    figure = small_fleet.gantt()
    bars = patches(figure, "vm:")
    assert sorted(b.get_gid() for b in bars) == sorted(f"vm:{v.name}" for v in small_fleet.vms)
    assert len(figure.axes[0].get_yticks()) == len(small_fleet.vms)
    colour = {v.name: to_rgb(b.get_facecolor()[:3]) for v in small_fleet.vms for b in bars
              if b.get_gid() == f"vm:{v.name}"}
    by_priority = {}
    for vm in small_fleet.vms:
        by_priority.setdefault(vm.priority, set()).add(colour[vm.name])
    assert all(len(c) == 1 for c in by_priority.values())
    assert len(set.union(*by_priority.values())) == len(by_priority)
    assert {"priority 0", "priority 5"} <= set(legend_texts(figure))
    assert figure.axes[0].get_xlabel().endswith("(minutes)")


def test_a_fleet_by_worker_has_a_row_per_worker_slot_at_most_the_peak(small_fleet):
    assert small_fleet.peak_workers == small_fleet.max_workers == 2
    figure = small_fleet.gantt(by="worker")
    assert [t.get_text() for t in figure.axes[0].get_yticklabels()] == ["worker 1", "worker 2"]
    holds = patches(figure, "hold:")
    assert len(holds) == len(small_fleet.holds)
    assert {h.get_gid() for h in holds} == {f"hold:{v.name}" for v in small_fleet.vms}


def test_the_fleets_worker_holds_add_up_to_its_worker_time(small_fleet):
    held = sum(end - start for _, start, end in small_fleet.holds)
    assert held == pytest.approx(small_fleet.work_s)
    assert "holds" not in small_fleet.to_dict()  # the JSON contract is unchanged


def test_a_fleet_gantt_refuses_an_unknown_row_kind(small_fleet):
    with pytest.raises(ValueError, match="'vm', 'worker'.*'disk'"):
        small_fleet.gantt(by="disk")


@pytest.fixture(scope="module")
def sampled():
    return restore.sweep(restore.load_scenario("orig-hot-backup"), runs=300, seed=3,
                         rto="18m")


def test_a_sweep_marks_its_percentiles_and_the_rto_on_duration_and_cost(sampled):
    found = sampled.to_dict()
    assert sampled.method == "compiled"
    figure = sampled.plot()
    assert len(figure.axes) == 4
    keys = [("duration_s", 60.0)] * 2 + [("cost", 1.0)] * 2
    for ax, (key, unit) in zip(figure.axes, keys, strict=True):
        for name in ("p50", "p95", "p99"):
            (line,) = lines(ax, name)
            assert line.get_xdata()[0] == pytest.approx(found[key][name] / unit)
    for ax in figure.axes[:2]:
        (rto,) = lines(ax, "rto")
        assert rto.get_xdata()[0] == pytest.approx(18.0)
        assert ax.get_xlabel() == "restore duration (minutes)"
    assert not lines(figure.axes[2], "rto") and not lines(figure.axes[3], "rto")
    assert figure.axes[2].get_xlabel() == f"restore cost ({found['currency']})"
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert f"RTO 18 min: P(meet) {found['rto']['p_meet']:.1%}" in legend
    assert "none failed" in figure.texts[0].get_text()
    heights = sum(p.get_height() for p in figure.axes[0].patches)
    assert heights == len(sampled.outcomes)  # the histogram holds every run


def test_a_sweep_without_an_rto_draws_no_rto_line():
    result = restore.sweep(restore.load_scenario("orig-hot-backup"), runs=50, seed=3)
    assert result.rto_s is None
    assert not any(lines(ax, "rto") for ax in result.plot().axes)


def test_a_sweep_with_failed_runs_stacks_them_in_red_and_says_so():
    result = restore.sweep(restore.load_scenario("orig-hot-backup"), runs=16, seed=2,
                           workers=1, faults=[restore.Fault(at="launch_worker",
                                                            kind="quota_exceeded",
                                                            probability=0.5)])
    failed = result.to_dict()["failed"]
    assert 0 < failed < 16
    figure = result.plot()
    assert f"{failed} failed" in figure.texts[0].get_text()
    red = [p for p in figure.axes[0].patches if to_rgb(p.get_facecolor()[:3]) == to_rgb(
        "tab:red")]
    assert sum(p.get_height() for p in red) == failed


def test_a_sweep_without_costs_draws_only_the_duration(tmp_path):
    result = SweepResult("priceless", 1, [Outcome("succeeded", 600.0 + 7 * i, None)
                                          for i in range(20)])
    assert result.to_dict()["cost"] is None
    path = tmp_path / "sweep.png"
    figure = result.plot(path)
    assert [ax.get_xlabel() for ax in figure.axes] == ["restore duration (minutes)"] * 2
    assert path.read_bytes().startswith(b"\x89PNG")


def test_the_readme_example_saves_its_three_plots(tmp_path, monkeypatch):
    from helpers import readme_example

    monkeypatch.chdir(tmp_path)
    readme_example('.gantt("gantt.png")')
    for name in ("gantt.png", "fleet.png", "sweep.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG"), name


def test_no_step_colour_is_the_red_that_marks_failures():
    from restore.colours import FAILED_COLOUR, distinct_colours

    def near_failed(colour: str) -> bool:
        return max(abs(a - b) for a, b in zip(to_rgb(colour), to_rgb(FAILED_COLOUR),
                                                strict=True)) < 0.1

    for count in (52, 80):  # the listed colours, and evenly spaced hues beyond them
        colours = distinct_colours(count)
        assert len({to_rgb(c) for c in colours}) == count
        assert not any(near_failed(c) for c in colours)
