"""The repository in a blob container, against Azurite (the Azure Storage emulator): round
trip, incremental backup, archive tier and rehydration.

Azurite comes from tests/azurite.py (CI installs it; elsewhere these tests skip without it).
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
from dataclasses import replace

import pytest
from helpers import scenario_dict

pytest.importorskip("azure.storage.blob")

from azurite import read_sas_url  # noqa: E402

from datapath import delivery  # noqa: E402
from datapath.agent import ChunkError, restore_disk  # noqa: E402
from datapath.blob import BlobStore  # noqa: E402
from datapath.repository import HttpStore, SourceDisk, backup, chunk_name  # noqa: E402
from restore import parse_scenario  # noqa: E402
from restore.backends.bytes_mode import DataPath  # noqa: E402
from restore.backends.sim import prepare, run  # noqa: E402

pytest_plugins = ["azurite"]  # the azurite fixture
CHUNK = 64 * 1024


@pytest.fixture
def store(azurite, request):
    return BlobStore.from_connection_string(azurite, request.node.name.replace("_", "-")[:60])


def disk_image(seed: int) -> bytes:
    rng = random.Random(seed)
    return b"".join(bytes(CHUNK) if i % 3 == 1 else rng.randbytes(CHUNK)
                    for i in range(6)) + rng.randbytes(777)


def back_up(store, data: bytes, restore_point: str):
    return backup({"name": "app01"}, [SourceDisk("os", None, "Premium_LRS", io.BytesIO(data))],
                  store, restore_point, chunk_size=CHUNK)


def test_round_trip_through_a_blob_container(store, tmp_path):
    data = disk_image(1)
    manifest, stats = back_up(store, data, "rp1")
    assert stats.stored == stats.chunks - stats.zero
    assert "restore-points/app01/rp1.json" in store.names("restore-points/")
    result = restore_disk(manifest.disks[0], store, tmp_path / "os.img")
    assert result.verified and (tmp_path / "os.img").read_bytes() == data


def test_incremental_backup_in_a_blob_container(store):
    data = bytearray(disk_image(2))
    back_up(store, bytes(data), "rp1")
    data[0] ^= 1
    _, stats = back_up(store, bytes(data), "rp2")
    assert stats.stored == 1


def test_archived_restore_point_needs_rehydration(store, tmp_path):
    data = disk_image(3)
    manifest, _ = back_up(store, data, "rp1")
    chunks = [chunk_name(c) for c in manifest.disks[0].chunks if c]
    store.archive(chunks)
    assert {store.tier(c) for c in chunks} == {"Archive"}
    with pytest.raises(ChunkError, match="archive tier"):
        restore_disk(manifest.disks[0], store, tmp_path / "os.img")
    store.rehydrate(chunks, priority="High")
    assert restore_disk(manifest.disks[0], store, tmp_path / "os.img").verified


def test_agent_reads_the_container_over_http_with_a_sas(store, tmp_path):
    """On a worker the agent has only the standard library and zstandard: it fetches the
    chunks with plain GETs on the container URL and its SAS."""
    data = disk_image(4)
    back_up(store, data, "rp1")
    container = store.container
    archive = tmp_path / "agent.pyz"
    archive.write_bytes(delivery.agent_zipapp())
    writes = json.dumps([{"lun": 0, "disk": "restored-os", "source": "os"}])

    def agent(url: str) -> tuple[int, dict]:
        ran = subprocess.run([sys.executable, "-I", str(archive), "--store", url,
                              "--restore-point", "restorepoints/app01/rp1", "--writes", writes,
                              "--device-pattern", str(tmp_path / "lun{lun}.img")],
                             capture_output=True, text=True, timeout=120, check=False)
        return ran.returncode, json.loads(ran.stdout.strip().splitlines()[-1])

    url = read_sas_url(store)
    assert HttpStore(url).exists("restore-points/app01/rp1.json")
    assert not HttpStore(url).exists("restore-points/app01/nope.json")
    code, report = agent(url)
    assert code == 0 and report["restored"] == ["restored-os"]
    assert (tmp_path / "lun0.img").read_bytes() == data
    code, report = agent(container.url)  # no SAS: the private container is not readable
    assert code == 1 and report["error"]["code"] in ("RestorePointNotFound", "AgentError")


IMAGE_LEVEL_PATHS = [("hot", None, "original"), ("hot", None, "new"),
                     ("archive", "standard", "original"), ("archive", "high", "new")]


@pytest.mark.parametrize("backend", ["sim", "fake-arm"])
@pytest.mark.parametrize("tier, priority, location", IMAGE_LEVEL_PATHS)
def test_bytes_round_trip_through_a_container(azurite, request, tier, priority, location,
                                              backend):
    """Backup into the container (archive tier: chunks archived), restore with the
    rehydration's real tier calls and the agent reading the container (on fake-arm the
    delivered agent, over HTTP with a read SAS); every disk's digest checked."""
    if backend == "fake-arm":
        pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    name = f"rt-{tier}-{priority or 'none'}-{location}-{backend}"
    store = BlobStore.from_connection_string(azurite, name)
    raw = {**scenario_dict(tier=tier, priority=priority, location=location),
           "data": {"mode": "bytes", "size_mb": 2}}
    prepared = prepare(parse_scenario(raw))
    data = DataPath.back_up(prepared.plan, 2, store=store, agent_url=read_sas_url(store))
    prepared = replace(prepared, data=data)
    if backend == "sim":
        report = run(prepared, seed=1)
    else:
        from restore.backends import fake_arm

        report = fake_arm.run(prepared, 1, [])
    assert report.status == "succeeded" and report.data_verified is True
    chunks = data.archived or [n for n in store.names("chunks/")]
    assert {store.tier(c) for c in chunks} == {"Hot"}
