"""Real restores: the `azure` backend in a subscription, on the wall clock.

The source VM is read from Azure (its size, disks, network), the plan is built from what
is there, the preflight checks run read-only, and only then, once confirmed, the same
engine and SDK executor as `fake-arm` restore it. The report's inventory is read back
from Azure. Under fakecloud's ``mock_azure`` the same code runs against the ARM fake.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError

import armid as arm
from restore import ops
from restore.backends.azure import (
    AzureClients,
    AzureExecutor,
    Repository,
    WallClock,
    cloud_error,
)
from restore.backends.azure_driver import Driver
from restore.backends.azure_reads import power_state
from restore.backends.journal import Journal, JournalError, engine_session
from restore.backends.profiles import load_profile
from restore.backends.rehydration import ContainerRepository, RehydrationProgress
from restore.engine import Engine, Ticket, dry_run
from restore.errors import AzureAccessError, ScenarioError
from restore.plan import RESTORE_ID_TAG, Plan, build_plan
from restore.report import Report, Resource, source_snapshot
from restore.scenario import DiskSku, Scenario, parse_scenario
from restore.steps import DESTRUCTIVE_STEPS

BACKEND = "azure"
DEFAULT_POLLING_INTERVAL_S = 30.0  # between LRO polls when ARM sends no Retry-After


@dataclass(frozen=True)
class LiveRestore:
    """A restore ready to run in a subscription: the plan built from the source as Azure
    has it, and the source's state before anything changed."""

    scenario: Scenario
    plan: Plan
    clients: AzureClients
    source_before: list[Resource] | None
    repository: Repository | None = None  # rehydrates archived restore points

    @property
    def creates(self) -> list[str]:
        """Ids the restore creates and keeps or removes again (workers, staging group)."""
        return sorted({t.op.resource for t in dry_run(self.plan)
                       if t.op.kind.startswith("create")}, key=str.lower)

    @property
    def removes_source(self) -> bool:
        return any(step.name in DESTRUCTIVE_STEPS for step in self.plan.steps)

    @property
    def deletes(self) -> list[str]:
        """Ids the restore deletes that it did not create: the source VM and its disks."""
        source = self.plan.context.source
        ours = {i.lower() for i in (source.vm, *source.disks)}
        return sorted({t.op.resource for t in dry_run(self.plan)
                       if t.op.kind.startswith("delete") and t.op.resource.lower() in ours},
                      key=str.lower)


def connect(subscription: str, credential: Any = None,
            polling_interval: float = DEFAULT_POLLING_INTERVAL_S) -> AzureClients:
    """The SDK clients of ``subscription``, signed in with ``credential`` (default: the
    environment's, through DefaultAzureCredential)."""
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    return AzureClients.connect(credential, subscription, WallClock(), polling_interval)


def prepare(scenario: Scenario, clients: AzureClients, source: str = "<scenario>",
            restore_id: str | None = None, repository: Repository | None = None) -> LiveRestore:
    """Read the source VM from Azure, plan its restore and run the preflight checks; all
    reads. Raises ScenarioError when the source is not there or not restorable, and
    CloudError when a preflight check fails."""
    if scenario.restore_point.kind == "backup" and repository is None:
        raise ScenarioError(source, "restore_point", "an image-level backup is restored from "
                            "its repository: give it (restorelab restore --repository URL)")
    if scenario.restore_point.tier == "archive" and not repository.rehydrates:
        raise ScenarioError(source, "restore_point.tier", "an archived restore point needs "
                            "a repository that rehydrates it, and this one cannot")
    executor = AzureExecutor(clients)
    found = _azure_calls(lambda: discover(scenario, executor, source))
    sizing = load_profile(found.region_profile).sizing
    plan = build_plan(found, sizing, restore_id or new_restore_id(), source)
    _azure_calls(lambda: _preflight(plan, executor))
    before = _azure_calls(lambda: source_snapshot(
        plan.context, AzureInventory(executor, plan.context.target_subscription).lookup))
    return LiveRestore(found, plan, clients, before, repository)


