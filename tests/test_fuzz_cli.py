"""Fuzzed scenario files: whatever the file holds, the CLI answers with exit code 2 and one
clear line naming the file, never a traceback."""

from __future__ import annotations

import json

import yaml
from helpers import scenario_dict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from restore.cli import app

runner = CliRunner()
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12)
FIELDS = ["name", "seed", "region_profile", "appliance_id", "source_vm", "source_vm.size",
          "source_vm.os_disk", "source_vm.os_disk.size_gb", "source_vm.data_disks",
          "restore_point", "restore_point.kind", "restore_point.tier", "target",
          "target.location", "target.disk_sku", "faults", "data"]


def set_field(raw: dict, dotted: str, value: object) -> dict:
    node = raw
    *parents, last = dotted.split(".")
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value
    return raw


def assert_clean_refusal_or_report(tmp_path, text: str) -> None:
    path = tmp_path / "fuzzed.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["simulate", str(path), "--json"])
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit), repr(result.exception)
    if result.exit_code == 2:
        assert result.stderr.startswith("error: ") and "fuzzed.yaml" in result.stderr
        assert result.stderr.count("\n") == 1 and result.stdout == ""
    else:  # a valid scenario after all: a report, and a status that fits the exit code
        report = json.loads(result.stdout)
        assert result.exit_code == {"succeeded": 0, "interrupted": 3}.get(report["status"], 1)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS), value=values)
def test_a_field_with_any_value(tmp_path, field, value):
    raw = set_field(scenario_dict(), field, value)
    assert_clean_refusal_or_report(tmp_path, yaml.safe_dump(raw))


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_any_text(tmp_path, text):
    assert_clean_refusal_or_report(tmp_path, text)
