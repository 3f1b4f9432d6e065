"""Session history (`restorelab sessions`, ``restore.Sessions``): every `restore`,
`simulate --journal` and `resume` recorded in one sqlite store that many processes write at
once; a killed session shows interrupted and its resume links it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing

import pytest
from helpers import ROOT, readme_example
from typer.testing import CliRunner

import restore
from restore.cli import app
from restore.errors import RestoreLabError, SessionError
from restore.sessions import SESSIONS_ENV, Sessions, default_path, parse_age

runner = CliRunner()
DAY_S = 86400.0
SCENARIO = {"name": "t-restore", "seed": 1}


def cli(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A store of the test's own, named by the environment variable as a user would."""
    path = tmp_path / "state" / "sessions.db"
    monkeypatch.setenv(SESSIONS_ENV, str(path))
    return path


def listed(store) -> list[dict]:
    with Sessions(store) as sessions:
        return sessions.list()


class Outcome:
    """A run's outcome as a report: what ``Sessions.run`` records."""

    def __init__(self, status: str = "succeeded", **extra):
        self.report = {"scenario": "t-restore", "status": status, "duration_s": 12.5,
                       "seed": 1, "restore_id": "abcd1234",
                       "steps": [{"name": "preflight", "status": "succeeded", "start_s": 0.0,
                                  "end_s": 2.5, "retries": 0}],
                       "operations": [{"step": "preflight", "op": "find_resources"}], **extra}

    def to_dict(self) -> dict:
        return self.report


# -- the store -------------------------------------------------------------------------


def test_a_session_keeps_its_scenario_steps_and_report(tmp_path):
    clock = iter([100.0, 130.0])
    with Sessions(tmp_path / "s.db", now=lambda: next(clock)) as sessions:
        sessions.run(Outcome, "simulate", SCENARIO, "sim", journal=tmp_path / "j.db")
        [summary] = sessions.list()
        found = sessions.get(summary["id"])
    assert summary["status"] == "succeeded" and summary["wall_s"] == 30.0
    assert summary["duration_s"] == 12.5 and summary["restore_id"] == "abcd1234"
    assert summary["started_at"] == "1970-01-01T00:01:40+00:00"
    assert found["scenario_dump"] == SCENARIO and found["report"] == Outcome().report
    assert found["steps"] == [{"name": "preflight", "status": "succeeded", "start_s": 0.0,
                               "end_s": 2.5, "retries": 0, "operations": 1}]


def test_a_failing_run_is_an_error_session_and_no_secret_is_kept(tmp_path):
    def fails():
        raise RestoreLabError("agent: https://a.blob.core.windows.net/c?sv=1&sig=SECRET")

    with Sessions(tmp_path / "s.db") as sessions, pytest.raises(RestoreLabError):
        sessions.run(fails, "restore", {"name": "x", "note": "sig=SECRET2"}, "azure")
    [found] = listed(tmp_path / "s.db")
    assert found["status"] == "error" and "<SAS redacted>" in found["error"]
    assert [f.name for f in tmp_path.iterdir()] == ["s.db"]  # the WAL checkpointed in
    assert b"SECRET" not in (tmp_path / "s.db").read_bytes()


def test_ctrl_c_ends_a_session_interrupted(tmp_path):
    def stopped():
        raise KeyboardInterrupt

    with Sessions(tmp_path / "s.db") as sessions, pytest.raises(KeyboardInterrupt):
        sessions.run(stopped, "restore", SCENARIO, "azure")
    assert [s["status"] for s in listed(tmp_path / "s.db")] == ["interrupted"]


def test_prune_removes_old_ended_sessions_and_keeps_running_ones(tmp_path):
    now = [0.0]
    with Sessions(tmp_path / "s.db", now=lambda: now[0]) as sessions:
        sessions.run(Outcome, "simulate", SCENARIO, "sim")
        sessions.start("restore", SCENARIO, "azure")  # this process: still running
        now[0] = 20 * DAY_S
        sessions.run(Outcome, "resume", SCENARIO, "sim")
        now[0] = 40 * DAY_S
        assert sessions.prune(parse_age("30d")) == 1
        assert [s["command"] for s in sessions.list()] == ["resume", "restore"]
        assert sessions.prune(0) == 1


@pytest.mark.parametrize(("text", "seconds"), [("30d", 30 * DAY_S), ("12h", 43200),
                                               ("90m", 5400), ("2w", 14 * DAY_S),
                                               (" 1.5s ", 1.5)])
def test_ages(text, seconds):
    assert parse_age(text) == seconds


@pytest.mark.parametrize("text", ["30", "30x", "-1d", "d", "", "30 days"])
def test_a_bad_age_is_refused(text):
    with pytest.raises(SessionError, match="--older-than: .* is not an age"):
        parse_age(text)


