"""The benchmark scripts keep working (their figures are checked for consistency here;
their speed is measured by running them, never asserted in a test)."""

from __future__ import annotations

import json
import sys

import pytest
from helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))


def test_bench_arm_replays_exactly_the_requests_the_fake_answered(capsys):
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    import bench_arm

    assert bench_arm.main(["--rounds", "1", "--json"]) == 0  # the stubs: every answer used
    figures = json.loads(capsys.readouterr().out)
    assert figures["requests"] == figures["minimum_requests"] + figures["polls_still_running"]
    assert 0 < figures["polls_still_running"] <= figures["operations"]  # no busy polling
    assert figures["fake_s"] > 0 and figures["stubs_s"] > 0


def test_bench_agent_restores_verified_bytes(capsys, monkeypatch):
    import bench_agent

    monkeypatch.setattr(sys, "argv", ["bench_agent.py", "--mb", "8", "--rounds", "1"])
    assert bench_agent.main() == 0
    assert "verified" in capsys.readouterr().out
