"""Every notebook's plots have axis labels with units, and every notebook has the shape the
notebooks' README promises: its question first, then a conclusion computed in the run and
the limits of the model. The plots are checked inside each notebook's own run (nbmake):
``restore.watch_figures()`` in its first code cell, ``.check()`` in its last."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from restore.figures import axis_problems, has_unit, watch_figures

plt = pytest.importorskip("matplotlib.pyplot")
formatters = pytest.importorskip("IPython.core.formatters")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("label", ["duration (min)", "makespan (h, median)", "cost (USD)",
                                   "restores that fail (%)", "VMs in the fleet (count)",
                                   "runs", "throughput / the hidden region's (ratio)",
                                   "p95 duration (hours)"])
def test_a_label_with_a_unit_is_accepted(label):
    assert has_unit(label)


@pytest.mark.parametrize("label", ["duration", "makespan (median)", "hours of time",
                                   "cost (in dollars)", ""])
def test_a_label_without_a_unit_is_refused(label):
    assert not has_unit(label)


def figure(xlabel: str, ylabel: str, categories: bool = False):
    fig, ax = plt.subplots()
    if categories:
        ax.barh(["create_vm", "move_disks"], [1, 2])
    else:
        ax.plot([1, 2], [3, 4])
    ax.set(xlabel=xlabel, ylabel=ylabel, title="t")
    plt.close(fig)
    return fig


def test_every_axis_needs_a_label_and_a_numeric_one_its_unit():
    assert axis_problems(figure("time (min)", "cost (USD)")) == []
    (missing,) = axis_problems(figure("time (min)", ""))
    assert "y axis: no label" in missing
    (unitless,) = axis_problems(figure("time", "cost (USD)"))
    assert "x axis: 'time' names no unit" in unitless


def test_a_categorical_axis_needs_a_label_but_no_unit():
    assert axis_problems(figure("time (min)", "step", categories=True)) == []
    assert len(axis_problems(figure("time (min)", "", categories=True))) == 1


def test_the_watch_checks_the_figures_shown_even_once_closed():
    shell = SimpleNamespace(display_formatter=formatters.DisplayFormatter())
    watch = watch_figures(shell)
    with pytest.raises(AssertionError, match="no figure"):
        watch.check()
    good, bad = figure("time (min)", "cost (USD)"), figure("time (min)", "duration")
    shell.display_formatter.format(good)  # as the inline backend displays a cell's figure
    assert watch.check() == 1
    shell.display_formatter.format(bad)
    with pytest.raises(AssertionError, match="'duration' names no unit"):
        watch.check()


def code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def markdown_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]


def calls(source: str) -> set[str]:
    """The names of the functions and methods ``source`` calls."""
    return {node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
        node.func, "id", "") for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_notebook_checks_its_figures_in_its_run(path):
    cells = code_cells(path)
    assert "watch_figures" in calls(cells[0]), "its first code cell starts the watch"
    assert "check" in calls(cells[-1]), "its last code cell checks the figures"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_notebook_states_its_question_conclusion_and_limits(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = ["".join(c["source"]) for c in cells]
    assert cells[0]["cell_type"] == "markdown" and "**Question" in text[0]
    conclusion = next(i for i, t in enumerate(text) if t.startswith("## Conclusion"))
    assert cells[conclusion + 1]["cell_type"] == "code"
    assert "assert" in text[conclusion + 1], "the conclusion's claims are checked in the run"
    assert cells[-1]["cell_type"] == "markdown" and text[-1].startswith("## Limits of the model")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_notebook_uses_only_the_public_api(path):
    for source in code_cells(path):
        for node in ast.walk(ast.parse(source)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(("fakecloud", "restore.")), name


def test_names_set_as_tick_labels_make_an_axis_categorical_and_numbers_do_not():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_yticks([0, 1], ["original", "new"])
    ax.set_xticks([0, 1], ["2", "4"])
    ax.set(xlabel="workers", ylabel="path")
    plt.close(fig)
    (problem,) = axis_problems(fig)
    assert "x axis: 'workers' names no unit" in problem
