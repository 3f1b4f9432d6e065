"""A repository in an Azure Storage blob container (azure-storage-blob): the same object
names as the local store, hot or archive tier, and rehydration by priority."""

from __future__ import annotations

from collections.abc import Iterable

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import ContainerClient, StandardBlobTier

from datapath.repository import ArchivedObject, MissingObject


class BlobStore:
    """Objects as block blobs of one container."""

    def __init__(self, container: ContainerClient):
        self.container = container

    @classmethod
    def from_connection_string(cls, connection_string: str, container: str) -> BlobStore:
        client = ContainerClient.from_connection_string(connection_string, container)
        if not client.exists():
            client.create_container()
        return cls(client)

    def put(self, name: str, data: bytes) -> None:
        self.container.upload_blob(name, data, overwrite=True)

    def get(self, name: str) -> bytes:
        try:
            return self.container.download_blob(name).readall()
        except ResourceNotFoundError:
            raise MissingObject(name) from None
        except HttpResponseError as exc:
            if exc.error_code == "BlobArchived":
                raise ArchivedObject(name) from None
            raise

    def exists(self, name: str) -> bool:
        return self.container.get_blob_client(name).exists()

    def names(self, prefix: str = "") -> list[str]:
        return sorted(b.name for b in self.container.list_blobs(name_starts_with=prefix))

    def archive(self, names: Iterable[str]) -> None:
        """Move objects to the archive tier."""
        for name in names:
            self.container.get_blob_client(name).set_standard_blob_tier(StandardBlobTier.ARCHIVE)

    def rehydrate(self, names: Iterable[str], priority: str = "Standard") -> None:
        """Ask for objects back in the hot tier (``Standard`` or ``High`` priority)."""
        for name in names:
            self.container.get_blob_client(name).set_standard_blob_tier(
                StandardBlobTier.HOT, rehydrate_priority=priority)

    def tier(self, name: str) -> str:
        return str(self.container.get_blob_client(name).get_blob_properties().blob_tier)
