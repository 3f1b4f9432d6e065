"""The `fake-arm` backend: the azure backend's SDK calls answered by fakecloud's ARM fake.

The same plan and engine as `sim`, and the same region model, rules, faults and latencies;
but every operation goes through the unmodified azure-mgmt-* clients and real HTTP
requests (intercepted by ``responses``), in virtual time that skips ahead as the pollers
wait.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fakecloud.arm import ArmFake
from fakecloud.clock import VirtualClock
from fakecloud.mock import FakeCredential, mock_azure
from fakecloud.region import rehydration
from restore.backends.azure import AzureClients, AzureExecutor, Repository
from restore.backends.azure_driver import Driver
from restore.backends.cost import restore_cost
from restore.backends.data import REPOSITORY_URL
from restore.backends.faults import FaultRule, StepFaults
from restore.backends.journal import simulated_session
from restore.backends.prepared import data_for, engine_for, injector_for
from restore.backends.simregion import ListedInventory, restore_region
from restore.engine import Engine, Ticket
from restore.report import Report

if TYPE_CHECKING:
    from fakecloud.models import CloudState
    from restore.backends.journal import Journal
    from restore.backends.prepared import Prepared, Resumption

BACKEND = "fake-arm"


class FakeRepository:
    """The fake region's repository: its workers' agents read it at ``REPOSITORY_URL``;
    archived restore points come back after the region's rehydration time."""

    agent_store = REPOSITORY_URL
    rehydrates = True

    def __init__(self, fake: ArmFake):
        self.region, self.clock = fake.region, fake.clock

    def rehydrate(self, restore_point: str, priority: str, size_gb: float) -> None:
        call = rehydration(restore_point, priority, size_gb)
        self.clock.sleep(self.region.call(call, self.clock.now).latency_s)


def drive(engine: Engine, clock: VirtualClock, subscription: str, repository: Repository,
          record: Callable[[Ticket], None] = lambda ticket: None,
          faults: StepFaults | None = None) -> Driver:
    """Run ``engine``'s restore to its end through the SDK, on ``clock``, against whatever
    answers Azure's HTTP (the ARM fake; in the benchmark, plain stubs). The SDK does not
    retry: the engine's retry policy does, as on `sim`."""
    clients = AzureClients.connect(FakeCredential(), subscription, clock, polling_interval=0,
                                   retry_total=0)
    driver = Driver(engine, AzureExecutor(clients, repository, lambda: clock.now), clock,
                    record, faults)
    driver.run()
    return driver


def run(prepared: Prepared, seed: int, faults: list[FaultRule], book: Journal | None = None,
        state: CloudState | None = None, resuming: Resumption | None = None) -> Report:
    """One restore of a prepared scenario through the SDK against the ARM fake."""
    state = state or prepared.world.copy()
    clock = VirtualClock(resuming.clock_s if resuming else 0.0)
    plan = prepared.plan
    data = data_for(prepared, resuming)
    engine = engine_for(plan, book, resuming)
    region = restore_region(state, prepared.profile, seed, data, run_archive=True)
    step_faults = StepFaults(injector_for(faults, seed, plan), region)
    if book:
        book.follow(simulated_session(engine, state, lambda: clock.now, step_faults, data,
                                      resuming))
    with mock_azure(clock=clock, region=region, any_subscription=False) as fake:
        driver = drive(engine, clock, state.subscription, FakeRepository(fake),
                       book.record_operation if book else (lambda ticket: None), step_faults)
    if book:
        book.save()
    report = Report(engine, BACKEND, seed, driver.end_s, prepared.source_before,
                    ListedInventory(region, driver.end_s),
                    lambda: restore_cost(engine.operations, driver.end_s, plan.context,
                                         prepared.profile.prices))
    report.arm_requests = driver.calls
    report.faults_never_fired = step_faults.never_fired()
    if data is not None:
        report.data_verified = engine.status == "succeeded" and data.all_verified()
    return report
