"""fakecloud's subscriptions of one tenant: a state holds its default subscription and the
others added to it (``CloudState.add_subscription``, a profile's ``subscriptions``), each
with its own groups, resources, quotas and usages; ARM answers any other subscription 404
SubscriptionNotFound when the fake is told only those exist (``any_subscription=False``)."""

from __future__ import annotations

import pytest

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

import requests  # noqa: E402
from azure.core.exceptions import HttpResponseError  # noqa: E402
from azure.mgmt.compute import ComputeManagementClient  # noqa: E402
from azure.mgmt.resource.resources import ResourceManagementClient  # noqa: E402

import armid as arm  # noqa: E402
from fakecloud import FakeCredential, mock_azure  # noqa: E402
from fakecloud.models import ArmError, CloudState, Quotas  # noqa: E402
from fakecloud.profile import load_profile  # noqa: E402

ARM = "https://management.azure.com"
HOME = "00000000-0000-0000-0000-000000000000"
OTHER = "22222222-2222-2222-2222-222222222222"  # the default profile's other subscription
UNKNOWN = "33333333-3333-3333-3333-333333333333"
WE = "westeurope"
PROFILE = load_profile("default")


def groups(subscription: str) -> ResourceManagementClient:
    return ResourceManagementClient(FakeCredential(), subscription, polling_interval=0)


def compute(subscription: str) -> ComputeManagementClient:
    return ComputeManagementClient(FakeCredential(), subscription, polling_interval=0)


def new_disk(subscription: str, group: str, name: str, **creation) -> str:
    groups(subscription).resource_groups.create_or_update(group, {"location": WE})
    return compute(subscription).disks.begin_create_or_update(group, name, {
        "location": WE, "sku": {"name": "Premium_LRS"}, "properties": {
            "diskSizeGB": 32, "creationData": creation or {"createOption": "Empty"}}}
    ).result().id


def tenant() -> mock_azure:
    """The fake of a tenant: the default subscription and the profile's other one."""
    return mock_azure(state=PROFILE.add_subscriptions(CloudState(
        HOME, PROFILE.max_data_disks, PROFILE.quota)), any_subscription=False)


def test_the_profiles_subscriptions_are_the_states_and_share_its_region():
    with tenant() as fake:
        made = new_disk(OTHER, "rg", "d1")
        assert made.startswith(f"/subscriptions/{OTHER}/")
        assert fake.state.find(made) is not None  # the default state holds it
        assert fake.subscriptions() == [HOME, OTHER]
        listed = requests.get(f"{ARM}/subscriptions", params={"api-version": "2022-12-01"})
        assert [s["subscriptionId"] for s in listed.json()["value"]] == [HOME, OTHER]


def test_another_subscription_is_refused_as_arm_refuses_it():
    with tenant() as fake:
        with pytest.raises(HttpResponseError) as caught:
            list(groups(UNKNOWN).resource_groups.list())
        answer = requests.get(f"{ARM}/subscriptions/{UNKNOWN}",
                              params={"api-version": "2022-12-01"})
        assert fake.subscriptions() == [HOME, OTHER]
    assert caught.value.status_code == 404
    assert caught.value.error.code == "SubscriptionNotFound"
    assert caught.value.error.message == f"The subscription '{UNKNOWN}' could not be found."
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "SubscriptionNotFound"


def test_by_default_any_subscription_still_works_as_in_moto():
    with mock_azure() as fake:
        assert new_disk(UNKNOWN, "rg", "d1").startswith(f"/subscriptions/{UNKNOWN}/")
        assert fake.state.find(arm.resource_group_id(UNKNOWN, "rg")) is None  # its own region


def test_a_group_name_in_two_subscriptions_names_two_groups():
    with tenant() as fake:
        mine, theirs = new_disk(HOME, "rg", "d"), new_disk(OTHER, "rg", "d")
        assert mine.lower() != theirs.lower()
        assert [d.id for d in compute(OTHER).disks.list()] == [theirs]
        assert [d.id for d in compute(HOME).disks.list_by_resource_group("rg")] == [mine]
        assert [g.id for g in groups(OTHER).resource_groups.list()] == [
            arm.resource_group_id(OTHER, "rg")]
        groups(OTHER).resource_groups.begin_delete("rg").result()
        assert fake.state.find(theirs) is None and fake.state.find(mine) is not None


