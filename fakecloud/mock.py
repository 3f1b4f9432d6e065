"""``mock_azure``: the unmodified azure-mgmt-* clients against fakecloud's ARM fake.

Works as moto's ``mock_aws`` does: a context manager, and a decorator with or without
parentheses, on a function or on a test class (each test gets a fresh fake)::

    with mock_azure() as azure:              # azure: the ArmFake, its state and clock
        client = ComputeManagementClient(FakeCredential(), azure.subscription)
        client.disks.get("rg", "disk")       # 404 ResourceNotFound, as ARM answers

Any subscription id works (its region is made on first use); with
``any_subscription=False`` only the state's do (its default one, and those added with
``CloudState.add_subscription``), and any other is answered 404 SubscriptionNotFound, as
ARM answers. Every request to an Azure
host goes to the fake; one it does not implement gets 501 with an ARM error body naming
the method and path. Sign-in is answered too: the managed identity endpoint (IMDS) and
Microsoft Entra ID's token endpoints, so ``DefaultAzureCredential`` with a service
principal, a workload identity or a managed identity gets a token. Other URLs reach
whatever would have answered them (the network, or a test's own ``responses`` mocks
started before this one); ``passthrough=False`` refuses them, but for local addresses
(Azurite). The SDK's transport sleeps (poller waits, Retry-After of 429s) on the fake's
virtual clock, so a 10-minute VM create returns at once with the clock 10 minutes later.
"""

from __future__ import annotations

import functools
import inspect
import re
import unittest
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from unittest import mock

import requests
import responses
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import HttpTransport

from fakecloud import identity
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
ANYTHING = re.compile(r".*")
METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD")
TEST_PREFIX = "test"
Decorated = TypeVar("Decorated", bound=Callable[..., Any])


class FakeCredential:
    """A token credential for the fake: any scope, a token that never reaches Azure."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(identity.TOKEN, 2**31 - 1)


class mock_azure:  # noqa: N801  (named like moto's mock_aws)
    """Answer Azure's HTTP with fakecloud's ARM fake while active.

    ``state`` is the default subscription's region to serve (default: an empty one, named
    ``subscription``, in ``profile``, default the ``default`` profile); ``clock`` its
    virtual time; ``seed`` draws the latencies; ``rules`` are fault rules in ARM's terms
    (``ChaosRule``), in force in every subscription. Given a ``region`` (fakecloud's
    region layer, with hooks installed), it is served instead. ``passthrough`` False:
    requests to hosts that are neither Azure's nor local are refused. ``any_subscription``
    False: only the state's subscriptions exist.
    """

    def __new__(cls, state: Any = None, *args: Any, **kwargs: Any) -> Any:
        if callable(state):  # bare @mock_azure on a function or a class
            return cls()(state)
        return super().__new__(cls)

    def __init__(self, state: CloudState | None = None, profile: RegionProfile | None = None,
                 clock: VirtualClock | None = None, seed: int = 0,
                 rules: Iterable[ChaosRule] = (), region: Region | None = None,
                 subscription: str = DEFAULT_SUBSCRIPTION, passthrough: bool = True,
                 any_subscription: bool = True):
        if state is not None and region is not None:
            raise ValueError("mock_azure takes a state or a region, not both")
        self.profile = region.profile if region else profile or load_profile("default")
        self.state = region.state if region else state
        self.clock, self.seed, self.rules, self.region = clock, seed, list(rules), region
        self.subscription, self.passthrough = subscription, passthrough
        self.any_subscription = any_subscription
        self.fake: ArmFake | None = None
        self._mock: responses.RequestsMock | None = None
        self._sleep_patch: Any = None

    def __call__(self, target: Decorated) -> Decorated:
        """Decorate a function (the fake is active during each call) or a test class."""
        if inspect.isclass(target):
            return self._decorate_class(target)

        @functools.wraps(target)
        def with_fake(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return target(*args, **kwargs)

        return with_fake  # type: ignore[return-value]

    def __enter__(self) -> ArmFake:
        if self._mock is not None:
            raise RuntimeError("this mock_azure is active already")
        state = self.state or CloudState(self.subscription, self.profile.max_data_disks,
                                         self.profile.quota)
        self.fake = ArmFake(state, self.profile, self.clock, self.seed, self.rules, self.region,
                            any_subscription=self.any_subscription)
        self._mock = responses.RequestsMock(assert_all_requests_are_fired=False,
                                            real_adapter_send=requests.adapters.HTTPAdapter.send)
        self._mock.add_passthru(ANYTHING if self.passthrough else LOCAL)
        for method in METHODS:  # one callback per method: responses uses up repeated matches
            self._mock.add_callback(method, AZURE_OR_IMDS, callback=self._answer)
        self._mock.start()
        clock = self.fake.clock
        self._sleep_patch = mock.patch.object(HttpTransport, "sleep",
                                              lambda _transport, seconds: clock.sleep(seconds))
        self._sleep_patch.start()
        return self.fake

    def __exit__(self, *exc_info: object) -> None:
        if self._sleep_patch is not None:
            self._sleep_patch.stop()
            self._sleep_patch = None
        if self._mock is not None:
            self._mock.stop()
            self._mock.reset()
            self._mock = None

    def _fresh(self) -> mock_azure:
        """A mock with this one's settings, for one use: each use starts from them."""
        return mock_azure(None if self.region else self.state, self.profile, self.clock,
                          self.seed, self.rules, self.region, self.subscription,
                          self.passthrough, self.any_subscription)

    def _decorate_class(self, cls: Decorated) -> Decorated:
        """A unittest.TestCase gets the fake from setUp to its cleanups; a pytest class
        with setup_method from it to teardown_method; any other class one fake per test
        method."""
        if issubclass(cls, unittest.TestCase):
            _wrap_set_up(cls, self)
        elif hasattr(cls, "setup_method"):
            _wrap_setup_method(cls, self)
        else:
            for name, member in list(vars(cls).items()):
                if name.startswith(TEST_PREFIX) and inspect.isfunction(member):
                    setattr(cls, name, self(member))
        return cls

    def _answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        if ARM_URLS.match(request.url):
            return self.fake.handle(request)
        if IMDS_TOKEN.match(request.url):
            return _imds_token(request)
        if ENTRA_ID.match(request.url):
            return _entra_id(request)
        return _not_implemented(request)


