"""`restorelab backup`: restore points of a scenario's VM, incremental by chunk."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from datapath.agent import restore_disk
from datapath.repository import LocalStore, load_manifest
from restore.backends.data import seeded_bytes
from restore.cli import app

runner = CliRunner()


def test_backup_twice_stores_the_unchanged_chunks_once(tmp_path):
    repo = tmp_path / "repo"
    first = runner.invoke(app, ["backup", "orig-hot-bytes", "--repository", str(repo),
                                "--json"])
    assert first.exit_code == 0, first.output
    one = json.loads(first.stdout)
    assert one["restore_point"] == "rp-0001" and one["stored"] == one["chunks"] - one["zero"] > 0
    second = json.loads(runner.invoke(app, ["backup", "orig-hot-bytes", "--repository",
                                            str(repo), "--json"]).stdout)
    assert second["restore_point"] == "rp-0002" and second["stored"] == 0
    manifest = load_manifest(LocalStore(repo), one["vm"], "rp-0002")
    disk = manifest.disks[0]
    result = restore_disk(disk, LocalStore(repo), tmp_path / "os.img")
    assert result.verified
    assert (tmp_path / "os.img").read_bytes() == seeded_bytes(disk.name, disk.size_bytes)


def test_backup_into_an_unwritable_place_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = runner.invoke(app, ["backup", "orig-hot-bytes", "--repository",
                                 str(blocker / "repo")])
    assert result.exit_code == 2 and "--repository" in result.stderr
    assert "Traceback" not in result.output


def test_the_progress_bar_is_up_before_the_disks_are_seeded(tmp_path, monkeypatch):
    """A GB of seeded bytes takes seconds to make: the bar shows that work too, instead
    of a blank screen until the backup starts."""
    import rich.progress

    from restore.backends import bytes_mode

    events = []
    add_task, advance = rich.progress.Progress.add_task, rich.progress.Progress.advance
    monkeypatch.setattr(rich.progress.Progress, "add_task", lambda self, text, **kw: (
        events.append(("bar", text)), add_task(self, text, **kw))[1])
    monkeypatch.setattr(rich.progress.Progress, "advance", lambda self, task, done: (
        events.append(("advance", task)), advance(self, task, done))[1])
    made = bytes_mode.seeded_bytes
    monkeypatch.setattr(bytes_mode, "seeded_bytes", lambda label, size: (
        events.append(("seed", label)), made(label, size))[1])
    result = runner.invoke(app, ["backup", "orig-hot-bytes", "--repository",
                                 str(tmp_path / "repo"), "--size-mb", "2"])
    assert result.exit_code == 0, result.output
    seeds = [i for i, (kind, _) in enumerate(events) if kind == "seed"]
    assert events[0] == ("bar", "seeding web03's disks with test bytes") and seeds
    assert all(events[i + 1][0] == "advance" for i in seeds)  # each disk moves the bar
    assert events[seeds[-1] + 2] == ("bar", "backing up web03")
