"""The data side of calibration: the throughput of each disk SKU, worker size and the
repository, fitted to the restore agent's runs (``restore.backends.calibrate`` fits the
latencies, ``restore.backends.calibrate_rehydration`` the archive's rehydration).

A data write (``write_disk_data``) is one Run Command: its recorded time is the command's
start (latency kind ``start_restore_agent``) plus the transfer the restore agent models
(``RestoreAgent.transfer_s``), rounded up to the poll's second on the simulated backends.
``transfer_s`` is a black box here: to scale a constraint by a factor, every throughput
figure of it is multiplied (a disk SKU: each size step's float fields but ``max_gb``; a
worker size: its ``*_mbps`` and ``*_mbit_s`` fields; the repository: the throughput's
``repository*`` fields), so figures added later (bursts) scale along. Each transfer is
put on the constraint that binds it (the one whose lowering slows it most, at the
estimate so far; on each of them at a tie), and each constraint's factor is the one that
brings its transfers' modelled times nearest their recorded times less the command's
start (least absolute log error: a median; searched on ``transfer_s`` itself); where the
error stays the same beyond some factor (another constraint takes over), the factor is
that point, a lower bound (``at_least``). Rounds repeat until the same transfers bind
the same constraints. That start is told apart from the transfer by the data sizes: a
median regression of the recorded times on the modelled transfer times (one slope per
constraint, one intercept) gives it; when the sizes hardly vary it cannot be told, and
the base profile's start is taken (and the profile keeps it). The factors' 95% intervals
come from a bootstrap over the transfers (the start refitted in each; where it cannot be
told apart, drawn from the base's lognormal instead: a short transfer's factor is then
only as sure as the base's start).

"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from fakecloud.models import Disk
from restore.backends.guest import RestoreAgent
from restore.backends.profiles import RestoreProfile

if TYPE_CHECKING:
    from restore.backends.calibrate import Fit, Recording

MIN_TRANSFERS = 10
"""A constraint binding fewer recorded transfers keeps the base profile's figures."""
NUDGE = 1.01  # a constraint scaled by this shows whether it binds a transfer
BINDS = 0.5  # ... it binds when the transfer's time moves by at least half as much
BOOTSTRAP = 200
TIED = 0.05  # constraints within 5% of the steepest elasticity bind together
TIE = 1e-9  # the weight of a factor's distance from the base, to break ties
REPOSITORY = "repository"
DISKS = "/subscriptions/0/resourceGroups/calibrate/providers/Microsoft.Compute/disks"


@dataclass(frozen=True)
class Transfer:
    """One data write a recording holds: its time, and what it moved where."""

    journal: str
    seconds: float
    censored: bool  # the time is a poll's whole second, the end within one before
    worker_size: str
    parallel_workers: int
    writes: tuple[tuple[str, int, float], ...]  # (disk SKU, disk size GB, data GB)

    @property
    def data_gb(self) -> float:
        return sum(w[2] for w in self.writes)

    @property
    def constraints(self) -> list[str]:
        """What may bound its rate: its disks' SKUs, its worker's size, the repository."""
        return [*(f"disk {sku}" for sku in sorted({w[0] for w in self.writes})),
                f"worker {self.worker_size}", REPOSITORY]

    @cached_property
    def disks(self) -> list[Disk]:
        return [Disk(id=f"{DISKS}/calibrate-{n}", location="", size_gb=size, sku=sku)
                for n, (sku, size, _) in enumerate(self.writes)]

    def model_s(self, profile: RestoreProfile) -> float:
        """The transfer's time in ``profile``, by the restore agent's own model."""
        return RestoreAgent(profile, None, False).transfer_s(
            self.disks, [w[2] for w in self.writes], self.worker_size, self.parallel_workers)


