"""An HTTP-level fake of Azure Resource Manager over the simulated region.

Each handler parses one ARM request into the engine's operation and hands it to the same
``SimRegion`` the SimPy backend uses, so ARM's rules, faults, throttling and latencies are
the simulation's. Long-running operations answer as ARM does (``Azure-AsyncOperation`` or
``Location`` and ``Retry-After``) and finish when the virtual clock has passed their time.
A URL the fake does not implement gets 501 with an ARM error body naming it.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import armid as arm
from datapath.delivery import AGENT_ARCHIVE, AGENT_COMMAND, delivered_files
from fakecloud.arm import wire
from fakecloud.clock import VirtualClock
from fakecloud.models import (
    ArmError,
    CloudState,
    Disk,
    NetworkInterface,
    ResourceGroup,
    VirtualMachine,
    VirtualNetwork,
)
from fakecloud.profile import RegionProfile
from restore import ops
from restore.backends.data import REPOSITORY_URL, DataPath, RegionData
from restore.backends.faults import FaultInjector, FaultRule
from restore.backends.simregion import SimRegion

ARM_HOST = "https://management.azure.com"
STEP_HEADER = "x-restorelab-step"
"""Names the restore step a request belongs to, so fault rules by step apply."""
WORKER_AGENT_COMMAND = "restorelab-agent"
LOCATION = "fakecloud"  # the location segment of operation-status URLs

Response = tuple[int, dict[str, str], str]


@dataclass(slots=True)
class Pending:
    """A long-running operation: done at ``done_s`` (virtual), failed with ``error``."""

    done_s: float
    error: ArmError | None = None
    style: str = "async"  # "async": Azure-AsyncOperation body; "location": status codes
    final_status: int = 200
    output: dict[str, Any] | None = None


@dataclass(slots=True)
class RequestRecord:
    method: str
    path: str
    status: int
    at_s: float
    step: str = ""


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., Response]


SUB = r"/subscriptions/(?P<sub>[^/]+)"
GROUP = SUB + r"/resourcegroups/(?P<group>[^/]+)"
COMPUTE = GROUP + r"/providers/microsoft\.compute"
NETWORK = GROUP + r"/providers/microsoft\.network"


class ArmFake:
    """The ARM endpoints restorelab uses, answered from one simulated region."""

    def __init__(self, state: CloudState, profile: RegionProfile,
                 clock: VirtualClock | None = None, seed: int = 0,
                 faults: Iterable[FaultRule] = (), steps: Iterable[str] = (),
                 data: RegionData | None = None):
        self.state, self.profile, self.seed = state, profile, seed
        self.clock = clock or VirtualClock()
        faults = list(faults)
        injector = FaultInjector(faults, random.Random(seed ^ 0x5EED_FA17),
                                 set(steps)) if faults else None
        self.region = SimRegion(state, profile, random.Random(seed), faults=injector,
                                data=data, runs_agent=False)  # the delivered agent does
        self.requests: list[RequestRecord] = []
        self.worker_files: dict[str, dict[str, bytes]] = {}  # VM (lower) -> cloud-init files
        self.data = data
        self._pending: dict[str, Pending] = {}
        self._busy_until: dict[str, float] = {}  # resource (lower) -> end of its operation
        self._applied: dict[tuple[str, str], int] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.routes = [Route(method, re.compile(f"^{pattern}$", re.IGNORECASE), handler)
                       for method, pattern, handler in self._route_table()]

    @property
    def subscription(self) -> str:
        return self.state.subscription

    def _route_table(self) -> list[tuple[str, str, Callable[..., Response]]]:
        kinds = {"disks": arm.DISKS, "snapshots": arm.SNAPSHOTS}
        return [
            ("GET", SUB + r"/resourcegroups", self.list_groups),
            ("PUT", GROUP, self.put_group),
            ("GET", GROUP, self.get_resource),
            ("HEAD", GROUP, self.head_group),
            ("DELETE", GROUP, self.delete_group),
            ("GET", SUB + r"/resources", self.list_resources),
            ("POST", GROUP + r"/validatemoveresources", self.validate_move),
            ("POST", GROUP + r"/moveresources", self.move),
            *[(method, COMPUTE + rf"/(?P<kind>{name})/(?P<name>[^/]+)", handler)
              for name in kinds for method, handler in (
                  ("GET", self.get_resource), ("DELETE", self.delete_resource))],
            ("PUT", COMPUTE + r"/disks/(?P<name>[^/]+)", self.put_disk),
            ("PUT", COMPUTE + r"/snapshots/(?P<name>[^/]+)", self.put_snapshot),
            ("PUT", COMPUTE + r"/virtualmachines/(?P<name>[^/]+)", self.put_vm),
            ("GET", COMPUTE + r"/virtualmachines/(?P<name>[^/]+)", self.get_resource),
            ("GET", COMPUTE + r"/virtualmachines/(?P<name>[^/]+)/instanceview",
             self.vm_instance_view),
            ("DELETE", COMPUTE + r"/virtualmachines/(?P<name>[^/]+)", self.delete_resource),
            ("POST", COMPUTE + r"/virtualmachines/(?P<name>[^/]+)/deallocate", self.deallocate),
            ("POST", COMPUTE + r"/virtualmachines/(?P<name>[^/]+)/runcommand", self.run_command),
            ("PUT", NETWORK + r"/networkinterfaces/(?P<name>[^/]+)", self.put_nic),
            ("GET", NETWORK + r"/networkinterfaces/(?P<name>[^/]+)", self.get_resource),
            ("DELETE", NETWORK + r"/networkinterfaces/(?P<name>[^/]+)", self.delete_resource),
            ("GET", NETWORK + r"/virtualnetworks/(?P<vnet>[^/]+)/subnets/(?P<name>[^/]+)",
             self.get_subnet),
            ("GET", SUB + r"/providers/microsoft\.compute/locations/(?P<loc>[^/]+)/usages",
             self.usages),
            ("GET", SUB + r"/providers/microsoft\.compute/skus", self.skus),
            ("GET", SUB + r"/providers/microsoft\.(?:compute|network)/locations/[^/]+"
             r"/operations/(?P<op>[^/]+)", self.operation_status),
            ("GET", SUB + r"/operationresults/(?P<op>[^/]+)", self.operation_result),
        ]

    # -- dispatch ----------------------------------------------------------------------

    def handle(self, request: Any) -> Response:
        """Answer one request (a ``requests.PreparedRequest``)."""
        url = urlsplit(request.url)
        with self._lock:
            status, headers, body = self._dispatch(request, url.path, parse_qs(url.query))
            self.requests.append(RequestRecord(request.method, url.path, status, self.clock.now,
                                               request.headers.get(STEP_HEADER, "")))
        left = self.region.throttle.remaining(self.clock.now)
        headers = {"Content-Type": "application/json",
                   "x-ms-ratelimit-remaining-subscription-writes": str(left["arm_writes"]),
                   "x-ms-ratelimit-remaining-subscription-deletes": str(left["arm_deletes"]),
                   "x-ms-ratelimit-remaining-subscription-reads": str(left["arm_reads"]),
                   **headers}
        return status, headers, body

    def _dispatch(self, request: Any, path: str, query: dict[str, list[str]]) -> Response:
        for route in self.routes:
            match = route.pattern.match(path)
            if match and route.method == request.method:
                break
        else:
            return error(501, "NotImplementedInFake", f"fakecloud's ARM fake does not "
                         f"implement {request.method} {path}")
        if "api-version" not in query:
            return error(400, "MissingApiVersionParameter", "The api-version query parameter "
                         "(?api-version=) is required for all requests.")
        if match["sub"] != self.state.subscription:
            return error(404, "SubscriptionNotFound",
                         f"The subscription '{match['sub']}' could not be found.")
        try:
            return route.handler(request, match, query)
        except ArmError as exc:
            headers = {"Retry-After": str(math.ceil(exc.retry_after))} if exc.retry_after else {}
            status, headers_, body = error(exc.status, exc.code, exc.message)
            return status, {**headers_, **headers}, body

    # -- helpers -----------------------------------------------------------------------

    def _id(self, match: re.Match[str], type_: str) -> str:
        """The resource's id, with the resource group spelled as it exists (ARM treats
        resource group names case-insensitively)."""
        group = self.state.find(arm.resource_group_id(self.state.subscription, match["group"]))
        name = group.name if group is not None else match["group"]
        if type_ == arm.RESOURCE_GROUPS:
            return arm.resource_group_id(self.state.subscription, name)
        return arm.resource_id(self.state.subscription, name, type_, match["name"])

    def _apply(self, op: ops.Operation, request: Any) -> float:
        """Apply ``op`` (of the request, or of the step named) to the region now; how long
        it takes. Latencies are drawn per
        operation, so concurrent requests get the same times in any order."""
        key = (op.kind, op.resource.lower())
        count = self._applied[key] = self._applied.get(key, 0) + 1
        self.region.rng = random.Random(f"{self.seed}:{op.kind}:{op.resource.lower()}:{count}")
        step = request if isinstance(request, str) else request.headers.get(STEP_HEADER, "")
        delay, _ = self.region.apply(op, step, now=self.clock.now)
        return delay

    def rehydrate(self, op: ops.RehydrateRestorePoint, step: str) -> float:
        """Seconds until an archived restore point is hot again (storage, not ARM)."""
        with self._lock:
            return self._apply(op, step)

    def _long_running(self, op: ops.Operation, request: Any, status: int,
                      body: Callable[[], dict[str, Any]] | None = None, style: str = "async",
                      final_status: int = 200, output: dict[str, Any] | None = None
                      ) -> Response:
        """Accept a long-running operation: state changed now, done after its latency."""
        try:
            delay = self._apply(op, request)
            pending = Pending(self.clock.now + delay, None, style, final_status, output)
        except ArmError as exc:
            if exc.status != 200:  # refused at once; 200: accepted, fails when it ends
                raise
            pending = Pending(self.clock.now + exc.after_s, exc, style)
            body = lambda: _as_requested(request, op.resource)  # noqa: E731  (never created)
        self._busy_until[op.resource.lower()] = pending.done_s
        return status, self._track(pending, request), json.dumps(body() if body else {})

    def _track(self, pending: Pending, request: Any) -> dict[str, str]:
        """Register a long-running operation; the headers that tell the client where to
        poll and when."""
        op_id = f"{next(self._ids):08x}-0000-4000-8000-{self.seed & 0xFFFFFFFFFFFF:012x}"
        self._pending[op_id] = pending
        sub = self.state.subscription
        headers = {"Retry-After": str(_wait_s(pending.done_s, self.clock.now))}
        if pending.style in ("location", "both"):  # both: an action with a result to GET
            headers["Location"] = f"{ARM_HOST}/subscriptions/{sub}/operationresults/{op_id}" \
                                  "?api-version=2025-04-01"
        if pending.style == "location":
            return headers
        provider = "Microsoft.Network" if "/microsoft.network/" in request.url.lower() \
            else "Microsoft.Compute"
        headers["Azure-AsyncOperation"] = (
            f"{ARM_HOST}/subscriptions/{sub}/providers/{provider}/locations/{LOCATION}"
            f"/operations/{op_id}?api-version=2025-04-01")
        return headers

    def _body(self, arm_id: str) -> dict[str, Any]:
        resource = self.state.find(arm_id)
        if resource is None:
            raise not_found(arm_id)
        busy = self._busy_until.get(arm_id.lower(), 0.0) > self.clock.now
        return wire.envelope(resource, "Updating" if busy else "Succeeded")

    # -- resource groups ---------------------------------------------------------------

    def list_groups(self, request: Any, match: re.Match[str], query: dict) -> Response:
        groups = [r for r in self.state.resources() if isinstance(r, ResourceGroup)]
        return ok({"value": [wire.envelope(g) for g in _filtered(groups, query)]})

    def put_group(self, request: Any, match: re.Match[str], query: dict) -> Response:
        body = json.loads(request.body or "{}")
        group_id = self._id(match, arm.RESOURCE_GROUPS)
        existed = self.state.find(group_id) is not None
        self._apply(ops.CreateResourceGroup(group_id, body.get("location", ""),
                                            ops.tags_of(body.get("tags") or {})), request)
        return 200 if existed else 201, {}, json.dumps(self._body(group_id))

    def head_group(self, request: Any, match: re.Match[str], query: dict) -> Response:
        found = self.state.find(self._id(match, arm.RESOURCE_GROUPS))
        return (204 if found is not None else 404), {}, ""

    def delete_group(self, request: Any, match: re.Match[str], query: dict) -> Response:
        group_id = self._id(match, arm.RESOURCE_GROUPS)
        return self._long_running(ops.DeleteResourceGroup(group_id), request, 202,
                                  style="location")

    def list_resources(self, request: Any, match: re.Match[str], query: dict) -> Response:
        found = [r for r in self.state.resources() if not isinstance(r, ResourceGroup)]
        return ok({"value": [wire.summary(r) for r in _filtered(found, query)]})

    def validate_move(self, request: Any, match: re.Match[str], query: dict) -> Response:
        body = json.loads(request.body or "{}")
        probe = self.state.copy()
        probe.move_resources(self._id(match, arm.RESOURCE_GROUPS), body["targetResourceGroup"],
                             body.get("resources", []))
        pending = Pending(self.clock.now + self.region._latency("find_resources"),
                          style="location", final_status=204)
        return 202, self._track(pending, request), ""

    def move(self, request: Any, match: re.Match[str], query: dict) -> Response:
        body = json.loads(request.body or "{}")
        op = ops.MoveResources(self._id(match, arm.RESOURCE_GROUPS), body["targetResourceGroup"],
                               tuple(body.get("resources", [])))
        return self._long_running(op, request, 202, style="location", final_status=204)

    # -- compute and network -----------------------------------------------------------

    def get_resource(self, request: Any, match: re.Match[str], query: dict) -> Response:
        path = urlsplit(request.url).path
        if "name" not in match.groupdict():
            return ok(self._body(self._id(match, arm.RESOURCE_GROUPS)))
        arm_id = self._id(match, arm.parse_id(path).type)
        body = self._body(arm_id)
        resource = self.state.find(arm_id)
        if isinstance(resource, VirtualMachine) and "instanceView" in query.get("$expand", []):
            body["properties"]["instanceView"] = wire.instance_view(resource)
        return ok(body)

    def vm_instance_view(self, request: Any, match: re.Match[str], query: dict) -> Response:
        vm = self.state.find(self._id(match, arm.VIRTUAL_MACHINES))
        if not isinstance(vm, VirtualMachine):
            raise not_found(self._id(match, arm.VIRTUAL_MACHINES))
        return ok(wire.instance_view(vm))

    def delete_resource(self, request: Any, match: re.Match[str], query: dict) -> Response:
        type_ = arm.parse_id(urlsplit(request.url).path).type
        arm_id = self._id(match, type_)
        if self.state.find(arm_id) is None:
            self.state.get(arm.group_id_of(arm_id), ResourceGroup)  # else ResourceGroupNotFound
            return 204, {}, ""
        delete = {arm.DISKS: ops.DeleteDisk, arm.SNAPSHOTS: ops.DeleteSnapshot,
                  arm.VIRTUAL_MACHINES: ops.DeleteVm, arm.NETWORK_INTERFACES: ops.DeleteNic}
        return self._long_running(delete[type_](arm_id), request, 202)

    def put_disk(self, request: Any, match: re.Match[str], query: dict) -> Response:
        body = json.loads(request.body or "{}")
        disk_id = self._id(match, arm.DISKS)
        props = body.get("properties", {})
        creation = props.get("creationData", {})
        source = creation.get("sourceResourceId") if creation.get("createOption") == "Copy" \
            else None
        if source is None and int(props.get("diskSizeGB") or 0) < 1:
            raise ArmError(400, "InvalidParameter", "Required parameter 'diskSizeGB' is "
                           "missing (null) or not positive for an empty disk.")
        op = ops.CreateDisk(disk_id, body.get("location", ""), int(props.get("diskSizeGB", 0)),
                            (body.get("sku") or {}).get("name", "Premium_LRS"),
                            _zone(body), source, ops.tags_of(body.get("tags") or {}))
        return self._long_running(op, request, 202, lambda: self._body(disk_id))

    def put_snapshot(self, request: Any, match: re.Match[str], query: dict) -> Response:
        body = json.loads(request.body or "{}")
        snapshot_id = self._id(match, arm.SNAPSHOTS)
        creation = body.get("properties", {}).get("creationData", {})
        op = ops.CreateSnapshot(snapshot_id, body.get("location", ""),
                                creation.get("sourceResourceId", ""),
                                ops.tags_of(body.get("tags") or {}))
        return self._long_running(op, request, 202, lambda: self._body(snapshot_id))

    def put_nic(self, request: Any, match: re.Match[str], query: dict) -> Response:
        body = json.loads(request.body or "{}")
        nic_id = self._id(match, arm.NETWORK_INTERFACES)
        if isinstance(self.state.find(nic_id), NetworkInterface):
            return ok(self._body(nic_id))
        configs = body.get("properties", {}).get("ipConfigurations") or [{}]
        subnet = configs[0].get("properties", {}).get("subnet", {}).get("id", "")
        op = ops.CreateNic(nic_id, body.get("location", ""), subnet,
                           ops.tags_of(body.get("tags") or {}))
        return self._long_running(op, request, 201, lambda: self._body(nic_id))

    def put_vm(self, request: Any, match: re.Match[str], query: dict) -> Response:
        body = json.loads(request.body or "{}")
        vm_id = self._id(match, arm.VIRTUAL_MACHINES)
        props = body.get("properties", {})
        storage = props.get("storageProfile", {})
        existing = self.state.find(vm_id)
        if isinstance(existing, VirtualMachine):
            return self._update_vm(existing, storage.get("dataDisks", []), request)
        if storage.get("dataDisks"):
            return error(501, "NotImplementedInFake", "fakecloud's ARM fake does not create "
                         "VMs with data disks; attach them with a VM update")
        os_disk = storage.get("osDisk", {})
        from_image = os_disk.get("createOption", "").lower() == "fromimage"
        os_disk_id = (arm.resource_id(self.state.subscription, arm.group_of(vm_id), arm.DISKS,
                                      os_disk.get("name", ""))
                      if from_image else os_disk.get("managedDisk", {}).get("id", ""))
        custom_data = (props.get("osProfile") or {}).get("customData")
        self.worker_files[vm_id.lower()] = delivered_files(custom_data) if custom_data else {}
        nics = props.get("networkProfile", {}).get("networkInterfaces") or [{}]
        op = ops.CreateVm(vm_id, body.get("location", ""),
                          props.get("hardwareProfile", {}).get("vmSize", ""),
                          nics[0].get("id", ""), os_disk_id, from_image, _zone(body),
                          ops.tags_of(body.get("tags") or {}))
        return self._long_running(op, request, 201, lambda: self._body(vm_id))

    def _update_vm(self, vm: VirtualMachine, data_disks: list[dict[str, Any]],
                   request: Any) -> Response:
        """A VM PUT on an existing VM: attach and detach data disks, in one update."""
        wanted = {int(d["lun"]): d.get("managedDisk", {}).get("id", "")
                  for d in data_disks if not d.get("toBeDetached")}
        attached = {disk.lower() for disk in vm.data_disks.values()}
        attach = tuple((lun, disk) for lun, disk in sorted(wanted.items())
                       if disk.lower() not in attached)
        keep = {disk.lower() for disk in wanted.values()}
        detach = tuple(disk for disk in vm.data_disks.values() if disk.lower() not in keep)
        if attach and detach:
            return error(501, "NotImplementedInFake", "fakecloud's ARM fake does not attach "
                         "and detach disks in one VM update")
        if not attach and not detach:
            return ok(self._body(vm.id))
        op = ops.AttachDisks(vm.id, attach) if attach else ops.DetachDisks(vm.id, detach)
        return self._long_running(op, request, 200, lambda: self._body(vm.id))

    def deallocate(self, request: Any, match: re.Match[str], query: dict) -> Response:
        return self._long_running(ops.DeallocateVm(self._id(match, arm.VIRTUAL_MACHINES)),
                                  request, 202)

    def run_command(self, request: Any, match: re.Match[str], query: dict) -> Response:
        """The worker's restore agent, started through Run Command: its parameters name the
        repository, the restore point and, per data disk, what to write. The agent is the
        one cloud-init delivered to the worker (its custom data); it really runs on a
        bytes-mode restore (writing files for the disks), and only its time is modelled
        otherwise. Run Command succeeds whatever the script does: the output tells."""
        body = json.loads(request.body or "{}")
        worker = self.state.get(self._id(match, arm.VIRTUAL_MACHINES), VirtualMachine)
        params = {p["name"]: p["value"] for p in body.get("parameters") or []}
        if WORKER_AGENT_COMMAND not in " ".join(body.get("script") or []):
            return error(501, "NotImplementedInFake", "fakecloud's ARM fake runs only the "
                         "restorelab worker agent through Run Command")
        files = self.worker_files.get(worker.id.lower(), {})
        if AGENT_COMMAND not in files:
            return self._script_ended(request, "StdErr", f"script.sh: line 1: "
                                      f"{WORKER_AGENT_COMMAND}: command not found")
        plan = json.loads(params.get("writes", "[]"))
        writes = []
        for entry in plan:
            disk = self.state.get(worker.data_disks.get(int(entry["lun"]), ""), Disk)
            writes.append(ops.DiskWrite(disk.id, disk.sku, disk.size_gb,
                                        float(entry["data_gb"]), entry.get("source", "")))
        op = ops.WriteDiskData(worker.id, worker.size, params.get("restore_point", ""),
                               tuple(writes), int(params.get("parallel_workers", "1")))
        if params.get("store") != REPOSITORY_URL:
            return self._script_ended(request, "StdOut", json.dumps({"error": {
                "code": "RestorePointNotFound", "message": f"no repository at "
                f"{params.get('store')!r} (fakecloud's is {REPOSITORY_URL})"}}))
        if isinstance(self.data, DataPath):
            report = self.data.run_agent(files[AGENT_ARCHIVE], params["restore_point"], plan)
        else:
            report = {"restored": [w.disk for w in writes]}
        output = {"value": [{"code": "ComponentStatus/StdOut/succeeded", "level": "Info",
                             "message": json.dumps(report)}]}
        return self._long_running(op, request, 202, style="both", output=output)

    def _script_ended(self, request: Any, stream: str, message: str) -> Response:
        """A Run Command whose script ended at once (it wrote ``message``)."""
        output = {"value": [{"code": f"ComponentStatus/{stream}/succeeded", "level": "Info",
                             "message": message}]}
        pending = Pending(self.clock.now + RUN_COMMAND_START_S, None, "both", 200, output)
        return 202, self._track(pending, request), "{}"

    def get_subnet(self, request: Any, match: re.Match[str], query: dict) -> Response:
        group = self._id(match, arm.RESOURCE_GROUPS)
        vnet_id = f"{group}/providers/{arm.VIRTUAL_NETWORKS}/{match['vnet']}"
        vnet = self.state.find(vnet_id)
        subnet_id = f"{vnet_id}/subnets/{match['name']}"
        if not isinstance(vnet, VirtualNetwork) or match["name"] not in vnet.subnets:
            raise not_found(subnet_id)
        return ok({"id": subnet_id, "name": match["name"],
                   "properties": {"provisioningState": "Succeeded"}})

    def usages(self, request: Any, match: re.Match[str], query: dict) -> Response:
        quotas = self.state.quotas
        used = self.state.usage(match["loc"])
        if quotas is None:
            return ok({"value": []})
        limits = {"cores": ("Total Regional vCPUs", quotas.regional_vcpus, "regional_vcpus"),
                  "managedDisks": ("Managed Disks", quotas.managed_disks, "managed_disks"),
                  **{family: (family, limit, family)
                     for family, limit in quotas.family_vcpus.items()}}
        return ok({"value": [
            {"name": {"value": name, "localizedValue": label}, "currentValue": used.get(key, 0),
             "limit": limit, "unit": "Count"} for name, (label, limit, key) in limits.items()]})

    def skus(self, request: Any, match: re.Match[str], query: dict) -> Response:
        location = _filter_value(query, "location") or ""
        return ok({"value": [
            {"resourceType": "virtualMachines", "name": name, "tier": "Standard",
             "size": name.removeprefix("Standard_"), "family": size.family,
             "locations": [location], "restrictions": [],
             "capabilities": [{"name": "vCPUs", "value": str(size.vcpus)},
                              {"name": "MaxDataDiskCount", "value": str(size.max_data_disks)}]}
            for name, size in sorted(self.profile.vm_sizes.items())]})

    # -- long-running operation status -------------------------------------------------

    def operation_status(self, request: Any, match: re.Match[str], query: dict) -> Response:
        pending = self._pending_or_404(match["op"])
        if self.clock.now < pending.done_s:
            return 200, {"Retry-After": str(_wait_s(pending.done_s, self.clock.now))}, \
                json.dumps({"status": "InProgress"})
        if pending.error is not None:
            return ok({"status": "Failed", "error": {"code": pending.error.code,
                                                     "message": pending.error.message}})
        body: dict[str, Any] = {"status": "Succeeded"}
        if pending.output is not None:
            body["properties"] = {"output": pending.output}
        return ok(body)

    def operation_result(self, request: Any, match: re.Match[str], query: dict) -> Response:
        pending = self._pending_or_404(match["op"])
        if self.clock.now < pending.done_s:
            return 202, {"Retry-After": str(_wait_s(pending.done_s, self.clock.now)),
                         "Location": request.url}, ""
        if pending.error is not None:
            return error(pending.error.status, pending.error.code, pending.error.message)
        if pending.output is not None:  # an action's result (Run Command's output)
            return ok(pending.output)
        return pending.final_status, {}, ""

    def _pending_or_404(self, op_id: str) -> Pending:
        pending = self._pending.get(op_id)
        if pending is None:
            raise ArmError(404, "OperationNotFound", f"Operation '{op_id}' was not found.")
        return pending


def _as_requested(request: Any, arm_id: str) -> dict[str, Any]:
    """The request's resource, being created (for an operation that will fail)."""
    body = json.loads(request.body or "{}")
    properties = {**body.get("properties", {}), "provisioningState": "Creating"}
    return {**body, "id": arm_id, "name": arm.name_of(arm_id), "properties": properties}


