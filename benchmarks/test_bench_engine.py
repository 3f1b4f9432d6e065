"""pytest-benchmark twins of bench_engine.py: a few restores through the engine and through
the bare SimPy model. Not collected by the default run (testpaths is tests/):

    pytest benchmarks/ --benchmark-only
"""

from __future__ import annotations

import pytest
from bench_engine import bare_restore, build_scenario, engine_restore, shape_of

from restore.backends.profiles import load_profile

SEEDS = range(20)  # restores per benchmark round


@pytest.fixture(scope="module")
def profile():
    return load_profile("default")


@pytest.fixture(scope="module")
def scenario():
    return build_scenario()


def test_engine_restores(benchmark, scenario, profile):
    durations = benchmark.pedantic(
        lambda: [engine_restore(scenario, seed, profile) for seed in SEEDS],
        rounds=15, warmup_rounds=1,
    )
    assert len(durations) == len(SEEDS)  # engine_restore raises unless each one succeeded


def test_bare_restores(benchmark, scenario, profile):
    shape = shape_of(scenario, profile)
    durations = benchmark.pedantic(
        lambda: [bare_restore(shape, seed, profile, profile.samplers()) for seed in SEEDS],
        rounds=15, warmup_rounds=1,
    )
    assert all(d > 0 for d in durations)


def test_bare_model_matches_engine(scenario, profile):
    """Same seed, same samples in the same order: the bare model does the engine's timeouts."""
    shape = shape_of(scenario, profile)
    for seed in range(5):
        bare = bare_restore(shape, seed, profile, profile.samplers())
        assert round(bare, 3) == engine_restore(scenario, seed, profile)
