"""Replay Azure's own REST API examples (``examples/*.json`` of Azure/azure-rest-api-specs,
kept verbatim in tests/data/arm_examples) through ``mock_azure`` and say how the fake's
answer differs from what the example documents.

An example gives an operation's parameters (path, query and body) and its documented
responses. The replay makes what the request presupposes (its resource group; for a read,
update, action or delete, the resource itself; every resource its body refers to, when
the fake models that type), sends the request with the example's api-version, and checks:

- the status is one the example documents;
- a write's answer carries every value the request fixed (a value the request sent and the
  example's answer shows unchanged), locations and ids compared as ARM compares them;
- every field both answers have is of the same JSON type;
- a resource's ``id`` and ``name`` are the ones the request named; a list answers ``value``.

The example's ``{subscriptionId}`` placeholders stand for the fake's subscription.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "arm_examples"
ARM = "https://management.azure.com"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
PLACEHOLDER = re.compile(r"\{subscription-?id\}|\{subscriptionId\}", re.IGNORECASE)
ARM_ID = re.compile(r"^/?subscriptions/[^/]+/resourceGroups/[^/]+(/providers/.+)?$",
                    re.IGNORECASE)
GROUP = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
COMPUTE, NETWORK = GROUP + "/providers/Microsoft.Compute", GROUP + "/providers/Microsoft.Network"
SUB_COMPUTE = "/subscriptions/{subscriptionId}/providers/Microsoft.Compute"
SUB_NETWORK = "/subscriptions/{subscriptionId}/providers/Microsoft.Network"


def _crud(prefix: str, collection: str, subscription_collection: str, name: str,
          plural: str) -> dict[str, tuple[str, str]]:
    one = f"{collection}/{{{name}}}"
    return {f"{prefix}_CreateOrUpdate": ("PUT", one), f"{prefix}_Get": ("GET", one),
            f"{prefix}_Update": ("PATCH", one), f"{prefix}_Delete": ("DELETE", one),
            f"{prefix}_{plural}": ("GET", collection),
            f"{prefix}_ListAll" if plural == "List" else f"{prefix}_List":
                ("GET", subscription_collection)}


VM = COMPUTE + "/virtualMachines/{vmName}"
OPERATIONS: dict[str, tuple[str, str]] = {
    "ResourceGroups_CreateOrUpdate": ("PUT", GROUP), "ResourceGroups_Get": ("GET", GROUP),
    "ResourceGroups_CheckExistence": ("HEAD", GROUP), "ResourceGroups_Update": ("PATCH", GROUP),
    "ResourceGroups_Delete": ("DELETE", GROUP),
    "ResourceGroups_List": ("GET", "/subscriptions/{subscriptionId}/resourcegroups"),
    "Resources_List": ("GET", "/subscriptions/{subscriptionId}/resources"),
    "Resources_ListByResourceGroup": ("GET", GROUP + "/resources"),
    "Resources_MoveResources": ("POST", "/subscriptions/{subscriptionId}/resourceGroups/"
                                "{sourceResourceGroupName}/moveResources"),
    "Resources_ValidateMoveResources": ("POST", "/subscriptions/{subscriptionId}/"
                                        "resourceGroups/{sourceResourceGroupName}/"
                                        "validateMoveResources"),
    **_crud("Disks", COMPUTE + "/disks", SUB_COMPUTE + "/disks", "diskName",
            "ListByResourceGroup"),
    **_crud("Snapshots", COMPUTE + "/snapshots", SUB_COMPUTE + "/snapshots", "snapshotName",
            "ListByResourceGroup"),
    **_crud("VirtualMachines", COMPUTE + "/virtualMachines", SUB_COMPUTE + "/virtualMachines",
            "vmName", "List"),
    **{f"VirtualMachines_{action}": ("POST", f"{VM}/{action[0].lower()}{action[1:]}")
       for action in ("Start", "PowerOff", "Restart", "Deallocate", "RunCommand",
                      "AttachDetachDataDisks")},
    "VirtualMachines_InstanceView": ("GET", VM + "/instanceView"),
    **_crud("AvailabilitySets", COMPUTE + "/availabilitySets",
            SUB_COMPUTE + "/availabilitySets", "availabilitySetName", "List"),
    "AvailabilitySets_ListBySubscription": ("GET", SUB_COMPUTE + "/availabilitySets"),
    **_crud("DiskEncryptionSets", COMPUTE + "/diskEncryptionSets",
            SUB_COMPUTE + "/diskEncryptionSets", "diskEncryptionSetName", "ListByResourceGroup"),
    "Usage_List": ("GET", SUB_COMPUTE + "/locations/{location}/usages"),
    "ResourceSkus_List": ("GET", SUB_COMPUTE + "/skus"),
    **_crud("NetworkInterfaces", NETWORK + "/networkInterfaces",
            SUB_NETWORK + "/networkInterfaces", "networkInterfaceName", "List"),
    **_crud("VirtualNetworks", NETWORK + "/virtualNetworks", SUB_NETWORK + "/virtualNetworks",
            "virtualNetworkName", "List"),
    **_crud("NetworkSecurityGroups", NETWORK + "/networkSecurityGroups",
            SUB_NETWORK + "/networkSecurityGroups", "networkSecurityGroupName", "List"),
    **_crud("PublicIPAddresses", NETWORK + "/publicIPAddresses",
            SUB_NETWORK + "/publicIPAddresses", "publicIpAddressName", "List"),
    **{f"Subnets_{verb}": (method, NETWORK + "/virtualNetworks/{virtualNetworkName}/subnets"
                           + ("" if verb == "List" else "/{subnetName}"))
       for verb, method in (("CreateOrUpdate", "PUT"), ("Get", "GET"), ("Delete", "DELETE"),
                            ("List", "GET"))},
}
"""Each operation's method and path, as its OpenAPI spec has them."""


