"""fakecloud: a fake Azure region, like moto for AWS; it imports nothing of restorelab.

``fakecloud.region.Region`` answers ARM calls (fault rules, throttling, the state model's
rules, latencies from a region profile) for any driver: a SimPy model, or ``mock_azure()``,
the HTTP-level fake of ARM that unmodified azure-mgmt-* clients talk to. ``mock_azure()``
and ``FakeCredential`` need the ``azure`` extra (responses, azure-core).
"""

from __future__ import annotations

from typing import Any

__all__ = ["FakeCredential", "mock_azure"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from fakecloud import mock

        return getattr(mock, name)
    raise AttributeError(f"module 'fakecloud' has no attribute {name!r}")
