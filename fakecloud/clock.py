"""Virtual time for the HTTP fake: the clock jumps ahead when every task is asleep.

Like a time-skipping test server, nothing waits for real: an SDK poller that sleeps the
Retry-After of a 10-minute VM create is woken as soon as every other task is asleep too,
with the clock moved to the earliest wake-up. Tasks take turns (one runs at a time, in a
fixed order), so the same restore makes the same requests in the same order every run.
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import threading
from collections import deque
from collections.abc import Hashable
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
"""The wall-clock time of virtual second 0, for the times ARM reports (``timeCreated``)."""


def wall_clock(seconds: float) -> str:
    """Virtual ``seconds`` as ARM writes a time: ``2026-01-01T00:00:05.0000000+00:00``."""
    moment = EPOCH + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0+00:00"


_task: contextvars.ContextVar[Hashable | None] = contextvars.ContextVar("task", default=None)


class VirtualClock:
    """Simulated seconds shared by the fake and the threads driving it.

    A task (one restore operation, or the driver itself) is queued with ``admit`` by the
    task running now, and its thread calls ``enter`` to wait for its turn; it keeps the
    turn until it sleeps or calls ``leave``. A task may hop between threads (an SDK call
    and the poller it starts): the turn belongs to the task, not the thread. When no task
    is ready, the clock moves to the earliest wake-up. Outside tasks (plain use of
    ``mock_azure``) sleeping just moves the clock.
    """

    def __init__(self, start_s: float = 0.0):
        self.now = float(start_s)
        self._turn = threading.Condition()
        self._ready: deque[Hashable] = deque()
        self._running: Hashable | None = None
        self._wakeups: list[tuple[float, int, Hashable]] = []
        self._order = itertools.count()

    def admit(self, task: Hashable) -> None:
        """Queue ``task`` to run after those already waiting for their turn."""
        with self._turn:
            self._ready.append(task)

    def enter(self, task: Hashable) -> None:
        """Be ``task`` in this thread (and threads it starts); wait for its turn."""
        _task.set(task)
        with self._turn:
            self._pass_turn()
            while self._running != task:
                self._turn.wait()

    def leave(self) -> None:
        """The running task is done (or waits outside the clock): the next one runs."""
        with self._turn:
            self._running = None
            self._pass_turn()

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        task = _task.get()
        with self._turn:
            if task is None:
                self.now += seconds
                return
            heapq.heappush(self._wakeups, (self.now + seconds, next(self._order), task))
            self._running = None
            self._pass_turn()
            while self._running != task:
                self._turn.wait()

    def _pass_turn(self) -> None:
        """Give the turn to the next ready task; with none ready, skip ahead in time."""
        if self._running is not None:
            return
        if not self._ready and self._wakeups:
            self.now = max(self.now, self._wakeups[0][0])
            while self._wakeups and self._wakeups[0][0] <= self.now:
                self._ready.append(heapq.heappop(self._wakeups)[2])
        if self._ready:
            self._running = self._ready.popleft()
            self._turn.notify_all()
