"""The calibration loop: journals recorded in a hidden, perturbed region profile are
fitted back by `restorelab calibrate`, and `restorelab validate` shows the fitted profile
predicting held-out restores where the base profile misses by the perturbation."""

from __future__ import annotations

import math
import os
import random

import pytest
import yaml
from helpers import ROOT
from typer.testing import CliRunner

import restore
from restore.backends.profiles import load_profile
from restore.backends.sim import simulate
from restore.cli import app

np = pytest.importorskip("numpy", reason="calibrate needs the analysis extra")
from restore.backends import calibrate as calibration  # noqa: E402

FULL_MATRIX = os.environ.get("RESTORELAB_FULL_MATRIX") == "1"  # .ci/run sets it
SCENARIO = restore.load_scenario(ROOT / "scenarios" / "orig-hot-10-data-disks.yaml")
BASE = load_profile("default")
TRAINING, HELD_OUT = range(100, 130), range(500, 530)  # seeds: 30 restores each


def perturbed(base, seed: int = 16):
    """The base with each drawn latency scaled by its own factor in 0.5x-3x."""
    rng = random.Random(seed)
    latency = {kind: (value if value.fixed is not None else value.model_copy(update={
        "median": value.median * (f := rng.uniform(0.5, 3.0)), "p95": value.p95 * f,
        "min": value.min * f})) for kind, value in base.latency.items()}
    return base.model_copy(update={"latency": latency, "name": "hidden"})


HIDDEN = perturbed(BASE)


@pytest.fixture(scope="module")
def hidden(tmp_path_factory):
    """The hidden profile as a file in a folder of its own, named relative to it: a
    journaled restore names its profile, and the restore's id (so its resource names and
    their latency draws) comes from the scenario, this name included."""
    folder = tmp_path_factory.mktemp("hidden")
    (folder / "hidden.yaml").write_text(yaml.safe_dump(HIDDEN.model_dump(mode="python")),
                                        encoding="utf-8")
    here = os.getcwd()
    os.chdir(folder)
    try:
        yield "hidden.yaml"
    finally:
        os.chdir(here)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, hidden):
    """30 training and 30 held-out journals, recorded in the hidden profile (on fake-arm
    under the full matrix; on sim otherwise, whose journals are the same: see below)."""
    folder = tmp_path_factory.mktemp("recorded")
    backend = "fake-arm" if FULL_MATRIX else "sim"
    journals = {}
    for name, seeds in (("training", TRAINING), ("held_out", HELD_OUT)):
        journals[name] = [folder / f"{name}-{seed}.db" for seed in seeds]
        for seed, path in zip(seeds, journals[name], strict=True):
            restore.simulate(SCENARIO, seed=seed, profile=hidden, journal=path,
                             backend=backend)
    return journals


def test_a_fake_arm_journal_holds_the_same_times_as_a_sim_one(tmp_path, hidden):
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    times = {}
    for backend in ("sim", "fake-arm"):
        restore.simulate(SCENARIO, seed=7, profile=hidden, journal=tmp_path / backend,
                         backend=backend)
        times[backend] = calibration.samples([calibration.read_recording(tmp_path / backend)])
    assert times["sim"] == times["fake-arm"] and times["sim"]


def test_the_public_api_calibrates_and_validates(recorded, hidden, tmp_path):
    fitted = restore.calibrate(recorded["training"][:12])
    assert fitted.fits["create_disk"].samples == 12 * 11
    fitted.write(tmp_path / "fitted.yaml")
    again = restore.simulate(SCENARIO, seed=TRAINING[0], profile=str(tmp_path / "fitted.yaml"))
    assert again.status == "succeeded"
    compared = restore.validate(str(tmp_path / "fitted.yaml"), recorded["held_out"][:3])
    assert compared["restores"] == 3 and compared["steps"]
    with pytest.raises(ValueError, match="region_profile"):
        simulate(SCENARIO, profile=HIDDEN, journal=tmp_path / "j.db")


