"""``mock_azure()``: the unmodified azure-mgmt-* clients against fakecloud's ARM fake.

Works as a context manager and as a decorator, like moto's ``mock_aws``::

    with mock_azure() as azure:              # azure: the ArmFake, its state and clock
        client = ComputeManagementClient(FakeCredential(), azure.subscription)
        client.disks.get("rg", "disk")       # 404 ResourceNotFound, as ARM answers

Every request to an Azure host goes to the fake; one it does not implement gets 501 with
an ARM error body naming the method and path. Local addresses (Azurite) pass through.
The SDK's transport sleeps (poller waits, Retry-After of 429s) on the fake's virtual
clock, so a 10-minute VM create returns at once with the clock 10 minutes later.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from contextlib import ContextDecorator
from typing import Any
from unittest import mock

import responses
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import HttpTransport

from fakecloud.arm.fake import ArmFake
from fakecloud.arm.responses import error
from fakecloud.clock import VirtualClock
from fakecloud.models import CloudState
from fakecloud.profile import RegionProfile, load_profile
from fakecloud.region import ChaosRule, Region

DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
AZURE_HOSTS = re.compile(r"https?://([^/]*\.)?(azure\.com|azure\.net|windows\.net|"
                         r"microsoftonline\.com|azure-api\.net)(:\d+)?/.*", re.IGNORECASE)
ARM_URLS = re.compile(r"https://management\.azure\.com/.*", re.IGNORECASE)
IMDS_TOKEN = re.compile(r"http://169\.254\.169\.254/metadata/identity/oauth2/token.*")
AZURE_OR_IMDS = re.compile(f"{AZURE_HOSTS.pattern}|{IMDS_TOKEN.pattern}", re.IGNORECASE)
LOCAL = re.compile(r"https?://(127\.0\.0\.1|localhost)(:\d+)?/.*")
METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD")
TOKEN_LIFETIME_S = 3600


class FakeCredential:
    """A token credential for the fake: any scope, a token that never reaches Azure."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("fakecloud-token", 2**31 - 1)


class mock_azure(ContextDecorator):  # noqa: N801  (named like moto's mock_aws)
    """Answer Azure's HTTP with fakecloud's ARM fake while active.

    ``state`` is the region to serve (default: an empty subscription in ``profile``,
    default the ``default`` profile); ``clock`` its virtual time; ``seed`` draws the
    latencies; ``rules`` are fault rules in ARM's terms (``ChaosRule``). Given a ``region``
    (fakecloud's region layer, with hooks installed), it is served instead.
    """

    def __init__(self, state: CloudState | None = None, profile: RegionProfile | None = None,
                 clock: VirtualClock | None = None, seed: int = 0,
                 rules: Iterable[ChaosRule] = (), region: Region | None = None):
        self.profile = region.profile if region else profile or load_profile("default")
        self.state = region.state if region else state
        self.clock, self.seed, self.rules, self.region = clock, seed, list(rules), region
        self.fake: ArmFake | None = None
        self._mock: responses.RequestsMock | None = None
        self._sleep_patch: Any = None

    def __enter__(self) -> ArmFake:
        state = self.state or CloudState(DEFAULT_SUBSCRIPTION,
                                         self.profile.max_data_disks, self.profile.quota)
        self.fake = ArmFake(state, self.profile, self.clock, self.seed, self.rules, self.region)
        self._mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        self._mock.add_passthru(LOCAL)
        for method in METHODS:  # one callback per method: responses uses up repeated matches
            self._mock.add_callback(method, AZURE_OR_IMDS, callback=self._answer)
        self._mock.start()
        clock = self.fake.clock
        self._sleep_patch = mock.patch.object(HttpTransport, "sleep",
                                              lambda _transport, seconds: clock.sleep(seconds))
        self._sleep_patch.start()
        return self.fake

    def _answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        if ARM_URLS.match(request.url):
            return self.fake.handle(request)
        if IMDS_TOKEN.match(request.url):
            return _imds_token(request)
        return _not_implemented(request)

    def __exit__(self, *exc_info: object) -> None:
        if self._sleep_patch is not None:
            self._sleep_patch.stop()
            self._sleep_patch = None
        if self._mock is not None:
            self._mock.stop()
            self._mock.reset()
            self._mock = None


def _imds_token(request: Any) -> tuple[int, dict[str, str], str]:
    """The managed-identity endpoint, so DefaultAzureCredential gets a token."""
    return 200, {"Content-Type": "application/json"}, json.dumps({
        "access_token": "fakecloud-token", "expires_in": str(TOKEN_LIFETIME_S),
        "expires_on": str(2**31 - 1), "resource": "https://management.azure.com/",
        "token_type": "Bearer"})


def _not_implemented(request: Any) -> tuple[int, dict[str, str], str]:
    status, headers, body = error(501, "NotImplementedInFake", f"fakecloud does not "
                                  f"implement {request.method} {request.url}")
    return status, {"Content-Type": "application/json", **headers}, body
