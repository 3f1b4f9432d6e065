"""The `azure` backend: the engine's operations executed with the azure-mgmt-* SDK.

Each operation is one or a few SDK calls; long-running ones wait on the SDK's pollers.
Operations in flight run on their own threads, and the engine hears each outcome as it
comes. Azure's errors reach the engine as ``CloudError`` with ARM's code, so retries,
rollback and resume behave as in the simulation. With fakecloud's ``mock_azure`` and a
virtual clock, the same code is the `fake-arm` backend.
"""

from __future__ import annotations

import contextvars
import logging
import secrets
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol

from azure.core.exceptions import AzureError, HttpResponseError
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.core.pipeline.transport import HttpTransport, RequestsTransport
from azure.core.polling import LROPoller
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute import models as compute
from azure.mgmt.core.polling.arm_polling import ARMPolling
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network import models as network
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.resources import models as resources

import armid as arm
from datapath import delivery
from restore import ops
from restore.backends.agent_call import check_agent_output, run_command_input
from restore.backends.azure_drill import AzureDrill
from restore.backends.azure_pool import AzurePool
from restore.backends.azure_reads import AzureReads, error_code
from restore.backends.azure_replace import AzureReplace
from restore.backends.azure_signin import SignedIn, acts_in
from restore.backends.worker import WORKER_ADMIN, WORKER_IMAGE, WORKER_OS_DISK_SKU
from restore.errors import CloudError
from restore.ops import Operation

ARM_LOG = logging.getLogger(ops.ARM_LOGGER)


@dataclass
class Sending:
    """The operation whose thread sends the requests: its name, its request log, and the
    restore's clock."""

    operation: str
    calls: list[str]
    clock: Clock


_sending: contextvars.ContextVar[Sending | None] = contextvars.ContextVar(
    "sending", default=None)
_acting_clients: contextvars.ContextVar[AzureClients | None] = contextvars.ContextVar(
    "clients", default=None)


class Clock(Protocol):
    """Seconds since the restore began, and a way to wait. Tasks (operations in flight,
    and the driver) announce themselves: a virtual clock runs one at a time, in turn, and
    moves only when all of them wait."""

    now: float

    def sleep(self, seconds: float) -> None: ...
    def admit(self, task: Hashable) -> None: ...
    def enter(self, task: Hashable) -> None: ...
    def leave(self) -> None: ...


class WallClock:
    """Real time, for real Azure: tasks run at once, side by side. A resumed restore's
    clock goes on from ``start_s``, where the last session's stopped."""

    def __init__(self, start_s: float = 0.0) -> None:
        self._start = time.monotonic() - start_s

    @property
    def now(self) -> float:
        return time.monotonic() - self._start

    def sleep(self, seconds: float) -> None:
        """The SDK transport's own sleep, so whatever replaces that one (fakecloud's
        ``mock_azure`` sleeps in virtual time) replaces this one too."""
        if seconds > 0:
            HttpTransport.sleep(self, seconds)  # type: ignore[arg-type]

    def admit(self, task: Hashable) -> None:
        pass

    def enter(self, task: Hashable) -> None:
        pass

    def leave(self) -> None:
        pass


class ClockTransport(RequestsTransport):
    """The SDK's HTTP transport, sleeping (pollers, retries) on the restore's clock."""

    def __init__(self, clock: Clock, **kwargs: Any):
        super().__init__(**kwargs)
        self.clock = clock

    def sleep(self, duration: float) -> None:
        self.clock.sleep(duration)


class RequestLogPolicy(SansIOHTTPPolicy):
    """Keeps 'METHOD path -> status' per operation."""

    def on_response(self, request: Any, response: Any) -> None:
        log_call(request.http_request, response.http_response.status_code)


