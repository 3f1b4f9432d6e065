"""Credit-based bursting of disks and workers, and the worker's network as a cap: the burst
model alone, then in the restore's data time on both simulated backends."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from helpers import fixed_profile, make_scenario, scenario_dict, step_duration
from hypothesis import given
from hypothesis import strategies as st

import restore
from fakecloud.bursting import Bucket, transfer_s
from fakecloud.profile import PROFILES_DIR, ProfileError, load_profile
from restore.backends.fleet import simulate_fleet
from restore.backends.guest import RestoreAgent
from restore.backends.profiles import RestoreProfile
from restore.backends.sim import simulate as sim
from restore.plan import build_plan

rates = st.floats(min_value=1.0, max_value=5000.0)
sizes = st.floats(min_value=0.0, max_value=5e6)


@given(total=sizes, base=rates, cap=rates)
def test_without_credits_a_transfer_runs_at_its_least_cap(total, base, cap):
    flat = Bucket.full(base, None, 1800.0)
    assert flat.credit_mb == 0
    assert transfer_s(total, [flat], cap) == pytest.approx(total / min(base, cap))


def test_a_fresh_cap_bursts_for_thirty_minutes_at_its_burst_rate_then_its_base():
    worker = Bucket.full(95.0, 200.0, 1800.0)  # Standard_F4s_v2
    assert worker.credit_mb == (200 - 95) * 1800
    assert transfer_s(200 * 1800, [worker]) == pytest.approx(1800)
    assert transfer_s(200 * 1800 + 95 * 600, [worker]) == pytest.approx(2400)


def test_credits_last_longer_when_another_cap_holds_the_rate_below_the_burst():
    worker = Bucket.full(95.0, 200.0, 1800.0)
    # At 150 MB/s the worker spends 55 MB/s of its 189,000 MB: dry after 3,436 s.
    dry_s = 189_000 / 55
    moved = 150 * dry_s
    assert transfer_s(moved, [worker], cap=150) == pytest.approx(dry_s)
    assert transfer_s(moved + 95 * 100, [worker], cap=150) == pytest.approx(dry_s + 100)


def test_two_buckets_run_dry_in_turn():
    """Disks bursting to 340 (base 200) behind a worker bursting to 300 (base 100): at 300
    the worker spends 200 MB/s and runs dry at 1800 s, the disks 100 of their 252,000 MB;
    then the worker's base, 100, binds, below the disks' base: they spend no more."""
    disks = Bucket.full(200.0, 340.0, 1800.0)
    worker = Bucket.full(100.0, 300.0, 1800.0)
    dry_s = worker.credit_mb / (300 - 100)
    total = 300 * dry_s + 100 * 500
    assert transfer_s(total, [disks, worker]) == pytest.approx(dry_s + 500)
    # With a faster worker the disks bind and spend: 340 for 1800 s, then 200.
    fast = Bucket.full(400.0, 800.0, 1800.0)
    assert transfer_s(340 * 1800 + 200 * 60, [disks, fast]) == pytest.approx(1860)


@given(total=sizes, base=rates, extra=rates, cap=rates, more=st.floats(0.0, 1e6))
def test_more_data_takes_longer_and_a_burst_never_slows(total, base, extra, cap, more):
    bursting = Bucket.full(base, base + extra, 1800.0)
    flat = Bucket.full(base, None, 1800.0)
    assert transfer_s(total, [bursting], cap) <= transfer_s(total, [flat], cap) * (1 + 1e-12)
    assert transfer_s(total + more, [bursting], cap) >= transfer_s(total, [bursting], cap)


# -- in the restore -------------------------------------------------------------------------


def _scenario(used_gb: float):
    """A 512 GB Premium data disk (P20: 150 MB/s, bursting to 170) and a 64 GB OS disk
    (P6: 50, bursting to 170), 576 GB in all: a Standard_F4s_v2 worker."""
    return make_scenario(location="new", size="Standard_D8s_v5",
                         os_disk={"size_gb": 64, "used_gb": 10},
                         data_disks=[{"size_gb": 512, "sku": "Premium_LRS",
                                      "used_gb": used_gb}])


def _no_bursts(profile: RestoreProfile) -> RestoreProfile:
    raw = profile.model_dump()
    for steps in raw["throughput"]["disk_skus"].values():
        for step in steps:
            step["burst_mbps"] = None
    for size in raw["vm_sizes"].values():
        size["burst_mbps"] = None
    return RestoreProfile.model_validate(raw)


def _worker_size(scenario) -> str:
    (worker,) = build_plan(scenario, fixed_profile().sizing).context.workers
    return worker.size


def test_a_long_restore_bursts_for_thirty_minutes_then_runs_at_the_worker_base():
    scenario = _scenario(used_gb=500)
    assert _worker_size(scenario) == "Standard_F4s_v2"  # 95 MB/s, bursting to 200
    report = sim(scenario, profile=fixed_profile(10.0))
    total_mb = (10 + 500) * 1024
    # The disks burst to 340 together: the worker's 200 binds for its 30 minutes (the
    # disks' 200 base is not passed, so they keep their credits), then its 95 base. The
    # data disk alone would take 1800 s at 170 and the rest at 150: less.
    transfer = 1800 + (total_mb - 200 * 1800) / 95
    assert transfer > 1800 + (500 * 1024 - 170 * 1800) / 150
    assert step_duration(report, "restore_data") == math.ceil(10.0 + transfer)


def test_without_burst_figures_the_data_time_is_the_baseline_formula():
    scenario = make_scenario(location="new")  # used 20 + 40 + 32 GB, a Standard_F4s_v2
    report = sim(scenario, profile=_no_bursts(fixed_profile(10.0)))
    total_mb = (20 + 40 + 32) * 1024
    rate = min(50 + 100 + 60, 95, 500)
    slowest = max(20 * 1024 / 50, 40 * 1024 / 100, 32 * 1024 / 60)
    assert step_duration(report, "restore_data") == math.ceil(10.0 + max(total_mb / rate,
                                                                         slowest))
    bursting = sim(scenario, profile=fixed_profile(10.0))
    assert step_duration(bursting, "restore_data") < step_duration(report, "restore_data") / 2


def test_the_workers_network_caps_the_transfer():
    raw = fixed_profile(10.0).model_dump()
    raw["vm_sizes"]["Standard_F4s_v2"]["network_mbit_s"] = 800  # 100 MB/s
    report = sim(make_scenario(location="new"), profile=RestoreProfile.model_validate(raw))
    total_mb = (20 + 40 + 32) * 1024
    # 100 MB/s spends 5 MB/s of the worker's credit: they outlast the data.
    assert step_duration(report, "restore_data") == math.ceil(10.0 + total_mb / 100)


@pytest.mark.parametrize("seed", [0, 3])
def test_both_simulated_backends_time_a_bursting_restore_alike(seed):
    scenario = _scenario(used_gb=500)
    on_sim = restore.simulate(scenario, seed=seed)
    on_arm = restore.simulate(scenario, seed=seed, backend="fake-arm")
    assert on_sim.status == on_arm.status == "succeeded"
    assert step_duration(on_arm, "restore_data") == step_duration(on_sim, "restore_data")
    assert step_duration(on_sim, "restore_data") > 1800


def test_a_worker_keeps_the_credits_its_last_transfer_left():
    agent = RestoreAgent(fixed_profile(), None, False)
    disks = build_plan(_scenario(used_gb=500), fixed_profile().sizing).context.disks
    fresh = [SimpleNamespace(sku=d.sku, size_gb=d.size_gb) for d in disks]
    first, spent = agent.transfer(fresh, [10, 500], "Standard_F4s_v2", 1)
    assert spent == pytest.approx((200 - 95) * 1800)  # all of them: it ran dry
    again, _ = agent.transfer(fresh, [10, 500], "Standard_F4s_v2", 1, spent)
    assert again == pytest.approx(510 * 1024 / 95)  # its baseline throughout
    assert agent.transfer_s(fresh, [10, 500], "Standard_F4s_v2", 1) == first


@pytest.mark.parametrize(("warm", "after_start"), [(True, "kept"), (True, "full"),
                                                   (False, "kept")])
def test_a_warm_worker_started_again_bursts_on_what_the_profile_gives_it(warm, after_start):
    """Two restores, one worker: the second one's worker is the first's, started again
    from the warm pool, with full credits or with none of those the first spent earned
    back (``credits_after_start``); without the warm pool it is a new worker, full."""
    raw = scenario_dict(size="Standard_D2s_v5", os_disk={"size_gb": 64, "used_gb": 10},
                        data_disks=[{"size_gb": 512, "sku": "Premium_LRS", "used_gb": 500}])
    raw["fleet"] = {"groups": [{"count": 2}], "max_workers": 1,
                    "worker_pool": {"warm": warm}}
    profile = fixed_profile(10.0).model_dump()
    profile["quotas"] = {"regional_vcpus": 100_000, "family_vcpus": {},
                         "managed_disks": 1_000_000}
    profile["throughput"]["credits_after_start"] = after_start
    report = simulate_fleet(restore.parse_scenario(raw),
                            profile=RestoreProfile.model_validate(profile))
    assert report.status == "succeeded"
    first, second = sorted(report.vms, key=lambda v: v.end_s)
    slower = second.critical_path_s - first.critical_path_s
    lost_s = 200 * 1800 / 95 - 1800  # 30 minutes at 200 MB/s, moved at 95 instead
    expected = lost_s if (warm, after_start) == (True, "kept") else 0.0
    assert slower == pytest.approx(expected, abs=60.0)


@pytest.mark.parametrize(("where", "line", "field"), [
    ("disk", "      - {max_gb: 4, mbps: 25, burst_mbps: 170}",
     "throughput.disk_skus.Premium_LRS.0"),
    ("size", "  Standard_F2s_v2: {vcpus: 2, family: standardFSv2Family, max_data_disks: 4, "
             "uncached_mbps: 47, burst_mbps: 200", "vm_sizes.Standard_F2s_v2"),
])
def test_a_burst_below_its_base_is_refused_naming_the_field(tmp_path, where, line, field):
    del where  # the case's id
    text = (PROFILES_DIR / "default.yaml").read_text()
    assert line in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(line, line.replace("burst_mbps: 170", "burst_mbps: 20")
                                .replace("burst_mbps: 200", "burst_mbps: 20"), 1))
    with pytest.raises(ProfileError) as caught:
        load_profile(str(bad))
    assert caught.value.field == field
    assert "burst_mbps 20 is below" in caught.value.message
