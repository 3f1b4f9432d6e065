"""Help text as paragraphs: the commands' docstrings are wrapped at 88 columns in the
source, and `--help` rewraps them to the terminal, so a docstring's own line breaks
inside a paragraph are dropped (typer keeps them after the first paragraph)."""

from __future__ import annotations

import inspect

import typer


def reflow(text: str) -> str:
    """``text`` with each paragraph (blank-line separated) on one line."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def reflow_help(app: typer.Typer) -> None:
    """Every command's and group's help in ``app`` (its sub-apps too) as paragraphs."""
    if app.info.help:
        app.info.help = reflow(app.info.help)
    for command in app.registered_commands:
        command.help = reflow(command.help or inspect.getdoc(command.callback) or "")
    for group in app.registered_groups:
        reflow_help(group.typer_instance)
