"""Requests to ARM calls, and the region's answers to ARM's responses: status codes,
bodies in wire shape, and long-running operation headers."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import armid as arm
from fakecloud.arm import wire
from fakecloud.arm.lro import Operations, Pending
from fakecloud.arm.urls import Route
from fakecloud.models import ArmError, CloudState, Resource, VirtualMachine
from fakecloud.region import Answer, ArmCall, GuestRun, Region
from fakecloud.region.compute import instance_view

Response = tuple[int, dict[str, str], str]
LRO_STYLE = {
    "DELETE Microsoft.Resources/resourceGroups": ("location", 200),
    "POST Microsoft.Resources/resourceGroups/validateMoveResources": ("location", 204),
    "POST Microsoft.Resources/resourceGroups/moveResources": ("location", 204),
    "POST Microsoft.Compute/virtualMachines/runCommand": ("both", 200),
    "POST Microsoft.Compute/virtualMachines/attachDetachDataDisks": ("location", 200),
}
"""How each long-running operation tells its client where to poll (default: the
Azure-AsyncOperation header) and the status its Location answers at the end."""


def parse(route: Route, match: re.Match[str], request: Any, query: dict[str, list[str]],
          state: CloudState) -> ArmCall:
    """The ARM call a request is; the resource group spelled as it exists (ARM treats
    resource group names case-insensitively)."""
    sub = state.spelling(match["sub"])
    group = ""
    if "group" in match.groupdict():
        found = state.find(arm.resource_group_id(sub, match["group"]))
        group = found.name if found is not None else match["group"]
    ids = {
        "group": lambda: arm.resource_group_id(sub, group),
        "subscription": lambda: f"/subscriptions/{sub}",
        "location": lambda: f"/subscriptions/{sub}/providers/Microsoft.Compute/locations/"
                            f"{match['loc']}",
        "subnet": lambda: arm.subnet_id(sub, group, match["vnet"], match["name"]),
        "vnet": lambda: arm.resource_id(sub, group, arm.VIRTUAL_NETWORKS, match["vnet"]),
        "vm": lambda: arm.resource_id(sub, group, arm.VIRTUAL_MACHINES, match["name"]),
        "extension": lambda: arm.resource_id(sub, group, arm.VIRTUAL_MACHINES, match["name"])
                             + f"/extensions/{match['ext']}",
        "resource": lambda: arm.resource_id(sub, group, route.type, match["name"]),
    }
    try:
        body = json.loads(request.body or "{}")
    except ValueError:
        raise ArmError(400, "InvalidRequestContent", "The request content was invalid and "
                       "could not be deserialized.") from None
    if not isinstance(body, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content must be a JSON "
                       "object.")
    headers = getattr(request, "headers", None)
    return ArmCall(request.method, route.type, ids[route.id](), route.action, body,
                   (query.get("$filter") or [""])[0], _header(headers, "If-Match"),
                   _header(headers, "If-None-Match"))


def _header(headers: Any, name: str) -> str | None:
    """A request header, its name in any case (None when not sent)."""
    return next((value for key, value in (headers.items() if headers else ())
                 if key.lower() == name.lower()), None)


def respond(region: Region, lros: Operations, call: ArmCall, answer: Answer,
            query: dict[str, list[str]], now: float) -> Response:
    """ARM's response to ``call``; a long-running one is tracked for its polls."""
    if answer.long_running:
        style, final_status = LRO_STYLE.get(call.operation, ("async", 200))
        output = answer.result.output if isinstance(answer.result, GuestRun) else (
            answer.result if call.method == "POST" and isinstance(answer.result, dict) else None)
        pending = Pending(now + answer.latency_s, answer.failure, style, final_status, output)
        provider = call.type.split("/", 1)[0]
        headers = lros.track(pending, provider, now)
        if answer.failure is not None:
            body: Any = _as_requested(call)
        elif isinstance(answer.result, Resource) and call.method in ("PUT", "PATCH"):
            body = wire.envelope(answer.result, region.provisioning(call.id, now), region.state)
        elif isinstance(answer.result, dict) and call.method == "PUT":  # a subnet
            body = answer.result
        else:
            body = {}
        return answer.status, headers, json.dumps(body)
    result = answer.result
    if call.method == "HEAD" or answer.status == 204:
        return answer.status, {}, ""
    if call.action == "instanceView":
        return 200, {}, json.dumps(result)
    if isinstance(result, Resource):
        body = wire.envelope(result, region.provisioning(result.id, now), region.state)
        if isinstance(result, VirtualMachine) and "instanceView" in query.get("$expand", []):
            body["properties"]["instanceView"] = instance_view(result, now)
        return answer.status, {}, json.dumps(body)
    if isinstance(result, list):
        entries = [wire.summary(r) if call.type == "Microsoft.Resources/resources"
                   else wire.envelope(r, state=region.state) if isinstance(r, Resource) else r
                   for r in result]
        return answer.status, {}, json.dumps({"value": entries})
    if isinstance(result, dict):  # a subnet, in wire shape already
        return answer.status, {}, json.dumps(result)
    return answer.status, {}, json.dumps({})


TENANT = "00000000-0000-0000-0000-000000000000"
"""The tenant every subscription of the fake is in (sign-in takes any tenant)."""


def tenant() -> dict[str, Any]:
    """The fake's tenant as ``GET /tenants`` lists it."""
    return {"id": f"/tenants/{TENANT}", "tenantId": TENANT, "tenantCategory": "Home",
            "displayName": "fakecloud", "defaultDomain": "fakecloud.onmicrosoft.com",
            "domains": ["fakecloud.onmicrosoft.com"]}


def subscription(subscription_id: str) -> dict[str, Any]:
    """A subscription as ``GET /subscriptions`` reads it (every one enabled)."""
    return {"id": f"/subscriptions/{subscription_id}", "authorizationSource": "RoleBased",
            "managedByTenants": [], "subscriptionId": subscription_id, "tenantId": TENANT,
            "displayName": f"fakecloud {subscription_id[:8]}", "state": "Enabled",
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01",
                                     "quotaId": "PayAsYouGo_2014-09-01",
                                     "spendingLimit": "Off"}}


def error(status: int, code: str, message: str, retry_after: float | None = None,
          details: list[dict[str, str]] | None = None) -> Response:
    headers = {"x-ms-failure-cause": "gateway"}
    if retry_after:
        headers["Retry-After"] = str(math.ceil(retry_after))
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return status, headers, json.dumps({"error": body})


def _as_requested(call: ArmCall) -> dict[str, Any]:
    """The request's resource, being created (for an operation that will fail)."""
    properties = {**(call.body.get("properties") or {}), "provisioningState": "Creating"}
    return {**call.body, "id": call.id, "name": arm.name_of(call.id), "properties": properties}
