"""The scenario's ``drill``: the health checks of a restore drill (``restorelab drill``,
``target.mode: drill``) and their time limit."""

from __future__ import annotations

from pydantic import Field

from restore.scenario_types import Duration, Strict

DEFAULT_CHECK_TIMEOUT_S = 900.0


class DrillSettings(Strict):
    script: str | None = Field(default=None, min_length=1, description=(
        "a shell script run in the restored VM's guest (Linux, through Run Command): the "
        "drill passes only if it exits 0"))
    timeout: Duration = Field(default=DEFAULT_CHECK_TIMEOUT_S, description=(
        "each health check's time limit: the VM agent Ready, the disks mounted, the script "
        "(default 15m)"))
    mounts: bool = Field(default=True, description=(
        "check that each restored data disk has a mounted file system"))
