"""Managed disks and snapshots through ``mock_azure`` as ARM documents them: every create
option the fake implements, sizes taken from the source, ids without their leading slash,
locations normalised, and the request's properties echoed with those ARM fills in."""

from __future__ import annotations

import pytest

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

import requests  # noqa: E402

from fakecloud import mock_azure  # noqa: E402

ARM = "https://management.azure.com"
API = {"api-version": "2025-01-02"}
SUB = "00000000-0000-0000-0000-000000000000"
GROUP = f"/subscriptions/{SUB}/resourceGroups/rg"


def put(path: str, body: dict) -> requests.Response:
    return requests.put(f"{ARM}{GROUP}{path}", params=API, json=body)


def get(path: str) -> dict:
    answer = requests.get(f"{ARM}{GROUP}{path}", params=API)
    assert answer.status_code == 200, answer.text
    return answer.json()


def disk(name: str) -> str:
    return f"/providers/Microsoft.Compute/disks/{name}"


def snapshot(name: str) -> str:
    return f"/providers/Microsoft.Compute/snapshots/{name}"


@pytest.fixture
def fake():
    with mock_azure() as active:
        requests.put(f"{ARM}{GROUP}", params={"api-version": "2024-03-01"},
                     json={"location": "West Europe"})
        assert put(disk("base"), {"location": "westeurope", "properties": {
            "diskSizeGB": 200, "creationData": {"createOption": "Empty"}}}).status_code == 202
        yield active


def test_locations_are_normalised_as_arm_does(fake):
    assert requests.get(f"{ARM}{GROUP}", params=API).json()["location"] == "westeurope"
    assert put(snapshot("s"), {"location": "West Europe", "properties": {"creationData": {
        "createOption": "Copy", "sourceResourceId": GROUP + disk("base")}}}).status_code == 202
    assert get(snapshot("s"))["location"] == "westeurope"
    made = put(disk("from-s"), {"location": "westeurope", "properties": {"creationData": {
        "createOption": "Copy", "sourceResourceId": GROUP + snapshot("s")}}})
    assert made.status_code == 202, made.text  # a westeurope disk from a "West Europe" one


def test_a_location_the_region_lacks_is_refused_as_arm_does(fake):
    group = requests.put(f"{ARM}/subscriptions/{SUB}/resourceGroups/rg-mars",
                         params={"api-version": "2024-03-01"}, json={"location": "mars"})
    assert group.status_code == 400
    error = group.json()["error"]
    assert error["code"] == "LocationNotAvailableForResourceGroup"
    assert error["message"].startswith("The provided location 'mars' is not available for "
                                       "resource group. List of available regions is '")
    made = put(disk("far"), {"location": "Atlantis", "properties": {
        "diskSizeGB": 8, "creationData": {"createOption": "Empty"}}})
    assert made.status_code == 400 and made.json()["error"]["code"] == (
        "LocationNotAvailableForResourceType")
    assert "'atlantis' is not available for resource type 'Microsoft.Compute/disks'" in (
        made.json()["error"]["message"])
    assert requests.get(f"{ARM}{GROUP}{disk('far')}", params=API).status_code == 404


def test_a_copy_takes_its_sources_size_and_ids_need_no_leading_slash(fake):
    source = (GROUP + disk("base")).lstrip("/")  # as every official copy example writes it
    made = put(disk("copy"), {"location": "westeurope", "properties": {
        "creationData": {"createOption": "Copy", "sourceResourceId": source}}})
    assert made.status_code == 202, made.text
    body = get(disk("copy"))
    assert body["properties"]["diskSizeGB"] == 200  # a disk copied from a disk
    assert body["properties"]["creationData"] == {"createOption": "Copy",
                                                  "sourceResourceId": GROUP + disk("base")}
    assert body["properties"]["diskSizeBytes"] == 200 * 2**30


def test_a_copy_may_not_be_smaller_than_its_source(fake):
    smaller = put(disk("small"), {"location": "westeurope", "properties": {
        "diskSizeGB": 100,
        "creationData": {"createOption": "Copy", "sourceResourceId": GROUP + disk("base")}}})
    assert smaller.status_code == 400 and "200 GB" in smaller.json()["error"]["message"]


def test_copy_start_is_echoed_and_crosses_regions(fake):
    assert put(snapshot("s"), {"location": "westeurope", "properties": {"incremental": True,
               "creationData": {"createOption": "Copy",
                                "sourceResourceId": GROUP + disk("base")}}}).status_code == 202
    copied = put(snapshot("s-ne"), {"location": "northeurope", "properties": {
        "creationData": {"createOption": "CopyStart",
                         "sourceResourceId": GROUP + snapshot("s")}}})
    assert copied.status_code == 202, copied.text
    body = get(snapshot("s-ne"))
    assert body["properties"]["creationData"]["createOption"] == "CopyStart"
    assert get(snapshot("s"))["properties"]["incremental"] is True


def test_import_from_a_blob_needs_no_size_and_reads_back_as_import(fake):
    uri = "https://mystorageaccount.blob.core.windows.net/osimages/osimage.vhd"
    made = put(disk("imported"), {"location": "westeurope", "properties": {"creationData": {
        "createOption": "Import", "sourceUri": uri}, "osType": "Windows"}})
    assert made.status_code == 202, made.text
    properties = get(disk("imported"))["properties"]
    assert properties["creationData"] == {"createOption": "Import", "sourceUri": uri}
    assert properties["osType"] == "Windows"  # what the request said is echoed


@pytest.mark.parametrize(("creation", "says"), [
    ({}, "creationData.createOption"),
    ({"createOption": "Copy"}, "creationData.sourceResourceId"),
    ({"createOption": "Import"}, "creationData.sourceUri"),
    ({"createOption": "FromImage"}, "creationData.imageReference"),
    ({"createOption": "Upload"}, "creationData.uploadSizeBytes"),
    ({"createOption": "Teleport"}, "Teleport"),
])
def test_a_disk_request_missing_what_its_option_needs_is_a_400_naming_it(fake, creation, says):
    refused = put(disk("bad"), {"location": "westeurope",
                                "properties": {"creationData": creation}})
    assert refused.status_code == 400 and says in refused.json()["error"]["message"]
    assert requests.get(f"{ARM}{GROUP}{disk('bad')}", params=API).status_code == 404


def test_an_upload_disk_takes_its_size_from_the_upload_bytes(fake):
    made = put(disk("upload"), {"location": "westeurope", "properties": {"creationData": {
        "createOption": "Upload", "uploadSizeBytes": 20 * 2**30 + 512}}})
    assert made.status_code == 202
    assert get(disk("upload"))["properties"]["diskSizeGB"] == 21


def test_unique_ids_are_stable_guids(fake):
    first = get(disk("base"))["properties"]["uniqueId"]
    assert first == get(disk("base"))["properties"]["uniqueId"] and len(first) == 36
