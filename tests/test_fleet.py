"""Mass restore: many VMs at once, one region, a shared worker pool with priorities."""

from __future__ import annotations

import json

import pytest
from helpers import scenario_dict
from typer.testing import CliRunner

import restore
from fakecloud.profile import QuotaLimits
from restore.backends.fleet import simulate_fleet
from restore.backends.profiles import load_profile
from restore.cli import app

DEFAULT = load_profile("default")
ROOMY = DEFAULT.model_copy(update={"quotas": QuotaLimits(
    regional_vcpus=100_000, family_vcpus={}, managed_disks=1_000_000)})


def fleet(groups, max_workers, used_gb=30, **kwargs):
    raw = scenario_dict(size="Standard_D2s_v5",
                        data_disks=[{"size_gb": 512, "used_gb": used_gb}], **kwargs)
    raw["fleet"] = {"groups": groups, "max_workers": max_workers}
    return restore.parse_scenario(raw)


def test_every_vm_is_restored_and_nothing_is_left():
    report = simulate_fleet(fleet([{"count": 12}], 3), profile=ROOMY)
    assert report.status == "succeeded" and len(report.vms) == 12
    assert all(v.status == "succeeded" and not v.source_intact for v in report.vms)
    assert report.to_dict()["leaked"] == 0
    assert report.peak_workers == 3  # the pool was full, never over


def test_the_lower_priority_number_gets_workers_first():
    report = simulate_fleet(fleet([{"count": 4, "priority": 9}, {"count": 4, "priority": 1}],
                                  2), profile=ROOMY)
    urgent = [v for v in report.vms if v.priority == 1]
    later = [v for v in report.vms if v.priority == 9]
    assert max(v.placed_s for v in urgent) <= min(v.placed_s for v in later)
    assert max(v.end_s for v in urgent) < sorted(v.end_s for v in later)[2]


def test_more_workers_shorten_the_makespan_down_to_the_longest_restore():
    spans = [simulate_fleet(fleet([{"count": 16}], workers), profile=ROOMY)
             for workers in (1, 2, 4, 16)]
    makespans = [r.makespan_s for r in spans]
    assert makespans == sorted(makespans, reverse=True) and makespans[0] > 3 * makespans[-1]
    assert spans[-1].peak_workers == 16
    for report in spans:
        assert report.makespan_s >= report.lower_bound_s - 1e-6


def test_a_large_fleet_ends_close_to_its_lower_bound():
    report = simulate_fleet(fleet([{"count": 400}], 8, used_gb=300), profile=ROOMY)
    assert report.status == "succeeded"
    assert report.makespan_s <= 1.05 * report.lower_bound_s
    # also against the plainer bound: max(longest restore, worker time / pool size)
    plain = max(max(v.critical_path_s for v in report.vms), report.work_s / 8)
    assert report.makespan_s <= 1.05 * plain


def test_the_region_quota_is_shared_by_the_fleet():
    # 30 VMs of 2 vCPUs already use 60; with a quota of 64 no 2-vCPU worker fits twice.
    tight = DEFAULT.model_copy(update={"quotas": QuotaLimits(
        regional_vcpus=64, family_vcpus={}, managed_disks=1_000_000)})
    report = simulate_fleet(fleet([{"count": 30}], 30), profile=tight)
    statuses = {v.status for v in report.vms}
    assert "rolled_back" in statuses and report.status == "failed"
    assert all(v.source_intact for v in report.vms if v.status == "rolled_back")
    assert report.to_dict()["leaked"] == 0


def test_same_seed_same_fleet_report():
    scenario = fleet([{"count": 6}], 2)
    assert simulate_fleet(scenario, 3, ROOMY).to_dict() == simulate_fleet(
        scenario, 3, ROOMY).to_dict()


def test_single_restore_api_refuses_a_fleet():
    with pytest.raises(restore.ScenarioError) as info:
        restore.simulate(fleet([{"count": 2}], 1))
    assert info.value.field == "fleet"


def test_cli_runs_the_shipped_fleet_and_refuses_a_journal(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["simulate", "fleet-40-vms", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["vms"] == 40 and summary["peak_workers"] <= summary["max_workers"] == 4
    assert summary["makespan_s"] >= summary["lower_bound_s"]
    refused = runner.invoke(app, ["simulate", "fleet-40-vms", "--journal",
                                  str(tmp_path / "j")])
    assert refused.exit_code == 2 and "--journal" in refused.stderr