def transfers(recordings: Iterable[Recording]) -> list[Transfer]:
    """The data writes that succeeded at their first attempt."""
    found = []
    for recording in recordings:
        for op in recording.operations:
            intent = op["intent"]
            if intent["kind"] != "write_disk_data" or op["status"] != "succeeded" \
                    or op["attempts"] != 1:
                continue
            found.append(Transfer(
                recording.path.name, op["end_s"] - op["start_s"], recording.censored,
                intent["worker_size"], int(intent.get("parallel_workers", 1)),
                tuple((w["sku"], int(w["size_gb"]), float(w["data_gb"]))
                      for w in intent["writes"])))
    return found


# -- a profile with constraints scaled -------------------------------------------------

def scaled(profile: RestoreProfile, factors: dict[str, float]) -> RestoreProfile:
    """``profile`` with every throughput figure of each constraint times its factor."""
    if not factors:
        return profile
    throughput = profile.throughput
    skus, sizes, top = dict(throughput.disk_skus), dict(profile.vm_sizes), {}
    for constraint, factor in factors.items():
        kind, _, name = constraint.partition(" ")
        if kind == "disk" and name in skus:
            skus[name] = [_times(step, factor, lambda f: f != "max_gb") for step in skus[name]]
        elif kind == "worker" and name in sizes:
            sizes[name] = _times(sizes[name], factor,
                                 lambda f: f.endswith(("_mbps", "_mbit_s")))
        elif constraint == REPOSITORY:
            top = _times(throughput, factor, lambda f: f.startswith("repository")).model_dump(
                include={n for n in type(throughput).model_fields if n.startswith("repository")})
    return profile.model_copy(update={
        "throughput": throughput.model_copy(update={"disk_skus": skus, **top}),
        "vm_sizes": sizes})


def _times(model: Any, factor: float, which: Callable[[str], bool]) -> Any:
    update = {name: value * factor for name in type(model).model_fields
              if which(name) and isinstance(value := getattr(model, name), float)}
    return model.model_copy(update=update)


# -- throughput ---------------------------------------------------------------------

@dataclass(frozen=True)
class ThroughputFit:
    """One constraint's fitted factor on the base's throughput figures."""

    constraint: str
    samples: int
    factor: float
    factor_ci: tuple[float, float]  # 95% bootstrap interval
    base_mbps: float  # the base's figure at the recorded transfers (a SKU: its usual step)
    shown: str  # what base_mbps is (``uncached_mbps``, ``512 GB step``)
    at_least: bool = False  # a lower bound: above it another constraint binds instead

    @property
    def mbps(self) -> float:
        return self.base_mbps * self.factor


@dataclass
class ThroughputFits:
    fits: dict[str, ThroughputFit]
    kept: dict[str, str]  # constraint -> why it keeps the base's figures
    start: Fit | None  # the Run Command's start, when the sizes tell it from the transfers
    start_why: str  # how the start was taken
    unbound: int  # transfers no constraint binds (left out)
    unknown: int = 0  # transfers the base profile has no figures for (left out)

    @property
    def factors(self) -> dict[str, float]:
        return {c: f.factor for c, f in self.fits.items()}