def _wrap_set_up(cls: Any, mocked: mock_azure) -> None:
    original = cls.setUp

    @functools.wraps(original)
    def set_up(self: unittest.TestCase) -> None:
        active = mocked._fresh()
        self.fake_azure = active.__enter__()
        self.addCleanup(active.__exit__, None, None, None)
        original(self)

    cls.setUp = set_up


def _wrap_setup_method(cls: Any, mocked: mock_azure) -> None:
    setup, teardown = cls.setup_method, getattr(cls, "teardown_method", None)

    @functools.wraps(setup)
    def setup_method(self: Any, method: Any = None) -> None:
        self._fakecloud_mock = mocked._fresh()
        self.fake_azure = self._fakecloud_mock.__enter__()
        try:
            setup(self, method) if _takes_method(setup) else setup(self)
        except BaseException:
            self._fakecloud_mock.__exit__(None, None, None)
            raise

    def teardown_method(self: Any, method: Any = None) -> None:
        try:
            if teardown is not None:
                teardown(self, method) if _takes_method(teardown) else teardown(self)
        finally:
            self._fakecloud_mock.__exit__(None, None, None)

    cls.setup_method, cls.teardown_method = setup_method, teardown_method


def _takes_method(hook: Callable[..., Any]) -> bool:
    return len(inspect.signature(hook).parameters) > 1


def _imds_token(request: Any) -> tuple[int, dict[str, str], str]:
    """The managed-identity endpoint (``fakecloud.identity``)."""
    return identity.imds_token()


ENTRA_ID = re.compile(r"https://login\.(microsoftonline\.com|windows\.net|microsoft\.com)/"
                      r"(?P<tenant>[^/?]+)/(?P<rest>[^?]*).*", re.IGNORECASE)


def _entra_id(request: Any) -> tuple[int, dict[str, str], str]:
    """Microsoft Entra ID's endpoints (``fakecloud.identity``) at its own login host."""
    found = ENTRA_ID.match(request.url)
    answer = identity.entra_id(identity.ENTRA_ID, request.method, found["tenant"],
                               found["rest"])
    return answer if answer is not None else _not_implemented(request)


def _not_implemented(request: Any) -> tuple[int, dict[str, str], str]:
    status, headers, body = error(501, "NotImplementedInFake", f"fakecloud does not "
                                  f"implement {request.method} {request.url}")
    return status, {"Content-Type": "application/json", **headers}, body