def new_restore_id() -> str:
    return uuid.uuid4().hex[:8]


def discover(scenario: Scenario, executor: AzureExecutor, source: str) -> Scenario:
    """``scenario`` with its source VM as Azure has it: size, zone, disks, network."""
    src, sub = scenario.source_vm, executor.clients.subscription
    vm_id = arm.resource_id(sub, src.resource_group, arm.VIRTUAL_MACHINES, src.name)
    vm = executor.get(vm_id)
    if vm is None:
        raise ScenarioError(source, "source_vm", f"no VM '{src.name}' in resource group "
                            f"'{src.resource_group}' of subscription {sub}")
    storage = vm.storage_profile
    disks = [(None, storage.os_disk.managed_disk.id)] + [
        (d.lun, d.managed_disk.id) for d in sorted(storage.data_disks or [], key=_lun)]
    nic_id = next(n.id for n in vm.network_profile.network_interfaces
                  if n.primary or len(vm.network_profile.network_interfaces) == 1)
    for arm_id in (nic_id, *(disk for _, disk in disks)):
        if arm.group_of(arm_id).lower() != src.resource_group.lower():
            raise ScenarioError(source, "source_vm", f"'{arm_id}' is not in the VM's resource "
                                f"group '{src.resource_group}'; restorelab restores VMs whose "
                                "disks and NIC are in the VM's group")
    specs = [_disk_spec(executor, lun, disk_id, source) for lun, disk_id in disks]
    nic = executor.get(nic_id)
    subnet_id = nic.ip_configurations[0].subnet.id
    vnet_id, _, subnet = subnet_id.rpartition("/subnets/")
    raw = scenario.model_dump(mode="json")
    raw["subscription"] = sub
    raw["source_vm"] = {
        "name": vm.name, "resource_group": src.resource_group, "location": vm.location,
        "size": vm.hardware_profile.vm_size, "zone": (vm.zones or [None])[0],
        "os_disk": specs[0], "data_disks": specs[1:],
        "network": {"vnet": arm.name_of(vnet_id), "subnet": subnet,
                    "resource_group": arm.group_of(vnet_id), "nic": arm.name_of(nic_id)},
        **_security_of(vm), **({"accelerated_networking": True}
                               if nic.enable_accelerated_networking else {}),
        **({"availability_set": vm.availability_set.id} if vm.availability_set else {})}
    return parse_scenario(raw, source=source)


def _security_of(vm: Any) -> dict[str, Any]:
    """The VM's security type and UEFI settings, when it is not a Standard VM."""
    profile = vm.security_profile
    kind = profile.security_type if profile else None
    if not kind or kind == "Standard":
        return {}
    uefi = profile.uefi_settings
    settings = {"secure_boot": uefi.secure_boot_enabled, "vtpm": uefi.v_tpm_enabled} \
        if uefi else {}
    return {"security": {"type": kind, **{k: v for k, v in settings.items() if v is not None}}}


def _lun(data_disk: Any) -> int:
    return data_disk.lun


def _disk_spec(executor: AzureExecutor, lun: int | None, disk_id: str,
               source: str) -> dict[str, Any]:
    disk = executor.get(disk_id)
    sku = disk.sku.name if disk.sku else DiskSku.PREMIUM_LRS.value
    if sku not in {s.value for s in DiskSku}:
        raise ScenarioError(source, "source_vm", f"disk '{disk.name}' is {sku}, which "
                            f"restorelab does not restore (it knows {_skus()})")
    spec: dict[str, Any] = {"size_gb": disk.disk_size_gb, "sku": sku, "name": disk.name}
    des = disk.encryption.disk_encryption_set_id if disk.encryption else None
    if des:
        spec["encryption_set"] = des
    return spec if lun is None else {**spec, "lun": lun}


def _skus() -> str:
    return ", ".join(s.value for s in DiskSku)