def fit_throughput(found: list[Transfer], base: RestoreProfile,
                   rounds: int = 8, seed: int = 0) -> ThroughputFits:
    """Each binding constraint's factor (see the module's note), and the Run Command's
    start when the recorded sizes identify it."""
    from restore.backends.calibrate import fit_lognormal

    moving, unknown = [], 0
    for transfer in (t for t in found if t.data_gb > 0):
        try:
            transfer.model_s(base)
        except (KeyError, ValueError):  # a disk SKU, size or worker the base has no figures of
            unknown += 1
            continue
        moving.append(transfer)
    idle = [t.seconds - (0.5 if t.censored else 0.0) for t in found if t.data_gb <= 0]
    y = np.array([t.seconds - (0.5 if t.censored else 0.0) for t in moving])
    base_start = base.latency["start_restore_agent"]
    start = base_median = base_start.median or base_start.fixed or 0.0
    factors: dict[str, float] = {}
    identified, settled = False, None
    for _ in range(rounds):
        profile = scaled(base, factors)
        modelled = np.array([t.model_s(profile) for t in moving])
        bound = [_binding(t, base, factors, a) for t, a in zip(moving, modelled, strict=True)]
        groups = _groups(bound, factors, fitted_only=False)
        if settled == groups:  # the same transfers bind the same constraints: done
            break
        settled = groups
        fitted = {c: ix for c, ix in groups.items() if len(ix) >= MIN_TRANSFERS}
        estimate = _offset(y, modelled, fitted, idle)
        identified = estimate is not None
        start = estimate if estimate is not None else base_median
        for constraint, indices in fitted.items():
            factors[constraint] = _fit_factor([moving[i] for i in indices], base, factors,
                                              constraint, y[indices] - start)
    profile = scaled(base, factors)
    modelled = np.array([t.model_s(profile) for t in moving])
    bound = [_binding(t, base, factors, a) for t, a in zip(moving, modelled, strict=True)]
    fitted = {c: ix for c, ix in _groups(bound, factors, fitted_only=True).items()}
    intervals = _bootstrap(y, modelled, bound, fitted, idle, start, identified, seed,
                           base_start.sigma)
    result = ThroughputFits({}, {}, None, "", sum(1 for c, _ in bound if not c), unknown)
    for constraint, indices in fitted.items():
        shown, base_mbps = _headline(constraint, [moving[i] for i in indices], base)
        factor = factors[constraint]
        low, high = intervals.get(constraint, (math.nan, math.nan))
        rising = np.median([_elasticity(moving[i], base, factors, constraint, modelled[i],
                                        NUDGE) for i in indices])
        at_least = bool(rising > -BINDS)  # raised further, another constraint binds
        result.fits[constraint] = ThroughputFit(
            constraint, len(indices), factor,
            (min(factor, factor * low), math.inf if at_least else factor * high), base_mbps, shown,
            at_least)
    seen = Counter(c for constraints, _ in bound for c in constraints)
    for constraint in sorted({c for t in moving for c in t.constraints} - set(result.fits)):
        result.kept[constraint] = (
            f"{seen[constraint]} recorded transfer(s) bound by it (at least {MIN_TRANSFERS} "
            "needed)" if seen[constraint] < MIN_TRANSFERS else
            f"{seen[constraint]} recorded transfer(s) bound by it only at the final estimate")
    residual = [t.seconds - a for t, a in zip(moving, modelled, strict=True)]
    if identified and any(r > 0 for r in residual):
        exact = [r for t, r in zip(moving, residual, strict=True) if not t.censored] + idle
        censored = [r for t, r in zip(moving, residual, strict=True) if t.censored]
        usable = [r for r in exact if r > 0], [r for r in censored if r > 0]
        fit = fit_lognormal("start_restore_agent", *usable)
        low, high = intervals["(start)"]
        result.start = type(fit)(fit.kind, fit.samples, start, start * fit.p95 / fit.median,
                                 (low, high))
        result.start_why = (f"told from {len(moving)} transfers' time by their sizes "
                            "(median regression); 95% CI by bootstrap")
    elif moving:
        result.start_why = (f"{len(moving)} run(s) of the restore agent, their data sizes "
                            "too alike to tell the command's start from the transfer")
    return result


def _binding(transfer: Transfer, base: RestoreProfile, factors: dict[str, float],
             modelled: float) -> tuple[list[str], float]:
    """The constraints that bind ``transfer`` at ``factors`` (none: none does), and the
    elasticity of its time to them (about -1 when one alone binds): those whose lowering
    slows the transfer most, all of them at a tie (a factor fitted at the point where
    another constraint takes over)."""
    moved = {c: _elasticity(transfer, base, factors, c, modelled, 1 / NUDGE)
             for c in transfer.constraints}
    steepest = min(moved.values())
    if steepest > -BINDS:
        return [], steepest
    return [c for c, e in moved.items() if e <= steepest * (1 - TIED)], steepest


