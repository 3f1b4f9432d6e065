"""The calibration loop: journals recorded in a hidden, perturbed region profile are
fitted back by `restorelab calibrate`, and `restorelab validate` shows the fitted profile
predicting held-out restores where the base profile misses by the perturbation."""

from __future__ import annotations

import json
import math
import os
import random
from dataclasses import astuple

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
from restore.backends import calibrate_data as calibration_data  # noqa: E402
from restore.backends import calibrate_rehydration as calibration_rehydration  # noqa: E402

FULL_MATRIX = os.environ.get("RESTORELAB_FULL_MATRIX") == "1"  # .ci/run sets it
SCENARIO = restore.load_scenario(ROOT / "scenarios" / "orig-hot-10-data-disks.yaml")
BASE = load_profile("default")
TRAINING, HELD_OUT = range(100, 130), range(500, 530)  # seeds: 30 restores each


def perturbed(base, seed: int = 16):
    """The base with each drawn latency scaled by its own factor in 0.5x-3x, each
    throughput figure of one disk SKU and one worker size scaled (THROUGHPUT: every
    ``*mbps`` figure, bursts included, whatever the profile has), and each archive
    priority's rehydration draw scaled (REHYDRATION)."""
    rng = random.Random(seed)
    latency = {kind: (value if value.fixed is not None else value.model_copy(update={
        "median": value.median * (f := rng.uniform(0.5, 3.0)), "p95": value.p95 * f,
        "min": value.min * f})) for kind, value in base.latency.items()}
    hidden = base.model_copy(update={"latency": latency, "name": "hidden"}).model_dump(
        mode="python")
    for constraint, factor in THROUGHPUT.items():
        kind, name = constraint.split(" ")
        if kind == "disk":
            hidden["throughput"]["disk_skus"][name] = [
                _mbps_times(step, factor) for step in hidden["throughput"]["disk_skus"][name]]
        else:
            hidden["vm_sizes"][name] = _mbps_times(hidden["vm_sizes"][name], factor)
    for priority, factor in REHYDRATION.items():
        for key in ("median", "p95", "min"):
            hidden["rehydration"][priority][key] *= factor
    hidden["rehydration"]["high"]["extra_s_per_gb"] = EXTRA_S_PER_GB
    return type(base).model_validate(hidden)


def _mbps_times(figures: dict, factor: float) -> dict:
    return {k: v * factor if k.endswith("mbps") and v is not None else v
            for k, v in figures.items()}


THROUGHPUT = {"disk StandardSSD_LRS": 0.6, "worker Standard_F4s_v2": 1.5}
"""The hidden factors; every other constraint's is 1 (the repository's too)."""
REHYDRATION = {"standard": 0.6, "high": 0.6}
EXTRA_S_PER_GB = 120.0  # at high priority, besides the account's 360 s per GiB (default: 0)
HIDDEN = perturbed(BASE)


def data_scenario(seed: int):
    """A restore whose data time one constraint binds, its size varied with the seed (so
    the Run Command's start can be told from the transfer): even seeds, a StandardSSD
    disk (its own cap binds); odd seeds, three Premium disks side by side (the F4s_v2
    worker's cap binds)."""
    used = 120 + (seed * 37) % 260
    disks = [{"size_gb": 512, "sku": "StandardSSD_LRS", "used_gb": used}] if seed % 2 == 0 \
        else [{"size_gb": 128, "sku": "Premium_LRS", "used_gb": round(used / 3, 1)}] * 3
    return restore.parse_scenario({
        "name": "calibrate-data", "appliance_id": SCENARIO.appliance_id,
        "source_vm": {"name": "files01", "resource_group": "rg-prod",
                      "location": "westeurope", "size": "Standard_D4s_v5",
                      "os_disk": {"size_gb": 64, "sku": "Premium_LRS", "used_gb": 8},
                      "data_disks": disks},
        "restore_point": {"kind": "backup", "tier": "hot"},
        "target": {"location": "original"}}, source="calibrate-data")


def archive_scenario(seed: int):
    """An archived restore point rehydrated at standard (even seeds) or high priority,
    half of them (66 GB) over the 10 GiB an idle account rehydrates at once (a wait for its
    budget besides, and the hidden extra_s_per_gb)."""
    return restore.parse_scenario({
        "name": "calibrate-archive", "appliance_id": SCENARIO.appliance_id,
        "source_vm": {"name": "db01", "resource_group": "rg-prod", "location": "westeurope",
                      "size": "Standard_E4s_v5",
                      "os_disk": {"size_gb": 32, "sku": "Premium_LRS", "used_gb": 6},
                      "data_disks": [{"size_gb": 64, "sku": "Premium_LRS",
                                      "used_gb": 3 if seed % 4 < 2 else 60}]},
        "restore_point": {"kind": "backup", "tier": "archive",
                          "rehydrate_priority": "high" if seed % 2 else "standard"},
        "target": {"location": "new", "resource_group": "rg-restore",
                   "vm_name": "db01-restored"}}, source="calibrate-archive")


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


