"""The durable journal of one restore (sqlite3, WAL): its scenario, each step and each
operation's intent and result, and (simulated backends) the region's state.

Crash-safe: each step's and each operation's record is written in one transaction with
the session's state as it stands then (``follow``), so a process killed at any instant
leaves a journal whose resume picks up from its last record.

``restorelab resume JOURNAL`` finishes an interrupted restore from it. One process at a
time may hold a journal: a second one is refused with a clear error. No secrets are
written: operations hold resource ids and settings only.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restore.engine import Engine, StepRun, Ticket
from restore.errors import JournalError

if TYPE_CHECKING:
    from fakecloud.models import CloudState
    from restore.backends.data import RegionData
    from restore.backends.faults import StepFaults
    from restore.backends.prepared import Resumption

VERSION = 1
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS steps (
    name TEXT PRIMARY KEY, status TEXT NOT NULL, start_s REAL NOT NULL, end_s REAL,
    retries INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS operations (
    session INTEGER NOT NULL, ticket INTEGER NOT NULL, step TEXT NOT NULL, op TEXT NOT NULL,
    resource TEXT NOT NULL, intent TEXT NOT NULL, status TEXT NOT NULL, start_s REAL NOT NULL,
    end_s REAL, attempts INTEGER NOT NULL, errors TEXT NOT NULL, retry_wait_s REAL NOT NULL,
    PRIMARY KEY (session, ticket))""",
)
Session = Callable[[], dict[str, Any]]
"""The session's state as it stands now, as journal meta (kept with every record)."""


class Journal:
    """An open journal, held by this process until ``close``. A new one (``create``) is
    written with its ``meta`` in one transaction: it holds a whole restore or nothing."""

    def __init__(self, path: str | Path, *, create: bool, meta: dict[str, Any] | None = None):
        self.path = Path(path)
        if create:
            _check_new(self.path)
        else:
            _check_existing(self.path)  # read-only: a foreign file is left as it was
        self._lock = _hold_lock(self.path)
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            with self._transaction():
                for table in SCHEMA:
                    self.db.execute(table)
                self.session = int(self.meta("sessions") or 0) + 1
                self.set_meta(**(meta or {}), sessions=self.session, version=VERSION)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise JournalError(f"{path}: not a restorelab journal ({exc})") from None
        self._session: Session | None = None

    def close(self) -> None:
        if getattr(self, "db", None) is not None:
            self.db.close()
            self.db = None
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """Everything written inside is written together, or (killed midway) not at all."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- meta ------------------------------------------------------------------------

    def meta(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def set_meta(self, **values: Any) -> None:
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                            [(k, json.dumps(v)) for k, v in values.items()])

    def follow(self, session: Session) -> None:
        """Keep ``session()`` with every record from now on, and now."""
        self._session = session
        self.save()

    def save(self) -> None:
        """Write the followed session's state as it stands (at the end of a session)."""
        if self._session is not None:
            self.set_meta(**self._session())

    # -- records ---------------------------------------------------------------------

    def record_step(self, run: StepRun) -> None:
        with self._transaction():
            self.db.execute("INSERT OR REPLACE INTO steps VALUES (?, ?, ?, ?, ?)",
                            (run.name, run.status, run.start_s, run.end_s, run.retries))
            self.save()

    def record_operation(self, ticket: Ticket) -> None:
        """The operation's intent before it is sent, then its outcome once known."""
        op = ticket.op
        intent = {"kind": op.kind, **dataclasses.asdict(op)}
        with self._transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO operations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.session, ticket.id, ticket.step, op.kind, op.resource,
                 json.dumps(intent, default=list), ticket.status, ticket.start_s,
                 ticket.end_s, ticket.attempts, json.dumps(ticket.errors), ticket.retry_wait_s))
            self.save()

    def steps(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT name, status, start_s, end_s, retries FROM steps "
                               "ORDER BY start_s, rowid").fetchall()
        return [dict(zip(("name", "status", "start_s", "end_s", "retries"), r, strict=True))
                for r in rows]

    def stopped_at(self) -> tuple[list[StepRun], set[str]]:
        """Where the restore stopped: the steps that ended (done for good) and the names
        of those that did not (to run again, checking before acting)."""
        steps = self.steps()
        finished = [StepRun(s["name"], s["start_s"], None, s["end_s"], "succeeded",
                            retries=s["retries"], busy_s=s["end_s"] - s["start_s"])
                    for s in steps if s["status"] == "succeeded"]
        return finished, {s["name"] for s in steps if s["status"] != "succeeded"}

    def earlier_operations(self) -> list[dict[str, Any]]:
        """The operations of the sessions before this one, as a report shows them."""
        rows = self.db.execute(
            "SELECT op, resource, step, start_s, end_s, status, attempts, errors, retry_wait_s "
            "FROM operations WHERE session < ? ORDER BY session, ticket",
            (self.session,)).fetchall()
        found = []
        for op, resource, step, start, end, status, attempts, errors, waited in rows:
            errors = json.loads(errors)
            found.append({"op": op, "resource": resource, "step": step, "start_s": start,
                          "end_s": end, "status": status, "attempts": attempts,
                          "error_code": errors[-1] if status == "failed" and errors else None,
                          "errors": errors, "retry_wait_s": waited})
        return found


