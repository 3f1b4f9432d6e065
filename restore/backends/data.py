"""What a simulated region carries of a restore's data: by default nothing (a scenario's
``data`` in model mode: time only); ``bytes_mode`` holds the real bytes. Also the seeded
content of a source disk and the VM a restore point records, which `restorelab backup`
shares with bytes mode."""

from __future__ import annotations

import hashlib
import random

import armid as arm
from fakecloud.models import ArmError
from restore.plan import Plan

CHUNK = 1024 * 1024
REPOSITORY_URL = "fakecloud://repository"
"""Where the fake's workers find the restore point (the one ``DataPath`` holds)."""


def seeded_bytes(label: str, size: int) -> bytes:
    """Disk-like content for ``label``: random chunks with every fourth one all zeros."""
    rng = random.Random(hashlib.sha256(label.encode()).digest())
    chunks = [bytes(CHUNK) if i % 4 == 3 else rng.randbytes(CHUNK)
              for i in range(-(-size // CHUNK))]
    return b"".join(chunks)[:size]


def vm_config(plan: Plan) -> dict[str, object]:
    """What a restore point records of the source VM."""
    ctx = plan.context
    return {"name": arm.name_of(ctx.source.vm), "id": ctx.source.vm, "size": ctx.source.size,
            "location": ctx.source.location, "subnet": ctx.source.subnet,
            "disks": [{"source": d.source, "lun": d.lun, "size_gb": d.size_gb, "sku": d.sku}
                      for d in ctx.disks]}


class RegionData:
    """Bytes the region carries during a restore; copies by the cloud itself (a snapshot
    of a disk, a disk from a snapshot) carry nothing unless a subclass says so."""

    def copy(self, source: str, target: str) -> None:
        """The cloud copied ``source``'s bytes into the new resource ``target``."""

    def restore(self, disk_id: str, worker: str) -> None:
        raise ArmError(400, "NoRestorePoint", f"no restore point to write {disk_id} from")

    def rehydrate(self, priority: str) -> None:
        """Bring the archived restore point back to the hot tier (its time is modelled)."""

    def fresh(self) -> RegionData:
        """This data as it is before a restore (each run gets its own)."""
        return self

    def verified_so_far(self) -> dict[str, bool]:
        """What the restore verified, disk by disk: a journal keeps it across a resume."""
        return {}

    def resumed(self, verified: dict[str, bool]) -> RegionData:
        """This data as a resumed restore finds it: fresh, with what was verified before."""
        return self.fresh()

    def all_verified(self) -> bool:
        raise NotImplementedError
