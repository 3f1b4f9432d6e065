"""The HTTP-level fake of Azure Resource Manager (``responses`` callbacks)."""

from fakecloud.arm.fake import STEP_HEADER, ArmFake, RequestRecord

__all__ = ["STEP_HEADER", "ArmFake", "RequestRecord"]
