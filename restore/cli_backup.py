"""`restorelab backup`: a restore point with real bytes (seeded source disks, stored as
content-addressed zstd chunks) in a local repository."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import typer

import restore
from restore.cli import DEFAULT_SCENARIO, JsonOpt, ScenarioArg, _guarded, _naming, app, err
from restore.cli_output import out
from restore.errors import ScenarioError
from restore.shipped import find_scenario


@app.command()
def backup(
    scenario: ScenarioArg = DEFAULT_SCENARIO,
    repository: Annotated[Path, typer.Option(
        "--repository", help="Local repository directory (created if missing).")] = Path(
        "restorelab-repository"),
    size_mb: Annotated[int | None, typer.Option(
        "--size-mb", min=1, max=1024, help="MB of seeded bytes per disk (default: the "
        "scenario's data.size_mb, else 64).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Back up the source VM of SCENARIO into a repository: its disks hold seeded bytes,
    stored as content-addressed zstd chunks; a chunk already stored is not stored again."""
    stats = _guarded(lambda: _backup(scenario, repository, size_mb, show=not as_json))
    if as_json:
        print(json.dumps(stats, indent=2))
    else:
        out.print(f"restore point {stats['restore_point']} of {stats['vm']}: "
                  f"{stats['chunks']} chunks ({stats['zero']} zero), {stats['stored']} new "
                  f"stored, {stats['bytes_read'] / 2**20:,.1f} MB read, "
                  f"{stats['bytes_stored'] / 2**20:,.1f} MB written")
        out.print(f"manifest: {stats['manifest']}")


def _backup(scenario: str, repository: Path, size_mb: int | None,
            show: bool) -> dict[str, Any]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from datapath.repository import LocalStore, manifest_name
    from datapath.repository import backup as back_up
    from restore.backends.bytes_mode import seeded_size, source_disks
    from restore.backends.data import CHUNK, vm_config

    loaded = restore.load_scenario(find_scenario(scenario))
    size = size_mb or (loaded.data.size_mb if loaded.data else 64)
    with _naming(scenario):
        plan = restore.plan_for(loaded)
    store, vm = LocalStore(repository), vm_config(plan)
    name = str(vm["name"])
    total = sum(seeded_size(d.size_gb, size) for d in plan.context.disks)
    try:
        point = f"rp-{len(store.names(f'restore-points/{name}/')) + 1:04d}"
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(),
                      console=err, transient=True, disable=not show) as bar:
            seeding = bar.add_task(f"seeding {name}'s disks with test bytes", total=total)
            disks = source_disks(plan, size, lambda done: bar.advance(seeding, done))
            task = bar.add_task(f"backing up {name}", total=total)
            _, stats = back_up(vm, disks, store, point, chunk_size=CHUNK,
                               progress=lambda done: bar.advance(task, done))
    except OSError as exc:
        raise ScenarioError(str(repository), "--repository",
                            f"cannot use it ({exc.strerror})") from None
    return {"vm": name, "restore_point": point,
            "manifest": str(repository / manifest_name(name, point)),
            **dataclasses.asdict(stats)}