def test_calibrate_recovers_each_perturbed_median(recorded):
    fitted = calibration.calibrate(
        [calibration.read_recording(p) for p in recorded["training"]], BASE)
    assert set(fitted.fits) >= {"create_disk", "delete_disk", "create_vm", "attach_disks",
                                "deallocate_vm", "delete_resource_group", "move_resources"}
    for kind, fit in fitted.fits.items():
        truth = HIDDEN.latency[kind].median
        error = abs(fit.median / truth - 1)
        sigma = math.log(fit.p95 / fit.median) / 1.6448536269514722
        # Within 10%, or (a kind sampled once a restore: 30 samples cannot resolve 10%)
        # within three standard errors of the fit.
        assert error <= max(0.10, 3 * sigma / math.sqrt(fit.samples)), (kind, fit, truth)
        if fit.samples >= 300:
            assert error <= 0.10, kind
    assert "get_resource" in fitted.kept and "copy_snapshot" in fitted.kept  # named, kept
    off = {name: np.mean([abs(math.log(profile.latency[k].median / HIDDEN.latency[k].median))
                          for k in fitted.fits])
           for name, profile in (("fitted", fitted.profile()), ("base", BASE))}
    assert off["fitted"] < off["base"] / 4, off  # medians: far nearer the hidden truth


def test_the_fitted_profile_predicts_held_out_restores_the_base_does_not(recorded, tmp_path):
    fitted = calibration.calibrate(
        [calibration.read_recording(p) for p in recorded["training"]], BASE)
    held_out = [calibration.read_recording(p) for p in recorded["held_out"]]
    with_fit = calibration.validate(fitted.profile(), held_out)
    with_base = calibration.validate(BASE, held_out)
    assert abs(with_fit["p50"]["error_pct"]) <= 5.0
    assert abs(with_fit["p95"]["error_pct"]) <= 12.0  # see the note: tail kinds, 30 samples
    for quantile in ("p50", "p95"):
        assert abs(with_base[quantile]["error_pct"]) >= 15.0
        assert abs(with_base[quantile]["error_pct"]) > 2 * abs(with_fit[quantile]["error_pct"])


def test_the_cli_writes_a_profile_that_names_its_sources_and_validates_it(recorded, tmp_path):
    runner = CliRunner()
    out = tmp_path / "fitted.yaml"
    journals = [str(p) for p in recorded["training"]]
    result = runner.invoke(app, ["calibrate", *journals, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = yaml.safe_load(result.stdout)
    assert {f["kind"] for f in summary["fitted"]} >= {"create_disk", "create_vm"}
    text = out.read_text()
    assert "# fitted: 330 operations from 30 journal(s)" in text
    assert "# base profile default: 0 recorded" in text
    assert str(tmp_path) not in text  # journal names, not machine paths
    profile = load_profile(str(out))
    assert profile.latency["create_disk"].median == pytest.approx(
        next(f["median"] for f in summary["fitted"] if f["kind"] == "create_disk"), rel=1e-3)
    assert profile.vm_sizes == BASE.vm_sizes and profile.worker_profile == BASE.worker_profile
    plot = tmp_path / "steps.png"
    shown = runner.invoke(app, ["validate", str(out), *journals[:5], "--plot", str(plot)])
    assert shown.exit_code == 0, shown.output
    assert "p95 duration" in shown.stdout and plot.stat().st_size > 1000


@pytest.mark.parametrize(("args", "says"), [
    (["calibrate", "missing.db", "--out", "f.yaml"], "no such journal"),
    (["calibrate", "{journal}", "--out", "f.txt"], "give a .yaml or .yml file"),
    (["calibrate", "{journal}", "--out", "no/such/dir/f.yaml"], "does not exist"),
    (["calibrate", "{foreign}", "--out", "f.yaml"], "not a restorelab journal"),
    (["validate", "nope.yaml", "{journal}"], "nope.yaml"),
    (["validate", "default", "{journal}", "--plot", "p.gif"], "give a .png"),
])
def test_bad_calibration_input_is_named(tmp_path, monkeypatch, args, says):
    monkeypatch.chdir(tmp_path)
    journal = tmp_path / "j.db"
    simulate(SCENARIO, seed=1, journal=journal)
    (tmp_path / "foreign.db").write_bytes(b"not a database" * 50)
    filled = [a.format(journal=journal, foreign=tmp_path / "foreign.db") for a in args]
    result = CliRunner().invoke(app, filled)
    assert result.exit_code == 2, result.output
    assert says in result.stderr and "Traceback" not in result.output


def test_the_readme_example_runs(monkeypatch):
    from helpers import readme_example

    monkeypatch.chdir(ROOT)
    found = readme_example("restore.calibrate(journals)")
    assert found["fitted"].fits["create_disk"].samples == 12 * 11
    assert found["check"]["restores"] == 12
