"""The ARM fake's cost: a full restore through the azure-mgmt SDK against fakecloud's fake,
and the same request sequence served by plain ``responses`` stubs, in one run.

    python benchmarks/bench_arm.py [--scenario orig-hot-backup] [--disks 4] [--rounds 5]

Both runs are the same engine, SDK clients and virtual clock; only what answers the HTTP
differs: the fake (region model, ARM rules, latencies, LRO bookkeeping) or canned answers
recorded from the fake and replayed in order. The issue's target: the fake at most 3x the
stubs' time. Also counts the ARM requests of the restore against its minimum, the count
with no poll answered "still running" (busy polling would show as the difference).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

import responses
from timing import best_of

import restore
from fakecloud.clock import VirtualClock
from fakecloud.mock import mock_azure
from restore.backends.data import REPOSITORY_URL
from restore.backends.fake_arm import drive
from restore.backends.sim import prepare
from restore.backends.simregion import restore_region
from restore.engine import Engine, dry_run
from restore.scenario import find_scenario

MAX_RATIO = 3.0


@dataclass
class Exchange:
    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: str

    @property
    def still_running(self) -> bool:
        """A poll answered 'not yet' (Azure-AsyncOperation InProgress, or Location 202)."""
        if self.method != "GET":
            return False
        if "/operationresults/" in self.url:
            return self.status == 202
        return "/operations/" in self.url and '"InProgress"' in self.body


class HotRepository:
    """The fake's repository as a worker's agent reads it; the benchmark's restore point
    is hot, so nothing is rehydrated."""

    agent_store = REPOSITORY_URL
    rehydrates = False

    def rehydrate(self, restore_point: str, priority: str, size_gb: float) -> None:
        raise AssertionError("the benchmark restores a hot restore point")


def scenario_with(name: str, disks: int) -> restore.Scenario:
    scenario = restore.load_scenario(find_scenario(name))
    raw = scenario.model_dump(mode="json")
    first = raw["source_vm"]["data_disks"][0]
    raw["source_vm"]["data_disks"] = [{**first, "lun": lun, "name": None}
                                      for lun in range(disks - 1)]
    raw["source_vm"]["size"] = "Standard_D4s_v5"
    return restore.parse_scenario(raw, source=name)


def restore_on_fake(prepared: Any, record: list[Exchange] | None) -> None:
    state, clock = prepared.world.copy(), VirtualClock()
    with mock_azure(clock=clock, region=restore_region(state, prepared.profile, 1)) as fake:
        if record is not None:
            _record(fake, record)
        driver = drive(Engine(prepared.plan), clock, state.subscription, HotRepository())
    assert driver.engine.status == "succeeded", driver.engine.error


def _record(fake: Any, record: list[Exchange]) -> None:
    handle = fake.handle

    def recording(request: Any) -> tuple[int, dict[str, str], str]:
        status, headers, body = handle(request)
        record.append(Exchange(request.method, request.url, status, headers, body))
        return status, headers, body

    fake.handle = recording


def restore_on_stubs(prepared: Any, exchanges: list[Exchange]) -> None:
    """The same restore, each request answered by the next canned answer for its URL
    (an unexpected request fails with ConnectionError; every answer must be used)."""
    clock = VirtualClock()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as stubs:
        for ex in exchanges:
            stubs.add(ex.method, ex.url, body=ex.body, status=ex.status, headers=ex.headers)
        driver = drive(Engine(prepared.plan), clock, prepared.world.subscription,
                       HotRepository())
    assert driver.engine.status == "succeeded", driver.engine.error



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="orig-hot-backup")
    parser.add_argument("--disks", type=int, default=4, help="disks of the VM (OS included)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    prepared = prepare(scenario_with(args.scenario, args.disks))
    exchanges: list[Exchange] = []
    restore_on_fake(prepared, exchanges)
    fake_s = best_of(args.rounds, lambda: restore_on_fake(prepared, None))
    stubs_s = best_of(args.rounds, lambda: restore_on_stubs(prepared, exchanges))
    waiting = sum(ex.still_running for ex in exchanges)
    figures = {
        "scenario": args.scenario, "disks": args.disks,
        "operations": sum(1 for _ in dry_run(prepared.plan)),
        "fake_s": round(fake_s, 4), "stubs_s": round(stubs_s, 4),
        "ratio_fake_to_stubs": round(fake_s / stubs_s, 2),
        "requests": len(exchanges), "polls_still_running": waiting,
        "minimum_requests": len(exchanges) - waiting,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"restore of {args.scenario} with {args.disks} disks "
          f"({figures['operations']} operations), best of {args.rounds}:")
    print(f"  SDK against the ARM fake:    {fake_s * 1000:8.1f} ms")
    print(f"  SDK against plain stubs:     {stubs_s * 1000:8.1f} ms")
    verdict = "met" if fake_s / stubs_s <= MAX_RATIO else "NOT met"
    print(f"  ratio fake/stubs: {fake_s / stubs_s:.2f} (target <= {MAX_RATIO:.0f}: {verdict}); "
          f"restores/s: fake {1 / fake_s:.1f}, stubs {1 / stubs_s:.1f}")
    print(f"ARM requests per restore: {len(exchanges)}; minimum (no poll answered 'still "
          f"running'): {len(exchanges) - waiting}; polls that waited: {waiting}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
