"""Session history (Veeam's restore sessions): every `restorelab restore`, `simulate
--journal` and `resume`, kept in one sqlite store (WAL) per user.

A session is written twice, each time in one short transaction: when it starts
(``running``, with its scenario) and when it ends (the report's status, each step, the
report). Many processes may write at once: WAL lets readers go on while one writes, and a
writer waits for the others (busy timeout) instead of failing. A session whose process
died before it ended (kill -9, a lost machine) stays ``running`` in the store and is shown
``interrupted`` once its process is gone. A ``resume`` is a session of its own that links
the latest earlier session of the same journal file (``resumes``; that one lists it under
``resumed_by``). Nothing secret is kept: every text written passes through
``restore.errors.redact`` (the reports are redacted already).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from restore.errors import JournalError, RestoreLabError, ScenarioError, SessionError, redact

SESSIONS_ENV = "RESTORELAB_SESSIONS"
"""The environment variable naming the store's file (default: see ``default_path``)."""

RECORDED_COMMANDS = ("restore", "simulate", "resume")
BUSY_TIMEOUT_S = 30.0
VERSION = 1
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, command TEXT NOT NULL, scenario TEXT NOT NULL,
    scenario_dump TEXT NOT NULL, backend TEXT NOT NULL, seed INTEGER, restore_id TEXT,
    journal TEXT, journal_key TEXT, resumes INTEGER REFERENCES sessions (id)
    ON DELETE SET NULL, pid INTEGER NOT NULL, started REAL NOT NULL, ended REAL,
    status TEXT NOT NULL, duration_s REAL, error TEXT, report TEXT)""",
    """CREATE TABLE IF NOT EXISTS steps (
    session INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL, start_s REAL NOT NULL,
    end_s REAL, retries INTEGER NOT NULL, operations INTEGER NOT NULL,
    PRIMARY KEY (session, seq))""",
    "CREATE INDEX IF NOT EXISTS sessions_started ON sessions (started)",
    "CREATE INDEX IF NOT EXISTS sessions_journal ON sessions (journal_key, id)",
)
AGE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*")
UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

R = TypeVar("R", bound="Reported")


class Reported(Protocol):
    """What a session records of a run's outcome: its report as the JSON contract."""

    def to_dict(self) -> dict[str, Any]: ...


def default_path() -> Path:
    """``$RESTORELAB_SESSIONS``, else ``restorelab/sessions.db`` in the user's state
    directory (``$XDG_STATE_HOME``, default ``~/.local/state``)."""
    if os.environ.get(SESSIONS_ENV):
        return Path(os.environ[SESSIONS_ENV])
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(state) / "restorelab" / "sessions.db"


def parse_age(text: str) -> float:
    """Seconds in an age such as ``30d``, ``12h``, ``90m``, ``45s`` or ``2w``."""
    found = AGE.fullmatch(text)
    if found is None:
        raise SessionError(f"--older-than: {text!r} is not an age: give a number and a unit "
                           "(s, m, h, d or w), e.g. 30d or 12h")
    return float(found.group(1)) * UNIT_S[found.group(2)]


