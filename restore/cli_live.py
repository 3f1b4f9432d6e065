"""`restorelab restore`: a real restore in an Azure subscription, read first, confirmed
before the source is removed, with progress and a journal to resume from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from restore.cli import (
    DEFAULT_SCENARIO,
    EXIT_BAD_INPUT,
    JsonOpt,
    RehydrateOpt,
    RepositoryOpt,
    ScenarioArg,
    SessionsOpt,
    SourceGroupOpt,
    SourceVmOpt,
    SubscriptionOpt,
    _error,
    _finish,
    _guarded,
    _prepare_live,
    app,
    container_repository,
    err,
    warn_unrecorded,
)
from restore.cli_output import HtmlOpt, short, show_changes
from restore.cli_verbose import VerboseOpt, showing_requests
from restore.errors import ScenarioError
from restore.sessions import Sessions

if TYPE_CHECKING:
    from restore.report import Report


@app.command("restore")
def restore_in_azure(
    scenario: ScenarioArg = DEFAULT_SCENARIO,
    backend: Annotated[str, typer.Option(
        "--backend", help="Only 'azure': a real restore. To try a scenario without a "
        "subscription use `restorelab simulate` (--backend sim or fake-arm).")] = "azure",
    subscription: SubscriptionOpt = None,
    source_vm: SourceVmOpt = None,
    source_group: SourceGroupOpt = None,
    repository: RepositoryOpt = None,
    rehydrate_with: RehydrateOpt = None,
    yes: Annotated[bool, typer.Option(
        "--yes", "-y", help="Do not ask before removing the source VM (original-location "
        "restores); for scripts and CI.")] = False,
    journal: Annotated[Path | None, typer.Option(
        "--journal", help="Keep the restore's progress in this new file (sqlite); a restore "
        "stopped midway (Ctrl-C, a lost machine) is finished with `restorelab resume "
        "JOURNAL`.")] = None,
    sessions: SessionsOpt = None,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = False,
    html: HtmlOpt = None,
) -> None:
    """Restore the VM of SCENARIO in a real Azure subscription.

    Signs in with DefaultAzureCredential (az login, managed identity, or AZURE_CLIENT_ID /
    AZURE_TENANT_ID / AZURE_CLIENT_SECRET). First, all reads: the source VM is read from
    Azure (size, disks, network; the scenario's source_vm names it), and the preflight
    checks the restore point, target group and region, free names, quotas and VM sizes.
    Then, if the restore removes the source (original location), it asks before going on.
    Every resource it creates is tagged with the restore id. The restore is recorded in
    the sessions store (`restorelab sessions`).

    Exit code: 0 succeeded, 1 failed, rolled back or not confirmed, 2 bad input (scenario,
    flags, source not found, sign-in), 3 stopped midway (resume with the journal).
    """
    if backend != "azure":
        _error(ScenarioError("--backend", "", f"restore runs on 'azure' only, not {backend!r}; "
                             f"simulate with `restorelab simulate {scenario} --backend "
                             f"{'fake-arm' if backend == 'fake-arm' else 'sim'}`"))
        raise typer.Exit(EXIT_BAD_INPUT)
    with showing_requests(verbose, err):
        live = _guarded(lambda: _prepare_live(
            scenario, subscription, source_vm, source_group,
            container_repository(repository, rehydrate_with), show=not as_json))
        if not as_json:
            show_changes(live.creates, live.deletes, live.plan.context.unrestored_disks)
        if live.removes_source and not yes and not _confirmed(live):
            err.print("not confirmed: nothing was changed.")
            raise typer.Exit(1)
        report = _guarded(lambda: _run_live(live, journal, sessions, show=not as_json))
    _finish(report, as_json, journal, html)


def _confirmed(live: Any) -> bool:
    ctx = live.plan.context
    vm, lost, replace = ctx.source.vm, ctx.unrestored_disks, ctx.replace
    losing = f" ({len(lost)} of them not restored: lost)" if lost else ""
    question = (f"This restore deallocates the VM {short(vm)} and swaps {len(replace.swaps)} "
                f"of its disks for the restored ones (the old ones "
                f"{'deleted once it runs' if replace.delete_replaced else 'kept, detached'})."
                if replace else f"This restore removes the source VM {short(vm)} and its "
                f"disks{losing}, replacing them with the restored ones.")
    try:
        return typer.confirm(f"{question} Go on?", default=False, err=True)
    except typer.Abort:  # no answer (stdin closed)
        return False


@contextmanager
def live_progress(show: bool, total: int | None = None) -> Iterator[LiveProgress]:
    """A progress bar on stderr for a real restore (its operations done of ``total``);
    the rehydration of an archived restore point is also printed as a line each time it
    moves when stderr is no terminal (a CI log), since it may take hours."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.elapsed:>5.0f} s"), console=err, transient=True,
                  disable=not show) as bar:
        yield LiveProgress(bar, bar.add_task("restoring", total=total),
                           show and not err.is_terminal)


@dataclass
class LiveProgress:
    """The callbacks a real restore reports to: each operation, each rehydration look."""

    bar: Any
    task: Any
    lines: bool  # print each new rehydration state as a line
    _last: str = ""

    def operation(self, ticket: Any) -> None:
        if ticket.end_s is not None:
            self.bar.update(self.task, advance=1, description=ticket.step)

    def rehydration(self, rehydration: Any) -> None:
        said = f"retrieve_archived_data: {rehydration.summary()}"
        self.bar.update(self.task, description=said)
        if self.lines and said != self._last:
            err.print(said, soft_wrap=True)
        self._last = said


def resume_on_azure(journal: Path, repository: Any, show: bool) -> Report:
    """Finish a real restore from its journal, its progress (a rehydration's too) shown."""
    from restore.backends import live as live_backend

    with live_progress(show) as shown:
        return live_backend.resume(journal, repository=repository, progress=shown.operation,
                                   rehydrating=shown.rehydration)


def _run_live(live: Any, journal: Path | None, store: Path | None, show: bool) -> Report:
    from restore.backends import live as live_backend
    from restore.engine import dry_run
    from restore.plan import RESTORE_ID_TAG

    total = sum(1 for _ in dry_run(live.plan))
    with Sessions(store) as sessions, live_progress(show, total) as shown:
        try:
            return warn_unrecorded(sessions, sessions.run(
                lambda: live_backend.run(live, journal, shown.operation,
                                         rehydrating=shown.rehydration),
                "restore", live.scenario.model_dump(mode="json"), "azure", journal=journal))
        except KeyboardInterrupt:
            hint = (f"finish it with: restorelab resume {journal}" if journal else
                    f"what it created is tagged {RESTORE_ID_TAG}={live.plan.context.restore_id}")
            err.print(f"stopped midway; {hint}")
            raise typer.Exit(3) from None
