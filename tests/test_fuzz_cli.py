"""Fuzzed scenario files: whatever the file holds (text or any bytes, deep, huge, ids and
locations of any shape, secrets in any field), the CLI answers with exit code 2 and one
clear line naming the file, or with a report whose status fits its exit code; never a
traceback, never a hang, never a secret."""

from __future__ import annotations

import json
import string
import time
from datetime import timedelta

import yaml
from helpers import SUBSCRIPTION, scenario_dict
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from restore.cli import app
from restore.scenario import MAX_SCENARIO_BYTES

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


def _errors_of(report: str) -> str:
    """What a report says of errors. A value the restore took as a resource's name (a
    vnet named like a JWT is a valid name) is the user's own and shows in the ids it
    names; a secret must never reach an error."""
    found = json.loads(report)
    return json.dumps([found.get(key) for key in ("error", "recovery_error", "cleanup_errors")])


def assert_clean_refusal_or_report(tmp_path, text: str | bytes, *args: str,
                                   secrets: tuple[str, ...] = ()) -> None:
    path = tmp_path / "fuzzed.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    started = time.perf_counter()
    result = runner.invoke(app, ["simulate", str(path), "--json", *args])
    assert time.perf_counter() - started < SECONDS_PER_RUN
    assert result.exit_code in (0, 1, 2, 3)
    event(f"exit code {result.exit_code}")
    assert "Traceback" not in result.output
    said = result.output if result.exit_code == 2 or not result.stdout.strip() else (
        _errors_of(result.stdout) + result.stderr)
    for secret in secrets:  # nor its head or tail: an error may show a value cut short
        for part in (secret[:5], secret[-5:]):
            assert part not in said, said
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


SECONDS_PER_RUN = 20
"""What one fuzzed run may take at most (the slowest, a 1 MiB file of YAML aliases, loads
in under 10 s; most answer in milliseconds)."""
FUZZ = settings(max_examples=60, deadline=timedelta(seconds=SECONDS_PER_RUN),
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
SHIPPED_BYTES = yaml.safe_dump(scenario_dict()).encode()


@FUZZ
@given(data=st.binary(max_size=2048))
def test_any_bytes(tmp_path, data):
    assert_clean_refusal_or_report(tmp_path, data)


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, len(SHIPPED_BYTES)), st.binary(max_size=3),
                                st.integers(0, 3)), min_size=1, max_size=6))
def test_a_scenario_with_any_bytes_changed(tmp_path, edits):
    """Bytes overwritten, inserted or cut anywhere in a valid scenario (almost valid files
    reach the checks past YAML)."""
    data = bytearray(SHIPPED_BYTES)
    for at, new, cut in edits:
        data[at:at + cut] = new
    assert_clean_refusal_or_report(tmp_path, bytes(data))


OPENERS = {"[": "]", "{a: ": "}", "!!seq [": "]", "&x [": "]", "- ": ""}
"""How a level of nesting opens and closes (``- ``, block style, only as the whole file)."""


@settings(FUZZ, max_examples=15)
@given(opener=st.sampled_from(sorted(OPENERS)), depth=st.integers(1, 20_000),
       field=st.sampled_from(["", "name", "source_vm", "target.subnet", "fleet.groups"]))
def test_a_document_nested_to_any_depth(tmp_path, opener, depth, field):
    text = opener * depth + "x" + OPENERS[opener] * depth
    if field and opener != "- ":
        raw = set_field(scenario_dict(), field, "NESTED")
        text = yaml.safe_dump(raw).replace("NESTED", text)
    assert_clean_refusal_or_report(tmp_path, text)