class Sessions:
    """The sessions store at ``path`` (default: ``default_path()``), created if missing.
    ``now`` gives the wall clock (seconds since the epoch)."""

    def __init__(self, path: str | Path | None = None, now: Callable[[], float] = time.time):
        self.path = Path(path) if path is not None else default_path()
        self._now = now
        self.unrecorded: str | None = None
        """Why the last run's end could not be written (it ran all the same)."""
        self.db = _open(self.path)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Sessions:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """A short write transaction, taking the write lock at once (waiting for it)."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise SessionError(f"sessions store {self.path.name}: {exc}") from None
        try:
            yield
            self.db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:  # the disk full, the file damaged midway
            self._roll_back()
            raise SessionError(f"sessions store {self.path.name}: {exc}") from None
        except BaseException:
            self._roll_back()
            raise

    def _roll_back(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    # -- writing ---------------------------------------------------------------------

    def start(self, command: str, scenario: dict[str, Any], backend: str,
              seed: int | None = None, journal: str | Path | None = None) -> int:
        """A new ``running`` session; a ``resume`` links the journal's latest one."""
        if command not in RECORDED_COMMANDS:
            raise ValueError(f"unknown command {command!r} (recorded: {RECORDED_COMMANDS})")
        key = journal_key(journal) if journal is not None else None
        with self._transaction():
            resumes = self._latest_of(key) if command == "resume" and key else None
            cursor = self.db.execute(
                "INSERT INTO sessions (command, scenario, scenario_dump, backend, seed, "
                "journal, journal_key, resumes, pid, started, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running')",
                (command, str(scenario.get("name", "")), _json(scenario), backend, seed,
                 None if journal is None else redact(str(journal)), key, resumes,
                 os.getpid(), self._now()))
        return int(cursor.lastrowid)

    def finish(self, session: int, report: dict[str, Any]) -> None:
        """The session ended with ``report`` (the JSON contract): its status, steps, report."""
        counts: dict[str, int] = {}
        for op in report.get("operations", []):
            counts[op["step"]] = counts.get(op["step"], 0) + 1
        steps = [(session, seq, s["name"], s["status"], s["start_s"], s["end_s"],
                  s.get("retries", 0), counts.get(s["name"], 0))
                 for seq, s in enumerate(report.get("steps", []))]
        with self._transaction():
            self.db.execute(
                "UPDATE sessions SET ended = ?, status = ?, duration_s = ?, seed = ?, "
                "restore_id = ?, scenario = ?, report = ? WHERE id = ?",
                (self._now(), report["status"], report.get("duration_s"), report.get("seed"),
                 report.get("restore_id"), report.get("scenario"), _json(report), session))
            self.db.executemany("INSERT OR REPLACE INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                steps)

    def abandon(self, session: int, status: str, message: str) -> None:
        """The session ended without a report (``error``, or ``interrupted`` by Ctrl-C)."""
        with self._transaction():
            self.db.execute("UPDATE sessions SET ended = ?, status = ?, error = ? WHERE id = ?",
                            (self._now(), status, redact(" ".join(message.split())), session))

    def run(self, run: Callable[[], R], command: str, scenario: dict[str, Any], backend: str,
            seed: int | None = None, journal: str | Path | None = None) -> R:
        """``run()`` recorded as a session: started, then ended with its report, or with
        the error it raised (raised again)."""
        session = self.start(command, scenario, backend, seed, journal)
        try:
            result = run()
        except (ScenarioError, JournalError):  # refused before it began: not a session
            self._discard(session)
            raise
        except KeyboardInterrupt:
            self.abandon(session, "interrupted", "stopped (Ctrl-C)")
            raise
        except Exception as exc:
            text = str(exc) if isinstance(exc, RestoreLabError) else type(exc).__name__
            self.abandon(session, "error", text)
            raise
        try:
            self.finish(session, result.to_dict())
        except SessionError as exc:  # the run stands; only its record is missing
            self.unrecorded = str(exc)
        return result

    def _discard(self, session: int) -> None:
        with self._transaction():
            self.db.execute("DELETE FROM sessions WHERE id = ?", (session,))

    def prune(self, older_than_s: float) -> int:
        """Remove the sessions started more than ``older_than_s`` ago, but those still
        running; how many were removed."""
        cutoff = self._now() - older_than_s
        with self._transaction():
            rows = self.db.execute("SELECT id, status, pid FROM sessions WHERE started < ?",
                                   (cutoff,)).fetchall()
            gone = [(i,) for i, status, pid in rows if _status(status, pid) != "running"]
            self.db.executemany("DELETE FROM sessions WHERE id = ?", gone)
        return len(gone)

    # -- reading ---------------------------------------------------------------------

    def list(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The latest sessions first (``limit`` of them): id, command, scenario, backend,
        seed, restore_id, journal, resumes, started_at, ended_at (UTC), status, duration_s
        (the report's), wall_s and error."""
        rows = self.db.execute("SELECT * FROM sessions ORDER BY id DESC LIMIT ?",
                               (-1 if limit is None else limit,)).fetchall()
        return [_summary(row) for row in rows]

    def get(self, session: int | str) -> dict[str, Any]:
        """One session whole: its summary, resumed_by, steps, scenario_dump and report."""
        number = _session_number(session)
        row = self.db.execute("SELECT * FROM sessions WHERE id = ?", (number,)).fetchone()
        if row is None:
            raise SessionError(f"no session {number} in the sessions store (list them with "
                               "`restorelab sessions`)")
        steps = self.db.execute("SELECT name, status, start_s, end_s, retries, operations "
                                "FROM steps WHERE session = ? ORDER BY seq", (number,))
        resumed_by = self.db.execute("SELECT id FROM sessions WHERE resumes = ? ORDER BY id",
                                     (number,))
        return {**_summary(row), "resumed_by": [i for (i,) in resumed_by],
                "steps": [dict(s) for s in steps],
                "scenario_dump": json.loads(row["scenario_dump"]),
                "report": json.loads(row["report"]) if row["report"] else None}

    def _latest_of(self, key: str) -> int | None:
        row = self.db.execute("SELECT max(id) FROM sessions WHERE journal_key = ?",
                              (key,)).fetchone()
        return row[0]


def journal_key(journal: str | Path) -> str:
    """Which journal file a session used, whatever path named it (a digest: the store
    keeps no machine path of its own)."""
    return hashlib.sha256(str(Path(journal).resolve()).encode()).hexdigest()[:32]


def _open(path: Path) -> sqlite3.Connection:
    """The store's connection: WAL, a busy timeout, foreign keys, the schema."""
    if path.is_dir():
        raise SessionError(f"sessions store {path}: a folder; the store is a file (name one "
                           f"in it with --sessions or {SESSIONS_ENV})")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("BEGIN IMMEDIATE")
        for statement in SCHEMA:
            db.execute(statement)
        db.execute(f"PRAGMA user_version={VERSION}")
        db.execute("COMMIT")
    except (OSError, sqlite3.DatabaseError) as exc:
        raise SessionError(f"sessions store {path}: cannot use it ({exc}); choose another "
                           f"file with --sessions or {SESSIONS_ENV}") from None
    return db


def _summary(row: sqlite3.Row) -> dict[str, Any]:
    ended = row["ended"]
    return {
        **{key: row[key] for key in ("id", "command", "scenario", "backend", "seed",
                                     "restore_id", "journal", "resumes")},
        "started_at": _iso(row["started"]), "ended_at": _iso(ended) if ended else None,
        "status": _status(row["status"], row["pid"]), "duration_s": row["duration_s"],
        "wall_s": round(ended - row["started"], 3) if ended else None, "error": row["error"],
    }


def _status(stored: str, pid: int) -> str:
    """A ``running`` session whose process is gone was interrupted (killed, or lost)."""
    return "interrupted" if stored == "running" and not _alive(pid) else stored


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process of that number
        return True
    return True


def _session_number(session: int | str) -> int:
    try:
        return int(session)
    except ValueError:
        raise SessionError(f"{session!r} is not a session id: give the number `restorelab "
                           "sessions` lists") from None


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="seconds")


def _json(value: dict[str, Any]) -> str:
    return redact(json.dumps(value, sort_keys=True))
