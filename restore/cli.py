"""`restorelab`: plan and simulate entire-VM restores (typer + rich)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from enum import StrEnum
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

import restore
from restore.cli_output import (
    HtmlOpt,
    out,
    scenario_summary,
    show_fleet,
    show_report,
    show_scenarios,
    show_sweep,
    write_report_html,
)
from restore.cli_verbose import VerboseOpt, refuse_without_requests, showing_requests
from restore.errors import (
    AzureAccessError,
    CloudError,
    JournalError,
    RestoreLabError,
    ScenarioError,
    SessionError,
)
from restore.sessions import SESSIONS_ENV, Sessions
from restore.shipped import DEFAULT_SCENARIO, find_scenario, shipped_scenarios

if TYPE_CHECKING:
    from restore.report import Report
    from restore.scenario import Fault

app = typer.Typer(
    name="restorelab",
    help="Restore an entire Azure VM the way Veeam Backup for Microsoft Azure does, against "
    "a simulated Azure region.\n\nStart with `restorelab simulate` (a shipped scenario), "
    "`restorelab scenarios` (the others), `restorelab plan NAME` (what a restore would do).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False)

T = TypeVar("T")
EXIT_BAD_INPUT = 2

ScenarioArg = Annotated[str, typer.Argument(
    help="Scenario YAML file, or the name of a shipped scenario (list them with "
    "`restorelab scenarios`).",
)]
SeedOpt = Annotated[int | None, typer.Option(
    "--seed", help="Random seed; overrides the scenario's seed. Same seed, same report.",
)]
JsonOpt = Annotated[bool, typer.Option(
    "--json", help="Print only the JSON report on stdout (for scripts and CI).",
)]
SessionsOpt = Annotated[Path | None, typer.Option(
    "--sessions", envvar=SESSIONS_ENV, show_envvar=True, help="The sessions store (a sqlite "
    "file) restores are recorded in (default: restorelab/sessions.db in the user's state "
    "directory, $XDG_STATE_HOME or ~/.local/state); list it with `restorelab sessions`.")]



class SweepMethod(StrEnum):
    """How a sweep makes its runs (``restore.backends.sweep.METHODS``)."""

    AUTO = "auto"
    SIMULATED = "simulated"
    COMPILED = "compiled"


SubscriptionOpt = Annotated[str | None, typer.Option(
    "--subscription", envvar="AZURE_SUBSCRIPTION_ID", show_envvar=True,
    help="The Azure subscription id of the source VM.")]
SourceVmOpt = Annotated[str | None, typer.Option(
    "--source-vm", help="The VM to restore (default: the scenario's source_vm.name).")]
RepositoryOpt = Annotated[str | None, typer.Option(
    "--repository", envvar="RESTORELAB_REPOSITORY", show_envvar=True,
    help="Image-level backups: the blob container holding the restore points, as its URL "
    "with a read SAS (https://ACCOUNT.blob.core.windows.net/CONTAINER?sv=...); the "
    "worker's restore agent reads the chunks from it. Not needed for snapshots.")]
RehydrateOpt = Annotated[str | None, typer.Option(
    "--rehydrate-with", envvar="RESTORELAB_REHYDRATE_WITH", show_envvar=True,
    help="Archived restore points: the same container's URL with a read, write and list "
    "SAS, which rehydrates the chunks (Set Blob Tier); the workers then get only "
    "--repository's read SAS. Default: --repository's URL, whose SAS then needs write "
    "and list too.")]
SourceGroupOpt = Annotated[str | None, typer.Option(
    "--source-group", help="Its resource group (default: the scenario's "
    "source_vm.resource_group).")]


def _print_version(asked: bool) -> None:
    if asked:
        print(f"restorelab {package_version('restorelab')}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="Print restorelab's version and exit.")] = False,
) -> None:
    """Restore an entire Azure VM the way Veeam Backup for Microsoft Azure does, against a
    simulated Azure region."""


class LiveError(RestoreLabError):
    """A real restore could not start; nothing was changed."""


def _guarded(action: Callable[[], T]) -> T:
    """Run a command body; bad input exits 2 with one clear line, never a traceback."""
    try:
        return action()
    except (ScenarioError, JournalError, AzureAccessError, SessionError) as exc:
        _error(exc)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except RestoreLabError as exc:
        _error(exc)
        raise typer.Exit(1) from None


@contextmanager
def _naming(scenario: str) -> Iterator[None]:
    """Errors about a loaded scenario name it as the user did (backends know the field
    only)."""
    try:
        yield
    except ScenarioError as exc:
        raise _named(exc, scenario) from None


def _named(exc: ScenarioError, scenario: str) -> ScenarioError:
    return ScenarioError(scenario, exc.field, exc.message)


def _error(exc: Exception) -> None:
    """One line on stderr, whatever the message holds."""
    err.print(Text("error: ", style="bold red") + Text(" ".join(str(exc).split())),
              soft_wrap=True)


@app.command()
def simulate(
    scenario: ScenarioArg = DEFAULT_SCENARIO,
    seed: SeedOpt = None,
    backend: Annotated[str, typer.Option(
        "--backend", help="Where operations run: 'sim' (fakecloud's SimPy region) or "
        "'fake-arm' (the azure-mgmt SDK against fakecloud's HTTP fake of Azure Resource "
        "Manager, same region; needs the azure extra). Real Azure: `restorelab restore`.",
    )] = "sim",
    journal: Annotated[Path | None, typer.Option(
        "--journal", help="Keep the restore's progress in this new file (sqlite); an "
        "interrupted restore is finished with `restorelab resume JOURNAL`.",
    )] = None,
    safety_snapshot: Annotated[bool, typer.Option(
        "--safety-snapshot", help="Original location: snapshot the source disks before "
        "removing the source; the snapshots are deleted after success, kept on failure.",
    )] = False,
    crash_at: Annotated[str | None, typer.Option(
        "--crash-at", help="Make the orchestrator die just before this step (or operation "
        "kind) sends its first request: the run ends 'interrupted', exit code 3.",
    )] = None,
    sessions: SessionsOpt = None,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = False,
    html: HtmlOpt = None,
) -> None:
    """Simulate the restore in SCENARIO and show its timeline and summary.

    Failures (the scenario's `faults`) are retried when transient; a restore that cannot
    finish is rolled back, or keeps the restored disks once the source is gone.
    With --journal the run is recorded in the sessions store (`restorelab sessions`).

    Exit code: 0 succeeded, 1 failed or rolled back, 2 bad input, 3 interrupted.
    """
    if backend not in restore.BACKENDS:
        err.print(f"[bold red]error:[/] --backend: unknown backend {backend!r} "
                  f"(available: {', '.join(restore.BACKENDS)})")
        raise typer.Exit(EXIT_BAD_INPUT)
    if crash_at is not None and not crash_at.strip():
        _error(ScenarioError(scenario, "--crash-at", "names no step: give a step or an "
                             "operation kind (see `restorelab plan`)"))
        raise typer.Exit(EXIT_BAD_INPUT)
    faults = [restore.Fault(at=crash_at, kind="crash")] if crash_at else []
    loaded = _guarded(lambda: restore.load_scenario(find_scenario(scenario)))
    if loaded.fleet is not None:
        _guarded(lambda: _refuse_for_fleet(
            scenario, backend=backend != "sim" and backend, journal=journal, crash_at=crash_at,
            safety_snapshot=safety_snapshot, verbose=verbose, html=html))
        fleet = _guarded(lambda: _simulate_fleet(scenario, loaded, seed))
        print(json.dumps(fleet.to_dict(), indent=2)) if as_json else show_fleet(fleet)
        raise typer.Exit(fleet.exit_code)
    _guarded(lambda: refuse_without_requests(verbose, backend, scenario))
    with showing_requests(verbose, err):
        report = _guarded(lambda: _simulate(scenario, seed, backend, faults, journal,
                                            safety_snapshot, sessions))
    _finish(report, as_json, journal, html)


def _refuse_for_fleet(scenario: str, **options: object) -> None:
    given = [f"--{name.replace('_', '-')}" for name, value in options.items() if value]
    if given:
        raise ScenarioError(scenario, given[0], "not available for a fleet (mass restore)")


def _simulate_fleet(scenario: str, loaded: restore.Scenario, seed: int | None):
    with _naming(scenario):
        return restore.simulate_fleet(loaded, seed)


@app.command()
def sweep(
    scenario: ScenarioArg = DEFAULT_SCENARIO,
    runs: Annotated[int, typer.Option("--runs", min=1, help="How many simulations.")] = 1000,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Sweep seed (default: the scenario's); run i gets a seed derived from "
        "it, so the numbers do not depend on --workers.")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Processes (default: every core).")] = None,
    dask: Annotated[str | None, typer.Option(
        "--dask", help="Run on the Dask distributed scheduler at this address "
        "(tcp://host:8786) instead of local processes; needs the dask extra "
        "(pip install 'restorelab\\[dask]').")] = None,
    method: Annotated[SweepMethod, typer.Option(
        "--method", help="compiled: sample the restore's ARM calls with numpy (one VM, no "
        "fault rules, no bytes); simulated: the SimPy engine, run by run; auto: compiled "
        "when it can serve the scenario.")] = SweepMethod.AUTO,
    rto: Annotated[str | None, typer.Option(
        "--rto", help="Recovery time objective (4h, 90m, 1h30m or seconds; default the "
        "scenario's rto): how likely a restore meets it, and what drives the slow tail "
        "and the misses.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Monte Carlo: run SCENARIO many times and show percentiles of duration and cost.

    Faults with a probability in the scenario make some runs fail; the summary counts them.
    A fleet (mass restore) is swept as a whole: each run's duration is its makespan.
    A compiled sweep also shows which steps make the critical path, in the tail.
    """
    summary = _guarded(lambda: _sweep(scenario, runs, seed, workers, dask, method.value,
                                      show=not as_json, rto=rto))
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        show_sweep(summary)


def rto_option(value: str | None, scenario: str) -> float | None:
    """``--rto`` in seconds (4h, 90m, 1h30m or seconds); a bad one names the option."""
    from restore.scenario_types import seconds_of

    try:
        return None if value is None else seconds_of(value)
    except ValueError as exc:
        raise ScenarioError(scenario, "--rto", str(exc)) from None


def _sweep(scenario: str, runs: int, seed: int | None, workers: int | None,
           dask: str | None, method: str, show: bool, rto: str | None = None
           ) -> dict[str, Any]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from restore.backends.sweep import sweep as sweep_runs

    rto_s = rto_option(rto, scenario)
    loaded = restore.load_scenario(find_scenario(scenario))
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err, transient=True,
                  disable=not show) as bar:
        task = bar.add_task(f"sweeping {loaded.name}", total=runs)
        try:
            with _naming(scenario):
                result = sweep_runs(loaded, runs, seed, workers,
                                    progress=lambda done: bar.advance(task, done),
                                    dask_address=dask, method=method, rto_s=rto_s)
        except (RuntimeError, OSError) as exc:  # no Dask installed, or no scheduler there
            raise ScenarioError("--dask", "", " ".join(str(exc).split())) from None
    return result.to_dict()



