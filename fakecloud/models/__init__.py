"""The simulated region's state: resources and ARM's rules (one source of truth)."""

from fakecloud.models.resources import (
    Disk,
    NetworkInterface,
    Resource,
    ResourceGroup,
    Snapshot,
    VirtualMachine,
    VirtualNetwork,
)
from fakecloud.models.state import ArmError, CloudState, Quotas

__all__ = [
    "ArmError", "CloudState", "Quotas", "Disk", "NetworkInterface", "Resource", "ResourceGroup",
    "Snapshot", "VirtualMachine", "VirtualNetwork",
]