@dataclass
class Example:
    path: str  # relative to EXAMPLES
    operation: str
    source: str  # its path in Azure/azure-rest-api-specs
    parameters: dict[str, Any] = field(repr=False)
    responses: dict[str, Any] = field(repr=False)

    @property
    def method(self) -> str:
        return OPERATIONS[self.operation][0]

    def url(self) -> str:
        template = OPERATIONS[self.operation][1]
        return ARM + re.sub(r"\{(\w+)\}", lambda m: quote(self.value(m.group(1)), safe=""),
                            template)

    def value(self, name: str) -> str:
        if name == "subscriptionId":
            return SUBSCRIPTION
        return str(self.parameters[name])

    def query(self) -> dict[str, str]:
        in_path = set(re.findall(r"\{(\w+)\}", OPERATIONS[self.operation][1]))
        return {k: _query_value(v) for k, v in self.parameters.items()
                if k not in in_path and not isinstance(v, dict | list)}

    def body(self) -> Any:
        bodies = [v for v in self.parameters.values() if isinstance(v, dict | list)]
        return substituted(bodies[0]) if bodies else None


def _query_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def substituted(data: Any) -> Any:
    """``data`` with the subscription placeholders filled in."""
    return json.loads(PLACEHOLDER.sub(SUBSCRIPTION, json.dumps(data)))


def examples() -> list[Example]:
    """Every example of the manifest whose operation is known here."""
    manifest = json.loads((EXAMPLES / "MANIFEST.json").read_text(encoding="utf-8"))
    found = []
    for entry in manifest["files"]:
        data = json.loads((EXAMPLES / entry["path"]).read_text(encoding="utf-8"))
        found.append(Example(entry["path"], entry["operationId"], entry["source"],
                             data.get("parameters", {}), data.get("responses", {})))
    return found


def replay(example: Example) -> list[str]:
    """Replay one example against the active fake; the differences found (none: it
    conforms)."""
    from conformance.prerequisites import prepare  # the fake must be active

    prepare(example)
    answer = requests.request(example.method, example.url(), params=example.query(),
                              json=example.body(), timeout=30)
    documented = sorted(example.responses)
    if str(answer.status_code) not in example.responses:
        return [f"status {answer.status_code} not among the documented {documented}: "
                f"{answer.text[:300]}"]
    expected = substituted(_final_body(example))
    if not answer.content or expected is None:
        return []
    ours = answer.json()
    problems = _types(ours, expected, "")
    if example.method in ("PUT", "PATCH") and isinstance(example.body(), dict):
        problems += _fixed(example.body(), expected, ours, "")
    if isinstance(expected, dict) and "value" in expected and "value" not in ours:
        problems.append("a list answers without 'value'")
    if example.method != "POST" and isinstance(expected, dict) and "id" in expected \
            and "value" not in expected:
        problems += _names(example, ours)
    return problems


