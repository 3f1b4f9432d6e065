"""Resource providers' throttling per policy ("Compute throttling limits" on Microsoft Learn):
Put, Update, Delete and Get VM each have their own buckets per VM and per subscription,
refilled once a minute; disks and networks have their own windows; a throttled request gets
429 with Retry-After and ``x-ms-ratelimit-remaining-resource`` naming the policies."""

from __future__ import annotations

import pytest
import yaml
from helpers import make_scenario

import restore
from fakecloud.models import ArmError
from fakecloud.profile import Bucket, Policy
from fakecloud.throttle import Throttle
from restore.backends.compiled import NotCompilable, compile_restore
from restore.backends.prepared import prepare
from restore.backends.profiles import load_profile

DEFAULT = load_profile("default")
VM = "Microsoft.Compute/virtualMachines"
GROUP = "/subscriptions/s/resourceGroups/g"
MANY_PRINCIPALS = Bucket(capacity=100_000, per_s=10_000)
"""ARM's write bucket is per principal, Compute's subscription policies are not: with
enough principals only Compute's limits bind."""


def vm_id(name: str = "v") -> str:
    return f"{GROUP}/providers/Microsoft.Compute/virtualMachines/{name}"


def throttle(**policies: Policy) -> Throttle:
    limits = DEFAULT.throttling.model_copy(update={
        "arm_writes": MANY_PRINCIPALS, "arm_deletes": MANY_PRINCIPALS, "arm_reads": MANY_PRINCIPALS,
        "policies": {**DEFAULT.throttling.policies,
                     **{f"Microsoft.Compute/{k}": v for k, v in policies.items()}}})
    return Throttle(limits)


def refused(limits: Throttle, method: str, type_: str, id_: str, now: float,
            action: str = "") -> ArmError:
    with pytest.raises(ArmError) as caught:
        limits.admit(method, type_, id_, now, action)
    assert caught.value.status == 429
    return caught.value


def test_thirteen_put_vms_on_one_vm_in_a_minute_are_refused_at_resource_level():
    limits = throttle()
    for i in range(12):
        limits.admit("PUT", VM, vm_id(), i * 4.0)
    error = refused(limits, "PUT", VM, vm_id(), 50.0)
    assert error.code == "OperationNotAllowed" and error.retry_after == 10.0
    assert error.details[0]["code"] == "TooManyRequests"
    assert error.details[0]["target"] == "PutVM"
    limits.admit("PUT", VM, vm_id("other"), 50.0)  # another VM has its own bucket
    # The page's table: the next minute brings 4 tokens; a fifth request is refused.
    for _ in range(4):
        limits.admit("PUT", VM, vm_id(), 61.0)
    assert refused(limits, "PUT", VM, vm_id(), 61.0).retry_after == 59.0


def test_a_burst_of_1501_put_vms_across_vms_is_refused_at_subscription_level():
    limits = throttle()
    for i in range(1500):
        limits.admit("PUT", VM, vm_id(f"vm{i}"), 0.0)
    error = refused(limits, "PUT", VM, vm_id("vm1500"), 0.0)
    assert error.details[0]["target"] == "PutVM" and error.retry_after == 60.0
    assert limits.remaining_resource("PUT", VM, vm_id("vm0"), 0.0) == \
        "Microsoft.Compute/PutVM;11,Microsoft.Compute/PutVM;0"
    limits.admit("PATCH", VM, vm_id("vm1500"), 0.0)  # Update VM is another policy
    for i in range(500):
        limits.admit("PUT", VM, vm_id(f"vm{1500 + i}"), 60.0)
    refused(limits, "PUT", VM, vm_id("vm2000"), 60.0)


def test_a_get_vm_flood_does_not_use_up_the_put_vm_budget():
    limits = throttle()
    for _ in range(36):
        limits.admit("GET", VM, vm_id(), 0.0)
    assert refused(limits, "GET", VM, vm_id(), 0.0).details[0]["target"] == "LowCostGetVM"
    limits.admit("PUT", VM, vm_id(), 0.0)
    for _ in range(900):  # lists are High Cost Get VM, a subscription policy of their own
        limits.admit("GET", VM, GROUP, 0.0)
    assert refused(limits, "GET", VM, GROUP, 0.0).details[0]["target"] == "HighCostGetVM"


def test_actions_and_extensions_count_as_update_vm_and_deallocate_as_delete_vm():
    one = Bucket(capacity=1, per_s=1 / 60, every_s=60)
    limits = throttle(UpdateVM=Policy(resource=one), DeleteVM=Policy(resource=one))
    limits.admit("POST", VM, vm_id(), 0.0, "start")
    limits.admit("POST", VM, vm_id(), 0.0, "deallocate")
    limits.admit("PUT", VM, vm_id(), 0.0)
    for method, type_, id_, action in (
            ("POST", VM, vm_id(), "powerOff"), ("POST", VM, vm_id(), "runCommand"),
            ("PUT", f"{VM}/extensions", f"{vm_id()}/extensions/agent", ""),
            ("DELETE", VM, vm_id(), "")):
        refused(limits, method, type_, id_, 0.0, action)
    limits.admit("POST", VM, vm_id("other"), 0.0, "runCommand")


