"""The example scenarios shipped with restorelab, found by name (no pydantic: the CLI
needs them before it loads any scenario)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from restore.errors import ScenarioError

DEFAULT_SCENARIO = "orig-hot-backup"
"""The shipped scenario `restorelab simulate` runs when given none."""


def shipped_scenarios() -> dict[str, Path]:
    """The example scenarios shipped with restorelab, by name (file stem)."""
    folder = files("restore.scenarios")
    return {p.name.removesuffix(".yaml"): Path(str(p))
            for p in sorted(folder.iterdir(), key=lambda p: p.name) if p.name.endswith(".yaml")}


def find_scenario(name_or_path: str) -> Path:
    """A scenario file by path, or a shipped scenario by name (``orig-snapshot``)."""
    path = Path(name_or_path)
    if path.exists() or path.suffix in (".yaml", ".yml"):
        return path
    shipped = shipped_scenarios()
    if name_or_path in shipped:
        return shipped[name_or_path]
    raise ScenarioError(name_or_path, "", "no such file, nor a shipped scenario "
                        f"(shipped: {', '.join(shipped)})")