def _final_body(example: Example) -> Any:
    for status in ("200", "201", "202", "204"):
        if status in example.responses:
            body = example.responses[status].get("body")
            if body is not None:
                return body
    return None


def _names(example: Example, ours: dict[str, Any]) -> list[str]:
    wanted = example.url().removeprefix(ARM)
    if example.operation.endswith("InstanceView"):
        return []
    if not same_id(str(ours.get("id", "")), wanted):
        return [f"id {ours.get('id')!r}, not {wanted!r}"]
    if str(ours.get("name", "")).lower() != wanted.rsplit("/", 1)[-1].lower():
        return [f"name {ours.get('name')!r}"]
    return []


def same_id(one: str, other: str) -> bool:
    return one.strip("/").lower() == other.strip("/").lower()


def same_value(key: str, one: Any, other: Any) -> bool:
    """Equal as ARM compares: locations without spaces or case, ids without their leading
    slash or case."""
    if isinstance(one, str) and isinstance(other, str):
        if key == "location":
            return one.replace(" ", "").lower() == other.replace(" ", "").lower()
        if ARM_ID.match(one) and ARM_ID.match(other):
            return same_id(one, other)
    return one == other


def _types(ours: Any, expected: Any, where: str) -> list[str]:
    if expected is None or ours is None:
        return []
    if isinstance(expected, bool) or isinstance(ours, bool):
        same = isinstance(expected, bool) == isinstance(ours, bool)
    elif isinstance(expected, int | float):
        same = isinstance(ours, int | float)
    else:
        same = type(ours) is type(expected)
    if not same:
        return [f"{where or '.'}: {type(ours).__name__}, the example has "
                f"{type(expected).__name__}"]
    if isinstance(expected, dict):
        return [p for k in expected.keys() & ours.keys()
                for p in _types(ours[k], expected[k], f"{where}.{k}")]
    if isinstance(expected, list):
        return [p for mine, theirs in _paired(ours, expected)
                for p in _types(mine, theirs, f"{where}[]")]
    return []


def _fixed(request: Any, expected: Any, ours: Any, where: str) -> list[str]:
    """Values the request set and the example's answer echoes must be in ours."""
    if isinstance(request, dict) and isinstance(expected, dict):
        if not isinstance(ours, dict):
            return [f"{where or '.'}: missing"]
        problems = []
        for key in request.keys() & expected.keys():
            if key not in ours:
                problems.append(f"{where}.{key}: missing (the request set it)")
            else:
                problems += _fixed(request[key], expected[key], ours[key], f"{where}.{key}")
        return problems
    if isinstance(request, list) and isinstance(expected, list):
        if not isinstance(ours, list):
            return [f"{where}: not a list"]
        return [p for asked, shown, mine in _triples(request, expected, ours)
                for p in _fixed(asked, shown, mine, f"{where}[]")]
    key = where.rsplit(".", 1)[-1]
    if same_value(key, request, expected) and not same_value(key, ours, request):
        return [f"{where}: {ours!r}, the request set {request!r}"]
    return []


def _triples(request: list[Any], expected: list[Any], ours: list[Any]
             ) -> list[tuple[Any, Any, Any]]:
    """The request's items with the example's and ours: by name where they are named."""
    if all(isinstance(r, dict) and "name" in r for r in request):
        def by_name(items: list[Any]) -> dict[str, Any]:
            return {str(i.get("name", "")).lower(): i for i in items if isinstance(i, dict)}

        shown, mine = by_name(expected), by_name(ours)
        return [(r, shown.get(str(r["name"]).lower()), mine.get(str(r["name"]).lower()))
                for r in request]
    return list(zip(request, expected, ours, strict=False))


def _paired(ours: list[Any], expected: list[Any]) -> list[tuple[Any, Any]]:
    """Items matched by name where they have names, else by position."""
    if all(isinstance(e, dict) and "name" in e for e in expected) and all(
            isinstance(o, dict) for o in ours):
        by_name = {str(o.get("name", "")).lower(): o for o in ours}
        return [(by_name.get(str(e["name"]).lower()), e) for e in expected]
    return list(zip(ours, expected, strict=False))