def _preflight(plan: Plan, executor: AzureExecutor) -> None:
    """The plan's preflight step, run here before anything is confirmed (all reads)."""
    for ticket in dry_run(plan):
        if ticket.step == "preflight":
            executor.execute(ticket.op)


def _azure_calls(action: Callable[[], Any]) -> Any:
    """Run reads; Azure's answers become CloudError, sign-in failures AzureAccessError."""
    try:
        return action()
    except ClientAuthenticationError as exc:
        raise AzureAccessError(f"cannot sign in to Azure: {_first_line(exc)} (sign in with "
                               "`az login`, a managed identity or AZURE_CLIENT_ID/"
                               "AZURE_TENANT_ID/AZURE_CLIENT_SECRET)") from None
    except HttpResponseError as exc:
        raise cloud_error(exc) from None
    except AzureError as exc:
        raise AzureAccessError(f"cannot reach Azure: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def run(live: LiveRestore, journal: str | Path | None = None,
        progress: Callable[[Ticket], None] = lambda ticket: None,
        resuming: Journal | None = None,
        rehydrating: Callable[[RehydrationProgress], None] | None = None) -> Report:
    """Restore for real. With ``journal`` (a new file) the progress is kept there, so a
    restore stopped midway (Ctrl-C, a lost machine) is finished by ``resume``.
    ``rehydrating`` hears an archived restore point's rehydration as it goes."""
    if rehydrating is not None and isinstance(live.repository, ContainerRepository):
        live.repository.listeners.append(rehydrating)
    if resuming is not None:
        return _run(live, resuming, progress)
    if journal is None:
        return _run(live, None, progress)
    with Journal(journal, create=True) as book:
        book.set_meta(scenario=live.scenario.model_dump(mode="json"), backend=BACKEND,
                      seed=live.scenario.seed, restore_id=live.plan.context.restore_id,
                      source_before=live.source_before, status="running")
        return _run(live, book, progress)


def _run(live: LiveRestore, book: Journal | None, progress: Callable[[Ticket], None]) -> Report:
    engine = Engine(live.plan, on_step=book.record_step if book else None)
    clock = WallClock(book.meta("clock_s") or 0.0) if book is not None else WallClock()
    if book is not None:
        _resume_from(engine, book, clock, _rehydration_of(live.repository))

    def record(ticket: Ticket) -> None:
        if book is not None:
            book.record_operation(ticket)
        progress(ticket)

    executor = AzureExecutor(live.clients, live.repository)
    driver = Driver(engine, executor, clock, record)
    try:
        driver.run()
    finally:  # stopped midway too: the journal keeps where the rehydration stood
        if book is not None:
            book.save()
    inventory = AzureInventory(executor, live.plan.context.target_subscription)
    report = _azure_calls(lambda: Report(engine, BACKEND, live.scenario.seed, driver.end_s,
                                         live.source_before, inventory))
    report.arm_requests = driver.calls
    return report


def _rehydration_of(repository: Repository | None) -> Callable[[], dict[str, Any] | None]:
    """Where the restore point's rehydration stood when last looked at, for the journal
    (Azure keeps its state on the blobs: a resume reads it there)."""
    if not isinstance(repository, ContainerRepository):
        return lambda: None
    return lambda: repository.progress.to_dict() if repository.progress else None


def _resume_from(engine: Engine, book: Journal, clock: WallClock,
                 rehydration: Callable[[], dict[str, Any] | None]) -> None:
    """Pick up where the journal stopped, and keep the engine's progress and the clock
    (which goes on from the last session's) with each of its records from now on: a
    restore stopped during its recovery resumes the recovery, and every session's steps
    and operations are on one timeline. The rehydration's progress is kept with them."""
    first_ticket, rehydrated_before = book.meta("next_ticket") or 0, book.meta("rehydration")
    if book.steps():
        engine.resume(*book.stopped_at(), book.meta("error"), first_ticket)

    book.follow(lambda: {**engine_session(engine, lambda: clock.now, first_ticket, "running"),
                         "rehydration": rehydration() or rehydrated_before})


