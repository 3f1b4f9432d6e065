"""moto's conventions in ``mock_azure``: any subscription, every decorator form, fresh state
per use, sign-in of ``DefaultAzureCredential``, and other URLs left to whoever answers
them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

import requests  # noqa: E402
import responses  # noqa: E402
from azure.core.exceptions import HttpResponseError  # noqa: E402
from azure.identity import DefaultAzureCredential  # noqa: E402
from azure.mgmt.resource.resources import ResourceManagementClient  # noqa: E402
from helpers import readme_example  # noqa: E402

from fakecloud import FakeCredential, mock_azure  # noqa: E402

ARM = "https://management.azure.com"
OTHER = "44444444-5555-6666-7777-888888888888"
NO_SIGN_IN = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
              "AZURE_FEDERATED_TOKEN_FILE", "AZURE_USERNAME", "AZURE_CLIENT_CERTIFICATE_PATH")


def groups(subscription: str, credential=None) -> ResourceManagementClient:
    return ResourceManagementClient(credential or FakeCredential(), subscription,
                                    polling_interval=0)


def make_group(subscription: str, name: str = "rg", credential=None) -> str:
    return groups(subscription, credential).resource_groups.create_or_update(
        name, {"location": "westeurope"}).id


def group_names(subscription: str) -> list[str]:
    return [g.name for g in groups(subscription).resource_groups.list()]


def test_any_subscription_works_and_keeps_its_own_resources():
    with mock_azure() as fake:
        assert make_group(OTHER, "rg-other") == f"/subscriptions/{OTHER}/resourceGroups/rg-other"
        assert group_names(OTHER) == ["rg-other"]
        assert group_names(fake.subscription) == []
        assert fake.state_of(OTHER.upper()).find(
            f"/subscriptions/{OTHER}/resourceGroups/rg-other") is not None
        assert fake.subscriptions() == [fake.subscription, OTHER]


def test_a_malformed_subscription_id_is_refused_as_arm_refuses_it():
    with mock_azure():
        answer = requests.get(f"{ARM}/subscriptions/not-a-guid/resourcegroups",
                              params={"api-version": "2024-03-01"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "InvalidSubscriptionId"
    assert "not-a-guid" in answer.json()["error"]["message"]


def test_the_default_subscription_can_be_named():
    with mock_azure(subscription=OTHER) as fake:
        assert fake.subscription == OTHER
        make_group(OTHER)
        assert [g.name for g in fake.state.resources()] == ["rg"]


def test_bare_decorator_runs_the_function_with_the_fake_and_fresh_state_each_call():
    @mock_azure
    def create_and_list() -> list[str]:
        make_group(OTHER, "rg-bare")
        return group_names(OTHER)

    assert create_and_list() == ["rg-bare"]
    assert create_and_list() == ["rg-bare"]  # not two groups: each call starts empty


def test_explicit_reset_forgets_every_subscription_and_request():
    with mock_azure(subscription=OTHER) as fake:
        make_group(OTHER)
        make_group("99999999-9999-9999-9999-999999999999")
        fake.reset()
        assert fake.subscription == OTHER and fake.requests == []
        assert group_names(OTHER) == [] and fake.subscriptions() == [OTHER]


def test_a_decorated_test_class_wraps_every_test_method():
    @mock_azure()
    class Tests:
        def test_one(self) -> str:
            return make_group(OTHER, "rg-1")

        def test_two(self) -> list[str]:
            return group_names(OTHER)

        def helper(self) -> str:
            return "not wrapped"

    tests = Tests()
    assert isinstance(tests, Tests)  # still a class, not a function
    assert tests.test_one().endswith("/rg-1")
    assert tests.test_two() == []  # a fresh fake for each test
    with pytest.raises(requests.exceptions.ConnectionError), responses.RequestsMock():
        requests.get(f"{ARM}/subscriptions/{OTHER}/resourcegroups?api-version=2024-03-01")
        # outside the tests there is no fake: this mock refuses it


PYTEST_FILE = '''
import unittest
from azure.mgmt.resource.resources import ResourceManagementClient
from fakecloud import FakeCredential, mock_azure

SUB = "44444444-5555-6666-7777-888888888888"

def client():
    return ResourceManagementClient(FakeCredential(), SUB, polling_interval=0)

@mock_azure
def test_bare_function():
    assert client().resource_groups.create_or_update("a", {"location": "westus"}).name == "a"

@mock_azure()
class TestPlainClass:
    def test_first(self):
        client().resource_groups.create_or_update("b", {"location": "westus"})
        assert [g.name for g in client().resource_groups.list()] == ["b"]

    def test_second(self):
        assert list(client().resource_groups.list()) == []

@mock_azure
class TestWithSetupMethod:
    def setup_method(self, method):
        client().resource_groups.create_or_update("c", {"location": "westus"})

    def test_sees_what_setup_made(self):
        assert [g.name for g in client().resource_groups.list()] == ["c"]
        assert self.fake_azure.subscriptions() == ["00000000-0000-0000-0000-000000000000", SUB]

@mock_azure()
class UnitTests(unittest.TestCase):
    def setUp(self):
        client().resource_groups.create_or_update("d", {"location": "westus"})

    def test_sees_what_set_up_made(self):
        self.assertEqual([g.name for g in client().resource_groups.list()], ["d"])

    def test_and_again_fresh(self):
        self.assertEqual(len(list(client().resource_groups.list())), 1)
'''


def test_pytest_collects_and_runs_every_decorated_form(tmp_path):
    """The forms that used to turn a class into a function (never collected) or warn."""
    test_file = tmp_path / "test_decorated.py"
    test_file.write_text(textwrap.dedent(PYTEST_FILE))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-p", "no:randomly", str(test_file)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "6 passed" in run.stdout and "warning" not in run.stdout.lower(), run.stdout


@pytest.fixture
def no_sign_in_settings(monkeypatch):
    for name in NO_SIGN_IN:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def credential() -> DefaultAzureCredential:
    return DefaultAzureCredential(exclude_cli_credential=True,
                                  exclude_developer_cli_credential=True,
                                  exclude_powershell_credential=True)


def test_default_azure_credential_signs_in_a_service_principal(no_sign_in_settings):
    no_sign_in_settings.setenv("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
    no_sign_in_settings.setenv("AZURE_TENANT_ID", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
    no_sign_in_settings.setenv("AZURE_CLIENT_SECRET", "fake-secret-for-the-fake")
    with mock_azure() as fake:
        assert make_group(fake.subscription, "rg-sp", credential()).endswith("/rg-sp")
        assert credential().get_token("https://management.azure.com/.default").token == \
            "fakecloud-token"


def test_default_azure_credential_signs_in_a_workload_identity(no_sign_in_settings, tmp_path):
    token_file = tmp_path / "federated-token"
    token_file.write_text("a-federated-token-from-the-ci")
    no_sign_in_settings.setenv("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
    no_sign_in_settings.setenv("AZURE_TENANT_ID", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
    no_sign_in_settings.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    no_sign_in_settings.setenv("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com")
    with mock_azure() as fake:
        assert make_group(fake.subscription, "rg-wi", credential()).endswith("/rg-wi")


def test_a_tests_own_responses_mocks_keep_working_inside_the_fake():
    with responses.RequestsMock() as own:
        own.get("https://api.example.com/status", json={"ok": True})
        with mock_azure() as fake:
            assert requests.get("https://api.example.com/status").json() == {"ok": True}
            assert make_group(fake.subscription).endswith("/rg")  # Azure: the fake
        assert len(own.calls) == 1


def test_passthrough_false_refuses_other_hosts_but_not_azure():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as own:
        own.get("https://api.example.com/status", json={"ok": True})
        with mock_azure(passthrough=False) as fake:
            with pytest.raises(requests.exceptions.ConnectionError, match="api.example.com"):
                requests.get("https://api.example.com/status")
            assert make_group(fake.subscription).endswith("/rg")
        assert len(own.calls) == 0


def test_an_unknown_sign_in_path_fails_loudly():
    with mock_azure():
        answer = requests.get("https://login.microsoftonline.com/common/oauth2/v2.0/logout")
    assert answer.status_code == 501 and "logout" in answer.json()["error"]["message"]


def test_mock_azure_refuses_both_a_state_and_a_region():
    from fakecloud.models import CloudState
    from fakecloud.profile import load_profile
    from fakecloud.region import Region

    profile = load_profile("default")
    state = CloudState(OTHER, profile.max_data_disks)
    with pytest.raises(ValueError, match="not both"):
        mock_azure(state, region=Region(state, profile))


def test_arm_errors_from_any_subscription_reach_the_sdk():
    with mock_azure(), pytest.raises(HttpResponseError) as raised:
        groups(OTHER).resource_groups.get("missing")
    assert raised.value.status_code == 404 and raised.value.error.code == "ResourceGroupNotFound"


def test_the_readme_example_of_moto_conventions_runs():
    import io
    import unittest

    namespace = readme_example("class GroupTests(unittest.TestCase)")
    outcome = unittest.TextTestRunner(stream=io.StringIO()).run(
        unittest.defaultTestLoader.loadTestsFromTestCase(namespace["GroupTests"]))
    assert outcome.wasSuccessful() and outcome.testsRun == 1, outcome.failures + outcome.errors


def test_the_readme_example_of_a_whole_vm_runs():
    readme_example("def test_a_vm_with_data_disks_from_create_to_delete")[
        "test_a_vm_with_data_disks_from_create_to_delete"]()


def test_the_readme_lists_exactly_the_routes_the_fake_answers():
    import re
    from pathlib import Path

    from fakecloud.arm.urls import implemented

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    listed = re.search(r"<!-- implemented routes -->\n```text\n(.*?)```", readme, re.DOTALL)
    assert listed is not None
    assert listed.group(1).splitlines() == implemented()


def test_a_decorator_serving_a_given_region_works_each_call():
    from fakecloud.models import CloudState
    from fakecloud.profile import load_profile
    from fakecloud.region import Region

    profile = load_profile("default")
    region = Region(CloudState(OTHER, profile.max_data_disks), profile)

    @mock_azure(region=region)
    def create(name: str) -> list[str]:
        make_group(OTHER, name)
        return group_names(OTHER)

    assert create("rg-a") == ["rg-a"]
    assert create("rg-b") == ["rg-a", "rg-b"]  # the region given is the one served


def test_the_tenant_lists_its_subscriptions_as_az_login_reads_them():
    import requests

    arm = "https://management.azure.com"
    with mock_azure(subscription=OTHER) as azure:
        listed = requests.get(f"{arm}/subscriptions?api-version=2022-12-01").json()
        assert [s["subscriptionId"] for s in listed["value"]] == [OTHER]
        assert listed["value"][0]["state"] == "Enabled" and listed["count"]["value"] == 1
        third = "33333333-3333-4333-8333-333333333333"
        one = requests.get(f"{arm}/subscriptions/{third}?api-version=2022-12-01")
        assert one.status_code == 200 and one.json()["id"] == f"/subscriptions/{third}"
        assert azure.subscriptions() == [OTHER, third]  # made on first use, as any other
        tenants = requests.get(f"{arm}/tenants?api-version=2022-12-01").json()["value"]
        assert [t["tenantId"] for t in tenants] == [listed["value"][0]["tenantId"]]
        bad = requests.get(f"{arm}/subscriptions/not-a-guid?api-version=2022-12-01")
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidSubscriptionId"