def engine_session(engine: Engine, now: Callable[[], float], first_ticket: int,
                   unfinished: str) -> dict[str, Any]:
    """Where the engine stands: its status (``unfinished`` until the restore ends: what a
    killed process leaves is a restore to resume), the failure it recovers from, the
    clock and the next ticket's number."""
    return {"status": engine.status if engine.finished else unfinished,
            "error": engine.error, "clock_s": now(),
            "next_ticket": first_ticket + len(engine.operations)}


def simulated_session(engine: Engine, state: CloudState, now: Callable[[], float],
                      faults: StepFaults, data: RegionData | None,
                      resuming: Resumption | None) -> Session:
    """A simulated restore's session state: the engine's, the region it changed, the
    fault rules left and the bytes verified."""
    first_ticket = resuming.next_ticket if resuming else 0
    return lambda: {**engine_session(engine, now, first_ticket, "interrupted"),
                    "region": state.dump(), "faults_left": faults.remaining(),
                    "data_verified": data.verified_so_far() if data else None}


def read_only(path: str | Path) -> sqlite3.Connection:
    """The journal at ``path`` opened to read only (a running restore's too), once it is
    found to be a restorelab journal."""
    path = Path(path)
    _check_existing(path)
    return _read_only(path)


def meta_at(path: str | Path) -> dict[str, Any]:
    """Every meta value of the journal at ``path``, read without writing."""
    with closing(read_only(path)) as db:
        return meta_of(db)


def _check_new(path: Path) -> None:
    """A path a new journal can take: a file to be, in a folder that exists (or a file a
    killed process left with nothing in it)."""
    _check_not_a_folder(path)
    if not path.parent.is_dir():
        raise JournalError(f"{path}: its folder {path.parent} does not exist")
    if path.exists() and not _holds_nothing(path):
        raise JournalError(f"{path}: {_what_is_there(path)}")


def _what_is_there(path: Path) -> str:
    """What the file a new journal would take holds, and what to do about it."""
    try:
        status = meta_at(path).get("status")
    except (JournalError, sqlite3.Error):
        return "a file exists there already; choose another path"
    if status in (None, "interrupted", "running"):
        return (f"a journal of an unfinished restore is there; resume it with `restorelab "
                f"resume {path}` or choose another path")
    return (f"a journal of a finished restore (it {status}) is there; choose another path "
            "(`restorelab sessions` keeps its record)")


def _check_not_a_folder(path: Path) -> None:
    if path.is_dir():
        raise JournalError(f"{path}: a folder; a journal is a file (name one in it)")


def _check_existing(path: Path) -> None:
    """A restorelab journal is there, found by reading it without writing."""
    _check_not_a_folder(path)
    if not path.is_file():
        raise JournalError(f"{path}: no such journal")
    _check_is_journal(path)


def meta_of(db: sqlite3.Connection) -> dict[str, Any]:
    """Every meta value of an open journal."""
    return {key: json.loads(value) for key, value in db.execute("SELECT key, value FROM meta")}


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _holds_nothing(path: Path) -> bool:
    """An empty file, or a database without tables: what a process killed before a new
    journal's first transaction leaves (written anew by the next run that names it)."""
    if path.stat().st_size == 0:
        return True
    try:
        with closing(_read_only(path)) as db:
            return db.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
    except sqlite3.DatabaseError:
        return False


def _check_is_journal(path: Path) -> None:
    """Refuse a file that is not a restorelab journal, reading it without writing."""
    if _holds_nothing(path):
        raise JournalError(f"{path}: not a restorelab journal: it holds no restore (a "
                           "process stopped before its first record, or an empty file); "
                           f"run the restore again with --journal {path}")
    try:
        with closing(_read_only(path)) as db:
            found = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise JournalError(f"{path}: not a restorelab journal ({exc})") from None
    if found is None or json.loads(found[0]) != VERSION:
        shown = "no version" if found is None else f"version {found[0]}"
        raise JournalError(f"{path}: not a restorelab journal ({shown})")


def _hold_lock(path: Path) -> int:
    """An exclusive lock on the journal for this process; refuse if another holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise JournalError(f"{path}: another restorelab process is using this journal "
                           "(resuming or running it); wait for it to end") from None
    return fd
