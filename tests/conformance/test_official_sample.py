"""The official Azure SDK for Python management sample for VMs runs against ``mock_azure``:
a resource group, virtual network, subnet, NIC, a VM with two data disks, an extension,
updates, start, power off, and every resource deleted, signed in by
``DefaultAzureCredential`` with a service principal from the environment (as in CI)."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

from conformance import sdk_sample  # noqa: E402
from fakecloud import mock_azure  # noqa: E402

MANIFEST = json.loads((sdk_sample.SAMPLES / "MANIFEST.json").read_text())
SAMPLE = "manage_virtual_machine.py"


def test_the_samples_are_the_official_files_byte_for_byte():
    for entry in MANIFEST["files"]:
        data = (sdk_sample.SAMPLES / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["path"]


def test_the_official_vm_sample_runs_from_sign_in_to_deleting_its_group(monkeypatch, capsys):
    subscription = str(uuid.uuid4())
    monkeypatch.setenv("SUBSCRIPTION_ID", subscription)
    monkeypatch.setenv("AZURE_TENANT_ID", str(uuid.uuid4()))
    monkeypatch.setenv("AZURE_CLIENT_ID", str(uuid.uuid4()))
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "not-a-secret")
    with mock_azure(passthrough=False) as fake:
        dropped = sdk_sample.run(SAMPLE)
        assert fake.state_of(subscription).resources() == []
    assert dropped == ["VirtualMachineExtensionUpdate.instance_view"]
    assert all(r.status < 400 for r in fake.requests), [
        (r.method, r.path, r.status) for r in fake.requests if r.status >= 400]
    done = {(r.method, r.path.rsplit("/providers/", 1)[-1].split("/", 1)[0],
             r.path.rsplit("/", 1)[-1]) for r in fake.requests}
    for expected in [("PUT", "Microsoft.Network", "subnetx"),
                     ("PUT", "Microsoft.Network", "interfacex"),
                     ("PUT", "Microsoft.Compute", "virtualmachinex"),
                     ("PATCH", "Microsoft.Compute", "virtualmachinex"),
                     ("PATCH", "Microsoft.Compute", "virtualmachineextensionx"),
                     ("POST", "Microsoft.Compute", "start"),
                     ("POST", "Microsoft.Compute", "powerOff"),
                     ("DELETE", "Microsoft.Compute", "virtualmachinex")]:
        assert expected in done
    printed = capsys.readouterr().out
    created = printed.split("Create virtual machine:", 1)[1].split("Create vm extension:")[0]
    assert created.count("'diskSizeGB': 1023") == 2 and "virtualmachinex_DataDisk_1" in created
    extension = printed.split("Create vm extension:", 1)[1]
    assert "'type': 'NetworkWatcherAgentWindows'" in extension
