"""What restorelab puts into a fakecloud region: the restore agent as the guest behind Run
Command on its workers, and the bytes of a bytes-mode scenario, carried along by the
cloud's own copies (a snapshot of a disk, a disk from a snapshot) and rehydration."""

from __future__ import annotations

import json
from typing import Any

from datapath.delivery import AGENT_ARCHIVE, AGENT_COMMAND, delivered_files
from fakecloud import bursting
from fakecloud.bursting import Bucket
from fakecloud.models import ArmError, Disk, VirtualMachine
from fakecloud.profile import RegionProfile
from fakecloud.region import REHYDRATE, Answer, ArmCall, GuestRun, Region
from restore.backends.agent_call import WORKER_AGENT_COMMAND
from restore.backends.data import REPOSITORY_URL, RegionData
from restore.drills import EXIT_MARK, check_name

MB_PER_GB = 1024


def install(region: Region, data: RegionData | None, run_archive: bool = False) -> None:
    """The agent on every worker of ``region``; with ``data``, bytes carried by its copies.
    ``run_archive``: the agent delivered in the worker's custom data runs in a process of
    its own (as on a worker), instead of restoring in this process."""
    region.guest = RestoreAgent(region.profile, data, run_archive)
    if data is not None:
        region.listeners.append(lambda call, answer: _carry(data, call, answer))


def _exited(code: int, output: str) -> GuestRun:
    """What a drill check printed, its exit code last (as ``guest_script`` has it)."""
    return GuestRun.printed("StdOut", f"{output}\n{EXIT_MARK} {code}".lstrip())


def _carry(data: RegionData, call: ArmCall, answer: Answer) -> None:
    source = getattr(answer.result, "source", None)
    if call.operation in ("PUT Microsoft.Compute/disks", "PUT Microsoft.Compute/snapshots") \
            and source:
        data.copy(source, answer.result.id)
    elif call.operation == REHYDRATE:
        data.rehydrate(call.body.get("priority", "standard"))


class RestoreAgent:
    """``restorelab-agent`` run by Run Command: found only where cloud-init delivered it
    (the worker's custom data); writes each disk of its ``writes`` parameter from the
    repository, and runs as long as the data takes at the region's throughput caps."""

    def __init__(self, profile: RegionProfile, data: RegionData | None, run_archive: bool):
        self.profile, self.data, self.run_archive = profile, data, run_archive
        self.failing: set[str] = set()  # VMs (lower-case ids) whose next drill check fails

    def __call__(self, region: Region, vm: VirtualMachine, body: dict[str, Any]) -> GuestRun:
        check = check_name(body.get("script") or [])
        if check is not None:
            return self.drill_check(vm, check, body["script"])
        if WORKER_AGENT_COMMAND not in " ".join(body.get("script") or []):
            return GuestRun.printed("StdOut", "")
        files = delivered_files(vm.custom_data) if vm.custom_data else {}
        if AGENT_COMMAND not in files:
            return GuestRun.printed("StdErr", f"script.sh: line 1: {WORKER_AGENT_COMMAND}: "
                                    "command not found")
        params = {p["name"]: p["value"] for p in body.get("parameters") or []}
        plan = json.loads(params.get("writes", "[]"))
        disks = [region.state.get(vm.data_disks.get(int(entry["lun"]), ""), Disk)
                 for entry in plan]
        seconds, spent_mb = self.transfer(disks, [float(e["data_gb"]) for e in plan], vm.size,
                                          int(params.get("parallel_workers", "1")),
                                          vm.burst_spent_mb)
        if params.get("store") != REPOSITORY_URL:
            return GuestRun.printed("StdOut", json.dumps({"error": {
                "code": "RestorePointNotFound", "message": f"no repository at "
                f"{params.get('store')!r} (fakecloud's is {REPOSITORY_URL})"}}), seconds)
        vm.burst_spent_mb += spent_mb
        report = self._restore(files, params.get("restore_point", ""), plan, disks, vm)
        return GuestRun.printed("StdOut", json.dumps(report), seconds)

    def drill_check(self, vm: VirtualMachine, check: str, script: list[str]) -> GuestRun:
        """A drill's guest check: the restored data disks are found mounted where the VM
        has them attached; any other script exits 0; unless a fault made it fail."""
        if vm.id.lower() in self.failing:
            self.failing.discard(vm.id.lower())
            return _exited(1, f"{check}: failed (an injected fault)")
        if check == "disks_mounted":
            luns = next((line.split()[3:-1] for line in script if line.startswith("for lun in ")),
                        [])
            missing = [lun for lun in luns if int(lun.rstrip(";")) not in vm.data_disks]
            if missing:
                return _exited(1, f"LUN {missing[0].rstrip(';')}: no disk")
        return _exited(0, "")

    def _restore(self, files: dict[str, bytes], point: str, plan: list[dict[str, Any]],
                 disks: list[Disk], vm: VirtualMachine) -> dict[str, Any]:
        if self.data is None:
            return {"restored": [disk.id for disk in disks]}
        from restore.backends.bytes_mode import DataPath  # data: bytes mode, already loaded

        if self.run_archive and isinstance(self.data, DataPath):
            return self.data.run_agent(files[AGENT_ARCHIVE], point, plan)
        try:
            for disk in disks:
                self.data.restore(disk.id, vm.name)
        except ArmError as exc:
            return {"error": {"code": exc.code, "message": exc.message}}
        return {"restored": [disk.id for disk in disks]}

    def transfer_s(self, disks: list[Disk], data_gb: list[float], worker_size: str,
                   parallel_workers: int) -> float:
        """Data time on a fresh worker (``transfer``)."""
        return self.transfer(disks, data_gb, worker_size, parallel_workers)[0]

    def transfer(self, disks: list[Disk], data_gb: list[float], worker_size: str,
                 parallel_workers: int, worker_spent_mb: float = 0.0) -> tuple[float, float]:
        """Data time, and the worker's burst credits it spends, at the least of the disks'
        caps together, the worker's uncached cap, its network and its share of the
        repository, and no disk faster than its own cap. Disks are fresh: they burst on
        full credits first; the worker on what ``worker_spent_mb`` leaves of its own (the
        region keeps each VM's; ``fakecloud.bursting``)."""
        throughput = self.profile.throughput
        worker = self.profile.vm_sizes[worker_size]
        steps = [throughput.disk_step(d.sku, d.size_gb) for d in disks]
        caps = [Bucket.full(s.mbps, s.burst_mbps, throughput.burst_s) for s in steps]
        flat = min(worker.network_mbps, throughput.repository_mbps / parallel_workers)
        worker_cap = Bucket.full(worker.uncached_mbps, worker.burst_mbps,
                                 throughput.burst_s).spent(worker_spent_mb)
        together = bursting.transfer(sum(data_gb) * MB_PER_GB,
                                     [Bucket.pooled(caps), worker_cap], flat)
        slowest = max((bursting.transfer_s(gb * MB_PER_GB, [cap]) for gb, cap in
                       zip(data_gb, caps, strict=True)), default=0.0)
        return max(together.seconds, slowest), together.spent_mb[1]
