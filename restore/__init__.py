"""restorelab's restore engine: plans, steps and operations, free of IO.

The Python API: ``load_scenario(path)`` and its variants ``scenario.with_(...)``,
``load_profile(name, changes)``, ``simulate(scenario, seed=None, backend="sim",
profile=None)`` returning a ``Report`` (``.to_dict()``, ``.timeline()``),
``drill(scenario, rto=None)``, ``sweep(scenario, runs, rto=None, profile=None)``,
``simulate_fleet(scenario, profile=None)``, ``plan_for(scenario, profile=None)``,
``watch_figures()`` (a notebook's plots checked for units), and ``Sessions(path=None)``,
the history of the CLI's restores (``.list()``, ``.get(id)``).
Plots (matplotlib): ``Report.gantt()``, ``FleetReport.gantt(by=)``, ``SweepResult.plot()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restore.errors import CloudError, RestoreLabError, ScenarioError

if TYPE_CHECKING:
    from restore.backends.profiles import RestoreProfile
    from restore.report import Report
    from restore.scenario import Fault, Scenario

__all__ = [
    "CloudError", "Fault", "Report", "RestoreLabError", "Scenario", "ScenarioError",
    "load_scenario", "resume", "simulate_fleet", "sweep", "drill", "optimize",
    "parse_scenario", "plan_for", "simulate", "calibrate", "validate", "Sessions",
    "load_profile", "watch_figures",
]

BACKENDS = ("sim", "fake-arm")
"""Backends `simulate` runs on."""

_LAZY = {"Report": "restore.report", "Fault": "restore.scenario", "Scenario": "restore.scenario",
         "load_scenario": "restore.scenario", "parse_scenario": "restore.scenario",
         "Sessions": "restore.sessions", "watch_figures": "restore.figures"}
_MODULES = ("engine", "ops", "plan", "report", "retry", "scenario", "steps")


def __getattr__(name: str) -> object:
    """The scenario and report names, and the engine's modules, imported on first use:
    pydantic's models take a while to build, and `restorelab --help` needs none."""
    if name in _MODULES:
        return import_module(f"restore.{name}")
    if name not in _LAZY:
        raise AttributeError(f"module 'restore' has no attribute {name!r}")
    value = globals()[name] = getattr(import_module(_LAZY[name]), name)
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_MODULES})


def load_profile(profile: str | Path | RestoreProfile = "default",
                 changes: Mapping[str, Any] | None = None, /, **fields: Any) -> RestoreProfile:
    """A region profile (a shipped profile's name, a YAML file, or a profile object to vary
    further) with ``changes`` made as ``Scenario.with_`` makes them: dotted keys
    (``{"quotas.regional_vcpus": 10_000}``), a keyword per top-level field
    (``worker_profile=[{"size": "Standard_F4s_v2"}]``), mappings merged, lists and scalars
    replaced. A bad value raises ScenarioError naming the field. The result is what
    ``profile=`` of ``simulate``, ``simulate_fleet``, ``sweep`` and ``plan_for`` takes."""
    from pydantic import ValidationError

    from restore.backends.profiles import RestoreProfile
    from restore.backends.profiles import load_profile as load
    from restore.scenario_text import field_and_problem
    from restore.variants import changed

    base = profile if isinstance(profile, RestoreProfile) else load(str(profile))
    if changes is None and not fields:
        return base
    source = f"region profile {base.name!r}"
    raw = changed(base.model_dump(), changes, fields, source=source)
    try:
        return RestoreProfile.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(source, *field_and_problem(exc.errors()[0])) from None


def _profiled(scenario: Scenario, profile: str | Path | RestoreProfile | None
              ) -> tuple[Scenario, RestoreProfile | None]:
    """The scenario and profile object to run: a profile's name or file becomes the
    scenario's ``region_profile`` (a journal keeps it), an object is passed on."""
    from restore.backends.profiles import RestoreProfile

    if profile is None or isinstance(profile, RestoreProfile):
        return scenario, profile
    if not isinstance(profile, str | Path):
        raise TypeError(f"profile must be a profile's name, a YAML path or a profile object "
                        f"(restore.load_profile), not {type(profile).__name__}")
    return scenario.model_copy(update={"region_profile": str(profile)}), None


