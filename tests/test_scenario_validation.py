"""Bad scenarios raise ScenarioError naming the field (and the file when read from one)."""

from __future__ import annotations

import pytest
import yaml
from helpers import ALL_SCENARIO_FILES, make_scenario, scenario_dict, with_changes

import restore
from restore import ScenarioError, load_scenario, parse_scenario
from restore.backends.profiles import load_profile
from restore.plan import build_plan

BASE = scenario_dict()


def error_of(raw) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(raw, source="bad.yaml")
    return info.value


def test_the_base_scenario_is_valid():
    assert parse_scenario(BASE).source_vm.name == "app01"


@pytest.mark.parametrize(("dotted", "value", "field"), [
    ("source_vm.os_disk.size_gb", 0, "source_vm.os_disk.size_gb"),
    ("source_vm.os_disk.size_gb", -5, "source_vm.os_disk.size_gb"),
    ("source_vm.os_disk.size_gb", "big", "source_vm.os_disk.size_gb"),
    ("source_vm.os_disk.size_gb", 70000, "source_vm.os_disk.size_gb"),
    ("source_vm.data_disks.1.size_gb", 0, "source_vm.data_disks.1.size_gb"),
    ("source_vm.data_disks.0.sku", "Gold_LRS", "source_vm.data_disks.0.sku"),
    ("source_vm.data_disks.0.lun", 64, "source_vm.data_disks.0.lun"),
    ("source_vm.data_disks.0.used_gb", -1, "source_vm.data_disks.0.used_gb"),
    ("source_vm.data_disks.0.used_gb", 500, "source_vm.data_disks.0"),  # > size_gb 128
    ("source_vm.name", "bad name!", "source_vm.name"),
    ("source_vm.resource_group", "", "source_vm.resource_group"),
    ("source_vm.data_disks", "two", "source_vm.data_disks"),
    ("restore_point.kind", "tape", "restore_point.kind"),
    ("restore_point.tier", "cold", "restore_point.tier"),
    ("target.location", "elsewhere", "target.location"),
    ("target.power_on", "maybe", "target.power_on"),
    ("name", "", "name"),
    ("seed", "seven", "seed"),
])
def test_bad_value_names_its_field(dotted, value, field):
    err = error_of(with_changes(BASE, dotted, value))
    assert err.field == field
    assert err.source == "bad.yaml"
    assert str(err).startswith(f"bad.yaml: {field}: ")


@pytest.mark.parametrize(("dotted", "field"), [
    ("colour", "colour"),
    ("source_vm.colour", "source_vm.colour"),
    ("source_vm.os_disk.iops", "source_vm.os_disk.iops"),
    ("restore_point.retention", "restore_point.retention"),
    ("target.vm_nmae", "target.vm_nmae"),
])
def test_unknown_field_is_named(dotted, field):
    err = error_of(with_changes(BASE, dotted, 1))
    assert err.field == field
    assert "unknown field" in err.message


@pytest.mark.parametrize("missing", ["name", "appliance_id", "source_vm"])
def test_missing_required_field_is_named(missing):
    raw = dict(BASE)
    del raw[missing]
    err = error_of(raw)
    assert err.field == missing
    assert "missing" in err.message


@pytest.mark.parametrize("field", ["vm_name", "resource_group", "region", "vm_size", "subnet",
                                   "zone", "disk_sku", "tags"])
def test_original_location_refuses_new_location_settings(field):
    value = {"tags": {"a": "b"}, "disk_sku": "Premium_LRS", "zone": "1"}.get(field, "x")
    raw = scenario_dict(location="original", target={field: value})
    err = error_of(raw)
    assert err.field.startswith("target")
    assert field in err.message


def test_new_location_accepts_those_settings():
    make_scenario(location="new", target={"vm_name": "x", "resource_group": "rg-x",
                                          "region": "northeurope", "zone": "1",
                                          "tags": {"a": "b"}, "disk_sku": "StandardSSD_LRS"})


def test_snapshot_has_no_archive_tier():
    err = error_of(scenario_dict(kind="snapshot", tier="archive"))
    assert err.field.startswith("restore_point")
    assert "archive" in err.message


@pytest.mark.parametrize("kind", ["backup", "snapshot"])
def test_rehydrate_priority_only_with_archive(kind):
    err = error_of(scenario_dict(kind=kind, tier="hot", priority="high"))
    assert err.field.startswith("restore_point")
    assert "rehydrate_priority" in err.message


def test_bad_rehydrate_priority_value():
    err = error_of(scenario_dict(tier="archive", priority="urgent"))
    assert err.field == "restore_point.rehydrate_priority"


@pytest.mark.parametrize("disks", [
    [{"size_gb": 8, "lun": 1}, {"size_gb": 8, "lun": 1}],
    [{"size_gb": 8}, {"size_gb": 8, "lun": 0}],  # the first one defaults to LUN 0
])
def test_duplicate_luns(disks):
    err = error_of(scenario_dict(data_disks=disks))
    assert err.field == "source_vm.data_disks"
    assert "LUN" in err.message


@pytest.mark.parametrize("field", ["faults.0.kind", "faults.0.times", "faults.0.probability"])
def test_bad_fault_fields(field):
    raw = dict(BASE, faults=[{"at": "create_vm", "kind": "transient"}])
    value = {"faults.0.kind": "meteor", "faults.0.times": 0, "faults.0.probability": 2}[field]
    assert error_of(with_changes(raw, field, value)).field == field


