"""Virtual time for the HTTP fake: the clock jumps ahead when every task is asleep.

Like a time-skipping test server, nothing waits for real: an SDK poller that sleeps the
Retry-After of a 10-minute VM create is woken as soon as every other task in flight is
asleep too, with the clock moved to the earliest wake-up.
"""

from __future__ import annotations

import heapq
import itertools
import threading


class VirtualClock:
    """Simulated seconds shared by the fake and the threads driving it.

    A task is a unit of work in flight (one restore operation); it may hop between threads
    (an SDK call and its poller) but sleeps in one place at a time. ``sleep`` blocks until
    the clock reaches the wake-up time; the clock moves when sleepers are at least as many
    as the tasks in flight, so a thread working at the present instant holds time still.
    """

    def __init__(self, start_s: float = 0.0):
        self.now = float(start_s)
        self._changed = threading.Condition()
        self._tasks = 0
        self._asleep = 0
        self._wakeups: list[tuple[float, int]] = []
        self._order = itertools.count()

    def task_started(self) -> None:
        with self._changed:
            self._tasks += 1

    def task_ended(self) -> None:
        with self._changed:
            self._tasks -= 1
            self._skip()

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._changed:
            wake = self.now + seconds
            heapq.heappush(self._wakeups, (wake, next(self._order)))
            self._asleep += 1
            self._skip()
            while self.now < wake:
                self._changed.wait()

    def _skip(self) -> None:
        """Move to the earliest wake-up if nobody is working at the present instant."""
        if not self._wakeups or self._asleep < self._tasks:
            return
        self.now = max(self.now, self._wakeups[0][0])
        while self._wakeups and self._wakeups[0][0] <= self.now:
            heapq.heappop(self._wakeups)
            self._asleep -= 1
        self._changed.notify_all()
