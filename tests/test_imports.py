"""The CLI loads what a command needs only: `import restore.cli`, `--help`, `simulate` and
`sweep` on the default scenario load no pandas, matplotlib, Azure SDK, Dask or responses,
nor the bytes data path (a regression guard; benchmarks/bench_import.py measures the time)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import ROOT

HEAVY = {"pandas", "matplotlib", "azure", "dask", "responses"}
BYTES_PATH = {"datapath.agent", "datapath.repository", "zstandard", "restore.backends.bytes_mode"}
RUN = """
import json, sys
from restore.cli import app
args = json.loads(sys.argv[1])
if args:
    from typer.testing import CliRunner
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
print(json.dumps(sorted(sys.modules)))
"""


def loaded_after(args: list[str]) -> set[str]:
    """The modules of a fresh interpreter after ``import restore.cli`` and running the CLI
    with ``args`` (none: the import alone)."""
    ran = subprocess.run([sys.executable, "-c", RUN, json.dumps(args)], capture_output=True,
                         text=True, cwd=ROOT, check=False, timeout=120)
    assert ran.returncode == 0, ran.stderr
    return set(json.loads(ran.stdout))


@pytest.mark.parametrize("args", [[], ["--help"], ["simulate", "--json"],
                                  ["sweep", "--runs", "20", "--workers", "1", "--json"]],
                         ids=lambda args: " ".join(args) or "import")
def test_the_cli_loads_no_heavy_package_nor_the_bytes_data_path(args):
    modules = loaded_after(args)
    assert "restore.cli" in modules  # the check sees what was imported
    assert not {m.split(".")[0] for m in modules} & HEAVY
    assert not modules & BYTES_PATH


def test_importing_the_cli_loads_no_scenario_model_engine_or_backend():
    modules = loaded_after([])
    assert not {"restore.scenario", "restore.engine", "restore.report"} & modules
    assert not [m for m in modules if m.startswith(("restore.backends", "fakecloud", "datapath"))]


def test_bytes_mode_loads_the_bytes_data_path():
    assert loaded_after(["simulate", "orig-hot-bytes", "--json"]) >= BYTES_PATH