def log_call(http: Any, status: int) -> None:
    """'METHOD path status' in the log of the operation sending it (the query, which may
    hold a SAS, left out), and on ``ARM_LOG``."""
    sending = _sending.get()
    path = http.url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
    line = f"{http.method} /{path} {status}"
    if sending is not None:
        sending.calls.append(line)
    if ARM_LOG.isEnabledFor(logging.INFO):
        ARM_LOG.info(line, extra={"operation": sending.operation if sending else None,
                                  "at_s": sending.clock.now if sending else None})


class TaskPolling(ARMPolling):
    """ARM's long-running-operation polling, run in the context of the operation that
    started it (the SDK polls on a thread of its own, which would lose the request log
    and the clock's task)."""

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        self._context = contextvars.copy_context()
        super().initialize(*args, **kwargs)

    def run(self) -> None:
        self._context.run(super().run)


class Repository(Protocol):
    """Where the restore points are: rehydrates archived ones, and tells the worker's
    agent where to read (a container URL with a read SAS)."""

    agent_store: str
    rehydrates: bool  # can bring archived restore points back

    def rehydrate(self, restore_point: str, priority: str, size_gb: float) -> None: ...


@dataclass
class AzureClients:
    """The three management clients of one subscription, sharing a transport; ``of``
    gives those of another subscription, signed in with the same credential."""

    compute: ComputeManagementClient
    network: NetworkManagementClient
    resource: ResourceManagementClient
    subscription: str
    polling_interval: float = 30.0  # seconds between polls when ARM gives no Retry-After
    signed_in: SignedIn | None = field(default=None, repr=False, compare=False)
    clock: Clock | None = field(default=None, repr=False, compare=False)  # polls sleep on it

    @classmethod
    def connect(cls, credential: Any, subscription: str, clock: Clock,
                polling_interval: float = 30.0, **kwargs: Any) -> AzureClients:
        """The clients of ``subscription``; those of the others are made as they are
        first used, with the same ``credential`` (one sign-in)."""
        def clients_of(sub: str) -> AzureClients:
            options = {"transport": ClockTransport(clock), "polling_interval": polling_interval,
                       "per_retry_policies": [RequestLogPolicy()], **kwargs}
            return cls(ComputeManagementClient(credential, sub, **options),
                       NetworkManagementClient(credential, sub, **options),
                       ResourceManagementClient(credential, sub, **options),
                       sub, polling_interval, signed_in, clock)

        signed_in = SignedIn(clients_of)
        return signed_in.clients(subscription)

    def of(self, subscription: str) -> AzureClients:
        """The clients of ``subscription`` (these, for their own)."""
        if subscription.lower() == self.subscription.lower() or self.signed_in is None:
            return self
        return self.signed_in.clients(subscription)


def cloud_error(exc: AzureError) -> CloudError:
    """ARM's error code and message, whatever layer of the SDK raised them."""
    if isinstance(exc, HttpResponseError):
        code = error_code(exc)
        message = exc.error.message if exc.error is not None and exc.error.message else None
        retry_after = None
        if exc.response is not None and exc.response.headers.get("Retry-After"):
            retry_after = float(exc.response.headers["Retry-After"])
        return CloudError(code or f"Http{exc.status_code}", message or exc.message,
                          exc.status_code, retry_after)
    return CloudError(type(exc).__name__, str(exc))


