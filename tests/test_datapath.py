"""Restore points with real bytes: backup, incremental backup, and the restore agent."""

from __future__ import annotations

import hashlib
import io
import random

import pytest

from datapath.agent import ChunkError, restore_disk
from datapath.repository import LocalStore, SourceDisk, backup, chunk_name, load_manifest

CHUNK = 64 * 1024
VM = {"name": "app01", "size": "Standard_D4s_v5"}


def disk_bytes(seed: int, chunks: int, zero_every: int = 3, tail: int = 1000) -> bytes:
    """Random chunks, every ``zero_every``-th all zeros, and a short last chunk."""
    rng = random.Random(seed)
    parts = [bytes(CHUNK) if i % zero_every == 1 else rng.randbytes(CHUNK)
             for i in range(chunks)]
    return b"".join(parts) + rng.randbytes(tail)


def back_up(store, disks: dict[str, bytes], restore_point: str = "rp1"):
    sources = [SourceDisk(name, None if i == 0 else i - 1, "Premium_LRS", io.BytesIO(data))
               for i, (name, data) in enumerate(disks.items())]
    return backup(VM, sources, store, restore_point, chunk_size=CHUNK)


def test_round_trip_restores_every_byte_and_verifies_it(tmp_path):
    store = LocalStore(tmp_path / "repo")
    disks = {"os": disk_bytes(1, 7), "data0": disk_bytes(2, 5)}
    manifest, stats = back_up(store, disks)
    assert load_manifest(store, "app01", "rp1") == manifest
    for disk in manifest.disks:
        target = tmp_path / f"{disk.name}.img"
        done = []
        result = restore_disk(disk, store, target, threads=4, progress=done.append)
        assert result.verified and result.digest == disk.digest
        assert target.read_bytes() == disks[disk.name]
        chunks = [disks[disk.name][i:i + CHUNK] for i in range(0, len(disks[disk.name]), CHUNK)]
        assert disk.chunks == [None if c == bytes(len(c)) else hashlib.sha256(c).hexdigest()
                               for c in chunks]
        assert sum(done) == len(disks[disk.name])
    assert stats.zero == sum(c is None for d in manifest.disks for c in d.chunks) > 0


def test_zero_chunks_are_neither_stored_nor_written(tmp_path):
    store = LocalStore(tmp_path / "repo")
    data = disk_bytes(3, 6)
    manifest, stats = back_up(store, {"os": data})
    stored = list((tmp_path / "repo" / "chunks").rglob("*"))
    assert len([p for p in stored if p.is_file()]) == stats.stored == stats.chunks - stats.zero
    result = restore_disk(manifest.disks[0], store, tmp_path / "os.img")
    assert result.bytes_written == len(data) - stats.zero * CHUNK


def test_incremental_backup_stores_only_the_changed_chunks(tmp_path):
    store = LocalStore(tmp_path / "repo")
    first = bytearray(disk_bytes(4, 8))
    _, full = back_up(store, {"os": bytes(first)}, "rp1")
    first[3 * CHUNK + 10] ^= 0xFF  # one byte in one chunk changes
    manifest, incremental = back_up(store, {"os": bytes(first)}, "rp2")
    assert full.stored > 1 and incremental.stored == 1
    result = restore_disk(manifest.disks[0], store, tmp_path / "os.img")
    assert result.verified and (tmp_path / "os.img").read_bytes() == bytes(first)


def test_a_corrupted_chunk_is_named_and_stops_the_disk(tmp_path):
    store = LocalStore(tmp_path / "repo")
    manifest, _ = back_up(store, {"os": disk_bytes(5, 4), "data0": disk_bytes(6, 4)})
    disk = manifest.disks[1]
    index, digest = next((i, c) for i, c in enumerate(disk.chunks) if c)
    victim = tmp_path / "repo" / chunk_name(digest)
    import zstandard
    other = zstandard.ZstdCompressor().compress(b"not the data" * 100)
    victim.write_bytes(other)
    with pytest.raises(ChunkError) as info:
        restore_disk(disk, store, tmp_path / "data0.img")
    assert (info.value.disk, info.value.index) == ("data0", index)
    assert "sha256 does not match" in str(info.value) and "data0" in str(info.value)
    victim.write_bytes(b"garbage, not zstd")
    with pytest.raises(ChunkError, match="cannot be decompressed"):
        restore_disk(disk, store, tmp_path / "data0.img")


def test_a_missing_chunk_is_named(tmp_path):
    store = LocalStore(tmp_path / "repo")
    manifest, _ = back_up(store, {"os": disk_bytes(7, 4)})
    disk = manifest.disks[0]
    index, digest = [(i, c) for i, c in enumerate(disk.chunks) if c][-1]
    (tmp_path / "repo" / chunk_name(digest)).unlink()
    with pytest.raises(ChunkError) as info:
        restore_disk(disk, store, tmp_path / "os.img")
    assert info.value.index == index and "missing" in str(info.value)


def test_a_stale_target_file_is_emptied_first(tmp_path):
    store = LocalStore(tmp_path / "repo")
    data = disk_bytes(9, 5)
    manifest, _ = back_up(store, {"os": data})
    target = tmp_path / "os.img"
    target.write_bytes(b"\xff" * (len(data) + 5000))  # old content where zeros belong
    assert restore_disk(manifest.disks[0], store, target).verified
    assert target.read_bytes() == data


def test_a_tampered_restore_point_is_not_verified(tmp_path):
    store = LocalStore(tmp_path / "repo")
    manifest, _ = back_up(store, {"os": disk_bytes(8, 3)})
    disk = manifest.disks[0]
    disk.digest = "0" * 64  # the manifest's whole-disk digest no longer matches
    assert restore_disk(disk, store, tmp_path / "os.img").verified is False
