"""A restore drill's operations, one rule each for every backend: the isolated network's
bodies, when an instance view is healthy, a guest check's Run Command input and what its
output means; and the ARM calls the `sim` backend sends for them (``Pause``: wait, as
the azure backend sleeps between reads of the instance view)."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import armid as arm
from fakecloud.region import Answer, ArmCall
from restore import ops
from restore.drills import TIMED_OUT, exit_code, guest_script
from restore.errors import CloudError

OUTPUT_SHOWN = 300  # characters of a failed check's output in its error


@dataclass(frozen=True, slots=True)
class Pause:
    """No call: the operation waits ``seconds`` (a poll's interval)."""

    seconds: float


def nsg_body(op: ops.CreateNsg) -> dict[str, Any]:
    return {"location": op.location, "tags": dict(op.tags), "properties": {"securityRules": [
        {"name": rule.name, "properties": {
            "protocol": "*", "sourcePortRange": "*", "destinationPortRange": "*",
            "sourceAddressPrefix": rule.remote if rule.direction == "Inbound" else "*",
            "destinationAddressPrefix": rule.remote if rule.direction == "Outbound" else "*",
            "access": rule.access, "priority": rule.priority, "direction": rule.direction}}
        for rule in op.rules]}}


def vnet_body(op: ops.CreateVnet) -> dict[str, Any]:
    return {"location": op.location, "tags": dict(op.tags), "properties": {
        "addressSpace": {"addressPrefixes": [op.address_prefix]},
        "subnets": [{"name": name, "properties": {
            "addressPrefix": prefix, **({"networkSecurityGroup": {"id": nsg}} if nsg else {})}}
            for name, prefix, nsg in op.subnets]}}


def health_problem(statuses: list[str], agent: list[str]) -> tuple[str, str] | None:
    """Why a VM is not healthy, from its instance view's status codes and its VM agent's
    display statuses: (error code, message), or None when it is."""
    if "ProvisioningState/succeeded" not in statuses:
        return "VmProvisioningFailed", f"the VM is not provisioned ({', '.join(statuses)})"
    if "PowerState/running" not in statuses:
        power = [s for s in statuses if s.startswith("PowerState/")]
        return "VmNotRunning", f"the VM is not running ({', '.join(power) or 'no power state'})"
    if "Ready" not in agent:
        return "VmAgentNotReady", f"the VM agent is not Ready ({', '.join(agent) or 'no status'})"
    return None


def unhealthy(problem: tuple[str, str], op: ops.WaitVmHealthy, waited_s: float) -> CloudError:
    code, message = problem
    return CloudError(code, f"{message} after {waited_s:g} s (the drill waits "
                      f"{op.timeout_s:g} s for its VM agent)")


def still_waiting(problem: tuple[str, str] | None, op: ops.WaitVmHealthy,
                  waited_s: float) -> bool:
    """Whether to read the instance view again: only the agent is missing, time is left."""
    return problem is not None and problem[0] == "VmAgentNotReady" and waited_s < op.timeout_s


def check_command(op: ops.RunGuestCheck) -> dict[str, Any]:
    """Run Command's input (RunCommandInput) for a guest check."""
    return {"commandId": "RunShellScript",
            "script": guest_script(op.check, op.script, op.timeout_s)}


def check_output(op: ops.RunGuestCheck, messages: list[str]) -> None:
    """Raise CloudError unless the check's script exited 0."""
    output = "\n".join(messages)
    code = exit_code(output)
    if code == 0:
        return
    shown = " ".join(output.split())[-OUTPUT_SHOWN:]
    if code is None or code == TIMED_OUT:
        raise CloudError("GuestCheckTimedOut", f"{op.check}: no exit within {op.timeout_s:g} s "
                         f"({shown or 'no output'})")
    raise CloudError("GuestCheckFailed", f"{op.check}: exit code {code} ({shown or 'no output'})")


Calls = Generator[ArmCall | Pause, Answer, Any]


def _wait_healthy(op: ops.WaitVmHealthy, subscription: str) -> Calls:
    waited = 0.0
    while True:
        answer = yield ArmCall("GET", arm.VIRTUAL_MACHINES, op.id, "instanceView")
        view = answer.result
        problem = health_problem([s["code"] for s in view["statuses"]],
                                 [s["displayStatus"] for s in view["vmAgent"]["statuses"]])
        if not still_waiting(problem, op, waited):
            break
        yield Pause(op.poll_s)
        waited += op.poll_s
    if problem is not None:
        raise unhealthy(problem, op, waited)


def _run_check(op: ops.RunGuestCheck, subscription: str) -> Calls:
    ran = yield ArmCall("POST", arm.VIRTUAL_MACHINES, op.id, "runCommand", check_command(op))
    check_output(op, [s.get("message") or "" for s in ran.result.output["value"]])


DRILL_CALLS = {ops.WaitVmHealthy: _wait_healthy, ops.RunGuestCheck: _run_check}
"""The calls of the drill's health checks."""
