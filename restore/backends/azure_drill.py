"""The azure backend's operations of a restore drill: the isolated network's security
group and virtual network, the VM's instance view read until it is healthy, a guest
check through Run Command (the rules are ``drill_calls``', shared with `sim`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from azure.mgmt.compute import models as compute

import armid as arm
from restore import ops
from restore.backends.drill_calls import (
    check_command,
    check_output,
    health_problem,
    nsg_body,
    still_waiting,
    unhealthy,
    vnet_body,
)

if TYPE_CHECKING:
    from azure.core.polling import LROPoller

    from restore.backends.azure import AzureClients


class AzureDrill:
    """A drill's network and health checks, with the clients of the subscription acted in."""

    clients: AzureClients

    if TYPE_CHECKING:  # AzureExecutor's
        def _wait(self, begin: Callable[..., LROPoller[Any]], arm_id: str,
                  *args: Any) -> Any: ...

    def drill_handlers(self) -> dict[type, Callable[[Any], Any]]:
        return {ops.CreateNsg: self.create_nsg, ops.CreateVnet: self.create_vnet,
                ops.WaitVmHealthy: self.wait_vm_healthy, ops.RunGuestCheck: self.run_guest_check}

    def create_nsg(self, op: ops.CreateNsg) -> None:
        self._wait(self.clients.network.network_security_groups.begin_create_or_update, op.id,
                   nsg_body(op))

    def create_vnet(self, op: ops.CreateVnet) -> None:
        self._wait(self.clients.network.virtual_networks.begin_create_or_update, op.id,
                   vnet_body(op))

    def wait_vm_healthy(self, op: ops.WaitVmHealthy) -> None:
        """Read the instance view every ``poll_s`` until the VM is healthy or the time is up."""
        parsed, waited = arm.parse_id(op.id), 0.0
        while True:
            view = self.clients.compute.virtual_machines.instance_view(parsed.resource_group,
                                                                       parsed.name)
            agent = view.vm_agent.statuses if view.vm_agent and view.vm_agent.statuses else []
            problem = health_problem([s.code or "" for s in view.statuses or []],
                                     [s.display_status or "" for s in agent])
            if not still_waiting(problem, op, waited):
                break
            self.clients.clock.sleep(op.poll_s)
            waited += op.poll_s
        if problem is not None:
            raise unhealthy(problem, op, waited)

    def run_guest_check(self, op: ops.RunGuestCheck) -> None:
        result = self._wait(self.clients.compute.virtual_machines.begin_run_command, op.id,
                            compute.RunCommandInput(check_command(op)))
        statuses = result.value if result is not None and result.value else []
        check_output(op, [status.message or "" for status in statuses])