def test_disks_and_networks_have_their_own_windows():
    limits = throttle()
    disk = f"{GROUP}/providers/Microsoft.Compute/disks/d"
    for _ in range(1000):
        limits.admit("PUT", "Microsoft.Compute/disks", disk, 0.0)
    error = refused(limits, "PATCH", "Microsoft.Compute/disks", disk, 0.0)
    assert error.details[0]["target"] == "CreateUpdateDisks3Min"
    limits.admit("DELETE", "Microsoft.Compute/disks", disk, 0.0)
    nic = f"{GROUP}/providers/Microsoft.Network/networkInterfaces/n"
    for _ in range(1000):
        limits.admit("PUT", "Microsoft.Network/networkInterfaces", nic, 0.0)
    error = refused(limits, "DELETE", "Microsoft.Network/virtualNetworks", nic, 0.0)
    assert error.code == "TooManyRequests" and error.retry_after == 1.0  # 1,000 per 300 s
    limits.admit("GET", "Microsoft.Network/networkInterfaces", nic, 0.0)


def test_a_profile_with_the_old_compute_keys_limits_each_vm_write_category():
    raw = DEFAULT.throttling.model_dump(include={"arm_writes", "arm_deletes", "arm_reads"})
    one = {"capacity": 1, "per_s": 0.001}
    old = type(DEFAULT.throttling)(**raw, compute_per_vm=one, compute_per_subscription=one)
    assert sorted(old.policies) == ["Microsoft.Compute/DeleteVM", "Microsoft.Compute/PutVM",
                                    "Microsoft.Compute/UpdateVM"]
    limits = Throttle(old)
    limits.admit("PUT", VM, vm_id(), 0.0)
    limits.admit("POST", VM, vm_id(), 0.0, "deallocate")
    limits.admit("POST", VM, vm_id(), 0.0, "runCommand")
    limits.admit("GET", VM, vm_id(), 0.0)
    for method, action in (("PUT", ""), ("DELETE", ""), ("POST", "start")):
        refused(limits, method, VM, vm_id(), 0.0, action)


def test_the_arm_fakes_429_carries_retry_after_and_the_remaining_count():
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    import requests

    from fakecloud import mock_azure

    with mock_azure() as fake:
        url = (f"https://management.azure.com/subscriptions/{fake.subscription}/resourceGroups/"
               f"rg/providers/Microsoft.Compute/virtualMachines/vm1?api-version=2025-04-01")
        first = requests.get(url)
        assert first.headers["x-ms-ratelimit-remaining-resource"] == \
            "Microsoft.Compute/LowCostGetVM;35,Microsoft.Compute/LowCostGetVM;23999"
        for _ in range(35):
            requests.get(url)
        throttled = requests.get(url)
        assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
        assert throttled.headers["x-ms-ratelimit-remaining-resource"].startswith(
            "Microsoft.Compute/LowCostGetVM;0,")
        error = throttled.json()["error"]
        assert error["code"] == "OperationNotAllowed"
        assert error["details"][0] == {"code": "TooManyRequests", "target": "LowCostGetVM",
                                       "message": '{"operationGroup": "LowCostGetVM"}'}


def tight_profile(path) -> str:
    """The default profile with Update and Delete VM at one request an hour per VM: the
    worker's delete comes within the hour after its deallocation."""
    one = Bucket(capacity=1, per_s=1 / 3600, every_s=3600)
    policies = {**DEFAULT.throttling.policies}
    for name in ("Microsoft.Compute/UpdateVM", "Microsoft.Compute/DeleteVM"):
        policies[name] = Policy(resource=one, subscription=policies[name].subscription)
    profile = DEFAULT.model_copy(update={"name": "tight", "throttling": DEFAULT.throttling
                                         .model_copy(update={"policies": policies})})
    path.write_text(yaml.safe_dump(profile.model_dump(mode="json"), sort_keys=False))
    return str(path)


def test_compute_throttling_ends_the_same_way_on_sim_and_fake_arm(tmp_path):
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    scenario, profile = make_scenario(location="original"), tight_profile(tmp_path / "t.yaml")
    sim = restore.simulate(scenario, seed=1, profile=profile)
    arm = restore.simulate(scenario, seed=1, profile=profile, backend="fake-arm")
    throttled = [o for o in sim.operations if "OperationNotAllowed" in o["errors"]]
    assert sim.status == "succeeded" and throttled
    assert all(o["retry_wait_s"] >= 1 for o in throttled)
    assert [(o["op"], o["errors"], o["start_s"], o["end_s"]) for o in arm.operations] == \
        [(o["op"], o["errors"], o["start_s"], o["end_s"]) for o in sim.operations]
    assert arm.duration_s == pytest.approx(sim.duration_s, abs=1e-6)


def test_a_restore_a_per_category_policy_could_refuse_is_not_compiled(tmp_path, monkeypatch):
    scenario = make_scenario(location="original")
    compile_restore(prepare(scenario))
    # Room for the restore's five Put VMs at its pace, not for five at once.
    refilling = Bucket(capacity=2, per_s=1.0)
    policies = {**DEFAULT.throttling.policies,
                "Microsoft.Compute/PutVM": Policy(subscription=refilling)}
    profile = DEFAULT.model_copy(update={"name": "refilling", "throttling": DEFAULT.throttling
                                         .model_copy(update={"policies": policies})})
    # Named relative to its folder: the restore's id, so its latency draws, comes from the
    # scenario, the profile's name included (a temporary folder's name would vary them).
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "refilling.yaml"
    path.write_text(yaml.safe_dump(profile.model_dump(mode="json"), sort_keys=False))
    paced = scenario.model_copy(update={"region_profile": path.name})
    assert restore.simulate(paced, seed=1).status == "succeeded"
    # Its traced run, with buckets that never refill, waits for them (or gives up waiting:
    # the restore then rolls back, or keeps its data once the source is gone).
    with pytest.raises(NotCompilable, match="request limit|ends rolled_back|ends failed"):
        compile_restore(prepare(paced))
