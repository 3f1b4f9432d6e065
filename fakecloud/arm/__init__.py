"""The HTTP-level fake of Azure Resource Manager (``responses`` callbacks): the route
table (urls), parsing and serialization per ARM action (responses), long-running
operation tracking (lro), over fakecloud's region layer."""

from fakecloud.arm.fake import ArmFake, RequestRecord

__all__ = ["ArmFake", "RequestRecord"]