def _record(folder, hidden, name, make, seeds, backend=None):
    backend = backend or ("fake-arm" if FULL_MATRIX else "sim")
    paths = [folder / f"{name}-{seed}.db" for seed in seeds]
    for seed, path in zip(seeds, paths, strict=True):
        restore.simulate(make(seed), seed=seed, profile=hidden, journal=path, backend=backend)
    return paths


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, hidden):
    """Journals recorded in the hidden profile (on fake-arm under the full matrix; on sim
    otherwise, whose journals are the same: see below): 30 training and 30 held-out
    restores of ten data disks, and as many of the data scenario."""
    folder = tmp_path_factory.mktemp("recorded")
    return {name: _record(folder, hidden, name, make, seeds) for name, make, seeds in (
        ("training", lambda seed: SCENARIO, TRAINING),
        ("held_out", lambda seed: SCENARIO, HELD_OUT),
        ("data_training", data_scenario, TRAINING),
        ("data_held_out", data_scenario, HELD_OUT))}


@pytest.fixture(scope="module")
def fitted(recorded):
    """The base fitted to the 60 training restores (ten data disks, and the data
    scenario)."""
    return calibration.calibrate([calibration.read_recording(p) for p in (
        *recorded["training"], *recorded["data_training"])], BASE)


def test_a_fake_arm_journal_holds_the_same_times_as_a_sim_one(tmp_path, hidden):
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    times = {}
    for backend in ("sim", "fake-arm"):
        recordings = []
        for n, scenario in enumerate((SCENARIO, data_scenario(2), archive_scenario(3))):
            restore.simulate(scenario, seed=7, profile=hidden,
                             journal=tmp_path / f"{backend}-{n}", backend=backend)
            recordings.append(calibration.read_recording(tmp_path / f"{backend}-{n}"))
        times[backend] = (calibration.samples(recordings), [  # all but the journal's name
            astuple(t)[1:] for t in calibration_data.transfers(recordings)],
            calibration_rehydration.rehydrations(recordings))
    assert times["sim"] == times["fake-arm"]
    latencies, transfers, rehydrations = times["sim"]
    assert latencies and len(transfers) == 4 and rehydrations["high"]


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


def test_calibrate_recovers_each_perturbed_median(fitted):
    assert set(fitted.fits) >= {"create_disk", "delete_disk", "create_vm", "attach_disks",
                                "deallocate_vm", "delete_resource_group", "move_resources"}
    for kind, fit in fitted.fits.items():
        if kind == "start_restore_agent":
            continue  # told from the data time: below
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


def test_calibrate_recovers_each_perturbed_throughput(fitted):
    """Each constraint binding 10 transfers or more gets a factor within 10% of the hidden
    one (1 where the hidden profile kept the base's figures), its 95% interval around it;
    a constraint the recordings never bind keeps the base's figures and is listed."""
    assert set(fitted.throughput) >= set(THROUGHPUT), fitted.kept
    for constraint, fit in fitted.throughput.items():
        truth = THROUGHPUT.get(constraint, 1.0)
        if fit.at_least:  # ties with another constraint in every transfer: a lower bound
            assert constraint not in THROUGHPUT and truth >= fit.factor / 1.1, fit
            continue
        assert abs(fit.factor / truth - 1) <= 0.10, (constraint, fit)
        low, high = fit.factor_ci
        assert low / 1.02 <= truth <= high * 1.02 and low <= fit.factor <= high, fit
        assert fit.samples >= calibration_data.MIN_TRANSFERS
    assert all(abs(truth - 1) > 0.10 for truth in THROUGHPUT.values())  # the base is off
    assert "throughput of disk Premium_LRS" in fitted.kept  # never binds here: kept
    profile = fitted.profile()
    factor = fitted.throughput["worker Standard_F4s_v2"].factor
    assert profile.vm_sizes["Standard_F4s_v2"].uncached_mbps == pytest.approx(95 * factor)
    assert profile.vm_sizes["Standard_F4s_v2"].vcpus == 4
    assert profile.throughput.disk_skus["Premium_LRS"] == BASE.throughput.disk_skus[
        "Premium_LRS"]
    start = fitted.fits["start_restore_agent"]  # the Run Command's start, told apart
    assert start.median_ci[0] <= HIDDEN.latency["start_restore_agent"].median \
        <= start.median_ci[1], start


