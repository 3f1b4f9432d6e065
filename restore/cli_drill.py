"""`restorelab drill`: restore a scenario's VM into an isolated network, check its health,
measure the time to healthy against the RTO, and remove everything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

import restore
from restore.cli import (
    DEFAULT_SCENARIO,
    EXIT_BAD_INPUT,
    JsonOpt,
    RehydrateOpt,
    RepositoryOpt,
    ScenarioArg,
    SeedOpt,
    SessionsOpt,
    SourceGroupOpt,
    SourceVmOpt,
    SubscriptionOpt,
    _error,
    _guarded,
    _naming,
    _prepare_live,
    app,
    container_repository,
    err,
    rto_option,
)
from restore.cli_output import HtmlOpt, clock, out, show_report, write_report_html
from restore.cli_verbose import VerboseOpt, refuse_without_requests, showing_requests
from restore.drills import as_drill
from restore.errors import ScenarioError
from restore.shipped import find_scenario

BACKENDS = ("sim", "fake-arm", "azure")
CHECK_STYLES = {"passed": "green", "failed": "red", "not run": "dim"}


@app.command()
def drill(
    scenario: ScenarioArg = DEFAULT_SCENARIO,
    backend: Annotated[str, typer.Option(
        "--backend", help="'sim' or 'fake-arm' (a simulated drill; the guest checks answered "
        "by the fake's Run Command, healthy or failing as the scenario's faults say), or "
        "'azure' (a real drill in the subscription).")] = "sim",
    rto: Annotated[str | None, typer.Option(
        "--rto", help="The recovery time objective to measure against (4h, 90m, 1h30m or "
        "seconds; default: the scenario's rto).")] = None,
    seed: SeedOpt = None,
    subscription: SubscriptionOpt = None,
    source_vm: SourceVmOpt = None,
    source_group: SourceGroupOpt = None,
    repository: RepositoryOpt = None,
    rehydrate_with: RehydrateOpt = None,
    sessions: SessionsOpt = None,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = False,
    html: HtmlOpt = None,
) -> None:
    """Drill the restore of SCENARIO's VM: restore it into an isolated network, start it,
    check its health, and delete everything the drill created, whatever happened.

    The drill's resource group holds a new virtual network (no peering) whose VM subnet's
    security group denies the internet in and out. Checks, each within the scenario's
    drill.timeout (default 15m): provisioning succeeded, power state running, the VM agent
    Ready, then through Run Command the restored data disks mounted and the scenario's
    drill.script exiting 0. The time to healthy is the drill's RTO, compared with
    --rto or the scenario's rto. A fleet drills one of its VMs.

    Exit code: 0 passed, 1 failed (a check, or the RTO missed), 2 bad input.
    """
    if backend not in BACKENDS:
        _error(ScenarioError("--backend", "", f"unknown backend {backend!r} (available: "
                             f"{', '.join(BACKENDS)})"))
        raise typer.Exit(EXIT_BAD_INPUT)
    rto_s = _guarded(lambda: rto_option(rto, scenario))
    _guarded(lambda: refuse_without_requests(verbose, backend, scenario))
    with showing_requests(verbose, err):
        report = _drilled(scenario, backend, seed, rto_s, (
            subscription, source_vm, source_group, repository, rehydrate_with), sessions,
            show=not as_json)
    if as_json:
        print(report.to_json())
    else:
        show_report(report)
        show_drill(report.drill)
    if html is not None:
        _guarded(lambda: write_report_html(report.to_dict(), html))
    raise typer.Exit(report.exit_code)


def _drilled(scenario: str, backend: str, seed: int | None, rto_s: float | None,
             live_source: tuple[str | None, ...], sessions: Path | None, show: bool) -> Any:
    """The drill's report: simulated, or real (``live_source``: subscription, source VM
    and group, repository and its rehydrating URL)."""
    if backend != "azure":
        return _guarded(lambda: _simulated(scenario, backend, seed, rto_s))
    from restore.cli_live import _run_live

    subscription, source_vm, source_group, repository, rehydrate_with = live_source
    live = _guarded(lambda: _prepare_live(
        scenario, subscription, source_vm, source_group,
        container_repository(repository, rehydrate_with), show=show,
        changed=lambda loaded: as_drill(loaded, rto_s)))
    return _guarded(lambda: _run_live(live, None, sessions, show=show))


def _simulated(scenario: str, backend: str, seed: int | None, rto_s: float | None) -> Any:
    with _naming(scenario):
        return restore.drill(restore.load_scenario(find_scenario(scenario)), seed, backend,
                             rto=rto_s)


def show_drill(answer: dict[str, Any]) -> None:
    """The drill's checks and its time to healthy against the RTO."""
    table = Table("check", "status", "detail", title="health checks", title_justify="left")
    for check in answer["checks"]:
        table.add_row(check["check"], f"[{CHECK_STYLES[check['status']]}]{check['status']}[/]",
                      check["detail"] or "")
    out.print(table)
    healthy, target = answer["time_to_healthy_s"], answer["rto_s"]
    against = "no RTO given" if target is None else (
        f"RTO {clock(target)}: {'met' if answer['rto_met'] else 'missed'}")
    shown = clock(healthy) if healthy is not None else "never (the drill failed)"
    out.print(f"time to healthy {shown} ({against})")
    verdict = "[bold green]drill passed[/]" if answer["passed"] else "[bold red]drill failed[/]"
    out.print(verdict)
    if not answer["passed"] and healthy is None:
        err.print("the drill's resources were removed (see 'left behind' above)")
