"""Virtual time: determinism, rehydration priority, data size, parallelism, critical path."""

from __future__ import annotations

import math
import statistics

import pytest
from helpers import (
    SCENARIO_FILES,
    fixed_profile,
    make_scenario,
    step,
    step_duration,
)

import restore
from restore import load_scenario
from restore.backends.sim import simulate as sim

SEEDS = range(10)


# -- determinism ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_same_seed_gives_the_same_report_byte_for_byte(path):
    scenario = load_scenario(path)
    first = restore.simulate(scenario, seed=42).to_json()
    assert restore.simulate(load_scenario(path), seed=42).to_json() == first
    assert restore.simulate(scenario).to_json() == restore.simulate(
        scenario, seed=scenario.seed).to_json()


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_another_seed_gives_another_duration(path):
    scenario = load_scenario(path)
    durations = {restore.simulate(scenario, seed=s).duration_s for s in (1, 2, 3)}
    assert len(durations) == 3


def test_runs_do_not_leak_into_each_other():
    """Interleaved runs of one scenario object (and reports read late) stay independent."""
    scenario = make_scenario(location="original")
    first = restore.simulate(scenario, seed=1)
    others = [restore.simulate(scenario, seed=s) for s in (2, 3)]
    again = restore.simulate(scenario, seed=1)
    assert first.to_json() == again.to_json()
    assert first.final_state == others[0].final_state == others[1].final_state
    assert make_scenario(location="original") == scenario
    assert restore.simulate(make_scenario(location="original"), seed=1).to_json() == (
        first.to_json())


def test_seed_is_reported_and_defaults_to_the_scenarios():
    scenario = make_scenario(seed=17)
    assert restore.simulate(scenario).seed == 17
    assert restore.simulate(scenario, seed=0).seed == 0
    assert restore.simulate(scenario, seed=0).to_json() != restore.simulate(scenario).to_json()


# -- archive rehydration -------------------------------------------------------------------


def _archive(priority: str, used_gb: float = 3):
    return make_scenario(tier="archive", priority=priority, location="new",
                         os_disk={"size_gb": 32, "used_gb": used_gb},
                         data_disks=[{"size_gb": 64, "used_gb": 2}])


@pytest.mark.parametrize("seed", SEEDS)
def test_high_priority_rehydration_beats_standard(seed):
    high = restore.simulate(_archive("high"), seed=seed)
    standard = restore.simulate(_archive("standard"), seed=seed)
    assert high.status == standard.status == "succeeded"
    assert high.duration_s < standard.duration_s
    assert (step_duration(high, "retrieve_archived_data")
            < step_duration(standard, "retrieve_archived_data"))
    # High priority: under an hour for a restore point under 10 GB.
    assert step_duration(high, "retrieve_archived_data") <= 3600


def test_high_priority_slows_down_beyond_its_small_size():
    profile = fixed_profile(high=1200.0)
    small = sim(_archive("high", used_gb=3), profile=profile)   # 5 GB
    large = sim(_archive("high", used_gb=32), profile=profile)  # 34 GB: 24 GB over 10
    assert step_duration(small, "retrieve_archived_data") == pytest.approx(1200.0)
    # the storage account's 10 GiB an hour: 6 minutes for each GiB beyond the first 10
    assert step_duration(large, "retrieve_archived_data") == pytest.approx(1200.0 + 24 * 360)


def test_hot_restore_point_skips_rehydration():
    report = restore.simulate(make_scenario(tier="hot"))
    assert "retrieve_archived_data" not in {s["name"] for s in report.steps}
    assert not any(o["op"] == "rehydrate_restore_point" for o in report.operations)


# -- data size -----------------------------------------------------------------------------


def _hot_with_data(used_gb: float):
    return make_scenario(location="new", size="Standard_D8s_v5",
                         os_disk={"size_gb": 64, "used_gb": 10},
                         data_disks=[{"size_gb": 1024, "sku": "Premium_LRS",
                                      "used_gb": used_gb}])


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_restore_time_grows_with_data_size(seed):
    reports = [restore.simulate(_hot_with_data(gb), seed=seed) for gb in (10, 100, 1000)]
    assert all(r.status == "succeeded" for r in reports)
    data = [step_duration(r, "restore_data") for r in reports]
    total = [r.duration_s for r in reports]
    assert data[0] < data[1] < data[2], data
    assert total[0] < total[1] < total[2], total
    # Ten times the data is several times the transfer, not a constant.
    assert data[2] > 5 * data[1] > 5 * data[0]


def test_transfer_rate_is_bounded_by_disks_worker_and_repository():
    """With fixed latencies restore_data = agent start + data at the least of the caps.

    Caps from the default profile ("Azure managed disk types", the Fsv2 size table): a
    64 GB Premium_LRS (P6) disk writes 50 MB/s, bursting to 170; 128 GB (P10) 100, bursting
    to 170; 32 GB StandardSSD_LRS (E4) 60, bursting to 150; 224 GB in total takes a
    Standard_F4s_v2 worker, 95 MB/s uncached, bursting to 200. Every cap starts with 30
    minutes of credits at its burst rate: the worker's 200 MB/s binds (the disks burst to 490
    together), spending 105 MB/s of credit, which last 30 minutes, longer than the data.
    """
    scenario = make_scenario(location="new")  # used 20 + 40 + 32 GB
    report = sim(scenario, profile=fixed_profile(10.0))
    total_mb = (20 + 40 + 32) * 1024
    rate = min(170 + 170 + 150, 200, 500)
    assert total_mb / rate < 1800  # within the worker's credits
    slowest = max(20 * 1024 / 170, 40 * 1024 / 170, 32 * 1024 / 150)
    transfer = max(total_mb / rate, slowest)
    # Run Command is a long-running operation: seen done at the poll after its end.
    assert step_duration(report, "restore_data") == math.ceil(10.0 + transfer)


