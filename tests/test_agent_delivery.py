"""The restore agent on its way to a worker: a zipapp in cloud-init custom data, a
`restorelab-agent` command, run by Run Command; under the ARM fake the delivered archive
itself restores the bytes."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys

import pytest
import yaml
from helpers import SUBSCRIPTION, scenario_dict

from datapath import delivery
from datapath.repository import LocalStore, SourceDisk, backup, chunk_name
from restore import parse_scenario
from restore.backends.data import seeded_bytes
from restore.backends.sim import prepare

MB = 1024 * 1024


def run_agent(folder, *args: str) -> tuple[int, dict]:
    archive = folder / "agent.pyz"
    archive.write_bytes(delivery.agent_zipapp())
    ran = subprocess.run([sys.executable, "-I", str(archive), *args], capture_output=True,
                         text=True, timeout=120, check=False)
    return ran.returncode, json.loads(ran.stdout.strip().splitlines()[-1])


@pytest.fixture
def repository(tmp_path):
    """A local repository holding restore point rp1 of vm1: two disks of seeded bytes."""
    store = LocalStore(tmp_path / "repository")
    disks = {name: seeded_bytes(name, 3 * MB) for name in ("os", "data0")}
    manifest, _ = backup({"name": "vm1"}, [SourceDisk(n, None if n == "os" else 0, "Premium_LRS",
                                                      io.BytesIO(b)) for n, b in disks.items()],
                         store, "rp1", chunk_size=MB)
    return store, manifest, disks


def test_custom_data_is_a_cloud_config_that_installs_the_agent_and_its_command():
    config = base64.b64decode(delivery.custom_data()).decode()
    assert config.startswith("#cloud-config\n") and len(config) <= delivery.MAX_CUSTOM_DATA
    parsed = yaml.safe_load(config)
    assert "python3-zstandard" in parsed["packages"]
    files = delivery.delivered_files(delivery.custom_data())
    assert files[delivery.AGENT_ARCHIVE] == delivery.agent_zipapp()
    assert files[delivery.AGENT_COMMAND].decode().startswith("#!/bin/sh\nexec python3 "
                                                             f"{delivery.AGENT_ARCHIVE}")


def test_the_delivered_archive_restores_disks_by_lun_on_its_own(repository, tmp_path):
    store, _, disks = repository
    writes = [{"lun": 0, "disk": "new-os", "source": "os"},
              {"lun": 1, "disk": "new-data0", "source": "DATA0"}]
    code, report = run_agent(tmp_path, "--store", str(store.root), "--restore-point",
                             "restorepoints/vm1/rp1", "--writes", json.dumps(writes),
                             "--device-pattern", str(tmp_path / "lun{lun}.img"))
    assert code == 0 and report["restored"] == ["new-os", "new-data0"]
    assert (tmp_path / "lun0.img").read_bytes() == disks["os"]
    assert (tmp_path / "lun1.img").read_bytes() == disks["data0"]


def test_a_corrupt_chunk_stops_the_agent_naming_disk_and_chunk(repository, tmp_path):
    store, manifest, _ = repository
    victim = store.root / chunk_name(manifest.disks[1].chunks[0])
    victim.write_bytes((store.root / chunk_name(manifest.disks[0].chunks[0])).read_bytes())
    code, report = run_agent(tmp_path, "--store", str(store.root), "--restore-point",
                             "restorepoints/vm1/rp1", "--writes",
                             json.dumps([{"lun": 0, "disk": "d", "source": "data0"}]),
                             "--device-pattern", str(tmp_path / "lun{lun}.img"))
    assert code == 1 and report["error"]["code"] == "DataCorrupted"
    assert "disk 'data0', chunk 0" in report["error"]["message"]


@pytest.mark.parametrize("args, code", [
    (("--restore-point", "restorepoints/vm1/nope"), "RestorePointNotFound"),
    (("--restore-point", "not-an-id"), "AgentError"),
])
def test_bad_requests_get_an_error_report(repository, tmp_path, args, code):
    store, _, _ = repository
    exit_code, report = run_agent(tmp_path, "--store", str(store.root), *args, "--writes", "[]")
    assert exit_code == 1 and report["error"]["code"] == code


@pytest.fixture
def bytes_region():
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    raw = {**scenario_dict(location="new"), "data": {"mode": "bytes", "size_mb": 2}}
    return prepare(parse_scenario(raw))


def test_on_the_arm_fake_the_worker_runs_the_agent_its_custom_data_delivered(bytes_region):
    from fakecloud import FakeCredential, mock_azure
    from restore.backends import live
    from restore.backends.fake_arm import FakeRepository
    from restore.backends.simregion import restore_region

    prepared, data = bytes_region, bytes_region.data.fresh()
    region = restore_region(prepared.world.copy(), prepared.profile, 1, data, run_archive=True)
    delivered = []
    region.listeners.append(lambda call, answer: delivered.append(
        delivery.delivered_files(answer.result.custom_data))
        if call.operation == "PUT Microsoft.Compute/virtualMachines"
        and "restorelab-worker" in call.id and answer.result is not None else None)
    with mock_azure(region=region) as fake:
        clients = live.connect(SUBSCRIPTION, FakeCredential(), polling_interval=0)
        report = live.run(live.prepare(prepared.scenario, clients,
                                       repository=FakeRepository(fake)))
    assert report.status == "succeeded"
    assert delivered and all(files[delivery.AGENT_ARCHIVE] == delivery.agent_zipapp()
                             for files in delivered)
    assert data.all_verified() and len(data.verified) == len(prepared.plan.context.disks)


def test_on_the_arm_fake_a_corrupt_chunk_fails_restore_data_and_rolls_back(bytes_region):
    from restore.backends import fake_arm

    store = bytes_region.data.store
    first, second = sorted(n for n in store.objects if n.startswith("chunks/"))[:2]
    store.objects[first] = store.objects[second]
    report = fake_arm.run(bytes_region, 1, [])
    assert report.status == "rolled_back" and report.data_verified is False
    assert report.error["code"] == "DataCorrupted" and report.error["step"] == "restore_data"
    assert "chunk" in report.error["message"] and "sha256" in report.error["message"]
    assert report.leaked == [] and report.source_intact
