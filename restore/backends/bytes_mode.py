"""Disks that hold real bytes in the simulation (scenario ``data: {mode: bytes}``): the
source disks' seeded content, backed up into an in-memory repository before the restore,
and written by the real restore agent when the simulated worker restores data."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from datapath.agent import ChunkError, restore_disk
from datapath.repository import (
    ArchivedObject,
    DiskManifest,
    MissingObject,
    SourceDisk,
    Store,
    backup,
    chunk_name,
)
from fakecloud.models import ArmError
from restore.backends.data import CHUNK, RegionData, seeded_bytes, vm_config
from restore.plan import Plan

MB = 1024 * 1024
AGENT_TIMEOUT_S = 300


class MemoryStore:
    """A repository in memory: object name -> bytes, hot or archive tier like a blob."""

    def __init__(self, objects: dict[str, bytes] | None = None) -> None:
        self.objects: dict[str, bytes] = objects if objects is not None else {}
        self.archived: set[str] = set()

    def put(self, name: str, data: bytes) -> None:
        self.objects[name] = data

    def get(self, name: str) -> bytes:
        if name in self.archived:
            raise ArchivedObject(name)
        try:
            return self.objects[name]
        except KeyError:
            raise MissingObject(name) from None

    def exists(self, name: str) -> bool:
        return name in self.objects

    def archive(self, names: Iterable[str]) -> None:
        self.archived.update(names)

    def rehydrate(self, names: Iterable[str], priority: str = "Standard") -> None:
        self.archived.difference_update(names)

    def copy(self) -> MemoryStore:
        """The same objects, all hot (each restore archives what it needs)."""
        return MemoryStore(dict(self.objects))


class TieredStore(Store, Protocol):
    """A repository whose objects can be moved to the archive tier and back."""

    def archive(self, names: Iterable[str]) -> None: ...

    def rehydrate(self, names: Iterable[str], priority: str = "Standard") -> None: ...


def seeded_size(size_gb: int, size_mb: int) -> int:
    """The bytes a disk of ``size_gb`` holds when seeded with ``size_mb`` MB."""
    return min(size_mb, size_gb * 1024) * MB


def source_disks(plan: Plan, size_mb: int,
                 seeded: Callable[[int], None] = lambda size: None) -> list[SourceDisk]:
    """The plan's source disks, each holding ``size_mb`` MB (at most its size) of seeded
    bytes: the same bytes for the same disk every time. ``seeded`` hears each disk's size
    in bytes once it is made (a GB takes seconds)."""
    disks = []
    for d in plan.context.disks:
        content = seeded_bytes(d.source, seeded_size(d.size_gb, size_mb))
        disks.append(SourceDisk(d.source, d.lun, d.sku, io.BytesIO(content)))
        seeded(len(content))
    return disks


@dataclass
class DataPath(RegionData):
    """The restore point of a bytes-mode scenario and what the agent wrote from it."""

    store: TieredStore
    disks: dict[str, DiskManifest]  # restored disk id (lower) -> its manifest disk
    verified: dict[str, bool] = field(default_factory=dict)
    archived: tuple[str, ...] = ()  # chunks in the archive tier when a restore starts
    agent_url: str | None = None  # where a delivered agent reads the store (URL + SAS)

    @classmethod
    def back_up(cls, plan: Plan, size_mb: int, store: TieredStore | None = None,
                agent_url: str | None = None) -> DataPath:
        """Seed every source disk with ``size_mb`` MB (at most its size) and back it up
        (into memory, or ``store``: a blob container, read at ``agent_url``). An archived
        restore point's chunks go to the archive tier; its manifest stays readable."""
        store = store if store is not None else MemoryStore()
        manifest, _ = backup(vm_config(plan), source_disks(plan, size_mb), store, plan.scenario,
                             chunk_size=CHUNK)
        by_source = {disk.name: disk for disk in manifest.disks}
        archived = () if plan.context.restore_point.tier != "archive" else tuple(sorted(
            {chunk_name(c) for disk in manifest.disks for c in disk.chunks if c}))
        return cls(store, {d.id.lower(): by_source[d.source] for d in plan.context.disks},
                   archived=archived, agent_url=agent_url)

    def rehydrate(self, priority: str) -> None:
        """The real tier calls (the simulation models how long they take)."""
        self.store.rehydrate(self.archived, priority.capitalize())

    def restore(self, disk_id: str, worker: str) -> None:
        """The agent on ``worker`` writes one disk; a bad chunk fails the operation."""
        manifest = self.disks[disk_id.lower()]
        with tempfile.TemporaryDirectory(prefix="restorelab-disk-") as folder:
            try:
                result = restore_disk(manifest, self.store, Path(folder) / "disk.img")
            except ChunkError as exc:
                raise ArmError(422, "DataCorrupted", f"restore agent on {worker}: {exc}") from None
        self.verified[disk_id.lower()] = result.verified

    def fresh(self) -> DataPath:
        store = self.store.copy() if isinstance(self.store, MemoryStore) else self.store
        store.archive(self.archived)
        return replace(self, store=store, verified={})

    def run_agent(self, archive: bytes, point_id: str, writes: list[dict]) -> dict:
        """Run a delivered agent (its zipapp bytes) as the worker would, in a process of
        its own, on a copy of the repository, writing each disk to a file; the disks it
        restored are verified. Returns its report (or its error) as it printed it."""
        with tempfile.TemporaryDirectory(prefix="restorelab-worker-") as folder:
            root = Path(folder)
            (root / "agent.pyz").write_bytes(archive)
            ran = subprocess.run(
                [sys.executable, "-I", str(root / "agent.pyz"), "--store",
                 self.agent_url or self._hot_copy(root / "repository"),
                 "--restore-point", point_id, "--writes",
                 json.dumps(writes), "--device-pattern", str(root / "lun{lun}.img")],
                capture_output=True, text=True, timeout=AGENT_TIMEOUT_S, check=False)
        lines = ran.stdout.strip().splitlines()
        try:
            report = json.loads(lines[-1])
        except (IndexError, ValueError):
            return {"error": {"code": "AgentFailed", "message": f"exit {ran.returncode}: "
                              f"{(ran.stderr.strip().splitlines() or ['no output'])[-1]}"}}
        for disk in report.get("restored", []):
            self.verified[disk.lower()] = disk.lower() in self.disks
        return report

    def _hot_copy(self, folder: Path) -> str:
        """The in-memory repository's hot objects as a directory the agent can read."""
        assert isinstance(self.store, MemoryStore), "a blob store is read at agent_url"
        for name, blob in self.store.objects.items():
            if name not in self.store.archived:
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(blob)
        return str(folder)

    def all_verified(self) -> bool:
        return len(self.verified) == len(self.disks) and all(self.verified.values())

    def verified_so_far(self) -> dict[str, bool]:
        return dict(self.verified)

    def resumed(self, verified: dict[str, bool]) -> DataPath:
        return replace(self.fresh(), verified=dict(verified))