def container_repository(repository: str | None, rehydrate_with: str | None) -> Any:
    """The restore points' container: the workers read it at ``repository``; an archived
    restore point is rehydrated through ``rehydrate_with`` (default the same URL)."""
    from restore.backends.rehydration import ContainerRepository

    if rehydrate_with and not repository:
        raise ScenarioError("--rehydrate-with", "", "needs --repository too (the URL with "
                            "the read SAS the workers get)")
    return ContainerRepository(repository, rehydrate_with) if repository else None


def _prepare_live(scenario: str, subscription: str | None, source_vm: str | None,
                  source_group: str | None, repository: Any, show: bool,
                  changed: Callable[[restore.Scenario], restore.Scenario] = lambda s: s):
    from restore.backends import live

    if not subscription:
        raise ScenarioError("--subscription", "", "needed for the azure backend (or set "
                            "AZURE_SUBSCRIPTION_ID)")
    _quiet_azure_logs()
    loaded = restore.load_scenario(find_scenario(scenario))
    raw = loaded.model_dump(mode="json")
    raw["source_vm"]["name"] = source_vm or raw["source_vm"]["name"]
    raw["source_vm"]["resource_group"] = source_group or raw["source_vm"]["resource_group"]
    loaded = changed(restore.parse_scenario(raw, source=scenario))
    reading = err.status(f"reading {loaded.source_vm.name} from Azure and checking the "
                         "restore (reads only)")
    with reading if show else nullcontext():
        try:
            return live.prepare(loaded, live.connect(subscription), source=scenario,
                                repository=repository)
        except CloudError as exc:
            raise LiveError(f"preflight failed, nothing was changed: {exc.code}: "
                            f"{exc.message}") from None