@pytest.mark.parametrize("raw", [None, [], "name: x", 7])
def test_parse_scenario_wants_a_mapping(raw):
    err = error_of(raw)
    assert err.source == "bad.yaml"
    assert "mapping" in err.message


# -- checks that need the region profile (VM sizes, disk SKUs) ----------------------------

def plan_error(scenario) -> ScenarioError:
    """build_plan and simulate must both refuse the scenario with the same error."""
    with pytest.raises(ScenarioError) as planned:
        build_plan(scenario, load_profile("default").sizing)
    with pytest.raises(ScenarioError) as simulated:
        restore.simulate(scenario)
    assert simulated.value.field == planned.value.field
    return simulated.value


def test_too_many_data_disks_for_the_source_size():
    err = plan_error(make_scenario(size="Standard_D2s_v5", data_disks=[{"size_gb": 8}] * 5))
    assert err.field == "source_vm.size"
    assert "4" in err.message and "5" in err.message


def test_too_many_data_disks_for_the_target_size():
    scenario = make_scenario(location="new", size="Standard_D4s_v5",
                             data_disks=[{"size_gb": 8}] * 6,
                             target={"vm_size": "Standard_D2s_v5"})
    assert plan_error(scenario).field == "target.vm_size"


def test_as_many_data_disks_as_the_size_allows_is_fine():
    scenario = make_scenario(size="Standard_D2s_v5", data_disks=[{"size_gb": 8}] * 4)
    assert restore.simulate(scenario).status == "succeeded"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"size": "Standard_Nope"}, "source_vm.size"),
    ({"location": "new", "target": {"vm_size": "Standard_Nope"}}, "target.vm_size"),
])
def test_unknown_vm_size(kwargs, field):
    err = plan_error(make_scenario(**kwargs))
    assert err.field == field
    assert "Standard_Nope" in err.message


@pytest.mark.parametrize(("sku", "size_gb", "ok"), [
    ("Premium_LRS", 32767, True), ("Premium_LRS", 32768, False),
    ("Standard_LRS", 40000, False), ("PremiumV2_LRS", 65536, True),
])
def test_disk_larger_than_its_sku_allows(sku, size_gb, ok):
    scenario = make_scenario(size="Standard_D16s_v5",
                             data_disks=[{"size_gb": size_gb, "sku": sku, "used_gb": 1}])
    if ok:
        assert restore.simulate(scenario).status == "succeeded"
        return
    with pytest.raises(ScenarioError) as info:
        restore.simulate(scenario)
    assert "LUN 0" in info.value.field or "data_disks" in info.value.field
    assert str(size_gb) in info.value.message


def test_target_sku_too_small_for_the_disk_is_refused():
    scenario = make_scenario(location="new", size="Standard_D16s_v5",
                             data_disks=[{"size_gb": 40000, "sku": "PremiumV2_LRS",
                                          "used_gb": 1}],
                             target={"disk_sku": "Premium_LRS"})
    with pytest.raises(ScenarioError) as info:
        restore.simulate(scenario)
    assert "40000" in info.value.message


def test_disk_larger_than_its_sku_allows_names_the_dotted_field():
    scenario = make_scenario(data_disks=[{"size_gb": 40000, "sku": "Premium_LRS"}])
    with pytest.raises(ScenarioError) as info:
        restore.simulate(scenario)
    assert info.value.field == "source_vm.data_disks.0.size_gb"


@pytest.mark.parametrize("disks", [
    [{"size_gb": 8, "name": "data"}, {"size_gb": 8, "name": "data"}],
    [{"size_gb": 8, "name": "app01-osdisk"}],  # the OS disk's default name
])
def test_duplicate_disk_names_are_a_scenario_error(disks):
    with pytest.raises(ScenarioError) as info:
        restore.simulate(make_scenario(data_disks=disks))
    assert info.value.field.startswith("source_vm")


# -- files ---------------------------------------------------------------------------------

def test_load_scenario_missing_file(tmp_path):
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "nowhere.yaml" in str(info.value)


def test_load_scenario_invalid_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nsource_vm: [unclosed\n  size: 3\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "broken.yaml" in str(info.value)
    assert "YAML" in info.value.message
    assert "line" in info.value.message


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "", "42\n"],
                         ids=["list", "string", "empty", "number"])
def test_load_scenario_not_a_mapping(tmp_path, text):
    path = tmp_path / "notamap.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "notamap.yaml" in str(info.value)


def test_load_scenario_bad_field_names_file_and_field(tmp_path):
    path = tmp_path / "badfield.yaml"
    path.write_text(yaml.safe_dump(with_changes(BASE, "restore_point.kind", "tape")))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.field == "restore_point.kind"
    assert "badfield.yaml" in str(info.value) and "restore_point.kind" in str(info.value)


def test_load_scenario_reads_a_good_file(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(BASE))
    assert load_scenario(path) == parse_scenario(BASE)
    assert load_scenario(str(path)).name == BASE["name"]


@pytest.mark.parametrize("path", ALL_SCENARIO_FILES, ids=lambda p: p.stem)
def test_shipped_scenarios_are_valid(path):
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    build_plan(scenario, load_profile(scenario.region_profile).sizing)


@pytest.mark.parametrize("name", ["no-such-profile", "a\x00b", "bad\x00.yaml"])
def test_a_profile_that_cannot_be_read_is_a_scenario_error_naming_it(name):
    with pytest.raises(ScenarioError, match="region profile"):
        load_profile(name)
