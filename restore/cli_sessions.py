"""`restorelab sessions`: the history of restores, simulations with a journal and resumes
(``restore.sessions``): list, show one with its timeline, prune old ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from restore.cli import JsonOpt, SessionsOpt, _guarded, app
from restore.cli_output import (
    STEP_STYLES,
    HtmlOpt,
    clock,
    out,
    show_report,
    write_report_html,
)
from restore.errors import SessionError
from restore.sessions import Sessions, parse_age

sessions_app = typer.Typer(
    help="The sessions store: every `restore`, `simulate --journal` and `resume`, with its "
    "status, steps and report. Without a command: list the latest.",
    no_args_is_help=False)
app.add_typer(sessions_app, name="sessions")

StoreOpt = Annotated[Path | None, typer.Option(
    "--sessions", help="The sessions store (default: the one `restorelab sessions` names).")]
"""A subcommand's own --sessions: given there, it wins over the group's (and its
environment variable)."""
STATUS_STYLES = {**STEP_STYLES, "rolled_back": "red", "error": "red", "running": "cyan"}


@sessions_app.callback(invoke_without_command=True)
def sessions_list(
    ctx: typer.Context,
    sessions: SessionsOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, latest first.")] = 50,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the sessions as a JSON list (for scripts and CI).")] = False,
) -> None:
    """List the latest sessions (rich table, or --json)."""
    ctx.obj = sessions
    if ctx.invoked_subcommand is not None:
        return
    _emit(_guarded(lambda: _read(sessions, lambda store: store.list(limit))), as_json,
          show_sessions)


def _emit(found: Any, as_json: bool, show: Callable[[Any], None]) -> None:
    """What was read: as JSON, or shown by ``show``."""
    if as_json:
        print(json.dumps(found, indent=2))
    else:
        show(found)


@sessions_app.command("show")
def sessions_show(
    ctx: typer.Context,
    session: Annotated[str, typer.Argument(help="The session's id (`restorelab sessions`).")],
    sessions: StoreOpt = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the session as JSON, its scenario and report included.")] = False,
    html: HtmlOpt = None,
) -> None:
    """Show one session: what ran, how it ended, and its timeline."""
    found = _guarded(lambda: _read(sessions or ctx.obj, lambda store: store.get(session)))
    _emit(found, as_json, show_session)
    if html is not None:
        _guarded(lambda: _write_session_html(found, html))


def _write_session_html(found: dict[str, Any], path: Path) -> None:
    if not found["report"]:
        raise SessionError(f"session {found['id']} ({found['status']}) has no report: "
                           f"nothing to write to {path}")
    write_report_html(found["report"], path)


@sessions_app.command("prune")
def sessions_prune(
    ctx: typer.Context,
    older_than: Annotated[str, typer.Option(
        "--older-than", help="Remove the sessions started longer ago than this: a number "
        "and a unit, s, m, h, d or w (30d, 12h).")],
    sessions: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove old sessions (those still running are kept)."""
    age_s = _guarded(lambda: parse_age(older_than))
    removed = _guarded(lambda: _read(sessions or ctx.obj, lambda store: store.prune(age_s)))
    if as_json:
        print(json.dumps({"removed": removed, "older_than_s": age_s}))
    else:
        out.print(f"removed {removed} session(s) started more than {older_than.strip()} ago")


def _read(path: Path | None, action: Any) -> Any:
    with Sessions(path) as store:
        return action(store)


def show_sessions(listed: list[dict[str, Any]]) -> None:
    table = Table(title="Sessions, latest first (times in UTC)", title_justify="left",
                  box=None, header_style="bold")
    for heading in ("id", "started", "command", "scenario", "backend", "status", "duration"):
        table.add_column(heading, no_wrap=heading != "started",  # a date above its time
                         min_width=10 if heading == "started" else len(heading),
                         justify="right" if heading in ("id", "duration") else "left")
    for s in listed:
        table.add_row(str(s["id"]), s["started_at"].replace("T", " ")[:16], s["command"],
                      s["scenario"], s["backend"], _status(s["status"]),
                      _clock(s["duration_s"]))
    out.print(table)
    if not listed:
        out.print("no sessions yet: `restorelab simulate --journal`, `restore` and `resume` "
                  "are recorded")


def show_session(found: dict[str, Any]) -> None:
    out.print(Text(f"session {found['id']}: {found['command']} of {found['scenario']} on "
                   f"{found['backend']}, ", style="bold") + _status(found["status"]))
    wall = "" if found["wall_s"] is None else f" ({found['wall_s']:,.1f} s)"
    out.print(f"started {found['started_at']}, ended {found['ended_at'] or '-'}{wall}")
    for label, key in (("journal", "journal"), ("restore id", "restore_id"), ("seed", "seed"),
                       ("resumes", "resumes")):
        if found[key] is not None:
            out.print(f"{label:<11}{found[key]}", highlight=False, soft_wrap=True)
    if found["resumed_by"]:
        out.print(f"resumed by {', '.join(map(str, found['resumed_by']))}")
    if found["error"]:
        out.print(Text(f"error      {found['error']}", style="red"), soft_wrap=True)
    if found["report"]:
        show_report(SimpleNamespace(**found["report"]))
    elif found["status"] == "interrupted" and found["journal"]:
        out.print(f"its process is gone; finish it with: restorelab resume {found['journal']}",
                  soft_wrap=True)


def _status(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def _clock(seconds: float | None) -> str:
    return "-" if seconds is None else clock(seconds)
