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
    assert sum(v.waited_s > 0 for v in report.vms) >= 7  # the other seven were queued


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
