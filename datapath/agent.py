"""The worker's restore agent: writes a restore point's disks to the attached disks.

Standalone (the standard library and zstandard), so it can be sent to a worker VM as is.
For each disk it fetches the chunks in parallel, decompresses them, checks each chunk's
sha256, writes it at its offset (all-zero chunks are skipped: a fresh disk, or the file
the agent empties first, reads as zeros there), reports progress, and returns the digest
of the disk as written (``disk_digest`` of the chunks that passed their check). Any chunk that is
missing or does not match stops the disk with an error naming the disk and the chunk.

On a worker VM it runs as ``restorelab-agent`` (a zipapp, see ``datapath.delivery``)::

    restorelab-agent --store URL --restore-point restorepoints/VM/NAME --writes JSON

``--writes`` lists ``{"lun", "disk", "source"}``: write the restore point's disk
``source`` to the disk attached at ``lun`` (``/dev/disk/azure/scsi1/lun<N>``). The last
line it prints is its report, ``{"restored": [disk ids], "digests": {disk id: sha256}}``,
or ``{"error": {"code", "message"}}`` with exit code 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import stat
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import zstandard

from datapath.repository import (
    ArchivedObject,
    DiskManifest,
    Manifest,
    MissingObject,
    Store,
    chunk_name,
    disk_digest,
    manifest_of,
    open_store,
)

AZURE_LUN_DEVICE = "/dev/disk/azure/scsi1/lun{lun}"  # Azure's udev links for data disks


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


def main(argv: list[str] | None = None) -> int:
    """Restore the disks ``--writes`` names; print the report as the last line."""
    parser = argparse.ArgumentParser(prog="restorelab-agent", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--store", required=True, help="container URL with a read SAS, "
                        "or a directory")
    parser.add_argument("--restore-point", required=True, help="restorepoints/<vm>/<name>")
    parser.add_argument("--writes", required=True, help='JSON: [{"lun", "disk", "source"}]')
    parser.add_argument("--device-pattern", default=AZURE_LUN_DEVICE,
                        help="where the disk at a LUN is (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    try:
        report = restore_writes(open_store(args.store), args.restore_point,
                                json.loads(args.writes), args.device_pattern, args.threads)
    except ChunkError as exc:
        return _fail("DataCorrupted", str(exc))
    except (MissingObject, ArchivedObject) as exc:
        return _fail("RestorePointNotFound", f"restore point {args.restore_point}: {exc}")
    except (OSError, ValueError, KeyError) as exc:
        return _fail("AgentError", f"{type(exc).__name__}: {exc}")
    print(json.dumps(report))
    return 0


def restore_writes(store: Store, point_id: str, writes: list[dict], device_pattern: str,
                   threads: int = 8) -> dict:
    """Write each requested disk of the restore point; a disk whose digest differs from
    the manifest's is reported, not counted as restored."""
    manifest = Manifest.from_json(store.get(manifest_of(point_id)).decode())
    by_name = {disk.name.lower(): disk for disk in manifest.disks}
    restored, digests = [], {}
    for write in writes:
        disk = by_name.get(str(write["source"]).lower())
        if disk is None:
            raise KeyError(f"the restore point has no disk {write['source']!r}")
        result = restore_disk(disk, store, device_pattern.format(lun=write["lun"]), threads)
        digests[write["disk"]] = result.digest
        if result.verified:
            restored.append(write["disk"])
    return {"restored": restored, "digests": digests}


def _fail(code: str, message: str) -> int:
    print(json.dumps({"error": {"code": code, "message": message}}))
    return 1


if __name__ == "__main__":
    sys.exit(main())