# -- parallel operations -------------------------------------------------------------------


def _disks(count: int, **kw):
    return make_scenario(location="new", size="Standard_D8s_v5",
                         os_disk={"size_gb": 8, "used_gb": 1},
                         data_disks=[{"size_gb": 8, "used_gb": 1}] * (count - 1), **kw)


@pytest.mark.parametrize(("step_name", "kind"), [("create_empty_disks", "backup"),
                                                 ("create_disks_from_snapshots", "snapshot")])
def test_n_disks_are_created_in_parallel_with_fixed_latency(step_name, kind):
    profile = fixed_profile(10.0)
    one = sim(_disks(1, kind=kind), profile=profile)
    eight = sim(_disks(8, kind=kind), profile=profile)
    assert step_duration(one, step_name) == pytest.approx(10.0)
    assert step_duration(eight, step_name) == pytest.approx(step_duration(one, step_name))
    creates = [o for o in eight.operations if o["step"] == step_name]
    assert len(creates) == 8
    assert len({o["start_s"] for o in creates}) == 1  # all issued at once


def test_n_disks_in_parallel_take_far_less_than_n_times_one_with_lognormal_latency():
    seeds = range(200)
    one = [step_duration(restore.simulate(_disks(1), seed=s), "create_empty_disks")
           for s in seeds]
    eight_reports = [restore.simulate(_disks(8), seed=s) for s in seeds]
    eight = [step_duration(r, "create_empty_disks") for r in eight_reports]
    # The step lasts as long as its slowest disk (all start together), not their sum.
    serial = []
    for report, took in zip(eight_reports, eight, strict=True):
        ops = [o for o in report.operations if o["step"] == "create_empty_disks"]
        assert len(ops) == 8 and len({o["start_s"] for o in ops}) == 1
        assert took == pytest.approx(max(o["end_s"] - o["start_s"] for o in ops), abs=2e-3)
        serial.append(sum(o["end_s"] - o["start_s"] for o in ops))
    ratio = statistics.fmean(eight) / statistics.fmean(one)
    assert 1.0 < ratio < 3.0, ratio  # far less than 8x
    assert statistics.fmean(eight) < 0.5 * statistics.fmean(serial)


def test_parallel_workers_restore_at_the_same_time():
    scenario = make_scenario(location="new", size="Standard_D16s_v5",
                             os_disk={"size_gb": 64, "used_gb": 10},
                             data_disks=[{"size_gb": 64, "used_gb": 20}] * 10)
    report = sim(scenario, profile=fixed_profile(10.0))
    writes = [o for o in report.operations if o["op"] == "write_disk_data"]
    assert len(writes) == 2
    assert writes[0]["start_s"] == writes[1]["start_s"]
    restore_step = step(report, "restore_data")
    assert restore_step["end_s"] == max(w["end_s"] for w in writes)


# -- whole-restore time and critical path --------------------------------------------------


def test_fixed_latency_new_location_duration_is_the_chain_of_its_steps():
    scenario = make_scenario(location="new")
    report = sim(scenario, profile=fixed_profile(10.0))
    transfer = step_duration(report, "restore_data") - 10.0
    # preflight 0 (reads), create disks 10, worker nic+vm+attach 30, agent 10 + data,
    # detach 10, deallocate 10, nic+vm 20, attach 10 (remove_worker, 20, runs beside
    # create_vm and attach_disks).
    assert report.duration_s == pytest.approx(100.0 + transfer, abs=2e-3)
    assert report.critical_path_s == pytest.approx(report.duration_s, abs=2e-3)


def test_fixed_latency_original_archive_duration_is_the_chain_of_its_steps():
    scenario = make_scenario(location="original", tier="archive", priority="standard")
    report = sim(scenario, profile=fixed_profile(10.0, standard=18000.0))
    transfer = step_duration(report, "restore_data") - 10.0
    # preflight 0 (reads), rehydrate 18000, staging 10, disks 10, worker 30, agent 10 +
    # data, detach 10, deallocate 10, delete vm + disks 20, move (validate 0, move 10), vm
    # 10, attach 10, remove staging 10.
    assert report.duration_s == pytest.approx(18140.0 + transfer, abs=2e-3)
    assert report.critical_path_s == pytest.approx(report.duration_s, abs=2e-3)


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
@pytest.mark.parametrize("seed", [None, 0, 5, 99])
def test_critical_path_is_a_tight_lower_bound(path, seed):
    report = restore.simulate(load_scenario(path), seed=seed)
    assert report.critical_path_s <= report.duration_s + 1e-6
    assert report.critical_path_s >= 0.98 * report.duration_s


def test_step_and_operation_times_are_consistent():
    report = restore.simulate(make_scenario(tier="archive", priority="high"))
    for s in report.steps:
        assert 0 <= s["start_s"] <= s["end_s"] <= report.duration_s
        ops = [o for o in report.operations if o["step"] == s["name"]]
        for o in ops:
            assert s["start_s"] <= o["start_s"] <= o["end_s"] <= s["end_s"]
    assert max(s["end_s"] for s in report.steps) == pytest.approx(report.duration_s)
