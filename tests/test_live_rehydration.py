"""Archived restore points on the azure backend: ARM under ``mock_azure``, the restore
point's blobs in Azurite (tests/azurite.py), with ``PendingRehydration``
(tests/blob_double.py) in front of it where the test needs rehydration to take time, since
Azurite rehydrates at once. The worker's agent (the delivered zipapp, in a process of its
own) reads the rehydrated chunks from Azurite over HTTP with a read SAS, and each disk's
digest is checked."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from helpers import SUBSCRIPTION, scenario_dict

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
pytest.importorskip("azure.storage.blob")

from azure.storage.blob import StandardBlobTier  # noqa: E402
from azurite import read_sas_url  # noqa: E402
from blob_double import PendingRehydration  # noqa: E402

from datapath.blob import BlobStore  # noqa: E402
from fakecloud import FakeCredential, mock_azure  # noqa: E402
from fakecloud.clock import VirtualClock  # noqa: E402
from restore import parse_scenario  # noqa: E402
from restore.backends import live  # noqa: E402
from restore.backends.bytes_mode import DataPath  # noqa: E402
from restore.backends.data import REPOSITORY_URL  # noqa: E402
from restore.backends.journal import meta_at  # noqa: E402
from restore.backends.rehydration import ContainerRepository, poll_interval_s  # noqa: E402
from restore.backends.sim import prepare  # noqa: E402
from restore.backends.simregion import restore_region  # noqa: E402

pytest_plugins = ["azurite"]  # the azurite fixture


@dataclass
class Restore:
    """An archived restore point in an Azurite container, and the fake region whose
    workers' agent reads it."""

    scenario: object
    prepared: object
    data: DataPath
    store: BlobStore
    mocked: mock_azure
    clock: VirtualClock
    endpoint: str
    heard: list = field(default_factory=list)

    @property
    def chunks(self) -> tuple[str, ...]:
        return self.data.archived

    def repository(self, fake) -> ContainerRepository:
        """The container as the restore sees it: rehydrated through a read, write and list
        SAS, read by the (fake's) workers at the fake's repository URL."""
        return ContainerRepository(REPOSITORY_URL, read_sas_url(self.store, write=True),
                                   fake.clock)

    def ready(self, fake, repository: ContainerRepository) -> live.LiveRestore:
        clients = live.connect(SUBSCRIPTION, FakeCredential(), polling_interval=0)
        return live.prepare(self.scenario, clients, repository=repository,
                            restore_id=self.prepared.plan.context.restore_id)


def archived(azurite, name: str, priority: str = "standard", location: str = "new") -> Restore:
    store = BlobStore.from_connection_string(azurite, name)
    raw = {**scenario_dict(name=name, tier="archive", priority=priority, location=location),
           "data": {"mode": "bytes", "size_mb": 2}}
    scenario = parse_scenario(raw)
    prepared = prepare(scenario)
    data = DataPath.back_up(prepared.plan, 2, store=store, agent_url=read_sas_url(store))
    data = data.fresh()  # its chunks in the archive tier
    region = restore_region(prepared.world.copy(), prepared.profile, 3, data, run_archive=True)
    endpoint = store.container.url.rsplit("/", 1)[0]
    clock = VirtualClock()
    return Restore(scenario, prepared, data, store, mock_azure(region=region, clock=clock),
                   clock, endpoint)


def doubled(restore: Restore) -> PendingRehydration:
    """The pending state in front of Azurite, started before the ARM fake (which passes
    local addresses on to it)."""
    return PendingRehydration(restore.endpoint, restore.clock)


def tiers(restore: Restore) -> set[str]:
    return {restore.store.tier(c) for c in restore.chunks}


@pytest.mark.parametrize("priority, poll_s", [("standard", 900.0), ("high", 60.0)])
def test_an_archived_restore_rehydrates_then_restores(azurite, priority, poll_s):
    restore = archived(azurite, f"rh-full-{priority}", priority)
    assert tiers(restore) == {"Archive"}
    with doubled(restore) as blobs, restore.mocked as fake:
        report = live.run(restore.ready(fake, restore.repository(fake)), rehydrating=lambda
                          progress: restore.heard.append((fake.clock.now, progress)))
    assert report.status == "succeeded", report.error
    assert report.leaked == [] and restore.data.all_verified()
    assert tiers(restore) == {"Hot"}
    assert set(blobs.set_tier) == set(restore.chunks) and set(blobs.set_tier.values()) == {1}
    assert blobs.priorities == {priority.capitalize()}
    (start, first), (end, final) = restore.heard[0], restore.heard[-1]
    assert (final.hot, final.blobs, final.requested) == (len(restore.chunks),) * 3
    assert final.hot_bytes == final.bytes > 0
    assert first.hot == first.requested == 0 and "blobs rehydrated" in final.summary()
    waited = end - start  # the rehydration's polls, on the virtual clock
    rehydrate = next(o for o in report.operations if o["op"] == "rehydrate_restore_point")
    calls, container = rehydrate["arm_requests"], f"/restorelab/rh-full-{priority}"
    assert len([c for c in calls if c.startswith(f"PUT {container}/chunks/")]) == len(
        restore.chunks)  # Set Blob Tier, once a blob
    assert len([c for c in calls if c.startswith(f"GET {container} 200")]) > 2  # listings
    assert all("sig=" not in c for c in calls)
    assert blobs.seconds[priority.capitalize()] <= waited <= blobs.seconds[
        priority.capitalize()] + poll_s + 1
    assert poll_interval_s(priority, 0.002) == poll_s


