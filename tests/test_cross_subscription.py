"""Cross-subscription restore (``target.subscription``): everything the restore creates is
in the target subscription, the source's is only read; preflight checks the target's
quotas and that it exists; rollback and the leak check look there; the azure backend
signs in once and uses one set of clients per subscription."""

from __future__ import annotations

import json

import pytest
import yaml
from helpers import (
    LOCATIONS,
    RESTORE_ID_TAG,
    RESTORE_POINTS,
    ROOT,
    SUBSCRIPTION,
    assert_restored,
    by_id,
    path_scenario,
    scenario_dict,
    with_changes,
)
from test_differential import FAULTS, VM_ONLY, assert_same_with_faults
from test_faults import KINDS, assert_promises_kept
from typer.testing import CliRunner

import restore
from restore import Fault, parse_scenario
from restore.backends.faults import ONLY_ON
from restore.backends.prepared import prepare
from restore.backends.profiles import load_profile
from restore.cli import app
from restore.engine import dry_run
from restore.errors import ScenarioError
from restore.ops import CheckQuota, FindResources
from restore.plan import build_plan, scenario_restore_id
from restore.scenario import FaultKind
from restore.steps import rollback

OTHER = "22222222-2222-2222-2222-222222222222"  # the default profile's other subscription
UNKNOWN = "33333333-3333-3333-3333-333333333333"  # a subscription the tenant does not have
SHIPPED = ROOT / "scenarios" / "new-hot-other-subscription.yaml"
SIZING = load_profile("default").sizing
BACKENDS = ["sim", "fake-arm"]


def other_subscription(point=("backup", "hot", None), variant="vm", subscription=OTHER):
    return path_scenario(point, "new", variant, target={"subscription": subscription})


def subscription_of(arm_id: str) -> str:
    return arm_id.split("/")[2].lower()


def refused(raw: dict) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(raw)
    return caught.value


# -- the scenario field --------------------------------------------------------------------


def test_an_original_location_restore_stays_in_the_sources_subscription():
    error = refused(scenario_dict(target={"subscription": OTHER}))
    assert error.field == "target"
    assert error.message.startswith("subscription: settable only with location: new")


@pytest.mark.parametrize("value", ["not-a-guid", "2222222-2222-2222-2222-222222222222", 7])
def test_a_target_subscription_is_a_guid(value):
    error = refused(scenario_dict(location="new", target={"subscription": value}))
    assert error.field == "target.subscription"


def test_a_subnet_id_of_another_subscription_than_the_targets_is_refused():
    subnet = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-net/providers/"
              "Microsoft.Network/virtualNetworks/vnet/subnets/default")
    error = refused(scenario_dict(location="new", target={"subscription": OTHER,
                                                          "subnet": subnet}))
    assert error.field == "target.subnet" and OTHER in error.message
    other_subnet = subnet.replace(SUBSCRIPTION, OTHER)
    assert parse_scenario(scenario_dict(location="new", target={
        "subscription": OTHER, "subnet": other_subnet})).target.subnet == other_subnet


def test_a_scenario_without_it_keeps_its_restore_id_and_one_with_it_gets_another():
    raw = scenario_dict(location="new")
    plain = scenario_restore_id(parse_scenario(raw))
    assert scenario_restore_id(parse_scenario(with_changes(raw, "target.subscription", None))) \
        == plain
    assert scenario_restore_id(parse_scenario(with_changes(raw, "target.subscription", OTHER))) \
        != plain


# -- the plan ------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["vm", "disks"])
@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_everything_created_is_in_the_target_subscription_the_source_is_only_read(point,
                                                                                  variant):
    scenario = other_subscription(point, variant)
    plan = build_plan(scenario, SIZING)
    ctx = plan.context
    assert (ctx.subscription, ctx.target_subscription) == (SUBSCRIPTION, OTHER)
    tickets = dry_run(plan)
    writes = [t.op for t in tickets if t.op.kind.startswith(("create_", "delete_"))]
    assert writes and {subscription_of(op.resource) for op in writes} == {OTHER}
    assert {subscription_of(i) for i in (ctx.source.vm, *ctx.source.disks, ctx.source.nic,
                                         ctx.source.subnet)} == {SUBSCRIPTION}
    snapshots = [d.snapshot for d in ctx.disks if d.snapshot]
    assert all(subscription_of(s) == SUBSCRIPTION for s in snapshots)
    assert subscription_of(ctx.target_group) == OTHER
    assert subscription_of(ctx.subnet) == OTHER  # the source's subnet is not the target's
    quota = next(t.op for t in tickets if isinstance(t.op, CheckQuota))
    assert quota.subscription == OTHER


