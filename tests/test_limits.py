"""Throttling, quotas and the preflight step: limits of the region, caught early or
retried, never leaving the restore half done."""

from __future__ import annotations

import pytest
from helpers import RESTORE_ID_TAG, by_id, make_scenario

from fakecloud.profile import Bucket, Policy, QuotaLimits
from fakecloud.throttle import TokenBucket
from restore.backends.profiles import load_profile
from restore.backends.sim import simulate

DEFAULT = load_profile("default")


def with_quotas(**limits) -> object:
    quotas = DEFAULT.quotas.model_dump()
    quotas.update(limits)
    return DEFAULT.model_copy(update={"quotas": QuotaLimits(**quotas)})


def assert_rolled_back_at_preflight(report, code: str) -> None:
    assert report.status == "rolled_back"
    assert report.error["step"] == "preflight" and report.error["code"] == code
    assert [s["name"] for s in report.steps] == ["preflight", "rollback"]
    assert not {o["op"] for o in report.operations} - {
        "check_exists", "check_names", "check_quota", "find_resources"}
    assert report.source_intact and report.leaked == []
    assert not [i for i, r in by_id(report).items() if r["tags"].get(RESTORE_ID_TAG)]


@pytest.mark.parametrize("location", ["original", "new"])
def test_preflight_refuses_a_restore_the_vcpu_quota_cannot_hold(location):
    # The source VM (4 vCPUs) already runs; a 4-vCPU worker would exceed 6.
    report = simulate(make_scenario(location=location), profile=with_quotas(regional_vcpus=6))
    assert_rolled_back_at_preflight(report, "QuotaExceeded")
    assert "Total Regional vCPUs" in report.error["message"]


def test_preflight_checks_the_family_quota_of_the_worker():
    report = simulate(make_scenario(location="original"),
                      profile=with_quotas(family_vcpus={"standardFSv2Family": 2}))
    assert_rolled_back_at_preflight(report, "QuotaExceeded")
    assert "standardFSv2Family" in report.error["message"]


def test_preflight_lets_an_exact_fit_through():
    # Source 4 vCPUs + worker 4 = 8; the restored VM replaces the source, so 8 is enough.
    report = simulate(make_scenario(location="original"), profile=with_quotas(regional_vcpus=8))
    assert report.status == "succeeded"


def test_preflight_refuses_a_new_vm_name_that_is_taken():
    scenario = make_scenario(location="new", target={"vm_name": "app01"})  # the source's name
    report = simulate(scenario)
    assert_rolled_back_at_preflight(report, "Conflict")
    assert "app01" in report.error["message"]


def test_quota_reached_after_preflight_rolls_back_what_was_made():
    # Room for the workers' VMs but not for the new VM's managed disks: only creating
    # the disks fails; preflight counts them and catches it first.
    scenario = make_scenario(location="new")
    report = simulate(scenario, profile=with_quotas(managed_disks=3))
    assert_rolled_back_at_preflight(report, "QuotaExceeded")


def tiny_throttling(capacity: float, per_s: float) -> object:
    """Tiny write and delete limits, and VM writes' (reads keep the default's: preflight's
    dozen GETs would share two tokens)."""
    bucket = Bucket(capacity=capacity, per_s=per_s)
    vm_writes = Policy(resource=bucket, subscription=bucket)
    policies = {**DEFAULT.throttling.policies, **{f"Microsoft.Compute/{name}": vm_writes
                                                  for name in ("PutVM", "UpdateVM", "DeleteVM")}}
    return DEFAULT.model_copy(update={"throttling": DEFAULT.throttling.model_copy(update={
        "arm_writes": bucket, "arm_deletes": bucket, "policies": policies})})


def test_throttling_from_the_profile_is_retried_after_retry_after():
    report = simulate(make_scenario(location="original"), profile=tiny_throttling(2, 0.05))
    assert report.status == "succeeded" and report.leaked == []
    throttled = [o for o in report.operations if "TooManyRequests" in o["errors"]]
    assert throttled and all(o["status"] == "succeeded" for o in throttled)
    # Backoff alone waits 2 s before a second attempt; Retry-After (up to 20 s for a token
    # at 0.05/s) makes it longer.
    assert max(o["retry_wait_s"] / o["errors"].count("TooManyRequests") for o in throttled) > 8
    relaxed = simulate(make_scenario(location="original"))
    assert not [o for o in relaxed.operations if o["errors"]]
    assert report.duration_s > relaxed.duration_s


def test_token_bucket_refills_over_simulated_time():
    bucket = TokenBucket(capacity=2, per_s=0.5, tokens=2)
    assert bucket.refill(0.0) == 0.0
    bucket.tokens -= 2
    assert bucket.refill(0.0) == pytest.approx(2.0)
    assert bucket.refill(1.0) == pytest.approx(1.0)
    assert bucket.refill(100.0) == 0.0 and bucket.tokens == 2