def test_the_store_lives_in_the_users_state_directory_unless_moved(tmp_path, monkeypatch):
    monkeypatch.delenv(SESSIONS_ENV)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_path() == tmp_path / "restorelab" / "sessions.db"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_path() == tmp_path / ".local" / "state" / "restorelab" / "sessions.db"
    monkeypatch.setenv(SESSIONS_ENV, str(tmp_path / "elsewhere.db"))
    assert default_path() == tmp_path / "elsewhere.db"


def test_the_test_suite_records_into_its_own_store():
    assert not default_path().is_relative_to(ROOT)
    assert ".local" not in default_path().parts


WRITER = """
import sys
from restore.sessions import Sessions

class Done:
    def __init__(self, n):
        self.n = n
    def to_dict(self):
        steps = [{"name": f"s{i}", "status": "succeeded", "start_s": i, "end_s": i + 1}
                 for i in range(10)]
        return {"scenario": "w", "status": "succeeded", "duration_s": self.n, "steps": steps,
                "operations": [], "padding": "x" * 20000}

writer, writes = int(sys.argv[1]), int(sys.argv[2])
with Sessions(sys.argv[3]) as sessions:
    for n in range(writes):
        sessions.run(lambda: Done(n), "simulate", {"name": f"writer-{writer}"}, "sim",
                     journal=f"j{writer}-{n}.db")
"""


def test_concurrent_writers_do_not_corrupt_the_store(tmp_path):
    """8 processes each record 25 sessions (a start and an end each) at once."""
    processes, writes, path = 8, 25, tmp_path / "s.db"
    started = [subprocess.Popen([sys.executable, "-c", WRITER, str(w), str(writes), str(path)],
                                cwd=tmp_path, stderr=subprocess.PIPE, text=True)
               for w in range(processes)]
    for process in started:
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        counts = db.execute("SELECT count(*), count(DISTINCT id), sum(status = 'succeeded'), "
                            "count(DISTINCT scenario_dump) FROM sessions").fetchone()
        assert counts == (processes * writes, processes * writes, processes * writes,
                          processes)
        assert db.execute("SELECT count(*) FROM steps").fetchone() == (processes * writes * 10,)


# -- the commands ----------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sim", "fake-arm"])
def test_simulate_with_a_journal_and_its_resume_are_linked_sessions(store, tmp_path, backend):
    if backend == "fake-arm":
        pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    journal = tmp_path / "j.db"
    crashed = cli("simulate", "orig-hot-backup", "--backend", backend, "--journal",
                  str(journal), "--crash-at", "restore_data", "--json")
    assert crashed.exit_code == 3, crashed.output
    resumed = cli("resume", str(journal), "--json")
    assert resumed.exit_code == 0, resumed.output
    second, first = listed(store)
    assert (first["command"], first["status"], first["backend"]) == (
        "simulate", "interrupted", backend)
    assert (second["command"], second["status"], second["resumes"]) == (
        "resume", "succeeded", first["id"])
    with Sessions(store) as sessions:
        assert sessions.get(first["id"])["resumed_by"] == [second["id"]]
        assert sessions.get(second["id"])["report"] == json.loads(resumed.stdout)
        assert sessions.get(first["id"])["scenario_dump"]["name"] == "orig-hot-backup"


def test_simulate_without_a_journal_and_refused_runs_are_not_recorded(store, tmp_path):
    assert cli("simulate", "orig-hot-backup", "--json").exit_code == 0
    (tmp_path / "taken.db").write_text("not a journal")
    refused = cli("simulate", "orig-hot-backup", "--journal", str(tmp_path / "taken.db"))
    assert refused.exit_code == 2
    assert cli("resume", str(tmp_path / "missing.db")).exit_code == 2
    assert not store.exists() or listed(store) == []


KILLED = """
import os, signal, sys
from restore.backends import journal

record_step = journal.Journal.record_step

def record_then_die(self, run):
    record_step(self, run)
    if run.name == "create_empty_disks" and run.status == "succeeded":
        os.kill(os.getpid(), signal.SIGKILL)

journal.Journal.record_step = record_then_die
from restore.cli import app
app(["simulate", "orig-hot-backup", "--journal", sys.argv[1]])
"""


def test_a_killed_session_shows_interrupted_and_its_resume_links_it(store, tmp_path):
    journal = tmp_path / "j.db"
    killed = subprocess.run([sys.executable, "-c", KILLED, str(journal)], cwd=ROOT,
                            capture_output=True, timeout=120, check=False)
    assert killed.returncode == -9, killed.stderr
    [dead] = listed(store)
    assert dead["status"] == "interrupted" and dead["ended_at"] is None
    shown = cli("sessions", "show", str(dead["id"]))
    assert shown.exit_code == 0 and f"restorelab resume {journal}" in shown.stdout
    assert cli("resume", str(journal)).exit_code == 0
    resumed, _ = listed(store)
    assert resumed["resumes"] == dead["id"] and resumed["status"] == "succeeded"


