"""Fixtures; plain helpers live in helpers.py (importable as ``helpers``)."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from restore.backends.profiles import RestoreProfile, load_profile
from restore.sessions import SESSIONS_ENV

# CI (`.ci/run`) fuzzes the same examples every run, so that what lands does not hang on
# a draw; a run here explores new ones (HYPOTHESIS_PROFILE=ci to replay CI's).
settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session", autouse=True)
def sessions_store(tmp_path_factory) -> None:
    """The restores the tests run (subprocesses too) are recorded in a store of the test
    run's own, never in the user's state directory."""
    os.environ[SESSIONS_ENV] = str(tmp_path_factory.mktemp("sessions") / "sessions.db")


SIGN_IN_VARIABLES = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
                     "AZURE_FEDERATED_TOKEN_FILE", "AZURE_USERNAME", "AZURE_SUBSCRIPTION_ID",
                     "IDENTITY_ENDPOINT", "MSI_ENDPOINT")


@pytest.fixture
def managed_identity(monkeypatch) -> None:
    """DefaultAzureCredential finds no service principal nor subscription in the
    environment: it signs in through the (fake) managed identity, as on an Azure VM."""
    for name in SIGN_IN_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def default_profile() -> RestoreProfile:
    return load_profile("default")


@pytest.fixture
def vm_azure():
    """``mock_azure`` with a group ``rg`` and a NIC ``nic`` on a network in it (eastus):
    the compute client, the NIC and the fake."""
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    from azure.mgmt.compute import ComputeManagementClient
    from azure.mgmt.network import NetworkManagementClient
    from azure.mgmt.resource.resources import ResourceManagementClient
    from helpers import vm_network

    from fakecloud import FakeCredential, mock_azure

    with mock_azure() as fake:
        credential, sub = FakeCredential(), fake.subscription
        ResourceManagementClient(credential, sub).resource_groups.create_or_update(
            "rg", {"location": "eastus"})
        nic = vm_network(NetworkManagementClient(credential, sub, polling_interval=0), "rg")
        yield ComputeManagementClient(credential, sub, polling_interval=0), nic, fake