class AzureExecutor(AzurePool, AzureReplace, AzureDrill, AzureReads):
    """Executes one engine operation with the SDK; returns what the simulation returns
    (the resource id; for reads, what was found). ``now``: the clock the worker pool's
    keep-warm times are written in (default: Unix time)."""

    def __init__(self, clients: AzureClients, repository: Repository | None = None,
                 now: Callable[[], float] | None = None):
        self.home, self.repository = clients, repository
        self.now = now or time.time
        self._handlers: dict[type, Callable[[Any], Any]] = {
            **self.pool_handlers(),
            **self.replace_handlers(),
            **self.drill_handlers(),
            ops.CreateResourceGroup: self.create_resource_group,
            ops.DeleteResourceGroup: self.delete_resource_group,
            ops.CreateDisk: self.create_disk,
            ops.DeleteDisk: self.delete_disk,
            ops.CreateSnapshot: self.create_snapshot,
            ops.DeleteSnapshot: self.delete_snapshot,
            ops.CreateNic: self.create_nic,
            ops.DeleteNic: self.delete_nic,
            ops.CreatePublicIp: self.create_public_ip,
            ops.DeletePublicIp: self.delete_public_ip,
            ops.CreateVm: self.create_vm,
            ops.AttachDisks: self.attach_disks,
            ops.DetachDisks: self.detach_disks,
            ops.DeallocateVm: self.deallocate_vm,
            ops.DeleteVm: self.delete_vm,
            ops.MoveResources: self.move_resources,
            ops.RehydrateRestorePoint: self.rehydrate,
            ops.WriteDiskData: self.write_disk_data,
            ops.FindResources: self.find_resources,
            ops.CheckExists: self.check_exists,
            ops.CheckNamesFree: self.check_names_free,
            ops.CheckQuota: self.check_quota,
        }

    @property
    def clients(self) -> AzureClients:
        """The clients of the subscription the operation being executed acts in (else the
        home subscription's, those given)."""
        return _acting_clients.get() or self.home

    def execute(self, op: Operation, recheck: bool = False) -> Any:
        """Run ``op`` with the clients of the subscription it acts in; with ``recheck``
        (its step ran before an interruption) look first and skip it when its effect is
        there. Raises CloudError."""
        subscription = acts_in(op)
        acting = _acting_clients.set(self.home.of(subscription) if subscription else None)
        try:
            if recheck and self.already_done(op):
                return op.resource
            result = self._handlers[type(op)](op)
        except AzureError as exc:
            raise cloud_error(exc) from None
        finally:
            _acting_clients.reset(acting)
        return op.resource if result is None else result

    def _wait(self, begin: Callable[..., LROPoller[Any]], arm_id: str, *args: Any) -> Any:
        """Start a long-running operation on the resource (a resource group: on the
        group) and wait for its end."""
        parsed = arm.parse_id(arm_id)
        names = (parsed.name,) if parsed.type == arm.RESOURCE_GROUPS else (
            parsed.resource_group, parsed.name)
        return begin(*names, *args, polling=TaskPolling(self.clients.polling_interval)).result()

    # -- resource groups and moves -----------------------------------------------------

    def create_resource_group(self, op: ops.CreateResourceGroup) -> None:
        self.clients.resource.resource_groups.create_or_update(
            arm.name_of(op.id), resources.ResourceGroup(location=op.location, tags=dict(op.tags)))

    def delete_resource_group(self, op: ops.DeleteResourceGroup) -> None:
        self._wait(self.clients.resource.resource_groups.begin_delete, op.id)

    def move_resources(self, op: ops.MoveResources) -> None:
        info = resources.ResourcesMoveInfo(resources=list(op.resources),
                                           target_resource_group=op.target_group)
        self._wait(self.clients.resource.resources.begin_validate_move_resources,
                   op.source_group, info)
        self._wait(self.clients.resource.resources.begin_move_resources, op.source_group, info)

    # -- disks and snapshots -----------------------------------------------------------

    def create_disk(self, op: ops.CreateDisk) -> None:
        creation = (compute.CreationData(create_option="Copy",
                                         source_resource_id=op.source_snapshot)
                    if op.source_snapshot else compute.CreationData(create_option="Empty"))
        encryption = compute.Encryption(
            type="EncryptionAtRestWithCustomerKey", disk_encryption_set_id=op.encryption_set
        ) if op.encryption_set else None
        disk = compute.Disk(location=op.location, tags=dict(op.tags),
                            sku=compute.DiskSku(name=op.sku), disk_size_gb=op.size_gb,
                            creation_data=creation, zones=[op.zone] if op.zone else None,
                            encryption=encryption)
        self._wait(self.clients.compute.disks.begin_create_or_update, op.id, disk)

    def delete_disk(self, op: ops.DeleteDisk) -> None:
        self._wait(self.clients.compute.disks.begin_delete, op.id)

    def create_snapshot(self, op: ops.CreateSnapshot) -> None:
        snapshot = compute.Snapshot(location=op.location, tags=dict(op.tags),
                                    creation_data=compute.CreationData(
                                        create_option="Copy", source_resource_id=op.source))
        self._wait(self.clients.compute.snapshots.begin_create_or_update, op.id, snapshot)

    def delete_snapshot(self, op: ops.DeleteSnapshot) -> None:
        self._wait(self.clients.compute.snapshots.begin_delete, op.id)

    # -- network interfaces and VMs ----------------------------------------------------

    def create_nic(self, op: ops.CreateNic) -> None:
        ip = network.PublicIPAddress(id=op.public_ip) if op.public_ip else None
        nic = network.NetworkInterface(location=op.location, tags=dict(op.tags),
                                       ip_configurations=[network.NetworkInterfaceIPConfiguration(
                                           name="ipconfig1", subnet=network.Subnet(id=op.subnet),
                                           private_ip_allocation_method="Dynamic",
                                           public_ip_address=ip)],
                                       network_security_group=network.NetworkSecurityGroup(
                                           id=op.nsg) if op.nsg else None,
                                       enable_accelerated_networking=(
                                           True if op.accelerated_networking else None))
        self._wait(self.clients.network.network_interfaces.begin_create_or_update, op.id, nic)

    def create_public_ip(self, op: ops.CreatePublicIp) -> None:
        ip = network.PublicIPAddress(location=op.location, tags=dict(op.tags),
                                     sku=network.PublicIPAddressSku(name=op.sku),
                                     public_ip_allocation_method=op.allocation)
        self._wait(self.clients.network.public_ip_addresses.begin_create_or_update, op.id, ip)

    def delete_public_ip(self, op: ops.DeletePublicIp) -> None:
        self._wait(self.clients.network.public_ip_addresses.begin_delete, op.id)

    def delete_nic(self, op: ops.DeleteNic) -> None:
        self._wait(self.clients.network.network_interfaces.begin_delete, op.id)

    def create_vm(self, op: ops.CreateVm) -> None:
        """A worker boots a fresh OS disk from the worker image, with a one-time admin
        password nobody keeps and the restore agent in its cloud-init custom data; a
        restored VM boots its own OS disk."""
        parsed = arm.parse_id(op.id)
        os_profile = None
        if op.os_disk_from_image:
            os_disk = compute.OSDisk(name=arm.name_of(op.os_disk), create_option="FromImage",
                                     managed_disk=compute.ManagedDiskParameters(
                                         storage_account_type=WORKER_OS_DISK_SKU),
                                     delete_option="Delete" if op.delete_with_vm else None)
            storage = compute.StorageProfile(
                image_reference=compute.ImageReference(**WORKER_IMAGE), os_disk=os_disk)
            os_profile = compute.OSProfile(computer_name=parsed.name[:15],
                                           admin_username=WORKER_ADMIN,
                                           admin_password=secrets.token_urlsafe(24) + "!aA1",
                                           custom_data=delivery.custom_data())
        else:
            source = self.get(op.os_disk)
            os_disk = compute.OSDisk(create_option="Attach", os_type=getattr(
                source, "os_type", None) or "Linux", managed_disk=compute.ManagedDiskParameters(
                    id=op.os_disk))
            storage = compute.StorageProfile(os_disk=os_disk)
        vm = compute.VirtualMachine(
            location=op.location, tags=dict(op.tags), zones=[op.zone] if op.zone else None,
            availability_set=compute.SubResource(id=op.availability_set)
            if op.availability_set else None, security_profile=_security_profile(op.security),
            hardware_profile=compute.HardwareProfile(vm_size=op.size), storage_profile=storage,
            os_profile=os_profile, network_profile=compute.NetworkProfile(network_interfaces=[
                compute.NetworkInterfaceReference(
                    id=op.nic, primary=True,
                    delete_option="Delete" if op.delete_with_vm else None)]))
        self._wait(self.clients.compute.virtual_machines.begin_create_or_update, op.id, vm)

    def attach_disks(self, op: ops.AttachDisks) -> None:
        """All the disks in one VM update."""
        self._update_data_disks(op.vm, lambda disks: disks + [
            compute.DataDisk(lun=lun, create_option="Attach",
                             managed_disk=compute.ManagedDiskParameters(id=disk))
            for lun, disk in op.disks])

    def detach_disks(self, op: ops.DetachDisks) -> None:
        leaving = {disk.lower() for disk in op.disks}
        self._update_data_disks(op.vm, lambda disks: [
            d for d in disks if d.managed_disk.id.lower() not in leaving])

    def _update_data_disks(self, vm_id: str, change: Callable[[list[Any]], list[Any]],
                           os_disk: str | None = None) -> None:
        """GET the VM, PUT it back with its data disks changed (one VM update); with
        ``os_disk``, its OS disk swapped for that managed disk too (named and referenced
        as the new disk, as Set-AzVMOSDisk -ManagedDiskId -Name does)."""
        parsed = arm.parse_id(vm_id)
        machines = self.clients.compute.virtual_machines
        vm = machines.get(parsed.resource_group, parsed.name)
        storage = vm.storage_profile
        if os_disk is not None:
            storage.os_disk.name = arm.name_of(os_disk)
            storage.os_disk.create_option = "Attach"
            storage.os_disk.managed_disk = compute.ManagedDiskParameters(id=os_disk)
        storage.data_disks = change(list(storage.data_disks or []))
        self._wait(machines.begin_create_or_update, vm_id, vm)

    def deallocate_vm(self, op: ops.DeallocateVm) -> None:
        self._wait(self.clients.compute.virtual_machines.begin_deallocate, op.id)

    def delete_vm(self, op: ops.DeleteVm) -> None:
        self._wait(self.clients.compute.virtual_machines.begin_delete, op.id)

    # -- the restore point and the worker's agent --------------------------------------

    def rehydrate(self, op: ops.RehydrateRestorePoint) -> None:
        if self.repository is None:
            raise CloudError("RepositoryNotConfigured", f"restore point {op.restore_point!r} "
                             "is archived and no repository was given to rehydrate it")
        self.repository.rehydrate(op.restore_point, op.priority, op.size_gb)

    def write_disk_data(self, op: ops.WriteDiskData) -> None:
        """Start the restore agent on the worker through Run Command; it writes each
        attached disk from the restore point and verifies it."""
        parsed = arm.parse_id(op.worker)
        vm = self.clients.compute.virtual_machines.get(parsed.resource_group, parsed.name)
        luns = {d.managed_disk.id.lower(): d.lun for d in vm.storage_profile.data_disks or []}
        if self.repository is None:
            raise CloudError("RepositoryNotConfigured", "the worker's agent needs a "
                             f"repository to read restore point {op.restore_point!r} from")
        command = compute.RunCommandInput(
            run_command_input(op, luns, self.repository.agent_store))
        result = self._wait(self.clients.compute.virtual_machines.begin_run_command,
                            op.worker, command)
        statuses = result.value if result is not None and result.value else []
        check_agent_output([status.message or "" for status in statuses],
                           [w.disk for w in op.writes])


def _security_profile(security: ops.SecurityProfile | None) -> compute.SecurityProfile | None:
    if security is None:
        return None
    return compute.SecurityProfile(security_type=security.type, uefi_settings=compute.UefiSettings(
        secure_boot_enabled=security.secure_boot, v_tpm_enabled=security.vtpm))