def _elasticity(transfer: Transfer, base: RestoreProfile, factors: dict[str, float],
                constraint: str, modelled: float, nudge: float) -> float:
    """d log(time) / d log(factor) of ``constraint``, by a nudge of its factor."""
    nudged = {**factors, constraint: factors.get(constraint, 1.0) * nudge}
    return math.log(transfer.model_s(scaled(base, nudged)) / modelled) / math.log(nudge)


def _groups(bound: list[tuple[list[str], float]], factors: dict[str, float],
            fitted_only: bool) -> dict[str, list[int]]:
    """Constraint -> the transfers it binds (only those with a fitted factor, and enough
    transfers, with ``fitted_only``)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for index, (constraints, _) in enumerate(bound):
        for constraint in constraints:
            groups[constraint].append(index)
    if fitted_only:
        return {c: ix for c, ix in groups.items() if len(ix) >= MIN_TRANSFERS and c in factors}
    return dict(groups)


def _fit_factor(members: list[Transfer], base: RestoreProfile, factors: dict[str, float],
                constraint: str, targets: np.ndarray) -> float:
    """The factor of ``constraint`` that brings the modelled times nearest the targets
    (least absolute log error: a median; a transfer another constraint takes over from
    as the factor grows stops pulling it; where the error stays the same (the targets are
    beyond what this constraint alone can slow, or speed) the one nearest the base's
    figures): a grid over x/÷20 of the current factor, then
    a golden-section search around the grid's best."""
    keep = [i for i, target in enumerate(targets) if target > 0]
    members, logs = [members[i] for i in keep], np.log(targets[keep])

    def loss(log_factor: float) -> float:  # a least change from the base breaks ties
        profile = scaled(base, {**factors, constraint: math.exp(log_factor)})
        return float(np.abs(np.log([t.model_s(profile) for t in members]) - logs).sum()) \
            + TIE * abs(log_factor)

    centre, span = math.log(factors.get(constraint, 1.0)), math.log(20.0)
    grid = np.linspace(centre - span, centre + span, 41)
    best = int(np.argmin([loss(g) for g in grid]))
    low, high = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    ratio = (math.sqrt(5) - 1) / 2
    left, right = high - ratio * (high - low), low + ratio * (high - low)
    at_left, at_right = loss(left), loss(right)
    for _ in range(30):
        if at_left <= at_right:
            high, right, at_right = right, left, at_left
            left = high - ratio * (high - low)
            at_left = loss(left)
        else:
            low, left, at_left = left, right, at_right
            right = low + ratio * (high - low)
            at_right = loss(right)
    return math.exp((low + high) / 2)


def _design(modelled: np.ndarray, groups: dict[str, list[int]], rows: list[int]) -> np.ndarray:
    """Columns: the intercept, then the modelled time in each group's rows."""
    columns = [np.ones(len(rows))]
    where = {i: c for c, ix in groups.items() for i in ix}
    for constraint in groups:
        columns.append(np.array([modelled[i] if where.get(i) == constraint else 0.0
                                 for i in rows]))
    return np.column_stack(columns)


def _offset(y: np.ndarray, modelled: np.ndarray, groups: dict[str, list[int]],
            idle: list[float], rows: list[int] | None = None, check: bool = True
            ) -> float | None:
    """The Run Command's median start: the intercept of a median regression of the
    recorded times on the modelled transfer times (a slope per constraint), the runs that
    moved no data included; None when it is not identified (its standard error, by least
    squares, at least half of it, or too few rows)."""
    rows = rows if rows is not None else sorted({i for ix in groups.values() for i in ix})
    x = _design(modelled, groups, rows)
    x = np.vstack([x, np.column_stack([np.ones(len(idle)), np.zeros((len(idle),
                                                                     len(groups)))])])
    target = np.concatenate([y[rows], np.asarray(idle, dtype=float)])
    if len(target) <= x.shape[1] or np.linalg.matrix_rank(x) < x.shape[1]:
        return None
    beta = np.linalg.lstsq(x, target, rcond=None)[0]
    if check:
        residual = target - x @ beta
        variance = residual @ residual / (len(target) - x.shape[1])
        try:
            error = math.sqrt(variance * np.linalg.inv(x.T @ x)[0, 0])
        except np.linalg.LinAlgError:
            return None
        if not beta[0] > 2 * error:
            return None
    beta = median_fit(x, target, beta)
    return float(beta[0]) if beta[0] > 0 else None


