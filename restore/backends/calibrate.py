"""Fit a region profile to recorded restores: each journal of a restore (on any backend;
a real one from ``restorelab restore --journal`` is the recording) gives the time each
ARM operation took, and each latency kind's lognormal is fitted to those times.

Only operations that succeeded at their first attempt count (a retry's wait is not the
operation's latency). On the simulated backends the SDK's poller sees a long-running
operation end at the whole second after it ends, so such a time is known to within the
second before it: the fit takes it as that interval (a censored maximum likelihood), and
a real restore's times, and synchronous calls, as they are. Needs numpy (the
``analysis`` extra).
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fakecloud.profile import Z95, Latency
from restore.backends.calibrate_data import ThroughputFit, fit_throughput, scaled, transfers
from restore.backends.calibrate_rehydration import (
    PerGbFit,
    fit_rehydration,
    rehydration_latency,
    rehydrations,
)
from restore.backends.journal import meta_of, read_only
from restore.backends.profiles import RestoreProfile
from restore.errors import JournalError

MIN_SAMPLES = 10
"""A kind with fewer recorded operations keeps the base profile's latency."""

SIMULATED_BACKENDS = ("sim", "fake-arm")
AS_IS = frozenset({"create_resource_group", "delete_resource_group", "delete_snapshot",
                   "create_nic", "delete_nic", "create_vm", "attach_disks", "detach_disks",
                   "deallocate_vm", "delete_vm", "delete_disk", "move_resources",
                   "find_resources"})
"""Operations whose latency kind is their own kind."""
RUN_COMMAND = "start_restore_agent"
"""The Run Command's start, fitted with the data throughput (its time is a data write's)."""
SYNCHRONOUS = frozenset({"create_resource_group", "find_resources"})
"""Kinds ARM answers at once (no poll rounds their time up)."""


@dataclass(frozen=True)
class Recording:
    """One journal's restore: what it restored and how each operation went."""

    path: Path
    scenario: dict[str, Any]
    seed: int
    backend: str
    status: str
    operations: list[dict[str, Any]]
    steps: list[dict[str, Any]]

    @property
    def duration_s(self) -> float:
        return max((s["end_s"] for s in self.steps if s["end_s"] is not None), default=0.0)

    @property
    def censored(self) -> bool:
        """Whether its times are whole seconds of poll, the true end within one before."""
        return self.backend in SIMULATED_BACKENDS


def read_recording(path: str | Path) -> Recording:
    """The journal at ``path``, read without writing to it (a running restore's too)."""
    path = Path(path)
    try:
        with closing(read_only(path)) as db:
            meta = meta_of(db)
            operations = [
                {"intent": json.loads(intent), "status": status, "start_s": start,
                 "end_s": end, "attempts": attempts}
                for intent, status, start, end, attempts in db.execute(
                    "SELECT intent, status, start_s, end_s, attempts FROM operations "
                    "ORDER BY session, ticket")]
            steps = [{"name": n, "status": s, "start_s": a, "end_s": b} for n, s, a, b in
                     db.execute("SELECT name, status, start_s, end_s FROM steps")]
    except sqlite3.DatabaseError as exc:
        raise JournalError(f"{path}: not a restorelab journal ({exc})") from None
    if "scenario" not in meta:
        raise JournalError(f"{path}: not a restorelab journal (it holds no restore)")
    return Recording(path, meta["scenario"], meta.get("seed") or 0,
                     meta.get("backend") or "sim", meta.get("status") or "", operations, steps)


def latency_kind(intent: dict[str, Any]) -> str | None:
    """The profile's latency kind an operation's time measures, or None (checks and
    reads, data writes and rehydration are not latencies of one ARM call)."""
    kind = intent["kind"]
    if kind == "create_disk":
        return "create_disk_from_snapshot" if intent.get("source_snapshot") else "create_disk"
    if kind == "create_snapshot":
        return "copy_snapshot" if "/snapshots/" in intent["source"].lower() else "create_snapshot"
    if kind == "swap_disks":  # one VM update: an OS disk swap, or data disks swapped
        return "swap_os_disk" if intent.get("os_disk") else "attach_disks"
    return kind if kind in AS_IS | {"start_vm"} else None


