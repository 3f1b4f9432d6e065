"""The replay's checks can fail: an example (changed in memory, never on disk) that the
fake's answer does not match is reported with what differs."""

from __future__ import annotations

import copy

import pytest

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

from conformance.replay import examples, replay, same_value  # noqa: E402
from fakecloud import mock_azure  # noqa: E402


@pytest.fixture
def empty_disk():
    return next(e for e in examples() if e.path.endswith("/Disk_Create_Empty.json"))


def replayed(example):
    with mock_azure():
        return replay(example)


def test_the_unchanged_example_conforms(empty_disk):
    assert replayed(empty_disk) == []


def test_an_undocumented_status_is_reported(empty_disk):
    changed = copy.deepcopy(empty_disk)
    changed.responses = {"201": changed.responses["200"]}
    assert any("status 202 not among the documented ['201']" in p for p in replayed(changed))


def test_a_field_of_another_type_is_reported(empty_disk):
    changed = copy.deepcopy(empty_disk)
    for answer in changed.responses.values():
        answer["body"]["properties"]["diskSizeGB"] = "200"
    assert any(".properties.diskSizeGB: int, the example has str" in p
               for p in replayed(changed))


def test_a_value_the_request_fixed_must_come_back(empty_disk):
    changed = copy.deepcopy(empty_disk)
    changed.parameters["disk"]["tags"] = {"team": "storage"}
    for answer in changed.responses.values():
        answer["body"]["tags"] = {"team": "storage"}
    assert replayed(changed) == []  # the fake echoes tags: conforms
    changed.parameters["disk"]["properties"]["diskState"] = "Reserved"  # ARM's own field
    for answer in changed.responses.values():
        answer["body"]["properties"]["diskState"] = "Reserved"
    assert ".properties.diskState: 'Unattached', the request set 'Reserved'" in replayed(changed)


def test_locations_and_ids_compare_as_arm_compares_them():
    assert same_value("location", "West US", "westus")
    assert same_value("id", "subscriptions/x/resourceGroups/RG",
                      "/subscriptions/x/resourcegroups/rg")
    assert not same_value("name", "West US", "westus")