def median_fit(x: np.ndarray, target: np.ndarray, beta: np.ndarray | None = None
               ) -> np.ndarray:
    """The coefficients of a median (least absolute error) regression of ``target`` on
    the columns of ``x``: iteratively reweighted least squares from ``beta`` (default:
    the least squares fit)."""
    if beta is None:
        beta = np.linalg.lstsq(x, target, rcond=None)[0]
    for _ in range(50):
        weights = 1.0 / np.maximum(np.abs(target - x @ beta), 1e-3)
        beta = np.linalg.lstsq(x * weights[:, None] ** 0.5, target * weights ** 0.5,
                               rcond=None)[0]
    return beta


def _bootstrap(y: np.ndarray, modelled: np.ndarray, bound: list[tuple[list[str], float]],
               groups: dict[str, list[int]], idle: list[float], start: float,
               identified: bool, seed: int, spread: float = 0.0
               ) -> dict[str, tuple[float, float]]:
    """95% intervals of each factor, relative to the fitted one (and of the start, key
    ``(start)``, in seconds): the transfers resampled, the start refitted on each resample
    (when identified; else drawn from the base's lognormal, ``spread`` its sigma: the
    recordings cannot narrow it), each transfer's factor moved to it along its elasticity
    (at the fit), the median taken per constraint."""
    rng = np.random.default_rng(seed)
    log_factor = {}
    for indices in groups.values():
        for i in indices:  # the factor at which transfer i's modelled time is y - start
            elasticity = bound[i][1]
            log_factor[i] = (math.log(max(y[i] - start, 1e-9)) - math.log(modelled[i])) \
                / elasticity
    draws: dict[str, list[float]] = defaultdict(list)
    sets = {constraint: set(indices) for constraint, indices in groups.items()}
    every = sorted({i for ix in groups.values() for i in ix})
    for _ in range(BOOTSTRAP):
        rows = list(rng.choice(every, size=len(every))) if every else []
        offset = _offset(y, modelled, groups, list(rng.choice(idle, size=len(idle)))
                         if idle else [], rows=rows, check=False) if identified else \
            start * math.exp(spread * rng.standard_normal())
        offset = start if offset is None else offset
        draws["(start)"].append(offset)
        for constraint, members in sets.items():
            picked = [i for i in rows if i in members]
            if not picked:
                continue
            moved = [log_factor[i] + (math.log(max(y[i] - offset, 1e-9))
                                      - math.log(max(y[i] - start, 1e-9))) / bound[i][1]
                     for i in picked]
            draws[constraint].append(float(np.median(moved)))
    intervals = {}
    for key, values in draws.items():
        low, high = np.percentile(values, [2.5, 97.5])
        intervals[key] = (float(low), float(high)) if key == "(start)" else (
            float(math.exp(low)), float(math.exp(high)))
    return intervals


def _headline(constraint: str, bound: list[Transfer], base: RestoreProfile) -> tuple[str, float]:
    """The base's figure the table shows for a constraint: a worker's uncached_mbps, the
    repository's rate, a SKU's step at its most written disk size."""
    kind, _, name = constraint.partition(" ")
    if kind == "worker":
        return "uncached_mbps", base.vm_sizes[name].uncached_mbps
    if constraint == REPOSITORY:
        return "repository_mbps", base.throughput.repository_mbps
    sizes = Counter(size for t in bound for sku, size, _ in t.writes if sku == name)
    size = sizes.most_common(1)[0][0]
    return f"{size} GB step", base.throughput.disk_mbps(name, size)
