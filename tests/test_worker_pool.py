"""Veeam's worker pool: a fleet's default pool, and the worker subnet's free addresses."""

from __future__ import annotations

import pytest
from helpers import scenario_dict

import restore
from fakecloud.profile import QuotaLimits
from restore.backends.fleet import simulate_fleet
from restore.backends.profiles import load_profile

ROOMY = load_profile("default").model_copy(update={"quotas": QuotaLimits(
    regional_vcpus=100_000, family_vcpus={}, managed_disks=1_000_000)})


def fleet(count, data_disks=({"size_gb": 512, "used_gb": 30},), **block):
    raw = scenario_dict(size="Standard_D2s_v5", data_disks=list(data_disks))
    raw["fleet"] = {"groups": [{"count": count}], **block}
    return restore.parse_scenario(raw)


def test_a_fleet_without_max_workers_has_veeams_default_pool_of_five():
    scenario = fleet(12)
    assert scenario.fleet.max_workers == 5 and scenario.fleet.active_limit == 10
    report = simulate_fleet(scenario, profile=ROOMY)
    assert report.status == "succeeded"
    assert report.to_dict()["max_workers"] == 5 and report.peak_workers == 5
    # Ten restores start at once (the active limit): five of them wait for a slot (the
    # last two start when restores end, and may find a slot free).
    assert sum(v.waited_s > 0 for v in report.vms) >= 5


def test_the_default_pool_is_the_same_as_asking_for_five():
    assert simulate_fleet(fleet(8), 4, ROOMY).to_dict() == simulate_fleet(
        fleet(8, max_workers=5), 4, ROOMY).to_dict()


def test_a_vm_with_more_disks_than_a_worker_takes_holds_two_of_the_pool():
    # 50 GB in all: an F2s_v2 worker, which takes 4 data disks; the VM has 5 disks.
    small = [{"size_gb": 10, "used_gb": 1}] * 4
    raw = scenario_dict(size="Standard_D2s_v5", data_disks=small,
                        os_disk={"size_gb": 10, "sku": "Premium_LRS", "used_gb": 1})
    raw["fleet"] = {"groups": [{"count": 1}]}
    report = simulate_fleet(restore.parse_scenario(raw), profile=ROOMY)
    assert report.status == "succeeded" and report.peak_workers == 2


@pytest.mark.parametrize("value", [0, -1, "5", 2.5])
def test_a_bad_max_workers_names_the_field(value):
    with pytest.raises(restore.ScenarioError) as info:
        fleet(2, max_workers=value)
    assert info.value.field == "fleet.max_workers"


def test_a_slash_29_subnet_takes_three_nics_and_refuses_the_fourth():
    # Azure "reserves the first four and last IP address for a total of 5 IP addresses
    # within each subnet" (Microsoft Learn, Azure Virtual Network FAQ): 8 - 5 = 3 free.
    pytest.importorskip("azure.mgmt.network", reason="the azure extra is not installed")
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.network import NetworkManagementClient
    from azure.mgmt.network import models as nm
    from azure.mgmt.resource.resources import ResourceManagementClient

    from fakecloud import FakeCredential, mock_azure

    with mock_azure() as fake:
        ResourceManagementClient(FakeCredential(), fake.subscription).resource_groups \
            .create_or_update("rg", {"location": "westeurope"})
        net = NetworkManagementClient(FakeCredential(), fake.subscription, polling_interval=0)
        subnet = net.virtual_networks.begin_create_or_update("rg", "vnet", nm.VirtualNetwork(
            location="westeurope",
            address_space=nm.AddressSpace(address_prefixes=["10.9.0.0/16"]),
            subnets=[nm.Subnet(name="workers", address_prefix="10.9.0.0/29")])
        ).result().subnets[0]

        def worker_nic(name):
            return net.network_interfaces.begin_create_or_update("rg", name, nm.NetworkInterface(
                location="westeurope", ip_configurations=[nm.NetworkInterfaceIPConfiguration(
                    name="ipconfig1", subnet=nm.Subnet(id=subnet.id))])
            ).result().ip_configurations[0].private_ip_address

        assert [worker_nic(f"w{i}") for i in range(3)] == ["10.9.0.4", "10.9.0.5", "10.9.0.6"]
        with pytest.raises(HttpResponseError) as full:
            worker_nic("w3")
        assert full.value.status_code == 400 and full.value.error.code == "SubnetIsFull"
        net.network_interfaces.begin_delete("rg", "w1").result()
        assert worker_nic("w3") == "10.9.0.5"  # a deleted worker's address is free again