def test_a_disk_of_another_subscription_in_the_same_region_is_made_from_the_snapshot_itself():
    """Azure makes a disk from a snapshot of another subscription of the tenant in its
    region (creationData Copy, sourceResourceId); only another region needs a copy."""
    ctx = build_plan(other_subscription(("snapshot", "hot", None)), SIZING).context
    assert all(d.snapshot_copy is None and d.restore_snapshot == d.snapshot for d in ctx.disks)
    away = parse_scenario(with_changes(
        scenario_dict(kind="snapshot", location="new", target={"subscription": OTHER}),
        "target.region", "northeurope"))
    copies = [d.snapshot_copy for d in build_plan(away, SIZING).context.disks]
    assert copies and all(subscription_of(c) == OTHER for c in copies)


def test_plan_shows_the_target_subscription():
    shown = CliRunner().invoke(app, ["plan", str(SHIPPED)])
    assert shown.exit_code == 0, shown.output
    assert f"Creates everything in subscription {OTHER} (the source's: {SUBSCRIPTION})" \
        in " ".join(shown.output.split())
    summary = json.loads(CliRunner().invoke(app, ["plan", str(SHIPPED), "--json"]).stdout)
    assert (summary["subscription"], summary["target_subscription"]) == (SUBSCRIPTION, OTHER)
    plain = CliRunner().invoke(app, ["plan", "new-hot-backup"])
    assert "Creates everything in subscription" not in plain.output


# -- restores on both simulated backends -----------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_a_restore_to_another_subscription_leaves_the_sources_alone(point, backend):
    scenario = other_subscription(point)
    report = restore.simulate(scenario, backend=backend)
    assert_restored(scenario, report)
    assert report.restored_vm["subscription"] == OTHER
    resources = by_id(report)
    tagged = [i for i, r in resources.items() if r["tags"].get(RESTORE_ID_TAG)]
    assert tagged and {subscription_of(i) for i in tagged} == {OTHER}
    before = {r["id"].lower(): r for r in prepare(scenario).world.export()
              if subscription_of(r["id"]) == SUBSCRIPTION.lower()}
    after = {i: r for i, r in resources.items() if subscription_of(i) == SUBSCRIPTION.lower()}
    assert after == before  # not a tag, not a resource changed in the source's subscription


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_target_subscription_the_tenant_lacks_fails_preflight_with_arms_answer(backend):
    scenario = other_subscription(subscription=UNKNOWN)
    report = restore.simulate(scenario, backend=backend)
    assert report.status == "rolled_back" and report.recovery_error is None
    assert (report.error["step"], report.error["code"]) == ("preflight", "SubscriptionNotFound")
    assert f"The subscription '{UNKNOWN}' could not be found." in report.error["message"]
    assert report.leaked == [] and report.source_intact
    assert not [i for i in by_id(report) if subscription_of(i) == UNKNOWN]


def profile_with(tmp_path, subscription_quotas: dict | None = None, own_vcpus: int | None = None):
    """The default profile, its other subscription with ``subscription_quotas`` and the
    default subscription with ``own_vcpus`` regional vCPUs."""
    raw = yaml.safe_load((ROOT / "fakecloud" / "profiles" / "default.yaml").read_text())
    if subscription_quotas is not None:
        raw["subscriptions"] = {OTHER: {"quotas": subscription_quotas}}
    if own_vcpus is not None:
        raw["quotas"]["regional_vcpus"] = own_vcpus
    path = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}.yaml"  # profiles are cached
    path.write_text(yaml.safe_dump(raw))
    return str(path)


