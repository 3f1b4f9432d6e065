"""Rehydration, fitted to the recorded rehydrations of archived restore points: per
priority, the lognormal draw; at high priority also the time per GB beyond ``small_gb``.

A journal holds one restore, alone on its storage account at first. At high priority its
time is the draw plus, for each GB beyond ``small_gb``, the wait for the account's budget
(``3600 / account_gib_per_hour`` s) and ``extra_s_per_gb``: a median regression of the
times on those GB gives the draw's median (the intercept) and that time per GB (the
slope, 95% interval by bootstrap), when at least ``MIN_BEYOND`` rehydrations went beyond
``small_gb``, at two sizes or more. In one restore the budget and ``extra_s_per_gb`` add
up to that one slope and cannot be told apart: the fit keeps the base's budget (a
documented limit) and puts the rest in ``extra_s_per_gb``; a slope below the budget's
alone means a looser budget, and ``account_gib_per_hour`` is fitted instead. The two
differ where restores share an account (a fleet): there only the budget is shared. The
lognormal draw is then fitted to each time less its per-GB part. Standard priority has
neither part (the draw is the time).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from fakecloud.profile import HighPriority, Latency, Rehydration
from restore.backends.calibrate_data import BOOTSTRAP, median_fit

if TYPE_CHECKING:
    from restore.backends.calibrate import Fit, Recording

PRIORITIES = ("standard", "high")
MIN_BEYOND = 5
"""High-priority rehydrations beyond small_gb needed to fit the time per GB."""


@dataclass(frozen=True)
class PerGbFit:
    """The recorded time per GB beyond ``small_gb`` at high priority, and how it is
    written: the base's budget and the rest as ``extra_s_per_gb``, or a looser budget."""

    samples: int  # rehydrations beyond small_gb
    seconds_per_gb: float
    ci: tuple[float, float]  # 95% bootstrap interval
    base_seconds_per_gb: float  # the base's budget and extra_s_per_gb together
    extra_s_per_gb: float
    account_gib_per_hour: float | None
    looser: bool  # below the base's budget alone: account_gib_per_hour fitted instead


def rehydrations(recordings: Iterable[Recording]) -> dict[str, list[tuple[float, float]]]:
    """Priority -> (size GB, seconds) of each rehydration that succeeded at once."""
    found: dict[str, list[tuple[float, float]]] = {p: [] for p in PRIORITIES}
    for recording in recordings:
        for op in recording.operations:
            intent = op["intent"]
            if intent["kind"] == "rehydrate_restore_point" and op["status"] == "succeeded" \
                    and op["attempts"] == 1 and intent.get("priority") in found:
                found[intent["priority"]].append((float(intent.get("size_gb", 0.0)),
                                                  op["end_s"] - op["start_s"]))
    return found


def seconds_per_gb(high: HighPriority) -> float:
    """What each GB beyond small_gb adds to a lone restore's high-priority rehydration:
    the wait for its idle account's budget, and extra_s_per_gb."""
    budget = 3600.0 / high.account_gib_per_hour if high.account_gib_per_hour else 0.0
    return budget + high.extra_s_per_gb


def fit_rehydration(found: dict[str, list[tuple[float, float]]], base: Rehydration,
                    minimum: int, seed: int = 0
                    ) -> tuple[dict[str, Fit], PerGbFit | None, dict[str, str]]:
    """The draw per priority, the high priority's time per GB, and what keeps the base's
    (and why)."""
    from restore.backends.calibrate import fit_lognormal

    fits, kept = {}, {}
    per_gb, slope = _per_gb(found.get("high", []), base.high, seed)
    if per_gb is None:
        beyond = sum(1 for size, _ in found.get("high", []) if size > base.high.small_gb)
        kept["rehydration high per GB"] = (
            f"{beyond} recorded beyond small_gb (at least {MIN_BEYOND} needed, at two sizes "
            "or more)")
    for priority in PRIORITIES:
        per = slope if priority == "high" else 0.0
        small = base.high.small_gb
        draws = [seconds - per * max(0.0, size - small) for size, seconds in
                 found.get(priority, [])]
        usable = [d for d in draws if d > 0]
        name = f"rehydration {priority}"
        if base.latency(priority).fixed is not None:
            kept[name] = "a fixed latency in the base profile"
        elif len(usable) < minimum:
            kept[name] = f"{len(usable)} recorded (at least {minimum} needed)"
        else:
            fits[priority] = fit_lognormal(name, usable, [])
    return fits, per_gb, kept


def _per_gb(found: list[tuple[float, float]], high: HighPriority,
            seed: int) -> tuple[PerGbFit | None, float]:
    """The fitted time per GB (None: too few beyond small_gb), and the slope the draws
    are taken less of (the base's when not fitted)."""
    base_slope = seconds_per_gb(high)
    excess = np.array([max(0.0, size - high.small_gb) for size, _ in found])
    times = np.array([seconds for _, seconds in found])
    beyond = int((excess > 0).sum())
    if beyond < MIN_BEYOND or len(set(excess.tolist())) < 2:
        return None, base_slope
    x = np.column_stack([np.ones(len(excess)), excess])
    slope = float(median_fit(x, times)[1])
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(BOOTSTRAP):
        rows = rng.choice(len(times), size=len(times))
        if len(set(excess[rows].tolist())) >= 2:
            draws.append(float(median_fit(x[rows], times[rows])[1]))
    low, top = np.percentile(draws, [2.5, 97.5])
    budget = 3600.0 / high.account_gib_per_hour if high.account_gib_per_hour else 0.0
    looser = slope < budget  # faster than the budget alone lets
    extra = 0.0 if looser else slope - budget
    account = 3600.0 / max(slope, 1e-9) if looser else high.account_gib_per_hour
    return PerGbFit(beyond, slope, (float(low), float(top)), base_slope, extra, account,
                    looser), slope


def rehydration_latency(base: Latency, fit: Fit | None, per_gb: PerGbFit | None = None
                        ) -> Latency:
    """The base's rehydration latency (its bounds and, at high priority, its budget) with
    the fitted median and p95, and the fitted time per GB."""
    update = {} if fit is None else {"median": fit.median, "p95": fit.p95,
                                     "min": min(base.min, fit.median)}
    if per_gb is not None and isinstance(base, HighPriority):
        update.update(extra_s_per_gb=per_gb.extra_s_per_gb,
                      account_gib_per_hour=per_gb.account_gib_per_hour)
    return base.model_copy(update=update)


def per_gb_source(per_gb: PerGbFit) -> str:
    """Where the high priority's per-GB figures come from, for the written profile."""
    low, high = per_gb.ci
    written = (f"account_gib_per_hour {per_gb.account_gib_per_hour:.4g} (a looser budget)"
               if per_gb.looser else
               f"extra_s_per_gb {per_gb.extra_s_per_gb:.4g} with the base's budget")
    return (f"per GB beyond small_gb: {per_gb.seconds_per_gb:.4g} s fitted from "
            f"{per_gb.samples} rehydrations (95% CI {low:.4g}-{high:.4g}; base "
            f"{per_gb.base_seconds_per_gb:.4g}), written as {written}: the two are one "
            "slope in a lone restore")
