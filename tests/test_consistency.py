"""ARM's eventual consistency (the profile's ``consistency``): a deleted resource is still
listed for a while, its GET answers 404 at once; the leak check and the preflight's name
checks are not fooled by it, on every backend."""

from __future__ import annotations

import pytest
from helpers import SUBSCRIPTION, make_scenario

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

import requests  # noqa: E402

import armid as arm  # noqa: E402
from fakecloud import FakeCredential, mock_azure  # noqa: E402
from fakecloud.models import ArmError, CloudState  # noqa: E402
from fakecloud.region import ArmCall, Region  # noqa: E402
from restore.backends import (
    fake_arm,  # noqa: E402
    live,  # noqa: E402
)
from restore.backends import sim as sim_backend  # noqa: E402
from restore.backends.fake_arm import FakeRepository  # noqa: E402
from restore.backends.prepared import prepare  # noqa: E402
from restore.backends.profiles import RestoreProfile, load_profile  # noqa: E402
from restore.backends.simregion import restore_region  # noqa: E402
from restore.plan import RESTORE_ID_TAG  # noqa: E402

LINGER_S = 600.0
SUB = "00000000-0000-0000-0000-000000000000"
GROUP = f"/subscriptions/{SUB}/resourceGroups/rg"
DISK = f"{GROUP}/providers/{arm.DISKS}/d1"
TAG = "tagName eq 'owner' and tagValue eq 'us'"


def lingering(linger: dict | None = None) -> RestoreProfile:
    """The default profile with deleted resources listed for ``linger`` (default: a fixed
    ``LINGER_S``) after their delete ends."""
    raw = load_profile("default").model_dump()
    raw["consistency"] = {"listed_after_delete_s": linger or {"fixed": LINGER_S}}
    return RestoreProfile.model_validate(raw)


# -- fakecloud ---------------------------------------------------------------------------


def region_with_disk(profile) -> Region:
    region = Region(CloudState(SUB, {}), profile, seed=3)
    body = {"location": "westeurope", "tags": {"owner": "us"}}
    region.call(ArmCall("PUT", arm.RESOURCE_GROUPS, GROUP, body=body), 0.0)
    region.call(ArmCall("PUT", arm.DISKS, DISK, body={**body, "properties": {
        "diskSizeGB": 32, "creationData": {"createOption": "Empty"}}}), 0.0)
    return region


def listed(region: Region, now: float) -> dict[str, list[str]]:
    """What each list API answers at ``now``: by tag, a group's resources, its disks, the
    groups."""
    calls = {"by tag": ArmCall("GET", "Microsoft.Resources/resources", f"/subscriptions/{SUB}",
                               filter_=TAG),
             "in group": ArmCall("GET", "Microsoft.Resources/resources", GROUP),
             "disks": ArmCall("GET", arm.DISKS, f"/subscriptions/{SUB}"),
             "groups": ArmCall("GET", "Microsoft.Resources/subscriptions/resourceGroups",
                               f"/subscriptions/{SUB}")}
    found = {}
    for name, call in calls.items():
        try:
            found[name] = [r.id for r in region.call(call, now).result]
        except ArmError as exc:
            found[name] = [exc.code]
    return found


def test_a_deleted_disk_is_listed_until_its_linger_passes_while_get_says_404():
    region = region_with_disk(lingering())
    ended = 100.0 + region.call(ArmCall("DELETE", arm.DISKS, DISK), 100.0).latency_s
    with pytest.raises(ArmError) as gone:
        region.call(ArmCall("GET", arm.DISKS, DISK), ended + 1)
    assert gone.value.status == 404
    assert listed(region, ended + LINGER_S - 1) == {
        "by tag": [DISK], "in group": [DISK], "disks": [DISK], "groups": [GROUP]}
    assert listed(region, ended + LINGER_S + 1)["disks"] == []


def test_without_the_option_lists_know_of_a_delete_at_once():
    region = region_with_disk(load_profile("default"))
    region.call(ArmCall("DELETE", arm.DISKS, DISK), 100.0)
    assert listed(region, 100.0)["disks"] == []