@pytest.mark.parametrize("backend", BACKENDS)
def test_preflight_checks_the_target_subscriptions_quotas_not_the_sources(tmp_path, backend):
    small = {"regional_vcpus": 2, "family_vcpus": {}, "managed_disks": 50000}
    report = restore.simulate(other_subscription(), backend=backend,
                              profile=profile_with(tmp_path, small))
    assert (report.error["step"], report.error["code"]) == ("preflight", "QuotaExceeded")
    assert "limit 2" in report.error["message"] and report.status == "rolled_back"
    assert report.leaked == []
    # the source's subscription at its limit (its VM's 4 vCPUs) does not stop a restore
    # to the other one, with room of its own
    roomy = {**small, "regional_vcpus": 100}
    report = restore.simulate(other_subscription(), backend=backend,
                              profile=profile_with(tmp_path, roomy, own_vcpus=4))
    assert report.status == "succeeded", report.error


# -- the fault matrix, in both subscriptions --------------------------------------------------

PATHS = [(p.values[0], variant) for p in RESTORE_POINTS for variant in ("vm", "disks")]


def faults_that_fire(point, variant) -> list[tuple[str, str]]:
    """(step, kind) of every step and fault kind that can fire there (an allocation
    failure: where a VM is created)."""
    plan = build_plan(other_subscription(point, variant), SIZING)
    sent = {(t.step, t.op.kind) for t in dry_run(plan)}
    return [(step, kind) for step in plan.step_names for kind in KINDS
            if any(s == step and k in ONLY_ON.get(FaultKind(kind), {k}) for s, k in sent)]


MATRIX = [pytest.param(point, variant, step, kind,
                       id=f"{point[0]}-{point[1]}-{variant}-{step}-{kind}")
          for point, variant in PATHS for step, kind in faults_that_fire(point, variant)]


@pytest.mark.parametrize(("point", "variant", "step", "kind"), MATRIX)
def test_fault_at_every_step_keeps_the_promises_in_both_subscriptions(point, variant, step,
                                                                      kind):
    scenario = other_subscription(point, variant)
    report = restore.simulate(scenario, faults=[Fault(at=step, kind=kind)])
    assert_promises_kept(scenario, report)
    resources = by_id(report)
    world = prepare(scenario).world.export()
    source_side = {r["id"].lower(): r for r in world
                   if subscription_of(r["id"]) == SUBSCRIPTION.lower()}
    assert {i: r for i, r in resources.items()
            if subscription_of(i) == SUBSCRIPTION.lower()} == source_side
    if report.status == "rolled_back":
        target_side = {r["id"].lower() for r in world if subscription_of(r["id"]) == OTHER}
        assert {i for i in resources if subscription_of(i) == OTHER} == target_side


NEW_LOCATION_FAULTS = [f for f in FAULTS
                       if f.at not in {"remove_source_vm", "move_disks", "delete_resource_group"}]


@pytest.mark.parametrize("variant", ["vm", "disks"])
@pytest.mark.parametrize("fault", NEW_LOCATION_FAULTS, ids=lambda f: f"{f.at}-{f.kind}-{f.times}")
def test_a_fault_ends_the_same_way_on_both_backends_in_both_subscriptions(fault, variant):
    if variant == "disks" and fault.at in VM_ONLY:
        pytest.skip("a restore of disks only has no such step")
    arm = assert_same_with_faults(other_subscription(variant=variant), [fault])
    if arm.status != "interrupted":  # an interrupted restore is resumed, not cleaned up
        assert arm.leaked == [] or arm.cleanup_errors or arm.recovery_error
    assert all(subscription_of(i) == OTHER for i in arm.leaked + arm.kept)


@pytest.mark.parametrize("location", LOCATIONS)
def test_a_rollback_looks_for_what_it_created_in_the_target_subscription(location):
    target = {"subscription": OTHER} if location == "new" else {}
    scenario = path_scenario(("backup", "hot", None), location, target=target)
    plan = build_plan(scenario, SIZING)
    found = rollback(plan.context).send(None)
    assert isinstance(found, FindResources)
    assert found.subscription == (OTHER if location == "new" else SUBSCRIPTION)


