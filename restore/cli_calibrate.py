"""`restorelab calibrate` and `restorelab validate`: fit a region profile to recorded
restores, and check a profile's predictions against them."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Column, Table

from restore.cli import JsonOpt, _guarded, app, err
from restore.cli_output import out
from restore.errors import ScenarioError

JournalsArg = Annotated[list[Path], typer.Argument(
    help="Journals of recorded restores (`--journal` of simulate or restore).")]
ANALYSIS = "pip install 'restorelab[analysis]'"


@app.command()
def calibrate(
    journals: JournalsArg,
    out_path: Annotated[Path, typer.Option(
        "--out", help="Where to write the fitted profile (a .yaml file).")],
    profile: Annotated[str, typer.Option(
        "--profile", help="The base profile (a shipped name or a YAML file): what is not "
        "fitted stays as it is there.")] = "default",
    as_json: JsonOpt = False,
) -> None:
    """Fit a region profile's latencies, data throughput and rehydration to recorded
    restores.

    Each latency kind with at least 10 operations that succeeded at their first attempt
    gets a lognormal fitted to their times; each disk SKU, worker size and the repository
    binding at least 10 data writes a factor on its throughput figures (95% bootstrap CI);
    each archive priority with 10 rehydrations a lognormal draw. The others keep the base
    profile's, and the output says why. The written profile names where each figure comes
    from.

    Example: restorelab simulate orig-hot-backup --journal r1.db ... then
    restorelab calibrate r*.db --out fitted.yaml, and restorelab validate fitted.yaml r*.db
    """
    summary = _guarded(lambda: _calibrate(journals, profile, out_path))
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    table = Table(Column("kind", no_wrap=True), "n", "median", "p95",
                  Column("median CI", no_wrap=True), "was", "change", title_justify="left",
                  title=f"{summary['base']} fitted to {summary['journals']} journal(s)")
    for fit in summary["fitted"]:
        low, high = fit["median_ci"]
        table.add_row(fit["kind"], str(fit["samples"]), f"{fit['median']:.1f}",
                      f"{fit['p95']:.1f}", f"{low:.1f}-{high:.1f}", f"{fit['base_median']:.1f}",
                      f"{fit['change_pct']:+.0f}%")
    out.print(table)
    if summary["throughput"] or summary["rehydration"] or summary["rehydration_per_gb"]:
        out.print(_data_table(summary))
    out.print(f"written to {out_path} (seconds; n: operations fitted; CI: 95% of the "
              f"median; was: {summary['base']}'s median)", soft_wrap=True)
    if summary["throughput"]:
        out.print("throughput: each constraint's figures times one factor; n: transfers it "
                  "binds; MB/s: a worker's uncached_mbps, a SKU's at its most written size; "
                  ">=: a lower bound (above it another constraint binds); rehydration: the "
                  "draw's median, less the time per GB beyond small_gb (the account's budget "
                  "and extra_s_per_gb, one slope)", soft_wrap=True)
    for note in summary["notes"]:
        out.print(note, soft_wrap=True)
    unrecorded = [k for k, why in summary["kept"].items() if why.startswith("0 recorded")]
    for kind, why in summary["kept"].items():
        if kind not in unrecorded:
            out.print(f"kept from {summary['base']}: {kind} ({why})", soft_wrap=True)
    if unrecorded:
        out.print(f"kept from {summary['base']}, none recorded: {', '.join(unrecorded)}",
                  soft_wrap=True)


def _data_table(summary: dict[str, Any]) -> Table:
    """Throughput per constraint (MB/s: the base's figure times the fitted factor; a
    SKU's at its most written size) and the rehydration draw's median per priority."""
    table = Table(Column("data", no_wrap=True), "n", Column("fitted", no_wrap=True),
                  Column("95% CI", no_wrap=True), Column("was", no_wrap=True), "change",
                  title_justify="left", title="data throughput and rehydration")
    for fit in summary["throughput"]:
        low, high = ("-" if v is None else f"{fit['base_mbps'] * v:.1f}"
                     for v in fit["factor_ci"])
        table.add_row(fit["constraint"], str(fit["samples"]),
                      f"{'>= ' if fit['at_least'] else ''}{fit['mbps']:.1f} MB/s",
                      f"{low}-{high}" if high != "-" else f">= {low}", f"{fit['base_mbps']:.1f}",
                      f"{100 * (fit['factor'] - 1):+.0f}%")
    for fit in summary["rehydration"]:
        low, high = fit["median_ci"]
        table.add_row(f"rehydration {fit['priority']}", str(fit["samples"]),
                      f"{fit['median']:.0f} s", f"{low:.0f}-{high:.0f}",
                      f"{fit['base_median']:.0f}", f"{fit['change_pct']:+.0f}%")
    per_gb = summary["rehydration_per_gb"]
    if per_gb is not None:
        low, high = per_gb["ci"]
        was = per_gb["base_seconds_per_gb"]
        table.add_row("rehydration high per GB", str(per_gb["samples"]),
                      f"{per_gb['seconds_per_gb']:.1f} s", f"{low:.1f}-{high:.1f}",
                      f"{was:.1f}", f"{100 * (per_gb['seconds_per_gb'] / was - 1):+.0f}%"
                      if was else "")
    return table


def _calibrate(journals: list[Path], base_name: str, out_path: Path) -> dict[str, Any]:
    _check_file(out_path, "--out", (".yaml", ".yml"))
    calibration = _module()
    from restore.backends.profiles import load_profile

    base = load_profile(base_name)
    result = calibration.calibrate([calibration.read_recording(j) for j in journals], base)
    result.write(out_path)
    return {"base": base.name, "journals": len(journals), "out": str(out_path),
            "fitted": [{"kind": f.kind, "samples": f.samples, "median": round(f.median, 3),
                        "p95": round(f.p95, 3), "median_ci": [round(v, 3) for v in f.median_ci],
                        "base_median": base.latency[f.kind].median,
                        "change_pct": round(100 * (f.median / base.latency[f.kind].median - 1),
                                            1)}
                       for f in result.fits.values()],
            "throughput": [{"constraint": f.constraint, "samples": f.samples,
                            "factor": round(f.factor, 5),
                            "factor_ci": [round(v, 5) if math.isfinite(v) else None
                                          for v in f.factor_ci],  # None: no upper bound
                            "shown": f.shown, "mbps": round(f.mbps, 3),
                            "at_least": f.at_least,
                            "base_mbps": f.base_mbps} for f in result.throughput.values()],
            "rehydration": [{"priority": priority, "samples": f.samples,
                             "median": round(f.median, 3), "p95": round(f.p95, 3),
                             "median_ci": [round(v, 3) for v in f.median_ci],
                             "base_median": (b := base.rehydration.latency(priority)).median,
                             "change_pct": round(100 * (f.median / b.median - 1), 1)}
                            for priority, f in result.rehydration.items()],
            "rehydration_per_gb": None if (g := result.rehydration_per_gb) is None else {
                "samples": g.samples, "seconds_per_gb": round(g.seconds_per_gb, 3),
                "ci": [round(v, 3) for v in g.ci],
                "base_seconds_per_gb": round(g.base_seconds_per_gb, 3),
                "extra_s_per_gb": round(g.extra_s_per_gb, 3),
                "account_gib_per_hour": g.account_gib_per_hour, "looser": g.looser},
            "kept": result.kept, "notes": result.notes}


def _check_file(path: Path, option: str, suffixes: tuple[str, ...]) -> None:
    """A file to write: of a kind named by its suffix, in a folder that exists."""
    if path.suffix not in suffixes:
        raise ScenarioError(option, "", f"{path}: give a {' or '.join(suffixes)} file")
    if not path.parent.is_dir():
        raise ScenarioError(option, "", f"{path}: its folder {path.parent} does not exist")


def _module() -> Any:
    try:
        from restore.backends import calibrate as calibration
    except ImportError:
        raise ScenarioError("calibrate", "", f"needs numpy: {ANALYSIS}") from None
    return calibration


@app.command()
def validate(
    profile: Annotated[str, typer.Argument(help="The profile to check (a YAML file, or "
                                           "a shipped name).")],
    journals: JournalsArg,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="Also draw predicted vs recorded step times into this image "
        "(.png, .svg or .pdf; needs matplotlib).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Simulate each recorded restore again in PROFILE and compare with the recording.

    Each restore runs with its own scenario and seed; the table gives the p50 and p95 of
    the restores' durations and each step's median time, recorded and predicted.
    """
    summary = _guarded(lambda: _validate(profile, journals, plot))
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    table = Table("", "recorded s", "predicted s", "error", title_justify="left",
                  title=f"{summary['profile']} against {summary['restores']} recorded "
                  "restore(s)")
    for name, row in [("p50 duration", summary["p50"]), ("p95 duration", summary["p95"]),
                      *((f"  {s['step']} (median)", s) for s in summary["steps"])]:
        table.add_row(name, f"{row['recorded_s']:.1f}", f"{row['predicted_s']:.1f}",
                      f"{row['error_pct']:+.1f}%")
    out.print(table)
    if plot is not None:
        err.print(f"plot written to {plot}")


def _validate(profile: str, journals: list[Path], plot: Path | None) -> dict[str, Any]:
    if plot is not None:
        _check_file(plot, "--plot", (".png", ".svg", ".pdf"))
    calibration = _module()
    from restore.backends.profiles import load_profile

    summary = calibration.validate(load_profile(profile),
                                   [calibration.read_recording(j) for j in journals])
    if plot is not None:
        _plot(summary, plot)
    return summary


def _plot(summary: dict[str, Any], path: Path) -> None:
    """Recorded and predicted median step times, side by side."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ScenarioError("--plot", "", f"needs matplotlib: {ANALYSIS}") from None
    steps = summary["steps"]
    figure, axes = plt.subplots(figsize=(8, 0.4 * len(steps) + 1.5))
    rows = range(len(steps))
    axes.barh([r + 0.2 for r in rows], [s["recorded_s"] for s in steps], 0.4, label="recorded")
    axes.barh([r - 0.2 for r in rows], [s["predicted_s"] for s in steps], 0.4,
              label=f"predicted ({summary['profile']})")
    axes.set_yticks(list(rows), [s["step"] for s in steps])
    axes.invert_yaxis()
    axes.set_xlabel("median step time, s")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
