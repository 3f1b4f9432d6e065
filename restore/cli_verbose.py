"""`-v/--verbose`: each ARM request an SDK backend sends, on stderr as it is answered."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from restore.cli_output import clock
from restore.errors import ScenarioError
from restore.ops import ARM_LOGGER

SENDS_ARM_REQUESTS = ("fake-arm", "azure")
"""The backends whose restores go through Azure Resource Manager's REST API."""

VerboseOpt = Annotated[bool, typer.Option(
    "--verbose", "-v", help="Show each ARM request as it is answered, on stderr: the "
    "restore's clock, the step and operation sending it, method, path and status "
    "(backends fake-arm and azure; the sim backend sends none).")]


def refuse_without_requests(verbose: bool, backend: str, where: str) -> None:
    """``--verbose`` on a backend that sends no ARM request could never show anything."""
    if verbose and backend not in SENDS_ARM_REQUESTS:
        raise ScenarioError(where, "--verbose", f"shows ARM requests, and the {backend!r} "
                            f"backend sends none: use --backend fake-arm")


class RequestLines(logging.Handler):
    """One line per ARM request: '0:03:12  create_empty_disks/create_disk  PUT /... 201'."""

    def __init__(self, console: Console) -> None:
        super().__init__(logging.INFO)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        at_s = getattr(record, "at_s", None)
        when = "-:--:--" if at_s is None else clock(at_s)
        sender = getattr(record, "operation", None) or "(reading)"
        self.console.print(Text(f"{when:>8}  ", style="dim") + Text(sender, style="cyan")
                           + Text(f"  {record.getMessage()}"), soft_wrap=True)


@contextmanager
def showing_requests(verbose: bool, console: Console) -> Iterator[None]:
    """While inside, with ``verbose``, every ARM request is printed on ``console``."""
    if not verbose:
        yield
        return
    logger = logging.getLogger(ARM_LOGGER)
    handler, level = RequestLines(console), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