def test_azurite_itself_rehydrates_at_once(azurite):
    """What Azurite does with tiers: Archive -> Hot with a priority is hot at the next look,
    no archive status on the way (hence the double); the restore waits one poll."""
    restore = archived(azurite, "rh-azurite-only", "high")
    with restore.mocked as fake:
        start = fake.clock.now
        report = live.run(restore.ready(fake, restore.repository(fake)))
    assert report.status == "succeeded" and restore.data.all_verified()
    assert tiers(restore) == {"Hot"}
    rehydrate = next(o for o in report.operations if o["op"] == "rehydrate_restore_point")
    tier_calls = [c for c in rehydrate["arm_requests"] if c.startswith("PUT /")]
    assert len(tier_calls) == len(restore.chunks)
    assert fake.clock.now - start >= 60.0  # one poll, at high priority's interval


@pytest.mark.parametrize("priority", ["standard", "high"])
def test_resume_during_rehydration_asks_no_blob_twice(azurite, tmp_path, priority):
    """Stopped after two Set Blob Tier requests; resumed three hours later (virtually: at
    standard priority the two are still pending, at high they are hot), it asks only for
    the blobs still archived with nothing pending, waits for the others, and finishes;
    every blob was asked for once."""
    restore = archived(azurite, f"rh-resume-{priority}", priority, location="original")
    journal = tmp_path / "restore.journal"
    with doubled(restore) as blobs, restore.mocked as fake:
        blobs.interrupt_after = 2
        with pytest.raises(KeyboardInterrupt):
            live.run(restore.ready(fake, restore.repository(fake)), journal)
        kept = meta_at(journal)
        assert kept["status"] == "running"
        assert kept["rehydration"]["requested"] == 2
        assert kept["rehydration"]["blobs"] == len(restore.chunks)
        assert sum(blobs.set_tier.values()) == 3  # the third never reached Azure
        blobs.interrupt_after = None
        blobs.set_tier.clear()
        fake.clock.sleep(3 * 3600)  # the operator comes back hours later
        repository, heard = restore.repository(fake), []
        report = live.resume(journal, FakeCredential(), polling_interval=0,
                             repository=repository, rehydrating=heard.append)
    assert report.status == "succeeded", report.error
    assert heard[0].hot < heard[0].blobs == len(restore.chunks)  # resume says where it is
    assert heard[-1].hot == len(restore.chunks)
    assert restore.data.all_verified() and tiers(restore) == {"Hot"}
    assert sorted(blobs.set_tier) == sorted(restore.chunks[2:])  # not the first two again
    assert set(blobs.set_tier.values()) == {1}
    assert repository.progress.requested == len(restore.chunks) - 2
    assert meta_at(journal)["rehydration"]["hot"] == len(restore.chunks)
    assert b"sig=" not in journal.read_bytes()  # the SAS is never journaled
    assert report.source_intact is not None and report.leaked == []


@pytest.mark.parametrize("stale", [0, 1], ids=["listed-pending", "409-being-rehydrated"])
def test_a_blob_being_rehydrated_already_is_waited_for(azurite, stale):
    """Someone asked already: the listing shows it pending, so it is not asked again; or,
    listed a moment before that, Azure answers 409 BlobBeingRehydrated to the second Set
    Blob Tier: waited for, not failed."""
    restore = archived(azurite, f"rh-pending-{stale}", "high")
    with doubled(restore) as blobs, restore.mocked as fake:
        first = restore.store.container.get_blob_client(restore.chunks[0])
        first.set_standard_blob_tier(StandardBlobTier.HOT, rehydrate_priority="High")
        blobs.stale_listings = stale
        report = live.run(restore.ready(fake, restore.repository(fake)))
    assert report.status == "succeeded", report.error
    assert blobs.set_tier[restore.chunks[0]] == 1 + stale  # the other asker's, and the 409
    assert tiers(restore) == {"Hot"}


