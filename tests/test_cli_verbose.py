"""`-v/--verbose` (issue 19): each ARM request on stderr as it is answered, on the backends
that send them; refused where none is sent."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter

import pytest
from typer.testing import CliRunner

from restore.cli import app
from restore.ops import ARM_LOGGER

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

runner = CliRunner()
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
LINE = re.compile(r"^\s*(\d+:\d\d:\d\d|-:--:--)  (\S+)  "
                  r"((?:GET|PUT|POST|PATCH|DELETE) /\S+ \d{3})$")


def shown_requests(stderr: str) -> Counter:
    """(operation, 'METHOD path status') of each request line -v printed."""
    found = [LINE.match(line) for line in stderr.splitlines()]
    return Counter((m[2], m[3]) for m in found if m)


def reported_requests(report: dict) -> Counter:
    """(step/op, request) of each ARM request the report's operations made."""
    return Counter((f"{o['step']}/{o['op']}", call) for o in report["operations"]
                   for call in o["arm_requests"])


def test_verbose_shows_every_arm_request_of_a_fake_arm_restore_and_only_those():
    result = runner.invoke(app, ["simulate", "orig-hot-backup", "--backend", "fake-arm",
                                 "--json", "-v"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)  # stdout stays pure JSON
    shown = shown_requests(result.stderr)
    assert shown and shown == reported_requests(report)
    assert shown.total() == len(result.stderr.splitlines())  # nothing else on stderr
    assert logging.getLogger(ARM_LOGGER).handlers == []  # the command took its handler away


def test_the_lines_come_in_the_restores_clock_order():
    result = runner.invoke(app, ["simulate", "orig-hot-backup", "--backend", "fake-arm",
                                 "--json", "-v"])
    times = [LINE.match(line)[1] for line in result.stderr.splitlines()]
    seconds = [int(h) * 3600 + int(m) * 60 + int(s)
               for h, m, s in (t.split(":") for t in times)]
    assert seconds == sorted(seconds) and seconds[-1] > 0


def test_without_verbose_no_request_is_printed():
    result = runner.invoke(app, ["simulate", "orig-hot-backup", "--backend", "fake-arm",
                                 "--json"])
    assert result.exit_code == 0 and shown_requests(result.stderr) == Counter()


@pytest.mark.parametrize("args", [
    ["simulate", "orig-hot-backup", "-v"],
    ["drill", "orig-hot-backup", "--verbose"],
])
def test_verbose_on_the_sim_backend_is_refused(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "--verbose: shows ARM requests, and the 'sim' backend sends none" in result.stderr


def test_a_fleet_refuses_the_fake_arm_backend_and_verbose():
    result = runner.invoke(app, ["simulate", "fleet-40-vms", "--backend", "fake-arm", "-v"])
    assert result.exit_code == 2 and "--backend: not available for a fleet" in result.stderr
    result = runner.invoke(app, ["simulate", "fleet-40-vms", "-v"])
    assert result.exit_code == 2 and "--verbose: not available for a fleet" in result.stderr


def test_resume_shows_the_requests_of_a_fake_arm_journal_and_refuses_a_sim_one(tmp_path):
    store = ["--sessions", str(tmp_path / "sessions.db")]
    for backend in ("fake-arm", "sim"):
        journal = tmp_path / f"{backend}.db"
        crashed = runner.invoke(app, ["simulate", "orig-hot-backup", "--backend", backend,
                                      "--crash-at", "attach_disks", "--journal",
                                      str(journal), "--json", *store])
        assert crashed.exit_code == 3, crashed.stderr
        resumed = runner.invoke(app, ["resume", str(journal), "--json", "-v", *store])
        if backend == "sim":
            assert resumed.exit_code == 2 and "'sim' backend sends none" in resumed.stderr
            continue
        assert resumed.exit_code == 0, resumed.stderr
        shown = shown_requests(resumed.stderr)
        assert {op.split("/")[0] for op, _ in shown} >= {"attach_disks"}
        assert "preflight" not in {op.split("/")[0] for op, _ in shown}  # done before


def test_a_drill_on_fake_arm_shows_its_instance_view_polls():
    result = runner.invoke(app, ["drill", "drill-hot-backup", "--backend", "fake-arm",
                                 "--json", "-v"])
    assert result.exit_code == 0, result.stderr
    polls = [call for op, call in shown_requests(result.stderr).elements()
             if op == "check_health/wait_vm_healthy"]
    assert polls and all(c.startswith("GET ") and "/instanceView 200" in c for c in polls)


def test_a_real_restore_shows_its_reads_before_the_restore_too(managed_identity):
    """`restore --backend azure -v` under mock_azure: the source VM's reads (no operation
    sends them) are shown as '(reading)', then each operation's requests."""
    from test_live_restore import region_of

    from restore.backends.data import REPOSITORY_URL

    _, _, mocked = region_of("new-hot-backup")
    with mocked:
        result = runner.invoke(app, ["restore", "new-hot-backup", "--subscription",
                                     SUBSCRIPTION, "--repository", REPOSITORY_URL, "--yes",
                                     "--json", "-v"])
    assert result.exit_code == 0, result.stderr
    shown = shown_requests(result.stderr)
    reads = [call for op, call in shown.elements() if op == "(reading)"]
    assert any(c.startswith("GET ") and "/virtualMachines/" in c for c in reads)
    assert shown - Counter({("(reading)", c): n for c, n in Counter(reads).items()}) == \
        reported_requests(json.loads(result.stdout))
