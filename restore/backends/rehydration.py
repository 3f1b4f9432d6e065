"""Archived restore points on real Azure: the chunks their manifest names, brought back to
the hot tier with azure-storage-blob (Set Blob Tier, the restore's rehydrate priority),
then each blob's tier and archive status polled on the backend's clock until all are hot.

Azure keeps a rehydration's state on the blob (``x-ms-archive-status:
rehydrate-pending-to-hot`` until it is hot), so a rehydration asked for and interrupted
goes on by itself: run again (``restorelab resume``) it asks only for the blobs still in
the archive tier with nothing pending, and waits for the others. Microsoft Learn, "Blob
rehydration from the archive tier": standard priority "might take up to 15 hours", high
priority "might complete in under one hour for objects under 10 GB", and "a maximum of
10 GiB per storage account may be rehydrated per hour with priority retrieval".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobProperties, ContainerClient, StandardBlobTier

from datapath.repository import Manifest, chunk_name, manifest_of
from restore.backends.azure import Clock, ClockTransport, WallClock, log_call
from restore.errors import CloudError

STANDARD_BOUND_S = 15 * 3600.0  # "might take up to 15 hours"
HIGH_BOUND_S = 3600.0  # "under one hour for objects under 10 GB"
HIGH_GIB_PER_HOUR = 10.0  # per storage account, with priority retrieval
POLLS_PER_BOUND = 60  # a poll every 15 minutes at standard priority, every minute at high
POLL_S_LIMITS = (60.0, 900.0)
GIVE_UP_AFTER_BOUNDS = 2.0  # a rehydration still pending after twice its bound has failed
ARCHIVE = "Archive"  # until rehydrated; meanwhile archive_status: rehydrate-pending-to-hot
BEING_REHYDRATED = "BlobBeingRehydrated"  # 409: the blob's rehydration is pending already


def bound_s(priority: str, size_gb: float) -> float:
    """How long Azure's docs say a rehydration of ``size_gb`` may take at ``priority``."""
    if priority == "high":
        return max(HIGH_BOUND_S, size_gb / HIGH_GIB_PER_HOUR * 3600.0)
    return STANDARD_BOUND_S


def poll_interval_s(priority: str, size_gb: float) -> float:
    low, high = POLL_S_LIMITS
    return min(high, max(low, bound_s(priority, size_gb) / POLLS_PER_BOUND))


