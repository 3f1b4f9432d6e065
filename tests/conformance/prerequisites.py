"""What an example's request presupposes, made in the active fake through its own API:
the resource group, the resource a read, update, action or delete acts on, and the
resources the request body refers to (of the types the fake models)."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any
from urllib.parse import quote

import requests

from conformance.replay import ARM, ARM_ID, Example

API = {"api-version": "2025-01-02"}
NETWORK_API = {"api-version": "2024-05-01"}
GROUP_API = {"api-version": "2024-11-01"}
IMAGE = {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
         "version": "latest"}
_prefixes = itertools.count(1)


def prepare(example: Example) -> None:
    location = _location(example)
    url = example.url().removeprefix(ARM)
    if example.operation != "ResourceGroups_CreateOrUpdate" and "/resourceGroups/" in url:
        ensure(_group_of(url), location)
    if example.operation.startswith("Resources_") and example.method == "POST":
        for arm_id in referenced(example.body()):
            ensure(arm_id, location)
        return
    if "/subnets" in url.lower():  # a subnet's network
        ensure(url[:url.lower().index("/subnets")], location)
    for arm_id in referenced(example.body()):
        ensure(arm_id, location)
    if example.operation == "VirtualMachines_Update" and "storageProfile" in (
            example.body().get("properties") or {}):
        _vm_as_before(url, example.body(), location)  # the VM the update changes
        return
    acts_on_itself = example.method != "PUT" or example.operation.endswith("_Update")
    if acts_on_itself and _is_resource(url):
        ensure(_resource_of(url), location)
    _attach_what_it_detaches(example, url)


def _vm_as_before(url: str, update: dict[str, Any], location: str) -> None:
    """The VM an update that describes it whole changes: as it describes it, before its
    disks are detached."""
    before = json.loads(json.dumps(update))
    for disk in before["properties"]["storageProfile"].get("dataDisks") or []:
        disk.pop("toBeDetached", None)
        disk.pop("detachOption", None)
    _put(url, {"location": location, **before})


def _attach_what_it_detaches(example: Example, url: str) -> None:
    """A VM update or ``attachDetachDataDisks`` that detaches disks needs them attached."""
    body = example.body() if isinstance(example.body(), dict) else {}
    storage = (body.get("properties") or {}).get("storageProfile") or {}
    leaving = [d["managedDisk"]["id"] for d in storage.get("dataDisks") or []
               if d.get("toBeDetached") and (d.get("managedDisk") or {}).get("id")]
    leaving += [d["diskId"] for d in body.get("dataDisksToDetach") or [] if d.get("diskId")]
    if leaving:
        attach = requests.post(f"{ARM}{_resource_of(url)}/attachDetachDataDisks", params=API,
                               json={"dataDisksToAttach": [{"diskId": d} for d in leaving]},
                               timeout=10)
        if attach.status_code >= 300:
            raise AssertionError(f"could not attach {leaving} first: {attach.text}")


def _location(example: Example) -> str:
    body = example.body()
    location = body.get("location") if isinstance(body, dict) else None
    return str(location or example.parameters.get("location") or "westus")


def _group_of(url: str) -> str:
    return "/".join(url.split("/")[:5])


def _is_resource(url: str) -> bool:
    parts = url.strip("/").split("/")
    return len(parts) >= 8 and len(parts) % 2 == 0 or (len(parts) >= 9 and parts[-1] in (
        "start", "powerOff", "restart", "deallocate", "runCommand", "attachDetachDataDisks",
        "instanceView"))


def _resource_of(url: str) -> str:
    parts = url.strip("/").split("/")
    return "/" + "/".join(parts if len(parts) % 2 == 0 else parts[:-1])


def referenced(body: Any) -> list[str]:
    """The ARM ids a request body names (with their leading slash)."""
    found: list[str] = []
    if isinstance(body, dict):
        for value in body.values():
            found += referenced(value)
    elif isinstance(body, list):
        for value in body:
            found += referenced(value)
    elif isinstance(body, str) and ARM_ID.match(body) and "{" not in body.split("/")[2]:
        found.append("/" + body.lstrip("/"))
    return found


def ensure(arm_id: str, location: str) -> None:
    """Make ``arm_id`` exist, if the fake models its type and it does not exist yet."""
    parts = arm_id.strip("/").split("/")
    kind = "/".join([parts[5], *parts[6::2]]).lower() if len(parts) > 5 else "group"
    maker = MAKERS.get(kind)
    if maker is None or _exists(arm_id, kind):
        return
    if kind != "group":
        ensure("/" + "/".join(parts[:4]), location)
    maker(arm_id, location)


def _exists(arm_id: str, kind: str) -> bool:
    params = GROUP_API if kind == "group" else NETWORK_API if "network" in kind else API
    return requests.get(ARM + quote(arm_id), params=params, timeout=10).status_code == 200


def _put(arm_id: str, body: dict[str, Any], params: dict[str, str] = API) -> None:
    answer = requests.put(ARM + quote(arm_id), params=params, json=body, timeout=10)
    if answer.status_code >= 300:
        raise AssertionError(f"could not make the prerequisite {arm_id}: {answer.text}")


def _group(arm_id: str, location: str) -> None:
    _put(arm_id, {"location": location}, GROUP_API)


def _disk(arm_id: str, location: str) -> None:
    _put(arm_id, {"location": location, "sku": {"name": "Premium_LRS"}, "properties": {
        "creationData": {"createOption": "Empty"}, "diskSizeGB": 8}})  # updates may grow it


def _snapshot(arm_id: str, location: str) -> None:
    source = re.sub(r"/snapshots/[^/]+$", "/disks/" + arm_id.rsplit("/", 1)[-1] + "-source",
                    arm_id, flags=re.IGNORECASE)
    ensure(source, location)
    _put(arm_id, {"location": location, "properties": {"creationData": {
        "createOption": "Copy", "sourceResourceId": source}}})


def _vnet(arm_id: str, location: str) -> None:
    _put(arm_id, {"location": location, "properties": {"addressSpace": {
        "addressPrefixes": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}}, NETWORK_API)


def _subnet(arm_id: str, location: str) -> None:
    ensure(arm_id.rsplit("/subnets/", 1)[0], location)
    _put(arm_id, {"properties": {"addressPrefix": f"10.{next(_prefixes) % 250}.0.0/16"}},
         NETWORK_API)


def _nic(arm_id: str, location: str) -> None:
    group = _group_of(arm_id)
    subnet = f"{group}/providers/Microsoft.Network/virtualNetworks/prereq-vnet/subnets/default"
    ensure(subnet, location)
    _put(arm_id, {"location": location, "properties": {"ipConfigurations": [
        {"name": "ipconfig1", "properties": {"subnet": {"id": subnet}}}]}}, NETWORK_API)


def _vm(arm_id: str, location: str) -> None:
    nic = f"{_group_of(arm_id)}/providers/Microsoft.Network/networkInterfaces/" \
          f"{arm_id.rsplit('/', 1)[-1]}-nic"
    ensure(nic, location)
    _put(arm_id, {"location": location, "properties": {
        "hardwareProfile": {"vmSize": "Standard_D2s_v5"},
        "storageProfile": {"imageReference": IMAGE, "osDisk": {"createOption": "FromImage"}},
        "osProfile": {"computerName": "vm", "adminUsername": "azureuser"},
        "networkProfile": {"networkInterfaces": [{"id": nic}]}}})


def _echoed(body: dict[str, Any], params: dict[str, str]) -> Any:
    def make(arm_id: str, location: str) -> None:
        _put(arm_id, {"location": location, **body}, params)

    return make


MAKERS = {"group": _group,
          "microsoft.compute/availabilitysets": _echoed({}, API),
          "microsoft.compute/diskencryptionsets": _echoed({}, API),
          "microsoft.network/networksecuritygroups": _echoed({}, NETWORK_API),
          "microsoft.network/publicipaddresses": _echoed({}, NETWORK_API),
          "microsoft.compute/disks": _disk,
          "microsoft.compute/snapshots": _snapshot,
          "microsoft.network/virtualnetworks": _vnet,
          "microsoft.network/virtualnetworks/subnets": _subnet,
          "microsoft.network/networkinterfaces": _nic,
          "microsoft.compute/virtualmachines": _vm}
"""How to make a prerequisite of each type the fake models."""