def _zone(body: dict[str, Any]) -> str | None:
    zones = body.get("zones") or []
    return zones[0] if zones else None


RUN_COMMAND_START_S = 30.0  # a Run Command that fails at once still takes the extension's start-up

TAG_FILTER = re.compile(r"tagName eq '(?P<key>[^']*)' and tagValue eq '(?P<value>[^']*)'")


def _filter_value(query: dict[str, list[str]], name: str) -> str | None:
    found = re.search(rf"{name} eq '([^']*)'", (query.get("$filter") or [""])[0])
    return found.group(1) if found else None


def _filtered(resources: list[Any], query: dict[str, list[str]]) -> list[Any]:
    """Resources matching a ``$filter`` of tagName/tagValue (the only filter used)."""
    text = (query.get("$filter") or [""])[0]
    if not text:
        return resources
    found = TAG_FILTER.search(text)
    if found is None:
        raise ArmError(400, "InvalidFilterInQueryString", f"fakecloud's ARM fake does not "
                       f"implement the filter {text!r}")
    return [r for r in resources if r.tags.get(found["key"]) == found["value"]]


def _wait_s(done_s: float, now: float) -> int:
    return max(1, math.ceil(done_s - now))


def ok(body: dict[str, Any]) -> Response:
    return 200, {}, json.dumps(body)


def error(status: int, code: str, message: str) -> Response:
    return status, {"x-ms-failure-cause": "gateway"}, json.dumps(
        {"error": {"code": code, "message": message}})


def not_found(arm_id: str) -> ArmError:
    return ArmError(404, "ResourceNotFound", f"The Resource '{arm.parse_id(arm_id).type}/"
                    f"{arm.name_of(arm_id)}' under resource group '{arm.group_of(arm_id)}' "
                    "was not found.")