@dataclass
class RehydrationProgress:
    """Where a restore point's rehydration stands: its blobs hot of all, in bytes too, and
    the Set Blob Tier requests this run sent."""

    restore_point: str
    priority: str
    blobs: int = 0
    hot: int = 0
    bytes: int = 0
    hot_bytes: int = 0
    requested: int = 0

    def summary(self) -> str:
        return (f"{self.hot}/{self.blobs} blobs rehydrated, {_mb(self.hot_bytes)} of "
                f"{_mb(self.bytes)} ({self.priority} priority)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


@dataclass
class BlobRehydration:
    """One restore point's rehydration in ``container``; ``report`` hears its progress
    after each look at the blobs and each request."""

    container: ContainerClient
    clock: Clock
    report: Callable[[RehydrationProgress], None] = lambda progress: None
    _asked: set[str] = field(default_factory=set)

    def run(self, restore_point: str, priority: str) -> RehydrationProgress:
        """Ask for every archived chunk of ``restore_point`` back and wait until all are
        hot; raises CloudError naming the blob that cannot be, or the wait that ran out.
        The waits follow the size of its blobs."""
        wanted = self._chunks(restore_point)
        listed = self._listed(wanted, restore_point)
        progress = RehydrationProgress(restore_point, priority, blobs=len(wanted),
                                       bytes=sum(blob.size for blob in listed.values()))
        waiting = self._archived_of(listed, progress)
        size_gb = progress.bytes / 2**30
        started, interval = self.clock.now, poll_interval_s(priority, size_gb)
        deadline = started + GIVE_UP_AFTER_BOUNDS * bound_s(priority, size_gb)
        self.report(progress)
        for name in sorted(n for n, blob in waiting.items() if not blob.archive_status):
            self._ask(name, priority, restore_point, progress)
        while waiting:
            if self.clock.now >= deadline:
                raise CloudError("RehydrationTimedOut", f"restore point {restore_point}: "
                                 f"{len(waiting)} blobs still not hot after "
                                 f"{(self.clock.now - started) / 3600:.1f} h at {priority} "
                                 f"priority (Azure's docs: up to "
                                 f"{bound_s(priority, size_gb) / 3600:.0f} h)")
            self.clock.sleep(interval)
            waiting = self._archived_of(self._listed(set(waiting), restore_point), progress)
            self._check_pending(waiting, restore_point)
            self.report(progress)
        return progress

    def _chunks(self, restore_point: str) -> set[str]:
        name = manifest_of(restore_point)
        try:
            text = self.container.download_blob(name).readall()
        except ResourceNotFoundError:
            raise CloudError("RestorePointNotFound", f"no restore point {restore_point} in "
                             f"the repository (no {name})", 404) from None
        except HttpResponseError as exc:
            raise _blob_error(exc, name, restore_point) from None
        manifest = Manifest.from_json(text.decode())
        return {chunk_name(c) for disk in manifest.disks for c in disk.chunks if c}

    def _listed(self, names: set[str], restore_point: str) -> dict[str, BlobProperties]:
        """The blobs of ``names`` as their folders' listings show them (5,000 a page)."""
        found: dict[str, BlobProperties] = {}
        try:
            for folder in sorted({n.rsplit("/", 1)[0] + "/" for n in names}):
                found.update((b.name, b) for b in self.container.list_blobs(
                    name_starts_with=folder) if b.name in names)
        except HttpResponseError as exc:
            raise _blob_error(exc, "chunks/", restore_point) from None
        missing = sorted(names - found.keys())
        if missing:
            raise CloudError("RehydrationFailed", f"restore point {restore_point}: chunk "
                             f"{missing[0]} is not in the repository ({len(missing)} "
                             "missing)", 404)
        return found

    def _archived_of(self, listed: dict[str, BlobProperties],
                     progress: RehydrationProgress) -> dict[str, BlobProperties]:
        """The blobs still in the archive tier (rehydrating or not); the others, online
        (hot, or cool or cold as they were), count as rehydrated in ``progress``."""
        waiting = {n: b for n, b in listed.items() if str(b.blob_tier) == ARCHIVE}
        progress.hot = progress.blobs - len(waiting)
        progress.hot_bytes = progress.bytes - sum(b.size for b in waiting.values())
        return waiting

    def _ask(self, name: str, priority: str, restore_point: str,
             progress: RehydrationProgress) -> None:
        """Set Blob Tier Hot; one already pending (409 BlobBeingRehydrated) is waited for."""
        try:
            self.container.get_blob_client(name).set_standard_blob_tier(
                StandardBlobTier.HOT, rehydrate_priority=priority.capitalize())
        except HttpResponseError as exc:
            if exc.error_code != BEING_REHYDRATED:
                raise _blob_error(exc, name, restore_point) from None
        progress.requested += 1
        self._asked.add(name)
        self.report(progress)

    def _check_pending(self, waiting: dict[str, BlobProperties], restore_point: str) -> None:
        """A blob asked for that is in the archive tier again, with nothing pending, did
        not rehydrate."""
        for name in sorted(waiting):
            if name in self._asked and not waiting[name].archive_status:
                raise CloudError("RehydrationFailed", f"restore point {restore_point}: "
                                 f"blob {name} went back to the archive tier without "
                                 "rehydrating", 409)


def _blob_error(exc: HttpResponseError, name: str, restore_point: str) -> CloudError:
    code = exc.error_code or f"Http{exc.status_code}"
    hint = (": the repository's SAS must allow read, write and list to rehydrate"
            if exc.status_code == 403 else "")
    return CloudError(code, f"restore point {restore_point}: {name}: "
                      f"{_first_line(exc.message)}{hint}", exc.status_code)


def _first_line(text: str | None) -> str:
    return (str(text or "").strip().splitlines() or [""])[0]


class ContainerRepository:
    """Restore points in a blob container. The worker's agent reads it over HTTPS at
    ``agent_store``, the container's URL with a read SAS; the restore rehydrates an
    archived one through ``store_url`` (default the same URL, whose SAS then needs
    write and list too), sleeping on ``clock``. ``progress`` is the last rehydration's;
    ``listeners`` hear every change of it."""

    rehydrates = True

    def __init__(self, agent_store: str, store_url: str | None = None,
                 clock: Clock | None = None):
        self.agent_store, self.store_url = agent_store, store_url or agent_store
        self.clock = clock or WallClock()
        self.progress: RehydrationProgress | None = None
        self.listeners: list[Callable[[RehydrationProgress], None]] = []

    def rehydrate(self, restore_point: str, priority: str, size_gb: float) -> None:
        """Rehydrate ``restore_point`` (its blobs' own sizes, not ``size_gb``, the plan's
        estimate, set the waits)."""
        if not self.store_url.startswith(("https://", "http://")):
            raise CloudError("RepositoryNotConfigured", f"restore point {restore_point} is "
                             "archived and the repository is not a blob container URL")
        container = ContainerClient.from_container_url(
            self.store_url, transport=ClockTransport(self.clock), raw_response_hook=_logged)
        BlobRehydration(container, self.clock, self._heard).run(restore_point, priority)

    def _heard(self, progress: RehydrationProgress) -> None:
        self.progress = replace(progress)  # as it stands now (the rehydration goes on)
        for listener in self.listeners:
            listener(self.progress)


def _logged(response: Any) -> None:
    log_call(response.http_request, response.http_response.status_code)
