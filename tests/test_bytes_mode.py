"""Scenarios with real bytes: the source disks are backed up into a repository, and the
simulated worker runs the real restore agent, whose digests make `data_verified`."""

from __future__ import annotations

import pytest
from helpers import RESTORE_ID_TAG, by_id, make_scenario, scenario_dict

from restore import parse_scenario
from restore.backends.bytes_mode import DataPath
from restore.backends.sim import prepare, run


def bytes_scenario(**kwargs):
    return parse_scenario({**scenario_dict(**kwargs), "data": {"mode": "bytes", "size_mb": 3}})


@pytest.mark.parametrize(("tier", "priority", "location"), [
    ("hot", None, "original"), ("hot", None, "new"), ("archive", "high", "original"),
    ("archive", "standard", "new")])
def test_bytes_are_restored_and_verified_on_every_image_level_path(tier, priority, location):
    prepared = prepare(bytes_scenario(tier=tier, priority=priority, location=location))
    report = run(prepared, seed=1)
    assert report.status == "succeeded" and report.data_verified is True
    assert set(prepared.data.disks) == {d.id.lower() for d in prepared.plan.context.disks}


def test_without_bytes_nothing_is_verified():
    assert run(prepare(make_scenario()), seed=1).data_verified is None


SNAPSHOT_TARGETS = [
    pytest.param({"location": "original"}, id="original"),
    pytest.param({"location": "new"}, id="new"),
    pytest.param({"location": "new", "target": {"region": "northeurope"}}, id="other-region"),
]


@pytest.mark.parametrize("target", SNAPSHOT_TARGETS)
@pytest.mark.parametrize("backend", ["sim", "fake-arm"])
def test_the_snapshot_path_restores_each_disk_from_its_own_snapshot(target, backend):
    """No agent: Azure copies snapshot -> (copy in the target region) -> disk; every
    restored disk must end with its own source disk's bytes."""
    prepared = prepare(bytes_scenario(kind="snapshot", **target))
    report = RUNNERS[backend](prepared)
    assert report.status == "succeeded" and report.data_verified is True
    assert len(prepared.data.expected) == len(prepared.plan.context.disks) == 3


def test_a_snapshot_holding_other_bytes_is_caught():
    prepared = prepare(bytes_scenario(kind="snapshot", location="new"))
    first, second = (d.snapshot.lower() for d in prepared.plan.context.disks[:2])
    contents = prepared.data.contents
    contents[first], contents[second] = contents[second], contents[first]
    report = run(prepared, seed=1)
    assert report.status == "succeeded" and report.data_verified is False


def _fake_arm(prepared):
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    from restore.backends import fake_arm

    return fake_arm.run(prepared, 1, [])


RUNNERS = {"sim": lambda prepared: run(prepared, seed=1), "fake-arm": _fake_arm}


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_a_bad_chunk_names_disk_and_chunk_and_rolls_back(damage):
    prepared = prepare(bytes_scenario(location="original"))
    store = prepared.data.store
    victim = sorted(n for n in store.objects if n.startswith("chunks/"))[0]
    if damage == "corrupt":
        store.objects[victim] = store.objects[sorted(store.objects)[1]]  # another chunk's bytes
    else:
        del store.objects[victim]
    report = run(prepared, seed=1)
    assert report.status == "rolled_back" and report.data_verified is False
    assert report.error["code"] == "DataCorrupted" and report.error["step"] == "restore_data"
    assert "chunk" in report.error["message"] and "disk '" in report.error["message"]
    assert ("missing" if damage == "missing" else "sha256") in report.error["message"]
    assert report.source_intact and report.leaked == []
    assert not [i for i, r in by_id(report).items() if r["tags"].get(RESTORE_ID_TAG)]


def test_an_archived_restore_point_is_unreadable_until_rehydrated(monkeypatch):
    """The chunks really are in the archive tier: skip the tier call and the agent fails."""
    prepared = prepare(bytes_scenario(tier="archive", priority="high", location="new"))
    assert prepared.data.archived and all(n.startswith("chunks/") for n in prepared.data.archived)
    monkeypatch.setattr(DataPath, "rehydrate", lambda self, priority: None)
    report = run(prepared, seed=1)
    assert report.status == "rolled_back" and report.error["code"] == "DataCorrupted"
    assert "archive tier" in report.error["message"]
