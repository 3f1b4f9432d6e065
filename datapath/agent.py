"""The worker's restore agent: writes a restore point's disks to the attached disks.

Standalone (the standard library and zstandard), so it can be sent to a worker VM as is.
For each disk it fetches the chunks in parallel, decompresses them, checks each chunk's
sha256, writes it at its offset (all-zero chunks are skipped: a fresh disk, or the file
the agent empties first, reads as zeros there), reports progress, and returns the digest
of the disk as written (``disk_digest`` of the chunks that passed their check). Any chunk that is
missing or does not match stops the disk with an error naming the disk and the chunk.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import zstandard

from datapath.repository import (
    ArchivedObject,
    DiskManifest,
    MissingObject,
    Store,
    chunk_name,
    disk_digest,
)


class ChunkError(Exception):
    """A chunk of a disk cannot be restored: missing, or its bytes are not what the
    manifest says."""

    def __init__(self, disk: str, index: int, digest: str, problem: str):
        self.disk, self.index, self.digest = disk, index, digest
        super().__init__(f"disk {disk!r}, chunk {index} ({digest[:12]}…): {problem}")


@dataclass(frozen=True)
class DiskResult:
    disk: str
    digest: str  # sha256 of the disk as written
    verified: bool  # equal to the manifest's
    bytes_written: int


def restore_disk(disk: DiskManifest, store: Store, target: str | os.PathLike,
                 threads: int = 8, progress: Callable[[int], None] | None = None) -> DiskResult:
    """Write ``disk`` to ``target`` (a block device or a file path)."""
    written = 0
    verified: list[str | None] = []
    fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        if not _is_block_device(fd):
            os.ftruncate(fd, 0)  # zeros wherever no chunk is written: sparse
            os.ftruncate(fd, disk.size_bytes)
        with ThreadPoolExecutor(max_workers=threads) as pool:
            fetched = pool.map(lambda item: _fetch(disk, store, *item), enumerate(disk.chunks))
            for index, (digest, data) in enumerate(fetched):
                if data is not None:
                    os.pwrite(fd, data, index * disk.chunk_size)
                    written += len(data)
                verified.append(digest)
                if progress:
                    progress(min(disk.chunk_size, disk.size_bytes - index * disk.chunk_size))
        os.fsync(fd)
    finally:
        os.close(fd)
    digest = disk_digest(disk.size_bytes, disk.chunk_size, verified)
    return DiskResult(disk.name, digest, digest == disk.digest, written)


def _fetch(disk: DiskManifest, store: Store, index: int,
           digest: str | None) -> tuple[str | None, bytes | None]:
    """The chunk's bytes and the sha256 they were checked against (None, None: zeros)."""
    if digest is None:
        return None, None
    try:
        packed = store.get(chunk_name(digest))
    except MissingObject:
        raise ChunkError(disk.name, index, digest, "missing from the repository") from None
    except ArchivedObject:
        raise ChunkError(disk.name, index, digest,
                         "in the archive tier: rehydrate the restore point first") from None
    try:
        data = zstandard.ZstdDecompressor().decompress(packed)
    except zstandard.ZstdError as exc:
        raise ChunkError(disk.name, index, digest, f"cannot be decompressed ({exc})") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise ChunkError(disk.name, index, digest, "its sha256 does not match the manifest")
    return actual, data


def _is_block_device(fd: int) -> bool:
    return stat.S_ISBLK(os.fstat(fd).st_mode)
