"""High-priority rehydration is capped per storage account: "a maximum of 10 GiB per
storage account may be rehydrated per hour with priority retrieval" (Microsoft Learn, "Blob
rehydration from the archive tier"). One restore alone gets the whole budget; the restores
of a fleet share it; standard priority has no such limit."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import fixed_profile, scenario_dict, step, step_duration

import restore
from fakecloud.models import CloudState
from fakecloud.region import Region, rehydration
from fakecloud.region.storage import account_of
from restore.backends import sim
from restore.backends.compiled import compile_restore
from restore.backends.compiled_sweep import sample_sweep
from restore.backends.fleet import simulate_fleet
from restore.backends.prepared import prepare
from restore.backends.profiles import load_profile
from restore.backends.retimed import retimed_report

HOUR = 3600.0
DRAW = 1200.0  # the fixed profile's high-priority rehydration, before any wait
DEFAULT = load_profile("default")
UNCAPPED = DEFAULT.model_copy(update={"rehydration": DEFAULT.rehydration.model_copy(
    update={"high": DEFAULT.rehydration.high.model_copy(
        update={"account_gib_per_hour": None})})})


def archived(used_gb: float, priority: str = "high", count: int | None = None):
    """A restore point of ``used_gb`` GiB (all on one data disk), archived."""
    raw = scenario_dict(tier="archive", priority=priority, location="new",
                        size="Standard_D2s_v5", os_disk={"size_gb": 64, "used_gb": 0},
                        data_disks=[{"size_gb": 2048, "used_gb": used_gb}])
    if count is not None:
        raw["fleet"] = {"groups": [{"count": count}], "max_workers": count}
    return restore.parse_scenario(raw)


def region(profile=DEFAULT) -> Region:
    return Region(CloudState("0000", profile.max_data_disks), profile, seed=1)


def waited(answer) -> float:
    return answer.result.seconds


# -- the account's budget in fakecloud ---------------------------------------------------


def test_an_idle_account_rehydrates_ten_gib_at_once_and_the_rest_at_ten_an_hour():
    fake = region()
    assert waited(fake.call(rehydration("rp/a", "high", 10), 0.0)) == 0.0
    fresh = region()
    assert waited(fresh.call(rehydration("rp/b", "high", 1024), 0.0)) == pytest.approx(
        (1024 - 10) / 10 * HOUR)


def test_requests_queue_first_come_first_served_and_the_budget_refills():
    fake = region()
    first = waited(fake.call(rehydration("rp/a", "high", 100), 0.0))
    second = waited(fake.call(rehydration("rp/b", "high", 100), 0.0))
    assert (first, second) == pytest.approx((9 * HOUR, 19 * HOUR))
    # a day later the debt is paid and the bucket full again: 10 GiB at once
    assert waited(fake.call(rehydration("rp/c", "high", 10), 43 * HOUR)) == 0.0


def test_each_storage_account_has_its_own_budget():
    ids = [f"/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Storage/"
           f"storageAccounts/{name}/blobServices/default/containers/rp" for name in "ab"]
    assert {account_of(i) for i in ids} == {"a", "b"}
    assert account_of("restorepoints/app01/x") == account_of("restorepoints/web/y")
    fake = region()
    assert [waited(fake.call(rehydration(i, "high", 100), 0.0)) for i in ids] == (
        pytest.approx([9 * HOUR, 9 * HOUR]))


def test_standard_priority_has_no_account_limit():
    fake = region()
    assert waited(fake.call(rehydration("rp/a", "standard", 1024), 0.0)) == 0.0
    assert waited(fake.call(rehydration("rp/b", "high", 10), 0.0)) == 0.0


# -- one restore ---------------------------------------------------------------------------


def test_a_one_tib_high_priority_restore_point_takes_about_a_hundred_hours():
    report = sim.simulate(archived(1024), seed=1)
    assert report.status == "succeeded"
    assert step_duration(report, "retrieve_archived_data") / HOUR == pytest.approx(
        1024 / 10, rel=0.01)
    fixed = sim.simulate(archived(1024), seed=1, profile=fixed_profile(high=DRAW))
    assert step_duration(fixed, "retrieve_archived_data") == pytest.approx(
        DRAW + (1024 - 10) * 360)


@pytest.mark.parametrize("used_gb", [5, 10])
def test_a_restore_point_of_up_to_ten_gib_is_unchanged(used_gb):
    for seed in range(5):
        capped = sim.simulate(archived(used_gb), seed=seed)
        assert capped.to_dict() == sim.simulate(archived(used_gb), seed=seed,
                                                profile=UNCAPPED).to_dict()
        assert step_duration(capped, "retrieve_archived_data") <= HOUR


def test_sim_and_fake_arm_agree_on_a_capped_rehydration():
    scenario = archived(300)
    for seed in range(2):
        on_sim = restore.simulate(scenario, seed=seed)
        on_arm = restore.simulate(scenario, seed=seed, backend="fake-arm")
        assert on_arm.final_state == on_sim.final_state
        assert step(on_arm, "retrieve_archived_data") == step(on_sim, "retrieve_archived_data")
        assert on_arm.duration_s == pytest.approx(on_sim.duration_s, abs=1e-6)
        assert on_sim.duration_s > 29 * HOUR


# -- the compiled fast path ------------------------------------------------------------------


def test_the_compiled_path_is_the_engine_for_a_capped_restore():
    prepared = prepare(archived(1024))
    compiled = compile_restore(prepared)
    for seed in range(4):
        engine = sim.run(prepared, seed)
        assert retimed_report(compiled, seed).to_dict() == engine.to_dict()
    fixed = prepare(archived(1024), fixed_profile(high=DRAW))
    swept = sample_sweep(compile_restore(fixed), "capped", runs=50, seed=3)
    assert np.all(swept.outcomes.durations == sim.run(fixed, 0).duration_s)
    assert swept.outcomes.durations[0] > 100 * HOUR


def test_a_compiled_sweep_draws_the_engines_distribution_of_a_capped_restore():
    prepared = prepare(archived(1024))
    engine = np.array([sim.run(prepared, seed).duration_s for seed in range(200)])
    drawn = sample_sweep(compile_restore(prepared), "capped", runs=20_000, seed=5)
    assert np.median(engine) > 100 * HOUR
    for q in (5, 50, 95):  # within a few standard errors of 200 runs (minutes)
        assert np.percentile(drawn.outcomes.durations, q) == pytest.approx(
            np.percentile(engine, q), abs=400)


# -- a fleet shares the account ----------------------------------------------------------


def _rehydrated_by(report) -> list[float]:
    """When each VM of a fleet had its restore point back."""
    return sorted(v.head_s for v in report.vms)


def test_two_vms_rehydrating_at_once_take_twice_as_long_as_one():
    profile = fixed_profile(high=DRAW)
    alone = simulate_fleet(archived(100, count=1), profile=profile)
    pair = simulate_fleet(archived(100, count=2), profile=profile)
    assert alone.status == pair.status == "succeeded"
    one = DRAW + 9 * HOUR
    assert _rehydrated_by(alone) == pytest.approx([one], abs=60)
    assert _rehydrated_by(pair) == pytest.approx([one, DRAW + 19 * HOUR], abs=60)
    assert pair.makespan_s / alone.makespan_s == pytest.approx(2, rel=0.1)


def test_a_fleet_at_standard_priority_does_not_queue():
    profile = fixed_profile(standard=5 * HOUR)
    alone = simulate_fleet(archived(100, "standard", count=1), profile=profile)
    four = simulate_fleet(archived(100, "standard", count=4), profile=profile)
    assert four.makespan_s == pytest.approx(alone.makespan_s, rel=0.05)