def test_scaling_a_constraint_scales_every_throughput_figure_of_it():
    """Generic over the profile's fields: figures added to it (bursts) scale along."""
    scaled = calibration_data.scaled(BASE, {"disk StandardSSD_LRS": 0.5,
                                            "worker Standard_F4s_v2": 2.0, "repository": 3.0})
    for step, was in zip(scaled.throughput.disk_skus["StandardSSD_LRS"],
                         BASE.throughput.disk_skus["StandardSSD_LRS"], strict=True):
        for name, value in was.model_dump().items():
            expected = value * 0.5 if isinstance(value, float) else value
            assert getattr(step, name) == expected, name
    for name, value in BASE.vm_sizes["Standard_F4s_v2"].model_dump().items():
        expected = value * 2 if name.endswith(("_mbps", "_mbit_s")) and value else value
        assert getattr(scaled.vm_sizes["Standard_F4s_v2"], name) == expected, name
    assert scaled.throughput.repository_mbps == 3 * BASE.throughput.repository_mbps
    assert scaled.vm_sizes["Standard_F8s_v2"] == BASE.vm_sizes["Standard_F8s_v2"]
    assert scaled.throughput.disk_skus["Premium_LRS"] == BASE.throughput.disk_skus[
        "Premium_LRS"]
    assert scaled.latency == BASE.latency and scaled.rehydration == BASE.rehydration


def test_a_transfer_the_base_has_no_figures_for_is_left_out_and_counted():
    known = calibration_data.Transfer("j.db", 700.0, True, "Standard_F4s_v2", 1, (
        ("Premium_LRS", 128, 50.0),))
    unknown = calibration_data.Transfer("j.db", 700.0, True, "Standard_F4s_v2", 1, (
        ("Imaginary_LRS", 128, 50.0),))
    fits = calibration_data.fit_throughput([known, unknown], BASE)
    assert fits.unknown == 1 and not fits.fits
    assert set(fits.kept) == set(known.constraints)  # too few to fit: each listed
    assert sorted(why.split(" ")[0] for why in fits.kept.values()) == ["0", "0", "1"]
    assert all(why.endswith("(at least 10 needed)") for why in fits.kept.values())


def test_calibrate_recovers_the_rehydration_draws(tmp_path_factory, hidden):
    """20 rehydrations per priority, half of the high ones beyond the first 10 GiB (each
    GiB more waits 360 s for the account's budget, and takes the hidden extra_s_per_gb):
    each draw's median within 10%, or three standard errors, of the hidden one, where the
    base's is further off than that; the time per GB beyond within 10%."""
    folder = tmp_path_factory.mktemp("archived")
    journals = _record(folder, hidden, "archive", archive_scenario, range(100, 140),
                       backend="sim")  # fake-arm's rehydrations are the same: see above
    fitted = calibration.calibrate([calibration.read_recording(p) for p in journals], BASE)
    assert set(fitted.rehydration) == {"standard", "high"}
    for priority, fit in fitted.rehydration.items():
        truth = HIDDEN.rehydration.latency(priority).median
        allowed = max(0.10, 3 * math.log(fit.p95 / fit.median) / 1.6449 / math.sqrt(20))
        assert fit.samples == 20 and abs(math.log(fit.median / truth)) <= allowed, fit
        assert abs(math.log(BASE.rehydration.latency(priority).median / truth)) > allowed
    assert "start_restore_agent" in fitted.kept  # two sizes, each its constraint: and so
    for constraint, fit in fitted.throughput.items():  # short transfers' factors: wide CIs
        assert fit.factor_ci[0] <= THROUGHPUT.get(constraint, 1.0) <= fit.factor_ci[1], fit
    per_gb = fitted.rehydration_per_gb  # 10 of them beyond small_gb (56 GB)
    truth = 3600 / 10 + EXTRA_S_PER_GB
    assert per_gb.samples == 10 and per_gb.ci[0] <= truth <= per_gb.ci[1], per_gb
    assert abs(per_gb.extra_s_per_gb / EXTRA_S_PER_GB - 1) <= 0.10, per_gb
    assert not per_gb.looser and per_gb.base_seconds_per_gb == 360
    assert "rehydration high per GB" not in fitted.kept
    profile = fitted.profile()
    assert profile.rehydration.high.account_gib_per_hour == 10  # the documented limit, kept
    assert profile.rehydration.high.extra_s_per_gb == per_gb.extra_s_per_gb
    assert profile.rehydration.standard.median == pytest.approx(
        fitted.rehydration["standard"].median)