def simulate(scenario: Scenario, seed: int | None = None, backend: str = "sim",
             faults: Iterable[Fault] = (), journal: str | Path | None = None,
             profile: str | Path | RestoreProfile | None = None) -> Report:
    """Restore ``scenario`` on a simulated backend and return the report.

    ``profile`` (a shipped profile's name, a YAML file, or a ``load_profile`` object)
    replaces the scenario's ``region_profile``, e.g. the output of ``calibrate``; a
    journaled restore takes a name or file only (``resume`` reads it from the journal).

    ``backend``: "sim" (the SimPy region) or "fake-arm" (the azure-mgmt-* SDK against
    fakecloud's HTTP fake of ARM over the same region; needs the ``azure`` extra).

    ``faults`` add fault rules to the scenario's own, e.g.
    ``Fault(at="create_empty_disks", kind="transient", times=2)``; ``journal`` (a new
    file) keeps the progress so that ``resume(journal)`` can finish an interrupted run.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r} (available: {', '.join(BACKENDS)})")
    if scenario.fleet is not None:
        raise ScenarioError("<scenario>", "fleet", "a fleet is restored with "
                            "restore.simulate_fleet (the CLI's simulate does so)")
    from restore.backends.sim import simulate as simulate_sim

    scenario, chosen = _profiled(scenario, profile)
    return simulate_sim(scenario, seed, chosen, faults=faults, journal=journal,
                        backend=backend)


def drill(scenario: Scenario, seed: int | None = None, backend: str = "sim",
          faults: Iterable[Fault] = (), rto: str | float | None = None) -> Report:
    """A restore drill of ``scenario``'s VM (any scenario; a fleet's VM alone): restored
    into an isolated network, its health checked, everything removed. The report's
    ``drill`` gives each check, the time to healthy and, against ``rto`` (default the
    scenario's), whether it was met."""
    from restore.drills import as_drill
    from restore.scenario_types import duration_argument

    drilled = as_drill(scenario, duration_argument("rto", rto))
    return simulate(drilled, seed=seed, backend=backend, faults=faults)


def simulate_fleet(scenario: Scenario, seed: int | None = None,
                   profile: str | Path | RestoreProfile | None = None):
    """Mass restore: every VM of ``scenario.fleet`` at once, sharing the region and a
    worker pool; the report gives the makespan, its lower bound, and each VM's outcome.
    ``profile`` as in ``simulate``."""
    from restore.backends.fleet import simulate_fleet as simulate_fleet_sim

    scenario, chosen = _profiled(scenario, profile)
    return simulate_fleet_sim(scenario, seed, chosen)


def sweep(scenario: Scenario, runs: int, seed: int | None = None, workers: int | None = None,
          faults: Iterable[Fault] = (), dask_address: str | None = None,
          method: str = "auto", rto: str | float | None = None,
          profile: str | Path | RestoreProfile | None = None):
    """Monte Carlo: ``runs`` restores, simulated on all cores (or a Dask cluster), or
    sampled from the restore compiled into its ARM calls (``method`` "compiled"; "auto":
    whenever it can serve the scenario, see ``.method``); ``.to_dict()`` gives the
    percentiles of duration and cost. Same seed, same numbers, whatever ``workers`` or
    cluster. A fleet scenario is swept as a whole (each run's duration its makespan).

    ``rto`` (``"4h"``, ``"90m"``, ``"1h30m"`` or seconds; default the scenario's ``rto``):
    ``.to_dict()["rto"]`` says how likely a restore meets it and what drives the tail.
    ``profile`` as in ``simulate``."""
    from restore.backends.sweep import sweep as sweep_runs
    from restore.scenario_types import duration_argument

    scenario, chosen = _profiled(scenario, profile)
    return sweep_runs(scenario, runs, seed, workers, list(faults), dask_address=dask_address,
                      method=method, rto_s=duration_argument("rto", rto), profile=chosen)


def optimize(scenario: Scenario, objective: str = "rto", rto: float | str | None = None,
             budget: float | None = None, runs: int | None = None, seed: int | None = None,
             confidence: float = 0.95, restore_points: Iterable[str] | None = None,
             disk_skus: Iterable[str] | None = None, worker_sizes: Iterable[str] | None = None,
             max_workers: Iterable[int] | None = None, keep_order: bool = False):
    """Search ``scenario``'s choices (workers, rehydration priority, the restore points
    that exist, disk SKUs allowed, a fleet's pool and, unless ``keep_order``, its groups'
    order), each candidate a sweep
    of ``runs`` with the same ``seed``. ``objective`` "rto": the lowest p95 duration
    within ``budget`` (USD); "cost": the cheapest with P(duration <= ``rto``: seconds,
    "4h", "90m"; default the scenario's rto) at least ``confidence``, within ``budget``.
    The result has ``.candidates``, ``.front`` (Pareto: p95 duration vs mean cost),
    ``.best`` (None when none qualifies), ``.to_dict()``, ``.plot(path=None)`` (a
    matplotlib figure) and ``.best_yaml()``."""
    from restore.backends.optimize import optimize as search
    from restore.optimize_space import SpaceOptions
    from restore.scenario_types import duration_argument

    def listed(values: Iterable | None) -> tuple | None:
        return None if values is None else tuple(values)

    options = SpaceOptions(listed(restore_points), listed(disk_skus), listed(worker_sizes),
                           listed(max_workers), keep_order)
    return search(scenario, objective, duration_argument("rto", rto), budget, runs, seed,
                  confidence, options)


def resume(journal: str | Path, repository: str | None = None) -> Report:
    """Finish the interrupted restore kept in ``journal`` (a real one on the backend it
    ran on: `azure` signs in with DefaultAzureCredential; ``repository`` is the restore
    points' container URL with its SAS, which the journal does not keep)."""
    from restore.backends.journal import meta_at

    if meta_at(journal).get("backend") == "azure":
        from restore.backends.live import resume as resume_live

        return resume_live(journal, repository=repository)
    from restore.backends.sim import resume as resume_sim

    return resume_sim(journal)


def calibrate(journals: Iterable[str | Path], base: str = "default"):
    """Fit ``base``'s latencies (a profile's name or YAML file) to the restores recorded in
    ``journals``: ``.fits`` (per latency kind: samples, median, p95, the median's 95% CI),
    ``.kept`` (kinds left as in the base, and why), ``.profile()`` and ``.write(path)``
    (the profile as YAML, each latency naming its source). Needs the analysis extra."""
    from restore.backends.calibrate import calibrate as fit
    from restore.backends.calibrate import read_recording
    from restore.backends.profiles import load_profile

    return fit([read_recording(j) for j in journals], load_profile(base))


def validate(profile: str, journals: Iterable[str | Path]) -> dict:
    """Simulate each restore recorded in ``journals`` again in ``profile`` (its scenario,
    its seed): the p50 and p95 duration and each step's median, recorded and predicted."""
    from restore.backends.calibrate import read_recording
    from restore.backends.calibrate import validate as compare
    from restore.backends.profiles import load_profile

    return compare(load_profile(profile), [read_recording(j) for j in journals])


def plan_for(scenario: Scenario, profile: str | Path | RestoreProfile | None = None):
    """The plan for ``scenario`` in its region profile, or ``profile`` as in ``simulate``
    (steps and every operation; ``.context.workers`` the workers it uses)."""
    from restore.backends.prepared import scenario_profile
    from restore.plan import build_plan

    scenario, chosen = _profiled(scenario, profile)
    return build_plan(scenario, scenario_profile(scenario, chosen).sizing)