def samples(recordings: Iterable[Recording]) -> dict[str, dict[bool, list[float]]]:
    """Latency kind -> censored or not -> the times its first-attempt successes took."""
    found: dict[str, dict[bool, list[float]]] = defaultdict(lambda: {True: [], False: []})
    for recording in recordings:
        for op in recording.operations:
            kind = latency_kind(op["intent"])
            if kind is None or op["status"] != "succeeded" or op["attempts"] != 1:
                continue
            censored = recording.censored and kind not in SYNCHRONOUS
            found[kind][censored].append(op["end_s"] - op["start_s"])
    return dict(found)


@dataclass(frozen=True)
class Fit:
    """A lognormal fitted to one kind's recorded times."""

    kind: str
    samples: int
    median: float
    p95: float
    median_ci: tuple[float, float]  # 95% confidence interval of the median

    def latency(self, base: Latency) -> Latency:
        """The fitted latency, with the base's bounds (where they still hold)."""
        low = min(base.min, self.median)
        return Latency(median=self.median, p95=self.p95, min=low, max=base.max)


def fit_lognormal(kind: str, exact: list[float], censored: list[float]) -> Fit:
    """Maximum likelihood lognormal over exact times and times known to lie within the
    second before (the poll's): from the midpoints' estimate, a (mu, sigma) grid around
    the best point found, made finer five times."""
    exact_logs = np.log(np.maximum(np.asarray(exact, dtype=float), 1e-3))
    upper = np.asarray(censored, dtype=float)
    lower = np.maximum(upper - 1.0, 0.0)
    guesses = np.concatenate([exact_logs, np.log(np.maximum(upper - 0.5, 1e-3))])
    mu, sigma = float(guesses.mean()), max(float(guesses.std()), 0.05)
    mu_span, sigma_span = 0.5, sigma / 2
    for _ in range(6):
        mus = np.linspace(mu - mu_span, mu + mu_span, 21)[:, None, None]
        sigmas = np.linspace(max(sigma - sigma_span, 0.01), sigma + sigma_span, 21)[None, :, None]
        likelihood = _log_likelihood(mus, sigmas, exact_logs, lower, upper)
        best = np.unravel_index(np.argmax(likelihood), likelihood.shape)
        mu, sigma = float(mus[best[0], 0, 0]), float(sigmas[0, best[1], 0])
        mu_span, sigma_span = mu_span / 4, sigma_span / 4
    n = len(exact) + len(censored)
    half = 1.96 * sigma / math.sqrt(n)
    return Fit(kind, n, math.exp(mu), math.exp(mu + Z95 * sigma),
               (math.exp(mu - half), math.exp(mu + half)))


def _log_likelihood(mus: np.ndarray, sigmas: np.ndarray, exact_logs: np.ndarray,
                    lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    total = np.zeros((mus.shape[0], sigmas.shape[1]))
    if exact_logs.size:
        z = (exact_logs[None, None, :] - mus) / sigmas
        total += (-0.5 * z ** 2 - np.log(sigmas)).sum(axis=2)
    if upper.size:
        high = _cdf((np.log(upper)[None, None, :] - mus) / sigmas)
        with np.errstate(divide="ignore"):
            low = np.where(lower > 0, _cdf((np.log(np.where(lower > 0, lower, 1.0))[
                None, None, :] - mus) / sigmas), 0.0)
        total += np.log(np.maximum(high - low, 1e-300)).sum(axis=2)
    return total


def _cdf(z: np.ndarray) -> np.ndarray:
    """The standard normal's distribution function (numpy has no erf: Abramowitz-Stegun
    7.1.26, within 1.5e-7)."""
    x = np.abs(z) / math.sqrt(2)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (
        -1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-x * x)
    return 0.5 * (1.0 + np.sign(z) * erf)


@dataclass
class Calibration:
    """The fits, and what keeps the base profile's figures (and why): latencies per kind
    (``fits``), throughput per disk SKU, worker size and the repository (``throughput``:
    a factor on the base's figures), the rehydration draw per priority (``rehydration``)
    and the high priority's time per GB beyond small_gb (``rehydration_per_gb``);
    ``kept`` names every latency kind, constraint and rehydration figure left as in the
    base."""

    base: RestoreProfile
    journals: list[str]
    fits: dict[str, Fit] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)
    throughput: dict[str, ThroughputFit] = field(default_factory=dict)
    rehydration: dict[str, Fit] = field(default_factory=dict)
    rehydration_per_gb: PerGbFit | None = None  # high priority, beyond small_gb
    notes: list[str] = field(default_factory=list)  # how the data fits were made

    def write(self, path: str | Path) -> None:
        """The calibrated profile as YAML at ``path`` (named after the file)."""
        from restore.backends.calibrate_yaml import profile_yaml

        path = Path(path)
        path.write_text(profile_yaml(self, path.stem), encoding="utf-8")

    def profile(self) -> RestoreProfile:
        """The base profile with every fitted figure in place."""
        latency = {kind: self.fits[kind].latency(base) if kind in self.fits else base
                   for kind, base in self.base.latency.items()}
        rehydration = self.base.rehydration.model_copy(update={
            priority: rehydration_latency(
                self.base.rehydration.latency(priority), self.rehydration.get(priority),
                self.rehydration_per_gb if priority == "high" else None)
            for priority in ("standard", "high")})
        fitted = self.base.model_copy(update={"latency": latency, "rehydration": rehydration})
        return scaled(fitted, {c: f.factor for c, f in self.throughput.items()})


