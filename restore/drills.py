"""Restore drills (``target.mode: drill``): the VM restored into a network of its own, its
health checked, everything removed. The drill's network, its health checks as guest
scripts, and the drill's answer read from the engine's records.

The drill's group holds all it makes: a virtual network (no peering) with a subnet for
the restored VM, closed to the internet both ways by a network security group, and one
for the workers, which read the repository. Run Command reaches the VM through its VM
agent, over the platform's channel, which the security group does not close.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import armid as arm
from restore.ops import RunGuestCheck, SecurityRule

if TYPE_CHECKING:
    from restore.engine import StepRun, Ticket
    from restore.scenario import Scenario

DRILL_VNET, DRILL_NSG = "restorelab-drill-vnet", "restorelab-drill-nsg"
ADDRESS_SPACE = "10.250.0.0/24"
VM_SUBNET, WORKER_SUBNET = ("restored", "10.250.0.0/25"), ("workers", "10.250.0.128/25")
ISOLATION = (SecurityRule("deny-internet-in", "Inbound", "Deny", 100, "Internet"),
             SecurityRule("deny-internet-out", "Outbound", "Deny", 100, "Internet"))
"""The drill subnet's rules: nothing from or to the internet."""
POLL_S = 15.0  # between reads of the VM's instance view while its agent is not Ready
CHECK_MARK = "# restorelab-drill-check:"
EXIT_MARK = "restorelab-exit-code:"
TIMED_OUT = 124  # timeout(1)'s exit code for a command it stopped
VM_CHECKS = ("provisioning", "power_state", "vm_agent")
"""What WaitVmHealthy checks, in order; its error code names the first that failed."""
VM_CHECK_ERRORS = {"VmProvisioningFailed": "provisioning", "VmNotRunning": "power_state",
                   "VmAgentNotReady": "vm_agent"}


@dataclass(frozen=True, slots=True)
class DrillPlan:
    """The drill's group and network, and the health checks with their time limit."""

    group: str
    vnet: str
    nsg: str
    vm_subnet: str
    worker_subnet: str
    timeout_s: float
    data_luns: tuple[int, ...]  # the restored data disks, to be found mounted
    script: str | None  # the user's own check
    rto_s: float | None


def drill_plan(subscription: str, group: str, timeout_s: float, data_luns: tuple[int, ...],
               script: str | None, rto_s: float | None) -> DrillPlan:
    vnet = arm.resource_id(subscription, group, arm.VIRTUAL_NETWORKS, DRILL_VNET)
    return DrillPlan(
        group=arm.resource_group_id(subscription, group), vnet=vnet,
        nsg=arm.resource_id(subscription, group, arm.NETWORK_SECURITY_GROUPS, DRILL_NSG),
        vm_subnet=arm.subnet_id(subscription, group, DRILL_VNET, VM_SUBNET[0]),
        worker_subnet=arm.subnet_id(subscription, group, DRILL_VNET, WORKER_SUBNET[0]),
        timeout_s=timeout_s, data_luns=data_luns, script=script, rto_s=rto_s)


def mounts_script(luns: tuple[int, ...]) -> str:
    """Each restored data disk (by its LUN's udev link) has a mounted file system."""
    return "\n".join([
        f"for lun in {' '.join(map(str, luns))}; do",
        '  dev=$(readlink -f "/dev/disk/azure/scsi1/lun$lun") || { echo "LUN $lun: no disk"; '
        "exit 1; }",
        '  lsblk -nro MOUNTPOINT "$dev" | grep -q . || { echo "LUN $lun: not mounted"; exit 1; }',
        "done"])


def guest_script(check: str, body: str, timeout_s: float) -> list[str]:
    """``body`` as Run Command's script lines: named, run under ``timeout``, its exit code
    printed last (Run Command reports output, not exit codes)."""
    return [f"{CHECK_MARK} {check}",
            f"timeout {int(timeout_s)}s bash -s <<'RESTORELAB_CHECK'", *body.splitlines(),
            "RESTORELAB_CHECK", f'echo "{EXIT_MARK} $?"']


def check_name(script: list[str]) -> str | None:
    """The drill check a Run Command script is, if it is one."""
    first = script[0] if script else ""
    return first[len(CHECK_MARK):].strip() if first.startswith(CHECK_MARK) else None


def exit_code(output: str) -> int | None:
    """The exit code a check printed (None: it printed none: it never ended)."""
    found = re.findall(rf"{EXIT_MARK} (\d+)", output)
    return int(found[-1]) if found else None


def drill_answer(steps: list[StepRun], operations: list[Ticket], plan: DrillPlan,
                 error: dict[str, Any] | None, left_behind: bool) -> dict[str, Any]:
    """The drill's report: each health check passed, failed or not run, the time from the
    restore's start to healthy (the drill's RTO) and whether it is within the target. A
    failed check's detail is the restore's ``error`` message. It passed when healthy in
    time, with nothing ``left_behind``."""
    names = [*VM_CHECKS, *(["disks_mounted"] if plan.data_luns else []),
             *(["script"] if plan.script else [])]
    checks = {name: _check(name, "not run") for name in names}
    for ticket in (t for t in operations if t.step == "check_health"):
        found = [ticket.op.check] if isinstance(ticket.op, RunGuestCheck) else list(VM_CHECKS)
        if ticket.status == "succeeded":
            checks.update({name: _check(name, "passed") for name in found})
        elif ticket.status == "failed":
            failing = VM_CHECK_ERRORS.get(ticket.error_code or "", found[0])
            checks.update({name: _check(name, "passed") for name in found[:found.index(failing)]})
            said = error["message"] if error and error.get("step") == "check_health" else None
            checks[failing] = _check(failing, "failed", said or ticket.error_code)
    health = next((s for s in steps if s.name == "check_health"), None)
    healthy = health is not None and health.status == "succeeded"
    to_healthy = round(health.end_s, 3) if healthy and health.end_s is not None else None
    met = None if plan.rto_s is None or to_healthy is None else to_healthy <= plan.rto_s
    return {"passed": healthy and met is not False and not left_behind,
            "checks": list(checks.values()), "time_to_healthy_s": to_healthy,
            "rto_s": plan.rto_s, "rto_met": met}


def _check(name: str, status: str, detail: str | None = None) -> dict[str, Any]:
    return {"check": name, "status": status, "detail": detail}


DRILL_KEPT = ("region", "vm_name", "vm_size", "disk_sku", "zone", "tags", "subscription",
              "encryption_set", "security_type")
"""A new-location target's settings a drill keeps (its group and network are its own)."""


def as_drill(scenario: Scenario, rto_s: float | None = None) -> Scenario:
    """``scenario`` as a drill: its VM restored with ``target.mode: drill`` (a new
    location's settings kept, but its group and network); a fleet's VM alone; ``rto_s``
    overrides the scenario's RTO."""
    from restore.scenario import parse_scenario

    raw = scenario.model_dump(mode="json", exclude={"fleet"})
    target = raw["target"]
    kept = {k: target[k] for k in DRILL_KEPT if k in target} if not (
        scenario.is_original_location) else {}
    raw["target"] = {**kept, "location": "new", "mode": "drill"}
    if rto_s is not None:
        raw["rto"] = rto_s
    return parse_scenario(raw, source=scenario.name)