def test_a_disk_is_made_from_a_snapshot_of_another_subscription_in_its_region():
    with tenant() as fake:
        source = new_disk(HOME, "rg-src", "src")
        snapshot = compute(HOME).snapshots.begin_create_or_update("rg-src", "snap", {
            "location": WE, "properties": {"creationData": {
                "createOption": "Copy", "sourceResourceId": source}}}).result().id
        copy = new_disk(OTHER, "rg-dst", "copy", createOption="Copy", sourceResourceId=snapshot)
        assert fake.state.find(copy).source.lower() == snapshot.lower()
        groups(OTHER).resource_groups.create_or_update("rg-ne", {"location": "northeurope"})
        with pytest.raises(HttpResponseError) as caught:
            compute(OTHER).disks.begin_create_or_update("rg-ne", "far", {
                "location": "northeurope", "sku": {"name": "Premium_LRS"}, "properties": {
                    "creationData": {"createOption": "Copy", "sourceResourceId": snapshot}}}
            ).result()
    assert caught.value.error.code == "InvalidParameter"  # another region: copy it first


def test_quotas_and_usages_are_per_subscription():
    state = CloudState(HOME, PROFILE.max_data_disks, PROFILE.quota)
    tight = Quotas(8, {}, 1, PROFILE.quota.cores)
    state.add_subscription(OTHER, tight)
    for sub in (HOME, OTHER):
        state.create_resource_group(arm.resource_group_id(sub, "rg"), WE)
    state.create_disk(arm.resource_id(HOME, "rg", arm.DISKS, "a"), WE, 8, "Premium_LRS")
    state.create_disk(arm.resource_id(OTHER, "rg", arm.DISKS, "b"), WE, 8, "Premium_LRS")
    assert state.usage(WE)["managed_disks"] == 1 and state.usage(WE, OTHER)["managed_disks"] == 1
    with pytest.raises(ArmError) as caught:
        state.create_disk(arm.resource_id(OTHER, "rg", arm.DISKS, "c"), WE, 8, "Premium_LRS")
    assert caught.value.code == "QuotaExceeded" and "limit 1" in caught.value.message
    state.create_disk(arm.resource_id(HOME, "rg", arm.DISKS, "c"), WE, 8, "Premium_LRS")
    with mock_azure(state=state, any_subscription=False):
        usages = {u.name.value: (u.current_value, u.limit)
                  for u in compute(OTHER).usage.list(WE)}
        home = {u.name.value: u.current_value for u in compute(HOME).usage.list(WE)}
    assert usages["managedDisks"] == (1, 1) and usages["cores"] == (0, 8)
    assert home["managedDisks"] == 2


def test_a_copy_of_the_state_keeps_its_subscriptions():
    state = PROFILE.add_subscriptions(CloudState(HOME, PROFILE.max_data_disks, PROFILE.quota))
    twin = state.copy()
    assert twin.subscriptions == [HOME, OTHER] and twin.knows(OTHER.upper())
    assert not twin.knows(UNKNOWN)


def test_a_nics_subnet_of_another_subscription_is_a_reference_not_found():
    """Learn: a NIC takes only a virtual network of its own subscription and location."""
    state = PROFILE.add_subscriptions(CloudState(HOME, PROFILE.max_data_disks, PROFILE.quota))
    for sub in (HOME, OTHER):
        state.create_resource_group(arm.resource_group_id(sub, "rg"), WE)
    vnet = arm.resource_id(HOME, "rg", arm.VIRTUAL_NETWORKS, "vnet")
    state.create_virtual_network(vnet, WE, address_prefixes=["10.0.0.0/16"])
    state.put_subnet(f"{vnet}/subnets/default", "10.0.0.0/24")
    nic = arm.resource_id(OTHER, "rg", arm.NETWORK_INTERFACES, "nic")
    with pytest.raises(ArmError) as caught:
        state.create_nic(nic, WE, f"{vnet}/subnets/default")
    assert (caught.value.status, caught.value.code) == (400, "InvalidResourceReference")
    assert caught.value.message.startswith(f"Resource {vnet}/subnets/default referenced by "
                                           f"resource {nic} was not found.")
    assert state.create_nic(arm.resource_id(HOME, "rg", arm.NETWORK_INTERFACES, "nic"), WE,
                            f"{vnet}/subnets/default").subnet.endswith("/default")