def test_a_deleted_group_and_its_disk_are_listed_while_the_group_404s():
    region = region_with_disk(lingering())
    region.call(ArmCall("DELETE", arm.RESOURCE_GROUPS, GROUP), 100.0)
    assert listed(region, 200.0) == {"by tag": [DISK], "in group": ["ResourceGroupNotFound"],
                                     "disks": [DISK], "groups": [GROUP]}
    with pytest.raises(ArmError) as gone:
        region.call(ArmCall("GET", arm.RESOURCE_GROUPS, GROUP), 200.0)
    assert gone.value.code == "ResourceGroupNotFound"


def test_the_http_fake_lists_a_deleted_disk_its_get_404s():
    api = {"api-version": "2024-03-01"}
    with mock_azure(profile=lingering()):
        base = "https://management.azure.com"
        requests.put(f"{base}{GROUP}", params=api, json={"location": "westeurope"})
        requests.put(f"{base}{DISK}", params=api, json={
            "location": "westeurope", "tags": {"owner": "us"},
            "properties": {"diskSizeGB": 32, "creationData": {"createOption": "Empty"}}})
        assert requests.delete(f"{base}{DISK}", params=api).status_code == 202
        found = requests.get(f"{base}/subscriptions/{SUB}/resources",
                             params={**api, "$filter": TAG}).json()["value"]
        assert [r["id"] for r in found] == [DISK]
        assert requests.get(f"{base}{DISK}", params=api).status_code == 404


# -- the restore side --------------------------------------------------------------------


@pytest.mark.parametrize("run", [sim_backend.run, fake_arm.run], ids=["sim", "fake-arm"])
def test_a_restore_whose_cleanup_deleted_its_temporaries_leaks_nothing(run):
    """The worker and the staging group are deleted at the end: still listed when the
    report reads the lists, gone by their GETs (the engine runs: no compiled restore)."""
    scenario = make_scenario(location="original")
    on = run(prepare(scenario, lingering({"median": 60.0, "p95": 300.0, "min": 120.0})), 4, [])
    off = run(prepare(scenario), 4, [])
    assert on.status == off.status == "succeeded"
    assert on.leaked == [] and on.kept == []
    assert on.final_state == off.final_state and on.duration_s == off.duration_s


def run_live(region: Region, scenario, restore_id: str):
    with mock_azure(region=region) as fake:
        clients = live.connect(SUBSCRIPTION, FakeCredential(), polling_interval=0)
        ready = live.prepare(scenario, clients, restore_id=restore_id,
                             repository=FakeRepository(fake))
        return live.run(ready)


def test_the_azure_backend_leaks_nothing_a_list_still_shows():
    scenario = make_scenario(location="original")
    prepared = prepare(scenario, lingering())
    region = restore_region(prepared.world.copy(), prepared.profile, 4)
    report = run_live(region, scenario, prepared.plan.context.restore_id)
    still_listed = region.lingering.tagged(region.state, RESTORE_ID_TAG, report.restore_id,
                                           region.state.now)
    assert report.status == "succeeded" and report.leaked == []
    assert {w.vm for w in prepared.plan.context.workers} <= set(still_listed)
    assert prepared.plan.context.staging_group in still_listed


def test_a_preflight_whose_target_vm_was_just_deleted_does_not_refuse():
    """A second restore to the same new location, right after the first one's VM (with
    its NIC and disks) was deleted: the lists still show them, their names are free."""
    scenario = make_scenario(location="new", target={"resource_group": "rg-new",
                                                      "vm_name": "app01-back"})
    prepared = prepare(scenario, lingering())
    region = restore_region(prepared.world.copy(), prepared.profile, 4)
    first = run_live(region, scenario, "first")
    restored = first.restored_vm
    now = region.state.now
    for arm_id in [restored["id"], *restored["disks"], restored_nic(region, restored["id"])]:
        region.call(ArmCall("DELETE", arm.parse_id(arm_id).type, arm_id), now)
    assert restored["id"] in region.lingering.tagged(region.state, RESTORE_ID_TAG, "first",
                                                     now + 1)
    second = run_live(region, scenario, "second")
    assert second.status == "succeeded", second.error
    assert second.restored_vm["name"] == "app01-back" and second.leaked == []


def restored_nic(region: Region, vm_id: str) -> str:
    return region.state.lookup(vm_id)["properties"]["networkInterface"]
