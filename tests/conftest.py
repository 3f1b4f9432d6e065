"""Fixtures; plain helpers live in helpers.py (importable as ``helpers``)."""

from __future__ import annotations

import pytest

from fakecloud.profile import RegionProfile, load_profile


@pytest.fixture(scope="session")
def default_profile() -> RegionProfile:
    return load_profile("default")
