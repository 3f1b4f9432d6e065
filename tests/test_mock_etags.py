"""ARM's optimistic concurrency on virtual machines through the unmodified
azure-mgmt-compute client against ``mock_azure``: a VM's ``etag`` (a quoted opaque string,
new on every write: PUT, PATCH, power actions), ``If-Match`` on Create/Update (412
``PreconditionFailed`` when it no longer matches, and nothing changes) and
``If-None-Match: *`` on Create (412 when the VM exists)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

from azure.core import MatchConditions  # noqa: E402
from azure.core.exceptions import HttpResponseError  # noqa: E402
from azure.mgmt.compute import models as compute  # noqa: E402
from test_mock_vms import vm_with_data_disks  # noqa: E402

from fakecloud.models import VirtualMachine  # noqa: E402


def _refused(call) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as refused:
        call()
    return refused.value


def _assert_precondition_failed(error: HttpResponseError) -> None:
    assert error.status_code == 412
    body = json.loads(error.response.text())
    assert set(body) == {"error"} and body["error"]["code"] == "PreconditionFailed"
    assert body["error"]["message"]
    assert error.error.code == "PreconditionFailed"


def test_a_vm_has_an_etag_that_changes_on_every_write_and_only_then(vm_azure):
    client, nic, _ = vm_azure
    vms = client.virtual_machines
    created = vms.begin_create_or_update("rg", "vm1", vm_with_data_disks(nic.id)).result()
    tags = [created.etag]
    assert created.etag.startswith('"') and created.etag.endswith('"')
    assert vms.get("rg", "vm1").etag == created.etag  # a read changes nothing
    assert vms.get("rg", "vm1", expand="instanceView").etag == created.etag
    assert [v.etag for v in vms.list("rg")] == [created.etag]
    patched = vms.begin_update("rg", "vm1", compute.VirtualMachineUpdate(
        tags={"a": "1"})).result()
    tags.append(patched.etag)
    vms.begin_deallocate("rg", "vm1").result()
    tags.append(vms.get("rg", "vm1").etag)
    vms.begin_start("rg", "vm1").result()
    tags.append(vms.get("rg", "vm1").etag)
    put = vms.begin_create_or_update("rg", "vm1", vm_with_data_disks(nic.id)).result()
    tags.append(put.etag)
    assert len(set(tags)) == len(tags), tags  # each write a new one
    assert vms.get("rg", "vm1").etag == put.etag


def test_an_update_with_the_etag_it_read_goes_through(vm_azure):
    client, nic, _ = vm_azure
    vms = client.virtual_machines
    vms.begin_create_or_update("rg", "vm1", vm_with_data_disks(nic.id)).result()
    read = vms.get("rg", "vm1")
    updated = vms.begin_update("rg", "vm1", compute.VirtualMachineUpdate(tags={"who": "a"}),
                               etag=read.etag,
                               match_condition=MatchConditions.IfNotModified).result()
    assert updated.tags == {"who": "a"} and updated.etag != read.etag
    again = vms.begin_create_or_update("rg", "vm1", vm_with_data_disks(nic.id, tags={"w": "b"}),
                                       etag=updated.etag,
                                       match_condition=MatchConditions.IfNotModified).result()
    assert again.tags == {"w": "b"}


def test_a_patch_or_put_with_a_stale_etag_is_refused_and_changes_nothing(vm_azure):
    client, nic, fake = vm_azure
    vms = client.virtual_machines
    vms.begin_create_or_update("rg", "vm1", vm_with_data_disks(nic.id)).result()
    stale = vms.get("rg", "vm1").etag
    current = vms.begin_update("rg", "vm1", compute.VirtualMachineUpdate(
        tags={"who": "first"})).result().etag
    patch = _refused(lambda: vms.begin_update(
        "rg", "vm1", compute.VirtualMachineUpdate(
            tags={"who": "second"}, hardware_profile=compute.HardwareProfile(
                vm_size="Standard_D8s_v5")),
        etag=stale, match_condition=MatchConditions.IfNotModified).result())
    _assert_precondition_failed(patch)
    put = _refused(lambda: vms.begin_create_or_update(
        "rg", "vm1", vm_with_data_disks(nic.id, tags={"who": "second"}),
        etag=stale, match_condition=MatchConditions.IfNotModified).result())
    _assert_precondition_failed(put)
    now = vms.get("rg", "vm1")
    assert now.tags == {"who": "first"} and now.etag == current
    assert now.hardware_profile.vm_size == "Standard_D4s_v5"
    vm = fake.state.find(now.id)
    assert isinstance(vm, VirtualMachine) and vm.etag == current


def test_if_none_match_star_creates_only_and_if_match_star_updates_only(vm_azure):
    client, nic, _ = vm_azure
    vms = client.virtual_machines
    missing = _refused(lambda: vms.begin_create_or_update(
        "rg", "vm1", vm_with_data_disks(nic.id),
        match_condition=MatchConditions.IfPresent).result())  # If-Match: *
    _assert_precondition_failed(missing)
    assert list(vms.list("rg")) == []
    created = vms.begin_create_or_update(
        "rg", "vm1", vm_with_data_disks(nic.id),
        match_condition=MatchConditions.IfMissing).result()  # If-None-Match: *
    assert created.provisioning_state == "Succeeded"
    exists = _refused(lambda: vms.begin_create_or_update(
        "rg", "vm1", vm_with_data_disks(nic.id, tags={"x": "y"}),
        match_condition=MatchConditions.IfMissing).result())
    _assert_precondition_failed(exists)
    assert vms.get("rg", "vm1").etag == created.etag
    updated = vms.begin_create_or_update(
        "rg", "vm1", vm_with_data_disks(nic.id, tags={"x": "y"}),
        match_condition=MatchConditions.IfPresent).result()
    assert updated.tags == {"x": "y"} and updated.etag != created.etag


def test_the_headers_are_sent_as_arm_documents_them(vm_azure):
    # what the SDK puts on the wire: the etag as ARM gave it (quoted), or "*"
    client, nic, fake = vm_azure
    vms = client.virtual_machines
    seen: list[tuple[str | None, str | None]] = []
    listener = lambda call, answer: seen.append((call.if_match, call.if_none_match))  # noqa: E731
    fake.region.listeners.append(listener)
    created = vms.begin_create_or_update("rg", "vm1", vm_with_data_disks(nic.id),
                                         match_condition=MatchConditions.IfMissing).result()
    vms.begin_update("rg", "vm1", compute.VirtualMachineUpdate(tags={}), etag=created.etag,
                     match_condition=MatchConditions.IfNotModified).result()
    assert (None, "*") in seen and (created.etag, None) in seen
