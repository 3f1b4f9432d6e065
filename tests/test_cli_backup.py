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
