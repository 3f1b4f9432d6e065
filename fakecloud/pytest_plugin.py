"""pytest plugin: the ``fake_azure`` fixture, an ARM fake active for one test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from fakecloud.arm import ArmFake


@pytest.fixture
def fake_azure() -> Iterator[ArmFake]:
    """Azure's HTTP answered by fakecloud for the test: the fake (``.state``, ``.clock``,
    ``.requests``, ``.subscription``) is the fixture's value."""
    from fakecloud.mock import mock_azure  # the azure extra: only when a test asks

    with mock_azure() as fake:
        yield fake
