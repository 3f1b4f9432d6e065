"""Azurite (the Azure Storage emulator) for the tests of blob repositories: a fresh blob
endpoint with a random account key per module, and SAS URLs of its containers.

CI installs Azurite (`.ci/run`) and sets RESTORELAB_REQUIRE_AZURITE=1, so there the tests
that use it never skip; elsewhere they skip with the reason when Azurite is not installed.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import ContainerSasPermissions, generate_container_sas


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    """A blob endpoint of a fresh Azurite with a random account key."""
    binary = os.environ.get("AZURITE_BLOB") or shutil.which("azurite-blob")
    if binary is None:
        if os.environ.get("RESTORELAB_REQUIRE_AZURITE"):
            pytest.fail("Azurite is required here but azurite-blob is not on PATH")
        pytest.skip("Azurite is not installed (npm install -g azurite); CI installs it")
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--silent",
         "--location", str(tmp_path_factory.mktemp("azurite")), "--skipApiVersionCheck",
         "--loose"],
        env={**os.environ, "AZURITE_ACCOUNTS": f"restorelab:{key}"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("Azurite did not start")
                time.sleep(0.1)
        yield (f"DefaultEndpointsProtocol=http;AccountName=restorelab;AccountKey={key};"
               f"BlobEndpoint=http://127.0.0.1:{port}/restorelab;")
    finally:
        process.terminate()
        process.wait(timeout=10)




def read_sas_url(store, write: bool = False) -> str:
    """The URL of ``store``'s container with a SAS: read, or (``write``) read, write and
    list, what a rehydration needs."""
    container = store.container
    permission = ContainerSasPermissions(read=True, write=write, list=write)
    sas = generate_container_sas(container.account_name, container.container_name,
                                 account_key=container.credential.account_key,
                                 permission=permission,
                                 expiry=datetime.now(UTC) + timedelta(hours=1))
    return f"{container.url}?{sas}"
