"""fakecloud's own fault rules, in ARM's terms (like LocalStack's chaos rules and AWS FIS),
seen by a plain SDK client: which calls they match, how often, and what they do."""

from __future__ import annotations

import pytest

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

from azure.core.exceptions import HttpResponseError  # noqa: E402
from azure.mgmt.compute import ComputeManagementClient  # noqa: E402
from azure.mgmt.compute.models import CreationData, Disk, DiskSku  # noqa: E402
from azure.mgmt.resource.resources import ResourceManagementClient  # noqa: E402
from helpers import readme_example  # noqa: E402

from fakecloud import FakeCredential, mock_azure  # noqa: E402
from fakecloud.region import ChaosRule  # noqa: E402

PUT_DISK = "PUT Microsoft.Compute/disks"


def compute_client(fake) -> ComputeManagementClient:
    """A client that does not retry by itself: each fault shows."""
    ResourceManagementClient(FakeCredential(), fake.subscription).resource_groups \
        .create_or_update("rg", {"location": "westeurope"})
    return ComputeManagementClient(FakeCredential(), fake.subscription, polling_interval=0,
                                   retry_total=0)


def disk(location: str = "westeurope") -> Disk:
    return Disk(location=location, sku=DiskSku(name="Premium_LRS"), disk_size_gb=8,
                creation_data=CreationData(create_option="Empty"))


def create(compute, name: str, location: str = "westeurope"):
    return compute.disks.begin_create_or_update("rg", name, disk(location)).result()


def test_a_throttling_rule_answers_429_with_retry_after_then_lets_the_call_through():
    rule = ChaosRule(operation=PUT_DISK, resource="data-*", status=429, code="TooManyRequests",
                     retry_after=17)
    with mock_azure(rules=[rule]) as fake:
        compute = compute_client(fake)
        with pytest.raises(HttpResponseError) as refused:
            create(compute, "data-1")
        assert refused.value.status_code == 429 and refused.value.error.code == "TooManyRequests"
        assert refused.value.response.headers["Retry-After"] == "17"
        assert fake.state.find(f"/subscriptions/{fake.subscription}/resourceGroups/rg/providers/"
                               "Microsoft.Compute/disks/data-1") is None  # nothing was made
        assert create(compute, "data-1").provisioning_state == "Succeeded"  # times: 1


def test_a_long_running_operation_can_end_failed_with_a_code():
    rule = ChaosRule(operation=PUT_DISK, fail_lro=True, code="InternalOperationError")
    with mock_azure(rules=[rule]) as fake:
        compute = compute_client(fake)
        poller = compute.disks.begin_create_or_update("rg", "d1", disk())  # accepted
        with pytest.raises(HttpResponseError) as failed:
            poller.result()
        assert failed.value.error.code == "InternalOperationError"
        assert fake.clock.now > 0  # it failed when its time had passed
        assert fake.state.in_group("rg") == []  # the disk was never made


def test_added_latency_slows_a_call_that_succeeds():
    with mock_azure(seed=4) as plain:
        create(compute_client(plain), "d1")
        took = plain.clock.now
    with mock_azure(seed=4, rules=[ChaosRule(operation=PUT_DISK, added_latency_s=600)]) as slow:
        assert create(compute_client(slow), "d1").provisioning_state == "Succeeded"
        assert slow.clock.now >= took + 600


def test_rules_match_by_region_and_reads_get_faults_too():
    quota = ChaosRule(operation=PUT_DISK, region="eastus", status=409, code="QuotaExceeded",
                      times=None)
    with mock_azure(rules=[quota]) as fake:
        compute = compute_client(fake)
        assert create(compute, "d1").name == "d1"  # westeurope: not the rule's region
        fake.region.chaos.add(ChaosRule(operation="GET Microsoft.Compute/*", resource="d1",
                                        status=503, code="ServiceUnavailable"))
        for name in ("e1", "e2"):  # times None: every time
            with pytest.raises(HttpResponseError) as refused:
                create(compute, name, location="eastus")
            assert refused.value.error.code == "QuotaExceeded"
        with pytest.raises(HttpResponseError) as unavailable:
            compute.disks.get("rg", "d1")
        assert unavailable.value.status_code == 503
        assert compute.disks.get("rg", "d1").name == "d1"


def test_a_probability_is_drawn_from_the_fake_seed():
    def failures(seed: int) -> list[bool]:
        rule = ChaosRule(operation=PUT_DISK, probability=0.5, times=None, status=500,
                         code="InternalServerError")
        outcome = []
        with mock_azure(seed=seed, rules=[rule]) as fake:
            compute = compute_client(fake)
            for index in range(12):
                try:
                    create(compute, f"d{index}")
                    outcome.append(False)
                except HttpResponseError:
                    outcome.append(True)
        return outcome

    first = failures(7)
    assert first == failures(7) and any(first) and not all(first)


@pytest.mark.parametrize(("fields", "says"), [
    ({"operation": PUT_DISK}, "needs an effect"),
    ({"status": 500}, "needs an ARM error code"),
    ({"status": 500, "code": "X", "probability": 1.5}, "probability"),
    ({"status": 500, "code": "X", "times": 0}, "times"),
])
def test_a_rule_that_could_never_take_effect_is_refused(fields, says):
    with pytest.raises(ValueError, match=says):
        ChaosRule(**fields)


def test_the_readme_example_of_a_fault_rule_runs():
    readme_example("ChaosRule(")
