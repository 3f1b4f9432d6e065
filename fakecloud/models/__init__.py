"""The simulated region's state: resources and ARM's rules (one source of truth)."""

from fakecloud.models.resources import (
    AvailabilitySet,
    Disk,
    DiskEncryptionSet,
    NetworkInterface,
    NetworkSecurityGroup,
    PublicIPAddress,
    Resource,
    ResourceGroup,
    Snapshot,
    VirtualMachine,
    VirtualNetwork,
    VmExtension,
)
from fakecloud.models.state import ArmError, CloudState, Quotas

__all__ = [
    "ArmError", "AvailabilitySet", "CloudState", "Disk", "DiskEncryptionSet", "NetworkInterface",
    "NetworkSecurityGroup", "PublicIPAddress", "Quotas", "Resource", "ResourceGroup", "Snapshot",
    "VirtualMachine", "VirtualNetwork", "VmExtension",
]