def calibrate(recordings: list[Recording], base: RestoreProfile) -> Calibration:
    """Fit every latency kind, throughput constraint and rehydration priority the
    recordings hold enough of; the others keep ``base``'s."""
    found = samples(recordings)
    result = Calibration(base, [str(r.path) for r in recordings])
    data = fit_throughput(transfers(recordings), base)
    for kind, latency in base.latency.items():
        times = found.get(kind, {True: [], False: []})
        n = len(times[True]) + len(times[False])
        if latency.fixed is not None:
            result.kept[kind] = "a fixed latency in the base profile"
        elif kind == RUN_COMMAND and data.start is not None:
            result.fits[kind] = data.start
        elif kind == RUN_COMMAND and data.start_why:
            result.kept[kind] = data.start_why
        elif n < MIN_SAMPLES:
            result.kept[kind] = f"{n} recorded (at least {MIN_SAMPLES} needed)"
        else:
            result.fits[kind] = fit_lognormal(kind, times[False], times[True])
    result.throughput = data.fits
    result.kept.update({f"throughput of {c}": why for c, why in data.kept.items()})
    if data.start is not None:
        result.notes.append(f"{RUN_COMMAND}: {data.start_why}")
    if data.unbound:
        result.notes.append(f"{data.unbound} transfer(s) no constraint binds: left out")
    if data.unknown:
        result.notes.append(f"{data.unknown} transfer(s) to disks or workers {base.name} has "
                            "no throughput figures for: left out")
    result.rehydration, result.rehydration_per_gb, kept = fit_rehydration(
        rehydrations(recordings), base.rehydration, MIN_SAMPLES)
    result.kept.update(kept)
    return result


def validate(profile: RestoreProfile, recordings: list[Recording]) -> dict[str, Any]:
    """Simulate each recorded restore again (its scenario and seed) in ``profile``, and
    compare the predicted durations with the recorded ones, overall and step by step."""
    from restore.backends.sim import simulate
    from restore.scenario import parse_scenario

    recorded: dict[str, list[float]] = defaultdict(list)
    predicted: dict[str, list[float]] = defaultdict(list)
    for recording in recordings:
        scenario = parse_scenario(recording.scenario, source=str(recording.path))
        replay = simulate(scenario, seed=recording.seed, profile=profile)
        for step in recording.steps:
            if step["end_s"] is not None:
                recorded[step["name"]].append(step["end_s"] - step["start_s"])
        for step in replay.steps:
            predicted[step["name"]].append(step["end_s"] - step["start_s"])
        recorded["(restore)"].append(recording.duration_s)
        predicted["(restore)"].append(replay.duration_s)
    overall = {q: _compared(np.percentile(recorded["(restore)"], q),
                            np.percentile(predicted["(restore)"], q)) for q in (50, 95)}
    steps = [{"step": name, **_compared(np.median(times), np.median(predicted[name]))}
             for name, times in recorded.items() if name != "(restore)" and predicted[name]]
    return {"profile": profile.name, "restores": len(recordings),
            "p50": overall[50], "p95": overall[95], "steps": steps}


def _compared(recorded: float, predicted: float) -> dict[str, float]:
    error = float(100.0 * (predicted - recorded) / recorded) if recorded else 0.0
    return {"recorded_s": round(float(recorded), 3), "predicted_s": round(float(predicted), 3),
            "error_pct": round(error, 2)}
