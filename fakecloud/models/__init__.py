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
from fakecloud.models.state import ArmError, CloudState

__all__ = [
    "ArmError", "CloudState", "Disk", "NetworkInterface", "Resource", "ResourceGroup",
    "Snapshot", "VirtualMachine", "VirtualNetwork",
]
