"""A rehydration that takes time, in front of Azurite, at the SDK's HTTP level.

Azurite 3 rehydrates at once: Set Blob Tier Archive -> Hot answers 202 and the blob is hot
on the next read, with no ``x-ms-archive-status`` ever, and it never answers 409
BlobBeingRehydrated. ``PendingRehydration`` (a ``responses`` mock started before
``mock_azure``, which passes local addresses through to it) holds each Set Blob Tier Hot
back for the priority's time on a clock: until then the blob stays archived in Azurite,
listings show it ``rehydrate-pending-to-hot`` with its priority, and another Set Blob Tier
on it gets 409 BlobBeingRehydrated, as Azure answers. Then the held request reaches
Azurite (or, for a blob in ``fails``, never does: the blob is archived again, nothing
pending). Every Set Blob Tier is counted per blob.
"""

from __future__ import annotations

import re
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests
import responses

_REAL_SEND = requests.adapters.HTTPAdapter.send  # before any mock patches it
METHODS = ("GET", "PUT", "HEAD", "POST", "DELETE")
BLOB = re.compile(r"<Blob>.*?</Blob>", re.DOTALL)


@dataclass
class Held:
    request: Any
    ready_s: float
    priority: str


@dataclass
class PendingRehydration:
    endpoint: str  # the Azurite blob endpoint, http://127.0.0.1:PORT/ACCOUNT
    clock: Any  # .now: seconds
    seconds: dict[str, float] = field(default_factory=lambda: {"Standard": 4 * 3600.0,
                                                                "High": 1800.0})
    fails: set[str] = field(default_factory=set)  # blob names that never rehydrate
    set_tier: Counter = field(default_factory=Counter)  # blob name -> Set Blob Tier calls
    priorities: set[str] = field(default_factory=set)
    interrupt_after: int | None = None  # Set Blob Tier calls before a KeyboardInterrupt
    stale_listings: int = 0  # listings that show no pending status yet (one moment older)
    _held: dict[str, Held] = field(default_factory=dict)
    _mock: responses.RequestsMock | None = None

    def __enter__(self) -> PendingRehydration:
        self._mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        pattern = re.compile(re.escape(self.endpoint) + r"/.*")
        for method in METHODS:
            self._mock.add_callback(method, pattern, callback=self._answer)
        self._mock.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._mock.stop()
        self._mock.reset()

    def _answer(self, request: Any) -> tuple[int, dict[str, str], bytes]:
        self._release_due()
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
        if request.method == "PUT" and query.get("comp") == ["tier"]:
            return self._tier(request)
        status, headers, body = _forward(request)
        if request.method == "GET" and query.get("comp") == ["list"]:
            if self.stale_listings:
                self.stale_listings -= 1
            else:
                body = BLOB.sub(self._pending_in_listing, body.decode()).encode()
        return status, headers, body

    def _tier(self, request: Any) -> tuple[int, dict[str, str], bytes]:
        name = self._name(request.url)
        self.set_tier[name] += 1
        if self.interrupt_after is not None and sum(self.set_tier.values()) > \
                self.interrupt_after:
            raise KeyboardInterrupt  # the orchestrator stopped as it sent this one
        if name in self._held:
            return 409, {"x-ms-error-code": "BlobBeingRehydrated"}, _error(
                "BlobBeingRehydrated",
                "This operation is not permitted because the blob is being rehydrated.")
        priority = request.headers.get("x-ms-rehydrate-priority", "Standard")
        self.priorities.add(priority)
        self._held[name] = Held(request.copy(), self.clock.now + self.seconds[priority],
                                priority)
        return 202, {}, b""

    def _release_due(self) -> None:
        for name, held in list(self._held.items()):
            if held.ready_s <= self.clock.now:
                del self._held[name]
                if name not in self.fails:
                    _forward(held.request)

    def _pending_in_listing(self, match: re.Match) -> str:
        blob = match.group(0)
        name = re.search(r"<Name>(.*?)</Name>", blob).group(1)
        held = self._held.get(name)
        if held is None:
            return blob
        return blob.replace("</AccessTier>", "</AccessTier><ArchiveStatus>"
                            "rehydrate-pending-to-hot</ArchiveStatus><RehydratePriority>"
                            f"{held.priority}</RehydratePriority>", 1)

    def _name(self, url: str) -> str:
        path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
        return path.split("/", 3)[3]  # /ACCOUNT/CONTAINER/NAME


def _forward(request: Any) -> tuple[int, dict[str, str], bytes]:
    answer = _REAL_SEND(requests.adapters.HTTPAdapter(), request)
    headers = {k: v for k, v in answer.headers.items()
               if k.lower() not in ("content-length", "transfer-encoding", "content-encoding")}
    return answer.status_code, headers, answer.content


def _error(code: str, message: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error>").encode()
