"""The ARM fake's route table, as data: which URL is which ARM operation.

Each route: the HTTP method, the path pattern (case-insensitive, as ARM's), the resource
type and action of the ARM call it is, and how the resource id is built from the match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SUB = r"/subscriptions/(?P<sub>[^/]+)"
GROUP = SUB + r"/resourcegroups/(?P<group>[^/]+)"
COMPUTE = GROUP + r"/providers/microsoft\.compute"
NETWORK = GROUP + r"/providers/microsoft\.network"
VM = COMPUTE + r"/virtualmachines/(?P<name>[^/]+)"


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    type: str
    action: str = ""
    id: str = "resource"  # resource | group | subscription | location | subnet | vnet | poll
    # | tenant (no subscription's region answers it)


def _route(method: str, pattern: str, type_: str, action: str = "",
           id_: str = "resource") -> Route:
    return Route(method, re.compile(f"^{pattern}$", re.IGNORECASE), type_, action, id_)


RG = "Microsoft.Resources/resourceGroups"
SUBNETS = "Microsoft.Network/virtualNetworks/subnets"
EXTENSIONS = "Microsoft.Compute/virtualMachines/extensions"
LISTED = [("Microsoft.Compute", "disks"), ("Microsoft.Compute", "snapshots"),
          ("Microsoft.Compute", "virtualMachines"), ("Microsoft.Network", "networkInterfaces"),
          ("Microsoft.Network", "virtualNetworks"), ("Microsoft.Network", "networkSecurityGroups"),
          ("Microsoft.Network", "publicIPAddresses"), ("Microsoft.Compute", "availabilitySets"),
          ("Microsoft.Compute", "diskEncryptionSets")]
"""Resource types listed by resource group and by subscription."""
ROUTES = [
    _route("GET", r"/tenants", "Microsoft.Resources/tenants", id_="tenant"),
    _route("GET", r"/subscriptions", "Microsoft.Resources/subscriptions", id_="tenant"),
    _route("GET", SUB, "Microsoft.Resources/subscriptions", id_="tenant"),
    _route("GET", SUB + r"/resourcegroups", "Microsoft.Resources/subscriptions/resourceGroups",
           id_="subscription"),
    *[_route(method, GROUP, RG, id_="group") for method in ("PUT", "GET", "HEAD", "PATCH",
                                                            "DELETE")],
    _route("GET", SUB + r"/resources", "Microsoft.Resources/resources", id_="subscription"),
    _route("POST", GROUP + r"/validatemoveresources", RG, "validateMoveResources", "group"),
    _route("POST", GROUP + r"/moveresources", RG, "moveResources", "group"),
    *[_route(method, COMPUTE + rf"/{kind}/(?P<name>[^/]+)", f"Microsoft.Compute/{kind}")
      for kind in ("disks", "snapshots") for method in ("PUT", "GET", "PATCH", "DELETE")],
    *[_route(method, VM, "Microsoft.Compute/virtualMachines") for method in ("PUT", "GET",
                                                                             "PATCH", "DELETE")],
    _route("GET", VM + r"/instanceview", "Microsoft.Compute/virtualMachines", "instanceView"),
    *[_route(method, VM + r"/extensions/(?P<ext>[^/]+)", EXTENSIONS, id_="extension")
      for method in ("PUT", "GET", "PATCH", "DELETE")],
    _route("GET", VM + r"/extensions", EXTENSIONS, id_="vm"),
    *[_route("POST", VM + f"/{action.lower()}", "Microsoft.Compute/virtualMachines", action)
      for action in ("deallocate", "start", "powerOff", "restart", "runCommand",
                     "attachDetachDataDisks")],
    *[_route(method, NETWORK + rf"/{kind.lower()}/(?P<name>[^/]+)", f"Microsoft.Network/{kind}")
      for kind in ("networkInterfaces", "virtualNetworks", "networkSecurityGroups",
                   "publicIPAddresses") for method in ("PUT", "GET", "DELETE")],
    *[_route(method, COMPUTE + rf"/{kind.lower()}/(?P<name>[^/]+)", f"Microsoft.Compute/{kind}")
      for kind in ("availabilitySets", "diskEncryptionSets")
      for method in ("PUT", "GET", "DELETE")],
    *[_route(method, NETWORK + r"/virtualnetworks/(?P<vnet>[^/]+)/subnets/(?P<name>[^/]+)",
             SUBNETS, id_="subnet") for method in ("PUT", "GET", "DELETE")],
    _route("GET", NETWORK + r"/virtualnetworks/(?P<vnet>[^/]+)/subnets", SUBNETS, id_="vnet"),
    _route("GET", GROUP + r"/resources", "Microsoft.Resources/resources", id_="group"),
    *[_route("GET", scope + rf"/providers/{re.escape(provider.lower())}/{kind.lower()}",
             f"{provider}/{kind}", id_=id_)
      for scope, id_ in ((GROUP, "group"), (SUB, "subscription"))
      for provider, kind in LISTED],
    _route("GET", SUB + r"/providers/microsoft\.compute/locations/(?P<loc>[^/]+)/usages",
           "Microsoft.Compute/locations/usages", id_="location"),
    _route("GET", SUB + r"/providers/microsoft\.compute/skus", "Microsoft.Compute/skus",
           id_="subscription"),
    _route("GET", SUB + r"/providers/microsoft\.(?:compute|network)/locations/[^/]+"
           r"/operations/(?P<op>[^/]+)", "", "status", "poll"),
    _route("GET", SUB + r"/operationresults/(?P<op>[^/]+)", "", "result", "poll"),
]
"""Every URL the fake answers; any other gets 501 NotImplementedInFake."""


def route_of(method: str, path: str) -> tuple[Route, re.Match[str]] | None:
    for route in ROUTES:
        if route.method == method:
            match = route.pattern.match(path)
            if match:
                return route, match
    return None


PLACEHOLDERS = {"sub": "{subscriptionId}", "group": "{resourceGroupName}", "name": "{name}",
                "ext": "{vmExtensionName}",
                "vnet": "{virtualNetworkName}", "loc": "{location}", "op": "{operationId}"}


def implemented() -> list[str]:
    """Every request the fake answers, as ``METHOD path`` (paths case-insensitive), the
    operation polls left out: the list the README shows."""
    def path(route: Route) -> str:
        text = route.pattern.pattern.strip("^$").replace("\\.", ".")
        return re.sub(r"\(\?P<(\w+)>\[\^/\]\+\)", lambda m: PLACEHOLDERS[m.group(1)], text)

    return [f"{route.method} {path(route)}" for route in ROUTES if route.id != "poll"]