def resume(journal: str | Path, credential: Any = None,
           polling_interval: float = DEFAULT_POLLING_INTERVAL_S,
           progress: Callable[[Ticket], None] = lambda ticket: None,
           repository: str | Repository | None = None,
           rehydrating: Callable[[RehydrationProgress], None] | None = None) -> Report:
    """Finish a real restore kept in ``journal`` (stopped midway): the steps that ended
    stay done, the others run again, checking what exists before acting. ``repository``
    is the restore points' container URL (with its SAS), or a Repository; ``rehydrating``
    hears the rehydration of an archived restore point as it goes on."""
    with Journal(journal, create=False) as book:
        if book.meta("status") not in ("running", "interrupted"):
            raise JournalError(f"{journal}: nothing to resume: the restore ended "
                               f"{book.meta('status')}")
        scenario = parse_scenario(book.meta("scenario"), source=str(journal))
        clients = connect(scenario.subscription, credential, polling_interval)
        plan = build_plan(scenario, load_profile(scenario.region_profile).sizing,
                          book.meta("restore_id"), str(journal))
        live = LiveRestore(scenario, plan, clients, book.meta("source_before"),
                           ContainerRepository(repository) if isinstance(repository, str)
                           else repository)
        report = run(live, progress=progress, resuming=book, rehydrating=rehydrating)
        report.earlier_operations = book.earlier_operations()
        return report


class AzureInventory:
    """The report's view of Azure after the restore, read with the SDK; what the restore
    created is in ``subscription`` (its target's)."""

    def __init__(self, executor: AzureExecutor, subscription: str):
        self.executor, self.subscription = executor, subscription
        self._seen: dict[str, Resource] = {}

    def lookup(self, arm_id: str) -> Resource | None:
        found = self.executor.get(arm_id)
        if found is None:
            return None
        resource = _as_report_resource(arm_id, found)
        self._seen[resource["id"].lower()] = resource
        return resource

    def tagged(self, key: str, value: str) -> list[str]:
        return [arm_id for _, arm_id in self.executor.find_resources(
            ops.FindResources(key, value, self.subscription))]

    def export(self) -> list[Resource]:
        """What the restore left (tagged with its id) and what the report looked at."""
        restore_id = next((r["tags"].get(RESTORE_ID_TAG) for r in self._seen.values()
                           if RESTORE_ID_TAG in r["tags"]), None)
        if restore_id is not None:
            for arm_id in self.tagged(RESTORE_ID_TAG, restore_id):
                if arm_id.lower() not in self._seen:
                    self.lookup(arm_id)
        return [self._seen[k] for k in sorted(self._seen)]


def _as_report_resource(arm_id: str, found: Any) -> Resource:
    parsed = arm.parse_id(found.id or arm_id)
    resource = {"type": parsed.type, "id": found.id, "name": found.name,
                "resource_group": parsed.resource_group if parsed.type != arm.RESOURCE_GROUPS
                else found.name, "location": found.location, "tags": dict(found.tags or {}),
                "properties": {}}
    zone = (getattr(found, "zones", None) or [None])[0]
    if parsed.type == arm.VIRTUAL_MACHINES:
        storage = found.storage_profile
        resource["properties"] = {
            "vmSize": found.hardware_profile.vm_size,
            "networkInterface": found.network_profile.network_interfaces[0].id,
            "osDisk": storage.os_disk.managed_disk.id,
            "dataDisks": [{"lun": d.lun, "id": d.managed_disk.id}
                          for d in sorted(storage.data_disks or [], key=_lun)],
            "zone": zone, "powerState": power_state(found)}
    elif parsed.type == arm.DISKS:
        resource["properties"] = {"diskSizeGB": found.disk_size_gb, "sku": found.sku.name,
                                  "zone": zone, "managedBy": found.managed_by,
                                  "diskState": found.disk_state}
    return resource

