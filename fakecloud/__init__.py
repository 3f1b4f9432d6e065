"""fakecloud: a simulated Azure region (SimPy) and an HTTP-level fake of its ARM API.

``mock_azure()`` and ``FakeCredential`` need the ``azure`` extra (responses, azure-core).
"""

from __future__ import annotations

from typing import Any

__all__ = ["FakeCredential", "mock_azure"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from fakecloud import mock

        return getattr(mock, name)
    raise AttributeError(f"module 'fakecloud' has no attribute {name!r}")
