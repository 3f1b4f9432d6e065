"""Fixtures; plain helpers live in helpers.py (importable as ``helpers``)."""

from __future__ import annotations

import pytest

from restore.backends.profiles import RestoreProfile, load_profile


@pytest.fixture(scope="session")
def default_profile() -> RestoreProfile:
    return load_profile("default")
