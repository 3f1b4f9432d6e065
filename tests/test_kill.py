"""kill -9 at random instants: a real `restorelab` process, killed with SIGKILL while it
simulates or resumes, leaves a sound journal whose resume ends as an uninterrupted run."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from helpers import ROOT

import restore
from fakecloud.models import CloudState
from restore.backends.profiles import load_profile

SCENARIO = ROOT / "scenarios" / "orig-hot-bytes.yaml"
FULL_MATRIX = os.environ.get("RESTORELAB_FULL_MATRIX") == "1"  # .ci/run sets it
KILLS = 20 if FULL_MATRIX else 4  # per backend: processes killed at work
CLI = [sys.executable, "-c", "from restore.cli import app; app()"]  # `restorelab`


def command(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=ROOT)


def session_of(journal: Path) -> int:
    """The journal's latest session (0 until a process has written its first)."""
    try:
        with closing(sqlite3.connect(f"{journal.as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'sessions'").fetchone()
    except sqlite3.DatabaseError:
        return 0
    return 0 if row is None else int(row[0])


def started(args: list[str], journal: Path) -> subprocess.Popen:
    """The command, once it has begun its session in the journal (or ended)."""
    before = session_of(journal) if journal.exists() else 0
    process = command(args)
    while process.poll() is None and (not journal.exists() or session_of(journal) == before):
        time.sleep(0.001)
    return process


def busy_s(args: list[str], journal: Path) -> float:
    """How long the command runs once its session has begun."""
    process = started(args, journal)
    start = time.perf_counter()
    process.wait()
    return time.perf_counter() - start


def killed_at(args: list[str], journal: Path, after_s: float) -> bool:
    """SIGKILL the command ``after_s`` into its session; whether it was still running."""
    process = started(args, journal)
    time.sleep(after_s)
    alive = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    return alive


def meta(journal: Path, key: str):
    with closing(sqlite3.connect(f"{journal.as_uri()}?mode=rw", uri=True)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else json.loads(row[0])


def final_region(journal: Path, scenario) -> list[dict]:
    profile = load_profile(scenario.region_profile)
    state = CloudState.load(scenario.subscription, profile.sizing.max_data_disks,
                            meta(journal, "region"), profile.quota)
    return state.export()


def finished_and_checked(journal: Path, scenario, clean: list[dict]) -> None:
    """Resume the journal until its restore ends; it ends as the uninterrupted run."""
    while meta(journal, "status") == "interrupted":
        restore.resume(journal)
    assert meta(journal, "status") == "succeeded"
    verified = meta(journal, "data_verified")
    assert verified and all(verified.values())
    assert final_region(journal, scenario) == clean


@pytest.mark.parametrize("backend", ["sim", "fake-arm"])
def test_sigkill_at_random_instants_of_simulate_and_resume(tmp_path, backend):
    """Issue 15: KILLS processes killed at work, simulating or resuming, on each backend;
    an instant that comes after the process ended does not count."""
    if backend == "fake-arm":
        pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    scenario = restore.load_scenario(SCENARIO)
    clean = restore.simulate(scenario, backend=backend).final_state["resources"]
    simulate = ["simulate", str(SCENARIO), "--backend", backend, "--journal"]
    span_s = min(busy_s([*simulate, str(tmp_path / f"timed{i}.db")], tmp_path / f"timed{i}.db")
                 for i in range(2))
    rng = random.Random(f"kill-{backend}")
    kills = {"simulate": 0, "resume": 0}  # KILLS // 2 of each
    for trial in range(4 * KILLS):
        if min(kills.values()) >= KILLS // 2:
            break
        journal = tmp_path / f"j{trial}.db"
        into = rng.uniform(0, 0.8 * span_s)  # the last fifth prints the report
        if killed_at([*simulate, str(journal)], journal, into):
            kills["simulate"] = min(kills["simulate"] + 1, KILLS // 2)
        if meta(journal, "status") == "interrupted":
            left_s = span_s - into  # about what the resume has to do
            if killed_at(["resume", str(journal)], journal, rng.uniform(0, left_s)):
                kills["resume"] = min(kills["resume"] + 1, KILLS // 2)
        finished_and_checked(journal, scenario, clean)
    assert kills == {"simulate": KILLS // 2, "resume": KILLS // 2}, kills