@settings(FUZZ, max_examples=20)
@given(kind=st.sampled_from(["comment", "scalar", "keys", "list", "bomb"]),
       size=st.one_of(st.integers(0, MAX_SCENARIO_BYTES // 4),
                      st.integers(MAX_SCENARIO_BYTES + 1, 3 * MAX_SCENARIO_BYTES // 2)),
       width=st.integers(2, 12),
       levels=st.integers(1, 9))
def test_a_huge_document(tmp_path, kind, size, width, levels):
    """Files up to a quarter of the size limit (a file near it takes seconds to load: see
    test_bad_input), files over it, and alias bombs of any width and depth."""
    body = yaml.safe_dump(scenario_dict())
    if kind == "comment":
        text = body + "#" * size
    elif kind == "scalar":
        text = body.replace("name: t-restore", "name: " + "n" * size, 1)
    elif kind == "keys":
        text = body + "".join(f"k{i}: {i}\n" for i in range(size // 64))
    elif kind == "list":  # more data disks than any size takes (a fleet so big: test_bad_input)
        raw = scenario_dict(data_disks=[{"size_gb": 8} for _ in range(size // 256)])
        text = yaml.safe_dump(raw)
    else:
        text = "a0: &a0 [" + ",".join(["x"] * width) + "]\n" + "".join(
            f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * width) + "]\n"
            for n in range(1, levels + 1)) + body.replace("t-restore", f"*a{levels}", 1)
    assert_clean_refusal_or_report(tmp_path, text)


TOKEN = st.text(alphabet=string.ascii_letters + string.digits, min_size=8, max_size=24).map(
    lambda middle: f"S3CRET{middle}T3RCES")
"""A secret's signature, marked at both ends (an error that cuts a long value short may
show its head or its tail)."""
SECRET_FORMS = ["https://acct.blob.core.windows.net/points?sv=2024-05-04&sr=c&sig={}",
                "?sig={}&se=2030-01-01", "Bearer {}", "eyJ{}.eyJ{}.{}"]
ID_PARTS = ["", "/", "subscriptions", SUBSCRIPTION, "resourceGroups", "rg", "providers",
            "Microsoft.Network", "virtualNetworks", "v", "subnets", "s", "..", " ", "%2F",
            "\x00", "é", "not a guid", "-"]
LOCATIONS = ["westeurope", "West Europe", "WESTEUROPE", " west europe ", "westus", "mars",
             "eastus2euap", "", "original", "new"]
VALUES = st.one_of(
    st.lists(st.sampled_from(ID_PARTS), max_size=12).map("/".join),
    st.sampled_from(LOCATIONS), st.sampled_from(["1", "2", "3", "0", "99", "", "1 "]),
    st.text(max_size=40), st.integers(-5, 5), st.none(), st.booleans(),
    st.lists(st.sampled_from(["1", "2"]), max_size=3),
)
ID_FIELDS = ["subscription", "target.subnet", "source_vm.location", "source_vm.zone",
             "target.region", "target.zone", "appliance_id", "source_vm.network.vnet",
             "source_vm.network.resource_group"]


@settings(FUZZ, max_examples=50)
@example(changes=[("target.region", "westeurope")],  # found in CI: a JWT-shaped vnet name
         secret=("eyJ{}.eyJ{}.{}", "S3CRET00000000T3RCES", "target.subnet", ""),
         backend="sim")
@given(changes=st.lists(st.tuples(st.sampled_from(ID_FIELDS), VALUES), min_size=1,
                        max_size=3),
       secret=st.tuples(st.sampled_from(SECRET_FORMS), TOKEN, st.sampled_from(ID_FIELDS),
                        st.text(max_size=60)),
       backend=st.sampled_from(["sim", "sim", "sim", "fake-arm"]))
def test_ids_locations_and_zones_of_any_shape(tmp_path, changes, secret, backend):
    """Subscriptions, subnets, locations, regions and zones of any shape, one field holding
    a secret after any prefix (an error cuts long values short): the invariants hold on
    both simulated backends."""
    raw = scenario_dict(location="new")
    for field, value in changes:
        set_field(raw, field, value)
    form, token, field, prefix = secret
    set_field(raw, field, prefix + form.format(token, token, token))
    assert_clean_refusal_or_report(tmp_path, yaml.safe_dump(raw), "--backend", backend,
                                   secrets=(token,))