@app.command()
def resume(
    journal: Annotated[Path, typer.Argument(help="The journal of an interrupted restore.")],
    repository: RepositoryOpt = None,
    rehydrate_with: RehydrateOpt = None,
    sessions: SessionsOpt = None,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = False,
    html: HtmlOpt = None,
) -> None:
    """Finish an interrupted restore from its journal (recorded in the sessions store).

    The steps that ended stay done; the interrupted ones run again, checking what exists
    before acting, so the restore ends as an uninterrupted one would.

    Exit code: 0 succeeded, 1 failed or rolled back, 2 bad input (no such journal, busy,
    nothing to resume), 3 interrupted again.
    """
    report = _guarded(lambda: _resume(journal, container_repository(
        repository, rehydrate_with), sessions, show=not as_json, verbose=verbose))
    _finish(report, as_json, journal, html)


def _quiet_azure_logs() -> None:
    """The SDK logs each failed sign-in attempt; the CLI says what went wrong once."""
    logging.getLogger("azure").setLevel(logging.ERROR)


def _resume(journal: Path, repository: Any, store: Path | None, show: bool,
            verbose: bool) -> Report:
    from restore.backends.journal import meta_at
    from restore.cli_live import resume_on_azure

    _quiet_azure_logs()
    meta = meta_at(journal)
    refuse_without_requests(verbose, meta.get("backend") or "sim", str(journal))
    run = (lambda: resume_on_azure(journal, repository, show)) if meta.get(
        "backend") == "azure" else (lambda: restore.resume(journal, repository))
    try:
        with Sessions(store) as sessions, showing_requests(verbose, err):
            return warn_unrecorded(sessions, sessions.run(
                run, "resume",
                meta.get("scenario") or {}, meta.get("backend") or "sim", meta.get("seed"),
                journal))
    except CloudError as exc:  # the azure backend's reads before resuming
        raise LiveError(f"{exc.code}: {exc.message}") from None


