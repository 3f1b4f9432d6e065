"""Restore points: a manifest plus content-addressed chunks.

Layout of a repository (a local directory here; a blob container has the same names):

    chunks/<first two hex digits>/<sha256 of the chunk>   zstd-compressed chunk bytes
    restore-points/<vm>/<restore point id>.json           the manifest

The manifest (format 1) records the VM's configuration and, per disk, its name, LUN
(null for the OS disk), SKU, size in bytes, the chunk size, the sha256 of each chunk in
order (null for an all-zero chunk, which is not stored) and the disk's digest: the sha256
of its size, chunk size and chunk digests in order (``disk_digest``), so a disk written
from chunks that each passed their sha256 can be checked without reading it again.
A chunk is stored once, whichever restore point or disk holds it, so an incremental
backup stores only the chunks that changed.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import zstandard

FORMAT = 1
CHUNK_SIZE = 4 * 1024 * 1024


class Store(Protocol):
    """Where a repository keeps its objects, by name."""

    def put(self, name: str, data: bytes) -> None: ...

    def get(self, name: str) -> bytes: ...

    def exists(self, name: str) -> bool: ...


class LocalStore:
    """A repository in a local directory (the embedded default)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def put(self, name: str, data: bytes) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + ".partial")
        partial.write_bytes(data)
        partial.replace(path)  # whole or not at all

    def get(self, name: str) -> bytes:
        try:
            return (self.root / name).read_bytes()
        except FileNotFoundError:
            raise MissingObject(name) from None

    def exists(self, name: str) -> bool:
        return (self.root / name).is_file()

    def names(self, prefix: str = "") -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*")
                      if p.is_file() and str(p.relative_to(self.root)).startswith(prefix)
                      and not p.name.endswith(".partial"))


class HttpStore:
    """A repository read over plain HTTPS: a blob container's URL with a read SAS (Azure
    Storage, Azurite), so a worker needs nothing but the standard library to fetch."""

    def __init__(self, url: str):
        base, _, self.query = url.partition("?")
        self.base = base.rstrip("/")

    def _url(self, name: str) -> str:
        return f"{self.base}/{urllib.parse.quote(name)}" + (f"?{self.query}" if self.query else "")

    def get(self, name: str) -> bytes:
        return self._request(name, "GET")

    def exists(self, name: str) -> bool:
        """A HEAD: the blob's properties, not its bytes."""
        try:
            self._request(name, "HEAD")
        except MissingObject:
            return False
        return True

    def _request(self, name: str, method: str) -> bytes:
        request = urllib.request.Request(self._url(name), method=method)
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as answer:
                return answer.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise MissingObject(name) from None
            if exc.code == 409 and exc.headers.get("x-ms-error-code") == "BlobArchived":
                raise ArchivedObject(name) from None
            raise

    def put(self, name: str, data: bytes) -> None:
        raise PermissionError("an HTTP store is read-only (a read SAS)")


def open_store(where: str) -> Store:
    """A repository by address: an https:// container URL (with its SAS), or a directory."""
    return HttpStore(where) if where.startswith(("https://", "http://")) else LocalStore(where)


HTTP_TIMEOUT_S = 60


class MissingObject(KeyError):
    """An object the manifest names is not in the repository."""


class ArchivedObject(KeyError):
    """The object is in the archive tier: rehydrate it before reading."""


ZERO_CHUNK = "0" * 64


def disk_digest(size_bytes: int, chunk_size: int, chunks: Iterable[str | None]) -> str:
    """The digest of a whole disk: sha256 over its size, its chunk size and the sha256 of
    each chunk in order (all zeros for a zero chunk)."""
    digest = hashlib.sha256(f"{size_bytes}:{chunk_size}:".encode())
    for chunk in chunks:
        digest.update((chunk or ZERO_CHUNK).encode())
    return digest.hexdigest()


def chunk_name(digest: str) -> str:
    return f"chunks/{digest[:2]}/{digest}"


def manifest_name(vm: str, restore_point: str) -> str:
    return f"restore-points/{vm}/{restore_point}.json"


def manifest_of(point_id: str) -> str:
    """The manifest's object name for a restore point id ``restorepoints/<vm>/<name>``."""
    prefix, vm, name = (point_id.split("/") + ["", ""])[:3]
    if prefix != "restorepoints" or not vm or not name:
        raise ValueError(f"not a restore point id: {point_id!r} (restorepoints/<vm>/<name>)")
    return manifest_name(vm, name)


@dataclass
class DiskManifest:
    name: str
    lun: int | None
    sku: str
    size_bytes: int
    chunk_size: int
    chunks: list[str | None]  # sha256 per chunk; None: all zeros, not stored
    digest: str  # disk_digest(size_bytes, chunk_size, chunks)


@dataclass
class Manifest:
    vm: dict[str, Any]
    restore_point: str
    disks: list[DiskManifest] = field(default_factory=list)
    format: int = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        raw = json.loads(text)
        if raw.get("format") != FORMAT:
            raise ValueError(f"unsupported restore point format {raw.get('format')!r}")
        disks = [DiskManifest(**d) for d in raw.pop("disks")]
        return cls(disks=disks, **raw)


@dataclass(frozen=True)
class SourceDisk:
    """A disk to back up: its name, LUN, SKU, and a readable binary file of its bytes."""

    name: str
    lun: int | None
    sku: str
    reader: BinaryIO


@dataclass
class BackupStats:
    chunks: int = 0
    stored: int = 0  # new chunks written
    zero: int = 0
    bytes_read: int = 0
    bytes_stored: int = 0


def backup(vm: dict[str, Any], disks: Iterable[SourceDisk], store: Store, restore_point: str,
           chunk_size: int = CHUNK_SIZE, level: int = 3,
           progress: Callable[[int], None] | None = None) -> tuple[Manifest, BackupStats]:
    """Read every disk chunk by chunk, store the chunks the repository lacks (compressed),
    then the manifest; ``progress(n)`` hears of each ``n`` bytes read."""
    compressor = zstandard.ZstdCompressor(level=level)
    manifest, stats = Manifest(vm=vm, restore_point=restore_point), BackupStats()
    zero = bytes(chunk_size)
    for disk in disks:
        chunks: list[str | None] = []
        size = 0
        while data := disk.reader.read(chunk_size):
            size += len(data)
            stats.chunks += 1
            stats.bytes_read += len(data)
            if data == zero[:len(data)]:
                chunks.append(None)
                stats.zero += 1
            else:
                digest = hashlib.sha256(data).hexdigest()
                chunks.append(digest)
                if not store.exists(chunk_name(digest)):
                    packed = compressor.compress(data)
                    store.put(chunk_name(digest), packed)
                    stats.stored += 1
                    stats.bytes_stored += len(packed)
            if progress:
                progress(len(data))
        manifest.disks.append(DiskManifest(disk.name, disk.lun, disk.sku, size, chunk_size,
                                           chunks, disk_digest(size, chunk_size, chunks)))
    store.put(manifest_name(vm["name"], restore_point), manifest.to_json().encode())
    return manifest, stats


def load_manifest(store: Store, vm: str, restore_point: str) -> Manifest:
    return Manifest.from_json(store.get(manifest_name(vm, restore_point)).decode())
