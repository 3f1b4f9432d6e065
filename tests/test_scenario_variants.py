"""Scenario and profile variants: ``Scenario.with_`` and ``restore.load_profile``, and
``profile=`` objects honoured by simulate, simulate_fleet and sweep."""

from __future__ import annotations

import pytest

import restore
from restore import ScenarioError


@pytest.fixture(scope="module")
def base():
    return restore.load_scenario("orig-hot-backup")


def test_dotted_keys_and_keywords_change_only_what_they_name(base):
    variant = base.with_({"source_vm.size": "Standard_D4s_v5", "restore_point.tier": "archive"},
                         seed=3)
    assert (variant.source_vm.size, variant.restore_point.tier, variant.seed) == (
        "Standard_D4s_v5", "archive", 3)
    assert variant.source_vm.os_disk == base.source_vm.os_disk
    assert variant.source_vm.name == base.source_vm.name
    assert (base.source_vm.size, base.restore_point.tier, base.seed) == (
        "Standard_D2s_v5", "hot", 1)


def test_a_mapping_merges_into_the_field_and_a_list_replaces_it(base):
    disks = [{"size_gb": 256, "used_gb": 120}] * 3
    variant = base.with_(source_vm={"size": "Standard_D8s_v5", "data_disks": disks,
                                    "os_disk": {"used_gb": 10}})
    assert variant.source_vm.size == "Standard_D8s_v5"
    assert variant.source_vm.location == base.source_vm.location  # merged, not replaced
    assert variant.source_vm.os_disk.size_gb == base.source_vm.os_disk.size_gb
    assert variant.source_vm.os_disk.used_gb == 10
    assert [(d.size_gb, d.used_gb) for d in variant.source_vm.data_disks] == [(256, 120)] * 3


def test_a_dotted_key_reaches_into_a_list_by_index(base):
    variant = base.with_({"source_vm.data_disks.0.used_gb": 5})
    assert variant.source_vm.data_disks[0].used_gb == 5
    assert variant.source_vm.data_disks[0].size_gb == base.source_vm.data_disks[0].size_gb


def test_a_variant_is_planned_as_its_fields_say(base):
    archived = base.with_({"restore_point.tier": "archive"})
    assert "retrieve_archived_data" in restore.plan_for(archived).step_names
    assert "retrieve_archived_data" not in restore.plan_for(base).step_names


@pytest.mark.parametrize(("changes", "fields", "field"), [
    ({"source_vm.size": 5}, {}, "source_vm.size"),
    ({"source_vm.sizee": "Standard_D4s_v5"}, {}, "source_vm.sizee"),
    ({}, {"colour": "red"}, "colour"),
    ({"restore_point.tier": "tepid"}, {}, "restore_point.tier"),
    ({"source_vm.size.name": "x"}, {}, "source_vm.size"),
    ({"source_vm.data_disks.7.used_gb": 1}, {}, "source_vm.data_disks.7"),
    ({"source_vm.data_disks.0.used_gb": 10_000}, {}, "source_vm.data_disks.0"),
])
def test_a_bad_value_or_unknown_field_is_an_error_naming_it(base, changes, fields, field):
    with pytest.raises(ScenarioError) as caught:
        base.with_(changes, **fields)
    assert caught.value.field == field
    assert caught.value.source == base.name


def test_changes_must_be_a_mapping(base):
    with pytest.raises(TypeError, match="mapping"):
        base.with_([("seed", 2)])


def test_a_profile_variant_is_validated_and_names_the_field():
    default = restore.load_profile("default")
    roomy = restore.load_profile("default", {"quotas.regional_vcpus": 10_000})
    assert roomy.quotas.regional_vcpus == 10_000
    assert roomy.quotas.family_vcpus == default.quotas.family_vcpus  # the rest as it was
    assert default.quotas.regional_vcpus != 10_000
    with pytest.raises(ScenarioError) as caught:
        restore.load_profile(roomy, {"quotas.regional_vcpus": -1})
    assert caught.value.field == "quotas.regional_vcpus"


def slower_disks(factor: float):
    default = restore.load_profile("default")
    latency = default.latency["create_disk"]
    return restore.load_profile(default, {"latency.create_disk": {
        "median": latency.median * factor, "p95": latency.p95 * factor,
        "min": latency.min * factor}})


def test_a_profile_object_changes_a_restore_and_is_deterministic(base):
    slow = slower_disks(20)
    plain = restore.simulate(base, seed=4)
    slowed = restore.simulate(base, seed=4, profile=slow)
    assert slowed.duration_s > plain.duration_s
    assert restore.simulate(base, seed=4, profile=slow).to_dict() == slowed.to_dict()
    assert restore.simulate(base, seed=4, profile="default").to_dict() == plain.to_dict()


@pytest.mark.parametrize("method", ["compiled", "simulated"])
def test_a_sweep_honours_a_profile_object(base, method):
    slow = slower_disks(20)
    swept = restore.sweep(base, runs=8, seed=2, workers=1, method=method, profile=slow)
    again = restore.sweep(base, runs=8, seed=2, workers=1, method=method, profile=slow)
    plain = restore.sweep(base, runs=8, seed=2, workers=1, method=method)
    assert swept.to_dict() == again.to_dict()
    assert swept.to_dict()["duration_s"]["p50"] > plain.to_dict()["duration_s"]["p50"]


def test_a_fleet_honours_a_profile_object():
    fleet = restore.load_scenario("fleet-40-vms").with_(
        {"fleet.groups": [{"count": 3}], "fleet.max_workers": 3})
    plain = restore.simulate_fleet(fleet, seed=1)
    slowed = restore.simulate_fleet(fleet, seed=1, profile=slower_disks(20))
    assert slowed.makespan_s > plain.makespan_s


def test_a_profile_of_another_kind_is_refused(base):
    with pytest.raises(TypeError, match="load_profile"):
        restore.simulate(base, profile=3)


def test_a_plan_follows_the_profile_object_it_is_given(base):
    forced = restore.load_profile("default", worker_profile=[{"size": "Standard_F16s_v2"}])
    assert {w.size for w in restore.plan_for(base, profile=forced).context.workers} == {
        "Standard_F16s_v2"}
    assert {w.size for w in restore.plan_for(base).context.workers} != {"Standard_F16s_v2"}
