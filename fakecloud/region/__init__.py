"""The region layer: one path for every ARM call (faults, throttling, rules, latency)."""

from fakecloud.region.call import Answer, ArmCall
from fakecloud.region.chaos import Chaos, ChaosRule
from fakecloud.region.core import GuestRun, Region
from fakecloud.region.operations import REHYDRATE, rehydration
from fakecloud.region.storage import Queued

__all__ = ["REHYDRATE", "Answer", "ArmCall", "Chaos", "ChaosRule", "GuestRun", "Queued",
           "Region", "rehydration"]