def test_a_blob_that_does_not_rehydrate_fails_and_rolls_back_cleanly(azurite):
    restore = archived(azurite, "rh-fails", "high", location="original")
    with doubled(restore) as blobs, restore.mocked as fake:
        blobs.fails = {restore.chunks[1]}
        report = live.run(restore.ready(fake, restore.repository(fake)))
        writes = [r for r in fake.requests if r.method != "GET"]
    assert report.status == "rolled_back"
    assert report.error["code"] == "RehydrationFailed"
    assert report.error["step"] == "retrieve_archived_data"
    assert f"blob {restore.chunks[1]} went back to the archive tier" in report.error["message"]
    assert report.leaked == [] and report.source_intact and writes == []


def test_a_missing_chunk_is_named_and_nothing_is_created(azurite):
    restore = archived(azurite, "rh-missing", "standard")
    restore.store.container.delete_blob(restore.chunks[0])
    with restore.mocked as fake:
        report = live.run(restore.ready(fake, restore.repository(fake)))
        writes = [r for r in fake.requests if r.method != "GET"]
    assert report.status == "rolled_back" and report.error["code"] == "RehydrationFailed"
    assert f"chunk {restore.chunks[0]} is not in the repository" in report.error["message"]
    assert report.leaked == [] and writes == []


def test_a_read_only_sas_cannot_rehydrate_and_says_why(azurite):
    restore = archived(azurite, "rh-read-only", "standard")
    with restore.mocked as fake:
        repository = ContainerRepository(REPOSITORY_URL, read_sas_url(restore.store),
                                         fake.clock)
        report = live.run(restore.ready(fake, repository))
    assert report.status == "rolled_back"
    assert "SAS must allow read, write and list" in report.error["message"]
    assert "sig=" not in report.error["message"]
    assert tiers(restore) == {"Archive"}


def test_a_rehydration_pending_twice_as_long_as_azure_says_gives_up(azurite):
    restore = archived(azurite, "rh-too-long", "high")
    with doubled(restore) as blobs, restore.mocked as fake:
        blobs.seconds["High"] = 3 * 3600.0  # Azure: under an hour for objects under 10 GB
        report = live.run(restore.ready(fake, restore.repository(fake)))
    assert report.status == "rolled_back" and report.error["code"] == "RehydrationTimedOut"
    assert f"{len(restore.chunks)} blobs still not hot after 2.0 h" in report.error["message"]
    assert report.leaked == []


def test_chunks_already_online_are_not_asked_for(azurite):
    """A chunk hot, or cool as its lifecycle left it, is readable: counted rehydrated."""
    restore = archived(azurite, "rh-online", "standard")
    hot, cool = (restore.store.container.get_blob_client(c) for c in restore.chunks[:2])
    hot.set_standard_blob_tier(StandardBlobTier.HOT)  # Azurite: at once
    cool.set_standard_blob_tier(StandardBlobTier.COOL)
    with doubled(restore) as blobs, restore.mocked as fake:
        repository = restore.repository(fake)
        report = live.run(restore.ready(fake, repository))
    assert report.status == "succeeded", report.error
    assert sorted(blobs.set_tier) == sorted(restore.chunks[2:])
    assert restore.store.tier(restore.chunks[1]) == "Cool"
    assert repository.progress.hot == len(restore.chunks)


def test_the_resume_command_shows_the_rehydration_where_it_stands(azurite, tmp_path,
                                                                  managed_identity):
    """Stopped once every chunk was asked for (Azurite rehydrates at once), `restorelab
    resume` signs in (the fake's managed identity), finds the chunks hot, says so on
    stderr line by line (stderr is no terminal here) and finishes the restore."""
    from typer.testing import CliRunner

    from restore.cli import app

    restore = archived(azurite, "rh-cli-resume", "high")
    journal = tmp_path / "restore.journal"

    def stop_once_all_asked(progress) -> None:
        if progress.requested == progress.blobs:
            raise KeyboardInterrupt

    with restore.mocked as fake:
        ready = restore.ready(fake, restore.repository(fake))
        with pytest.raises(KeyboardInterrupt):
            live.run(ready, journal, rehydrating=stop_once_all_asked)
        result = CliRunner().invoke(app, [  # the workers read the fake's repository
            "resume", str(journal), "--repository", REPOSITORY_URL,
            "--rehydrate-with", read_sas_url(restore.store, write=True)])
    assert result.exit_code == 0, result.output
    n = len(restore.chunks)
    assert f"retrieve_archived_data: {n}/{n} blobs rehydrated" in result.stderr
    assert "(high priority)" in result.stderr and "status        succeeded" in result.stdout
    assert restore.data.all_verified()
    assert "sig=" not in result.stderr + result.stdout  # the SAS is never shown