@dataclass
class SnapshotBytes(RegionData):
    """The snapshot path in bytes mode: no repository and no agent; Azure copies each
    snapshot's bytes into the disk made from it (and into a copy in another region). The
    restored disks must end with their own source disk's bytes."""

    contents: dict[str, bytes]  # resource id (lower) -> its bytes
    expected: dict[str, str]  # restored disk id (lower) -> sha256 of its source disk
    verified_before: dict[str, bool] = field(default_factory=dict)  # by an earlier session

    @classmethod
    def seed(cls, plan: Plan, size_mb: int) -> SnapshotBytes:
        """Seed every source disk with ``size_mb`` MB; its snapshot holds the same bytes."""
        contents, expected = {}, {}
        for disk, source in zip(plan.context.disks, source_disks(plan, size_mb), strict=True):
            data = source.reader.getvalue()
            contents[disk.source.lower()] = contents[disk.snapshot.lower()] = data
            expected[disk.final_id.lower()] = hashlib.sha256(data).hexdigest()
        return cls(contents, expected)

    def copy(self, source: str, target: str) -> None:
        if source.lower() in self.contents:
            self.contents[target.lower()] = self.contents[source.lower()]

    def fresh(self) -> SnapshotBytes:
        return replace(self, contents=dict(self.contents))

    def all_verified(self) -> bool:
        return all(self.verified_so_far().values())

    def verified_so_far(self) -> dict[str, bool]:
        return {disk: self.verified_before.get(disk, False) or hashlib.sha256(
            self.contents.get(disk, b"")).hexdigest() == digest
            for disk, digest in self.expected.items()}

    def resumed(self, verified: dict[str, bool]) -> SnapshotBytes:
        return replace(self.fresh(), verified_before=dict(verified))
