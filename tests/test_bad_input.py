"""Bad input found by the reliability campaign (issue 15, defect 7): each is a clear error
naming what is wrong, exit 2, never a traceback or a hang."""

from __future__ import annotations

import json
import time

import pytest
import yaml
from helpers import ROOT
from typer.testing import CliRunner

from restore.cli import app
from restore.scenario import MAX_FLEET_VMS, MAX_SCENARIO_BYTES, parse_scenario

SHIPPED = yaml.safe_load((ROOT / "scenarios" / "new-hot-backup.yaml").read_text())


def refused(*args: str) -> str:
    """The one error line of a command that must exit 2."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.output


def scenario_file(tmp_path, changes: dict | None = None, text: str | bytes | None = None):
    path = tmp_path / "s.yaml"
    if text is None:
        raw = yaml.safe_load(yaml.safe_dump(SHIPPED))
        for dotted, value in (changes or {}).items():
            *parents, leaf = dotted.split(".")
            node = raw
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        text = yaml.safe_dump(raw)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def test_a_file_that_is_not_utf8_text_is_named_as_such(tmp_path):
    out = refused("simulate", scenario_file(tmp_path, text=b"name: x\n\xff\xfe\n"))
    assert "not UTF-8 text (byte 0xff at offset 8)" in out


def test_a_deeply_nested_document_is_refused(tmp_path):
    out = refused("simulate", scenario_file(tmp_path, text="a: " + "[" * 5000 + "]" * 5000))
    assert "nested too deeply" in out


def test_a_key_written_twice_is_refused_with_its_line(tmp_path):
    out = refused("simulate", scenario_file(tmp_path, text="name: x\nname: y\n"))
    assert "the key 'name' is written twice at line 2" in out


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path):
    out = refused("simulate", scenario_file(tmp_path, text="#" * (MAX_SCENARIO_BYTES + 1)))
    assert "larger than 1024 KB" in out


def test_a_yaml_alias_bomb_is_reported_quickly_and_briefly(tmp_path):
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    for level, name in enumerate("bcdefgh"):
        bomb += f"{name}: &{name} [" + ",".join([f"*{'abcdefgh'[level]}"] * 9) + "]\n"
    body = yaml.safe_dump(SHIPPED, sort_keys=False).replace(
        f"name: {SHIPPED['name']}", "name: *h", 1)
    started = time.perf_counter()
    out = refused("simulate", scenario_file(tmp_path, text=bomb + body))
    assert time.perf_counter() - started < 10 and len(out) < 1000
    assert "name: Input should be a valid string" in out


@pytest.mark.parametrize(("field", "value", "says"), [
    ("subscription", "not/a guid", "subscription: String should match pattern"),
    ("target.subnet", "///", "target.subnet: '///' is not a subnet's ARM id"),
    ("target.subnet", "/x", "target.subnet: '/x' is not a subnet's ARM id"),
    ("target.subnet", "vnet/sub net", "neither 'vnet/subnet'"),
])
def test_ids_that_are_not_ids_are_refused_naming_the_field(tmp_path, field, value, says):
    assert says in refused("simulate", scenario_file(tmp_path, {field: value}))


def test_subnets_written_either_way_are_taken(tmp_path):
    arm_id = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers"
              "/Microsoft.Network/virtualNetworks/v/subnets/s")
    for subnet in ("vnet/sn", arm_id):
        result = CliRunner().invoke(app, ["plan", scenario_file(tmp_path, {
            "target.subnet": subnet})])
        assert result.exit_code == 0, result.output


def test_journal_paths_that_cannot_be_journals_are_named(tmp_path):
    out = refused("simulate", "orig-hot-backup", "--journal", str(tmp_path / "no" / "j.db"))
    assert "its folder" in out and "does not exist" in out
    assert "a folder; a journal is a file" in refused("simulate", "orig-hot-backup",
                                                       "--journal", str(tmp_path))
    assert "a folder; a journal is a file" in refused("resume", str(tmp_path))


def test_crash_at_nothing_is_refused():
    assert "--crash-at: names no step" in refused("simulate", "orig-hot-backup",
                                                  "--crash-at", "")


@pytest.mark.parametrize(("field", "value", "says"), [
    ("source_vm.os_disk.size_gb", True, "source_vm.os_disk.size_gb: Input should be a valid "
                                        "integer (got True)"),
    ("seed", True, "seed: Input should be a valid integer"),
    ("target.disk_sku", {7: "Standard_LRS"}, "target.disk_sku: no disk at LUN 7"),
    ("region_profile", "nope", "region_profile: 'nope': no such profile"),
])
def test_values_taken_silently_or_unnamed_before_are_refused(tmp_path, field, value, says):
    assert says in refused("simulate", scenario_file(tmp_path, {field: value}))


def test_a_disk_sku_per_lun_of_disks_it_has_is_taken(tmp_path):
    result = CliRunner().invoke(app, ["plan", scenario_file(tmp_path, {
        "target.disk_sku": {"os": "Standard_LRS", 0: "StandardSSD_LRS"}})])
    assert result.exit_code == 0, result.output


def test_resume_refuses_a_file_that_is_no_journal_and_leaves_it_as_it_was(tmp_path):
    import sqlite3

    empty, foreign, noise = tmp_path / "empty.db", tmp_path / "foreign.db", tmp_path / "x.db"
    empty.write_bytes(b"")
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE accounts (id INTEGER)")
    noise.write_bytes(b"not a database at all" * 100)
    for path in (empty, foreign, noise):
        before = path.read_bytes()
        assert "not a restorelab journal" in refused("resume", str(path))
        assert path.read_bytes() == before, path.name
        assert not path.with_name(path.name + "-wal").exists(), path.name


def test_resume_still_takes_a_journal(tmp_path):
    journal = str(tmp_path / "j.db")
    crashed = CliRunner().invoke(app, ["simulate", "orig-hot-backup", "--crash-at",
                                       "create_vm", "--journal", journal])
    assert crashed.exit_code == 3, crashed.output
    assert CliRunner().invoke(app, ["resume", journal]).exit_code == 0


@pytest.mark.parametrize(("changes", "says"), [
    ({"source_vm.location": "mars"},
     "source_vm.location: 'mars' is not a location of region profile 'default'"),
    ({"source_vm.location": "westeuorpe"}, "did you mean westeurope"),
    ({"target.region": "atlantis"}, "target.region: 'atlantis' is not a location"),
    ({"target.region": "northeurope", "target.zone": "99"},
     "target.zone: '99' is not an availability zone of northeurope (its zones: 1, 2, 3)"),
    ({"target.zone": "4"}, "target.zone: '4' is not an availability zone of westeurope"),
    ({"source_vm.zone": "99"}, "source_vm.zone: '99' is not an availability zone of westeurope"),
    ({"target.region": "westus", "target.zone": "1"},
     "target.zone: westus has no availability zones"),
])
def test_unknown_locations_and_zones_are_refused_naming_the_field(tmp_path, changes, says):
    out = refused("simulate", scenario_file(tmp_path, changes))
    assert says in " ".join(out.split()), out


def test_an_unknown_location_lists_what_is_known_briefly(tmp_path):
    out = " ".join(refused("plan", scenario_file(tmp_path, {"target.region": "mars"})).split())
    assert "locations known" in out and len(out) < 400, out


@pytest.mark.parametrize(("field", "given", "kept"), [
    ("source_vm.location", "West Europe", "westeurope"),
    ("target.region", "North Europe", "northeurope"),
])
def test_a_location_written_as_azure_displays_it_is_taken_as_its_name(tmp_path, field,
                                                                      given, kept):
    result = CliRunner().invoke(app, ["simulate", scenario_file(tmp_path, {field: given}),
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["restored_vm"]["location"] == kept


def test_zones_a_location_offers_are_taken(tmp_path):
    result = CliRunner().invoke(app, ["plan", scenario_file(tmp_path, {
        "source_vm.zone": "1", "target.region": "northeurope", "target.zone": "3"})])
    assert result.exit_code == 0, result.output


def test_a_fleet_over_the_cap_is_refused_before_anything_is_made(tmp_path):
    huge = {"max_workers": 4, "groups": [{"count": 100_000}] * 1000}
    started = time.perf_counter()
    out = " ".join(refused("simulate", scenario_file(tmp_path, {"fleet": huge})).split())
    assert time.perf_counter() - started < 10
    assert f"fleet.groups: 100,000,000 VMs in all, more than the {MAX_FLEET_VMS:,}" in out, out
    just_over = {"max_workers": 4, "groups": [{"count": MAX_FLEET_VMS}, {"count": 1}]}
    assert "fleet.groups" in refused("simulate", scenario_file(tmp_path, {"fleet": just_over}))


def test_a_fleet_at_the_cap_is_taken():
    raw = yaml.safe_load(yaml.safe_dump(SHIPPED))
    raw["fleet"] = {"max_workers": 4, "groups": [{"count": MAX_FLEET_VMS - 1}, {"count": 1}]}
    assert parse_scenario(raw).fleet.count == MAX_FLEET_VMS


SIGNATURE = "S3CRETabcdefghijklmnopqrT3RCES"  # longer than the tail an error shows


@pytest.mark.parametrize("secret", [
    f"https://acct.blob.core.windows.net/points?sv=2024-05-04&sig={SIGNATURE}",
    f"0Bearer {SIGNATURE}", f"0eyJ{SIGNATURE}.eyJ{SIGNATURE}.{SIGNATURE}",
])
def test_a_value_cut_short_in_an_error_keeps_no_part_of_a_secret(tmp_path, secret):
    out = refused("simulate", scenario_file(tmp_path, {"subscription": secret}))
    assert "subscription: String should match pattern" in out
    assert "T3RCES" not in out and "S3CRET" not in out, out


def test_a_yaml_error_says_what_it_found_before_where(tmp_path):
    out = refused("simulate", scenario_file(tmp_path, text="a: &x [&x [1]]\n"))
    assert ("found duplicate anchor 'x'; first occurrence at line 1, column 4; second "
            "occurrence at line 1, column 8") in out, out


def test_more_data_disks_than_luns_are_refused_by_the_limit_first(tmp_path):
    """20,000 data disks took 30 s to refuse (a quadratic name check): the list's limit
    (64, one per LUN) refuses them before any check of each disk runs."""
    disks = [{"size_gb": 8} for _ in range(20_000)]
    out = refused("simulate", scenario_file(tmp_path, {"source_vm.data_disks": disks}))
    assert "source_vm.data_disks: List should have at most 64 items" in out, out
    assert out.count("source_vm.data_disks.") == 0, out  # no error of any one disk
