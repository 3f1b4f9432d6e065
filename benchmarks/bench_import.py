"""The CLI's start: fresh processes importing `restore.cli`, against the interpreter's own
start (``python -c pass``), in one run; and the heavy packages that import loads.

    python benchmarks/bench_import.py [--rounds 20] [--against DIR] [--json]

The issue's goal: ``import restore.cli`` in under half the wall time it took before (0.75 s
on the reference machine), loading none of pandas, matplotlib, azure, dask, responses or
numpy. ``--against DIR`` also measures the checkout in DIR (say ``git worktree add
/tmp/before HEAD~1``) in the same run: its processes start in DIR, DIR on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from timing import best_of

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "matplotlib", "azure", "dask", "responses", "numpy")
LOADED = "import json, sys, restore.cli; print(json.dumps(sorted(sys.modules)))"


def run(command: list[str], checkout: Path) -> str:
    """What ``command`` prints, run in ``checkout`` with its packages first on the path."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    return subprocess.run(command, cwd=checkout, env=env, check=True, capture_output=True,
                          text=True).stdout


def heavy_loaded(checkout: Path) -> list[str]:
    """The HEAVY packages in ``sys.modules`` after ``import restore.cli``."""
    modules = json.loads(run([sys.executable, "-c", LOADED], checkout))
    return sorted({m.split(".")[0] for m in modules} & set(HEAVY))


def figures(rounds: int, checkout: Path) -> dict[str, object]:
    """Wall times of the interpreter's start, ``import restore.cli`` and ``restorelab
    --help`` (best of ``rounds`` fresh processes each), their ratio, and the heavy
    packages loaded."""
    python = sys.executable
    script = str(Path(python).with_name("restorelab"))  # not a shim that would start a shell

    def wall_s(*command: str) -> float:
        return best_of(rounds, lambda: run(list(command), checkout))

    baseline_s = wall_s(python, "-c", "pass")
    import_s = wall_s(python, "-c", "import restore.cli")
    help_s = wall_s(script, "--help")
    return {"baseline_s": round(baseline_s, 6), "import_s": round(import_s, 6),
            "help_s": round(help_s, 6), "ratio_import_to_baseline": round(import_s / baseline_s, 2),
            "heavy_loaded": heavy_loaded(checkout)}


def show(label: str, found: dict[str, object]) -> None:
    print(f"{label}:")
    print(f"  python -c pass (interpreter start): {found['baseline_s'] * 1000:7.1f} ms")
    print(f"  python -c 'import restore.cli':     {found['import_s'] * 1000:7.1f} ms "
          f"(ratio import/baseline: {found['ratio_import_to_baseline']:.2f})")
    print(f"  restorelab --help:                  {found['help_s'] * 1000:7.1f} ms")
    print(f"  heavy packages loaded by the import: {', '.join(found['heavy_loaded']) or 'none'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--against", type=Path, help="another checkout to measure too")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    found = {"this": figures(args.rounds, ROOT)}
    if args.against:
        against = figures(args.rounds, args.against.resolve())
        found["against"] = against
        found["import_vs_against"] = round(found["this"]["import_s"] / against["import_s"], 2)
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        print(f"best of {args.rounds} fresh processes each")
        show("this checkout", found["this"])
        if args.against:
            show(str(args.against), found["against"])
            print(f"import restore.cli, this checkout / {args.against}: "
                  f"{found['import_vs_against']:.2f} (goal under 0.5)")
    return 1 if found["this"]["heavy_loaded"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