# -- the azure backend: one sign-in, one set of clients per subscription -----------------------


def test_the_azure_backend_signs_in_once_and_has_one_client_set_per_subscription(monkeypatch):
    """A real restore (``restore.backends.live``) under ``mock_azure``: one service
    principal credential, one token request; the clients of the source's subscription and
    of the target's, each made once, each sending to its own subscription's URLs."""
    pytest.importorskip("azure.identity", reason="the azure extra is not installed")
    from azure.identity import ClientSecretCredential

    import fakecloud.mock
    from fakecloud import mock_azure
    from restore.backends import azure, live
    from restore.backends.fake_arm import FakeRepository
    from restore.backends.simregion import restore_region

    token_requests, made = [], []
    entra_id = fakecloud.mock._entra_id
    monkeypatch.setattr(fakecloud.mock, "_entra_id", lambda request: (
        token_requests.append(request.url) if request.method == "POST" else None,
        entra_id(request))[1])
    built = azure.AzureClients.connect
    monkeypatch.setattr(azure.AzureClients, "connect", classmethod(
        lambda cls, *args, **kwargs: made.append(built(*args, **kwargs)) or made[-1]))
    scenario = restore.load_scenario(SHIPPED)
    prepared = prepare(scenario)
    region = restore_region(prepared.world.copy(), prepared.profile, 3)
    with mock_azure(region=region, any_subscription=False) as fake:
        credential = ClientSecretCredential("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                                            "11111111-2222-3333-4444-555555555555", "secret")
        clients = live.connect(SUBSCRIPTION, credential, polling_interval=0)
        ready = live.prepare(scenario, clients, restore_id=prepared.plan.context.restore_id,
                             repository=FakeRepository(fake))
        report = live.run(ready)
    assert report.status == "succeeded" and report.leaked == []
    assert report.restored_vm["subscription"] == OTHER
    assert len(made) == 1 and made[0] is clients
    assert clients.signed_in.subscriptions == [SUBSCRIPTION, OTHER]
    other = clients.of(OTHER)
    assert other is clients.of(OTHER.upper()) and clients.of(SUBSCRIPTION) is clients
    assert {c.compute._config.credential for c in (clients, other)} == {credential}
    assert other.compute._config.subscription_id == OTHER
    assert [url for url in token_requests if "/oauth2/" in url and "token" in url] \
        and len(token_requests) == 1
    writes = {r.path.split("/")[2] for r in fake.requests if r.method in ("PUT", "DELETE")}
    assert writes == {OTHER}


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_interrupted_restore_to_another_subscription_resumes_there(tmp_path, backend):
    """The journal keeps the region's state; resumed, the tenant's subscriptions are the
    profile's again, and the restore ends in the target subscription."""
    journal = tmp_path / "restore.db"
    stopped = restore.simulate(restore.load_scenario(SHIPPED), journal=journal,
                               faults=[Fault(at="create_vm", kind="crash")], backend=backend)
    assert stopped.status == "interrupted"
    resumed = restore.resume(journal)
    assert resumed.status == "succeeded" and resumed.leaked == []
    assert resumed.restored_vm["subscription"] == OTHER


def test_a_fleet_restores_every_vm_and_its_warm_pool_into_the_target_subscription():
    raw = yaml.safe_load((ROOT / "scenarios" / "fleet-40-vms.yaml").read_text())
    raw["fleet"]["groups"] = [{"count": 3, "priority": 0}]
    raw["target"] = {"location": "new", "subscription": OTHER}
    report = restore.simulate_fleet(parse_scenario(raw)).to_dict()
    assert report["status"] == "succeeded" and report["succeeded"] == 3
    assert report["leaked"] == 0 and all(vm["source_intact"] for vm in report["per_vm"])
    pool = report["worker_pool"]
    assert subscription_of(pool["group"]) == OTHER and pool["kept"]
    assert all(subscription_of(worker) == OTHER for worker in pool["kept"])
    assert pool["remove_with"].endswith(f"--subscription {OTHER} --yes")