def test_sessions_lists_shows_and_prints_json(store, tmp_path):
    assert cli("simulate", "orig-snapshot", "--journal", str(tmp_path / "j.db")).exit_code == 0
    table = cli("sessions")
    assert table.exit_code == 0 and "orig-snapshot" in table.stdout
    assert "succeeded" in table.stdout
    [summary] = json.loads(cli("sessions", "--json").stdout)
    assert summary["command"] == "simulate" and summary["journal"] == str(tmp_path / "j.db")
    shown = cli("sessions", "show", str(summary["id"]))
    assert shown.exit_code == 0, shown.output
    assert "simulated timeline" in shown.stdout and "create_disks_from_snapshots" in shown.stdout
    whole = json.loads(cli("sessions", "show", str(summary["id"]), "--json").stdout)
    assert whole["report"]["status"] == "succeeded" and whole["steps"]


def test_sessions_takes_its_store_from_the_option(tmp_path):
    moved = tmp_path / "moved.db"
    ran = cli("simulate", "orig-snapshot", "--journal", str(tmp_path / "j.db"), "--sessions",
              str(moved))
    assert ran.exit_code == 0
    assert len(json.loads(cli("sessions", "--sessions", str(moved), "--json").stdout)) == 1
    assert cli("sessions", "--sessions", str(moved), "show", "1").exit_code == 0
    assert cli("sessions", "show", "1", "--sessions", str(moved)).exit_code == 0


@pytest.mark.parametrize(("args", "message"), [
    (["show", "7"], "no session 7 in the sessions store"),
    (["show", "seven"], "'seven' is not a session id"),
    (["prune", "--older-than", "30x"], "--older-than: '30x' is not an age"),
    (["prune", "--older-than", "thirty days"], "is not an age"),
])
def test_bad_session_commands_exit_2_with_a_clear_error(store, args, message):
    result = cli("sessions", *args)
    assert result.exit_code == 2 and message in result.stderr
    assert "Traceback" not in result.output


def test_a_store_that_cannot_be_used_is_bad_input(tmp_path):
    result = cli("simulate", "orig-hot-backup", "--journal", str(tmp_path / "j.db"),
                 "--sessions", str(tmp_path))
    assert result.exit_code == 2 and "a folder; the store is a file" in result.stderr
    (tmp_path / "junk.db").write_bytes(b"\x00junk" * 100)
    result = cli("sessions", "--sessions", str(tmp_path / "junk.db"))
    assert result.exit_code == 2 and "cannot use it" in result.stderr


def test_prune_from_the_command_line(store):
    with Sessions(store, now=lambda: 0.0) as old:
        old.run(Outcome, "simulate", SCENARIO, "sim")
    with Sessions(store) as sessions:
        sessions.run(Outcome, "resume", SCENARIO, "sim")
    pruned = cli("sessions", "prune", "--older-than", "30d")
    assert pruned.exit_code == 0 and "removed 1 session(s)" in pruned.stdout
    assert [s["command"] for s in listed(store)] == ["resume"]


def test_a_real_restore_is_recorded(store, managed_identity):
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    from helpers import SUBSCRIPTION
    from test_live_restore import region_of

    from restore.backends.data import REPOSITORY_URL

    _, _, mocked = region_of("new-hot-backup")
    with mocked:
        result = cli("restore", "new-hot-backup", "--subscription", SUBSCRIPTION, "--json",
                     "--repository", REPOSITORY_URL)
    assert result.exit_code == 0, result.stderr
    [session] = listed(store)
    assert (session["command"], session["backend"], session["status"]) == (
        "restore", "azure", "succeeded")
    with Sessions(store) as sessions:
        assert sessions.get(session["id"])["report"] == json.loads(result.stdout)


def test_the_python_api_reads_the_store(store, tmp_path):
    assert cli("simulate", "orig-hot-backup", "--journal", str(tmp_path / "j.db")).exit_code == 0
    with restore.Sessions() as sessions:
        assert [s["scenario"] for s in sessions.list()] == ["orig-hot-backup"]


def test_the_readme_example_runs(store):
    namespace = readme_example("restore.Sessions(")
    assert namespace["latest"]["status"] == "succeeded"


class FullDisk:
    """A connection whose writes of a session's end fail as a full disk makes them."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def execute(self, sql: str, *args):
        if sql.startswith("UPDATE sessions SET ended"):
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self.db, name)


def test_a_run_whose_end_cannot_be_recorded_still_reports_and_says_so(store, tmp_path,
                                                                      monkeypatch):
    real_open = restore.sessions._open
    monkeypatch.setattr(restore.sessions, "_open", lambda path: FullDisk(real_open(path)))
    result = cli("simulate", "orig-hot-backup", "--journal", str(tmp_path / "j.db"), "--json")
    assert result.exit_code == 0, result.output
    assert "warning: the restore ran, but its session was not recorded: sessions store " \
           "sessions.db: database or disk is full" in " ".join(result.stderr.split())
    assert json.loads(result.stdout)["status"] == "succeeded"
    (session,) = listed(store)
    assert session["status"] == "running"  # its start was written, its end rolled back