def test_the_fitted_profile_predicts_held_out_restores_the_base_does_not(recorded, fitted):
    """Ten data disks: the base fitted to their 30 training restores alone; the data
    scenario: to the 60 (30 are its own). The restore_data step (the throughput fit) is
    predicted within 2%; the whole restore within 5% (p50) and 12% (p95: kinds sent once
    a restore, with wide tails, dominate it), where the base misses by 15% or more."""
    alone = calibration.calibrate([calibration.read_recording(p)
                                   for p in recorded["training"]], BASE)
    for constraint, fit in alone.throughput.items():  # alike transfers: maybe lower bounds
        truth = THROUGHPUT.get(constraint, 1.0)
        assert fit.factor <= truth * 1.1 if fit.at_least else abs(fit.factor / truth - 1) <= 0.1
    for name, profile in (("held_out", alone.profile()), ("data_held_out", fitted.profile())):
        held_out = [calibration.read_recording(p) for p in recorded[name]]
        with_fit = calibration.validate(profile, held_out)
        with_base = calibration.validate(BASE, held_out)
        assert abs(with_fit["p50"]["error_pct"]) <= 5.0, (name, with_fit)
        assert abs(with_fit["p95"]["error_pct"]) <= 12.0, (name, with_fit)
        for quantile in ("p50", "p95"):
            assert abs(with_base[quantile]["error_pct"]) >= 15.0, (name, with_base)
            assert abs(with_base[quantile]["error_pct"]) > 2 * abs(
                with_fit[quantile]["error_pct"])
        layouts = [held_out] if name == "held_out" else [  # the data scenario's two
            [r for r in held_out if r.seed % 2 == parity] for parity in (0, 1)]
        for layout in layouts:
            data, base = ({s["step"]: s for s in calibration.validate(p, layout)["steps"]}[
                "restore_data"]["error_pct"] for p in (profile, BASE))
            assert abs(data) <= 2.0 and abs(base) >= 15.0, (name, data, base)


def test_the_cli_writes_a_profile_that_names_its_sources_and_validates_it(recorded, tmp_path):
    runner = CliRunner()
    out = tmp_path / "fitted.yaml"
    journals = [str(p) for p in (*recorded["training"], *recorded["data_training"])]
    result = runner.invoke(app, ["calibrate", *journals, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout, parse_constant=lambda name: pytest.fail(name))
    assert {f["kind"] for f in summary["fitted"]} >= {"create_disk", "create_vm"}
    throughput = {f["constraint"]: f for f in summary["throughput"]}
    assert set(throughput) >= set(THROUGHPUT)
    text = out.read_text()
    disks = next(f["samples"] for f in summary["fitted"] if f["kind"] == "create_disk")
    assert f"# fitted: {disks} operations from 60 journal(s)" in text
    assert "# base profile default: 0 recorded" in text
    ssd = throughput["disk StandardSSD_LRS"]
    assert (f"StandardSSD_LRS:  # fitted: x{ssd['factor']:.4f} on the base's throughput "
            f"figures (95% CI {ssd['factor_ci'][0]:.4f}-") in text
    assert f"from {ssd['samples']} transfer(s) bound by it in 60 journal(s)" in text
    assert "Premium_LRS:  # base profile default: 0 recorded transfer(s) bound by it" in text
    assert "  high: {" in text and "# fitted: " in text.split("vm_sizes:")[1]
    assert str(tmp_path) not in text  # journal names, not machine paths
    profile = load_profile(str(out))
    assert profile.latency["create_disk"].median == pytest.approx(
        next(f["median"] for f in summary["fitted"] if f["kind"] == "create_disk"), rel=1e-3)
    worker = throughput["worker Standard_F4s_v2"]
    assert profile.vm_sizes["Standard_F4s_v2"].uncached_mbps == pytest.approx(
        worker["mbps"], rel=1e-3)
    assert profile.throughput.disk_skus["StandardSSD_LRS"][0].mbps == pytest.approx(
        60 * ssd["factor"], rel=1e-3)
    assert {k: v for k, v in profile.vm_sizes.items() if k != "Standard_F4s_v2"} == {
        k: v for k, v in BASE.vm_sizes.items() if k != "Standard_F4s_v2"}
    assert profile.worker_profile == BASE.worker_profile
    assert profile.rehydration == BASE.rehydration  # none recorded: the base's
    shown = runner.invoke(app, ["calibrate", *journals, "--out", str(tmp_path / "t.yaml")])
    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.stdout.splitlines() if "worker Standard_F4s_v2" in line)
    assert f"{worker['mbps']:.1f} MB/s" in row and "95.0" in row and "+50%" in row, row
    assert "throughput of disk Premium_LRS" in shown.stdout.split("none recorded:")[1]
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
    throughput = found["fitted"].throughput  # recorded in the default: factors of about 1
    assert throughput and all(abs(f.factor - 1) <= 0.02 for f in throughput.values())