def warn_unrecorded(sessions: Sessions, report: Report) -> Report:
    """The run's report, saying first (on stderr) if the sessions store missed its end."""
    if sessions.unrecorded:
        err.print(f"warning: the restore ran, but its session was not recorded: "
                  f"{sessions.unrecorded}")
    return report


def _finish(report: Report, as_json: bool, journal: Path | None,
            html: Path | None = None) -> None:
    if as_json:
        print(report.to_json())
    else:
        show_report(report)
        if report.status == "interrupted" and journal is not None:
            out.print(f"resume with: restorelab resume {journal}")
    if html is not None:
        _guarded(lambda: write_report_html(report.to_dict(), html))
    raise typer.Exit(report.exit_code)


def _simulate(scenario: str, seed: int | None, backend: str, faults: list[Fault],
              journal: Path | None, safety_snapshot: bool, store: Path | None) -> Report:
    path = find_scenario(scenario)
    loaded = restore.load_scenario(path)
    if safety_snapshot:
        raw = loaded.model_dump(mode="json")
        raw["target"]["safety_snapshot"] = True
        try:
            loaded = restore.parse_scenario(raw, source=scenario)
        except ScenarioError as exc:
            raise ScenarioError(scenario, "--safety-snapshot", exc.message) from None
    def run() -> Report:
        return restore.simulate(loaded, seed=seed, backend=backend, faults=faults,
                                journal=journal)

    try:
        if journal is None:  # a run that cannot be resumed is not a session
            return run()
        with Sessions(store) as sessions:
            return warn_unrecorded(sessions, sessions.run(
                run, "simulate", loaded.model_dump(mode="json"), backend, seed, journal))
    except ScenarioError as exc:
        if faults and exc.field == f"faults.{len(loaded.faults)}.at":
            raise ScenarioError(scenario, "--crash-at", exc.message) from None
        raise _named(exc, scenario) from None


@app.command()
def scenarios(as_json: JsonOpt = False) -> None:
    """List the shipped example scenarios (pass a name to simulate or plan)."""
    shipped = {name: restore.load_scenario(path) for name, path in shipped_scenarios().items()}
    if as_json:
        print(json.dumps([scenario_summary(name, sc) for name, sc in shipped.items()],
                         indent=2))
    else:
        show_scenarios(shipped)


from restore import (  # noqa: E402, F401  (their commands use this module's helpers)
    cli_backup,
    cli_calibrate,
    cli_drill,
    cli_live,
    cli_optimize,
    cli_plan,
    cli_sessions,
)
from restore.cli_help import reflow_help  # noqa: E402

reflow_help(app)
