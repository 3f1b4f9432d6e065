"""Virtual time in server mode: a client that comes back when it was told has waited.

In process, ``mock_azure`` patches the SDK's sleeps onto the fake's virtual clock. A
client in another process sleeps for real, so the server keeps the two apart: every
``Retry-After`` it sends is a short real one (``--retry-after``, default 1 s), and it
remembers the virtual wait it stands for. The client's next request to the URL it was told
to come back to (the operation's ``Azure-AsyncOperation`` or ``Location``, or the request
a 429 refused) counts as coming after that wait, however soon it comes: the clock moves
on to that time first. So a 10-minute VM create ends at the client's first poll with the
clock 10 minutes on, in the same virtual time and order as in process, run after run.
A synchronous call moves the clock by its latency and answers at once. With ``--speed
F`` the clock also runs F virtual seconds per wall-clock second (not deterministic).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from fakecloud.clock import VirtualClock

POLL_HEADERS = ("Azure-AsyncOperation", "Location")


class Pacing:
    """When each client is due back on ``clock``, and the real Retry-After it is told."""

    def __init__(self, clock: VirtualClock, retry_after_s: int = 1, speed: float = 0.0):
        self.clock, self.retry_after_s, self.speed = clock, retry_after_s, speed
        self._due: dict[tuple[str, str], float] = {}  # (method, path lower) -> virtual time
        self._started = (time.monotonic(), clock.now)

    def arrive(self, method: str, path: str) -> None:
        """A request is about to be answered: the clock moves to when it comes."""
        comes = self._due.pop((method, path.lower()), self.clock.now)
        if self.speed:
            wall, virtual = self._started
            comes = max(comes, virtual + (time.monotonic() - wall) * self.speed)
        self.clock.sleep(comes - self.clock.now)

    def told(self, method: str, path: str, headers: dict[str, str]) -> dict[str, str]:
        """The answer's headers as sent: a Retry-After becomes the real one, and the
        virtual one is remembered for the URL the client comes back to."""
        virtual = headers.get("Retry-After")
        if virtual is None:
            return headers
        now = self.clock.now
        self._due = {key: due for key, due in self._due.items() if due > now}
        polls = [urlsplit(headers[name]).path for name in POLL_HEADERS if name in headers]
        for key in [("GET", p.lower()) for p in polls] or [(method, path.lower())]:
            self._due[key] = now + float(virtual)
        return {**headers, "Retry-After": str(self.retry_after_s)}

    def forget(self) -> None:
        """No client is due back any more (the fake was reset)."""
        self._due.clear()
