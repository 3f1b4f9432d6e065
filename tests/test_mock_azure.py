"""``fakecloud.mock_azure``: unmodified azure-mgmt-* clients against the ARM fake, with
ARM's status codes, error codes, LRO headers and throttling headers."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

import requests  # noqa: E402
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError  # noqa: E402
from azure.identity import DefaultAzureCredential  # noqa: E402
from azure.mgmt.compute import ComputeManagementClient  # noqa: E402
from azure.mgmt.compute.models import CreationData, Disk, DiskSku  # noqa: E402
from azure.mgmt.resource.resources import ResourceManagementClient  # noqa: E402
from azure.mgmt.resource.resources.models import ResourceGroup  # noqa: E402

from fakecloud import FakeCredential, mock_azure  # noqa: E402
from fakecloud.clock import VirtualClock  # noqa: E402

ARM = "https://management.azure.com"


def clients(fake):
    return (ComputeManagementClient(FakeCredential(), fake.subscription, polling_interval=0),
            ResourceManagementClient(FakeCredential(), fake.subscription, polling_interval=0))


def empty_disk(size_gb: int = 64, **kwargs) -> Disk:
    return Disk(location="westeurope", sku=DiskSku(name="Premium_LRS"), disk_size_gb=size_gb,
                creation_data=CreationData(create_option="Empty"), **kwargs)


def url(fake, path: str, api_version: str = "2025-04-01") -> str:
    return f"{ARM}/subscriptions/{fake.subscription}{path}?api-version={api_version}"


def test_context_manager_creates_and_reads_a_disk_with_the_sdk():
    with mock_azure() as fake:
        compute, resource = clients(fake)
        resource.resource_groups.create_or_update("rg-a", ResourceGroup(location="westeurope",
                                                                        tags={"k": "v"}))
        disk = compute.disks.begin_create_or_update("rg-a", "d1", empty_disk(tags={"t": "1"}))
        created = disk.result()
        assert created.disk_size_gb == 64 and created.sku.name == "Premium_LRS"
        assert created.provisioning_state == "Succeeded" and created.tags == {"t": "1"}
        assert compute.disks.get("rg-a", "d1").disk_state == "Unattached"
        assert fake.clock.now > 0  # the creation took simulated time


def test_decorator_form_works_and_ends_the_fake():
    @mock_azure()
    def create_group() -> str:
        _, resource = clients_for(ResourceManagementClient)
        return resource.resource_groups.create_or_update(
            "rg-dec", ResourceGroup(location="westeurope")).id

    def clients_for(kind):
        return None, kind(FakeCredential(), "00000000-0000-0000-0000-000000000000")

    assert create_group().endswith("/resourceGroups/rg-dec")
    with pytest.raises(requests.exceptions.ConnectionError):  # no fake outside: no network
        requests.get(f"{ARM}/subscriptions", timeout=1)


def test_status_codes_and_lro_headers_are_arms():
    with mock_azure() as fake:
        put_group = requests.put(url(fake, "/resourcegroups/rg-b"), json={"location": "westeurope"})
        assert put_group.status_code == 201
        assert requests.put(url(fake, "/resourcegroups/rg-b"),
                            json={"location": "westeurope"}).status_code == 200
        disk = requests.put(url(fake, "/resourceGroups/rg-b/providers/Microsoft.Compute/disks/d",
                                "2026-03-02"),
                            json={"location": "westeurope", "sku": {"name": "Premium_LRS"},
                                  "properties": {"diskSizeGB": 32,
                                                 "creationData": {"createOption": "Empty"}}})
        assert disk.status_code == 202
        assert disk.headers["Azure-AsyncOperation"].startswith(ARM)
        assert int(disk.headers["Retry-After"]) >= 1
        status = requests.get(disk.headers["Azure-AsyncOperation"]).json()
        assert status == {"status": "InProgress"}
        assert "x-ms-ratelimit-remaining-subscription-writes" in disk.headers
        fake.clock.sleep(int(disk.headers["Retry-After"]))
        assert requests.get(disk.headers["Azure-AsyncOperation"]).json() == {
            "status": "Succeeded"}
        gone = requests.delete(url(fake, "/resourceGroups/rg-b/providers/Microsoft.Compute/"
                                   "disks/nothing", "2026-03-02"))
        assert gone.status_code == 204
        delete = requests.delete(url(fake, "/resourceGroups/rg-b/providers/Microsoft.Compute/"
                                     "disks/d", "2026-03-02"))
        assert delete.status_code == 202 and "Azure-AsyncOperation" in delete.headers
        delete_group = requests.delete(url(fake, "/resourcegroups/rg-b"))
        assert delete_group.status_code == 202 and "Location" in delete_group.headers
        assert requests.get(delete_group.headers["Location"]).status_code == 202


def test_missing_group_and_resource_are_arms_404s():
    with mock_azure() as fake:
        compute, resource = clients(fake)
        with pytest.raises(ResourceNotFoundError) as missing_group:
            compute.disks.begin_create_or_update("no-such-rg", "d", empty_disk()).result()
        assert missing_group.value.error.code == "ResourceGroupNotFound"
        resource.resource_groups.create_or_update("rg-c", ResourceGroup(location="westeurope"))
        with pytest.raises(ResourceNotFoundError) as missing_disk:
            compute.disks.get("rg-c", "nothing")
        assert missing_disk.value.error.code == "ResourceNotFound"


def test_resource_group_segments_are_case_insensitive():
    with mock_azure() as fake:
        compute, resource = clients(fake)
        resource.resource_groups.create_or_update("Rg-Mixed", ResourceGroup(location="westeurope"))
        compute.disks.begin_create_or_update("RG-MIXED", "d", empty_disk()).result()
        found = compute.disks.get("rg-mixed", "d")
        assert "/resourceGroups/Rg-Mixed/" in found.id  # spelled as the group exists


def test_arm_rules_give_arms_error_codes():
    with mock_azure() as fake:
        compute, resource = clients(fake)
        resource.resource_groups.create_or_update("rg-d", ResourceGroup(location="westeurope"))
        compute.disks.begin_create_or_update("rg-d", "d", empty_disk()).result()
        with pytest.raises(HttpResponseError) as smaller:
            compute.disks.begin_create_or_update("rg-d", "tiny", empty_disk(size_gb=0)).result()
        assert smaller.value.status_code == 400
        with pytest.raises(HttpResponseError) as other_region:
            resource.resource_groups.create_or_update("rg-d", ResourceGroup(location="eastus"))
        assert other_region.value.status_code == 409
        assert other_region.value.error.code == "InvalidResourceGroupLocation"


def test_an_unimplemented_azure_url_fails_loudly_naming_it():
    with mock_azure() as fake:
        compute, _ = clients(fake)
        with pytest.raises(HttpResponseError) as unknown:
            list(compute.galleries.list())
        assert unknown.value.status_code == 501
        assert unknown.value.error.code == "NotImplementedInFake"
        assert "GET /subscriptions/" in unknown.value.error.message
        assert "galleries" in unknown.value.error.message
        other_host = requests.get("https://myvault.vault.azure.net/secrets/x")
        assert other_host.status_code == 501 and "vault.azure.net" in other_host.text


def test_requests_without_api_version_are_refused():
    with mock_azure() as fake:
        answer = requests.get(f"{ARM}/subscriptions/{fake.subscription}/resourcegroups/x")
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "MissingApiVersionParameter"


def test_default_azure_credential_gets_a_token_from_the_fake_managed_identity(monkeypatch):
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
                 "AZURE_FEDERATED_TOKEN_FILE", "AZURE_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    with mock_azure() as fake:
        credential = DefaultAzureCredential(exclude_cli_credential=True,
                                            exclude_developer_cli_credential=True,
                                            exclude_powershell_credential=True)
        resource = ResourceManagementClient(credential, fake.subscription)
        assert resource.resource_groups.create_or_update(
            "rg-e", ResourceGroup(location="westeurope")).name == "rg-e"


def test_the_fake_azure_fixture_is_a_working_fake(fake_azure):
    compute, resource = clients(fake_azure)
    resource.resource_groups.create_or_update("rg-f", ResourceGroup(location="westeurope"))
    compute.disks.begin_create_or_update("rg-f", "d", empty_disk()).result()
    assert [r.path.rsplit("/", 1)[-1] for r in fake_azure.requests if r.method == "PUT"] == [
        "rg-f", "d"]


def test_virtual_time_skips_ahead_only_when_every_task_sleeps():
    clock = VirtualClock()
    clock.sleep(600)  # outside tasks: the clock just moves
    assert clock.now == 600
    woke: list[tuple[str, float]] = []

    def task(name: str, naps: list[float]) -> None:
        clock.enter(name)
        for nap in naps:
            clock.sleep(nap)
            woke.append((name, clock.now))
        clock.leave()

    clock.admit("slow")
    clock.admit("fast")
    threads = [threading.Thread(target=task, args=("slow", [300])),
               threading.Thread(target=task, args=("fast", [10, 10]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert woke == [("fast", 610), ("fast", 620), ("slow", 900)]
