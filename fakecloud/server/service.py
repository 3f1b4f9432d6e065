"""What the server answers at its origin, HTTP aside: the admin endpoints, ARM's cloud
metadata, sign-in (Entra ID and IMDS, ``fakecloud.identity``), and every other request
through one ArmFake, on the virtual clock as ``Pacing`` moves it. Requests are answered
one at a time, in the order they arrive."""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fakecloud import identity
from fakecloud.arm.fake import ArmFake
from fakecloud.arm.responses import error
from fakecloud.server import cloud, store
from fakecloud.server.timing import Pacing

Response = tuple[int, dict[str, str], str]
JSON = {"Content-Type": "application/json"}
ADMIN = "/_fakecloud/"
READS = ("GET", "HEAD")
SLASHES = re.compile(r"/{2,}")


@dataclass(frozen=True, slots=True)
class Request:
    """A request as ArmFake reads one."""

    method: str
    url: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)  # If-Match, If-None-Match


class Service:
    """The answers of a server at ``origin`` over ``fake``; ``state_file``, if any, is
    rewritten after each request that changed state."""

    def __init__(self, fake: ArmFake, origin: str, pacing: Pacing,
                 state_file: Path | None = None):
        self.fake, self.origin, self.pacing, self.state_file = fake, origin, pacing, state_file
        self.login = identity.Login.at(origin)
        self._lock = threading.Lock()
        self._closed = False
        self._admin = {"reset": ("POST", self._reset), "state": ("GET", self._state),
                       "requests": ("GET", self._requests)}

    def answer(self, method: str, target: str, body: bytes,
               headers: Mapping[str, str] | None = None) -> Response:
        """The answer to ``method`` on ``target``, the request line's path and query (and
        the request's ``headers``: ARM reads If-Match and If-None-Match)."""
        path, query = _split(target)
        with self._lock:
            if self._closed:
                return with_json(error(503, "ServiceUnavailable", "fakecloud is stopping"))
            if path.lower().startswith(ADMIN):
                return self._admin_answer(method, path)
            local = self._sign_in_or_metadata(method, path, query)
            if local is not None:
                return local
            return self._arm(method, path, query, body, headers or {})

    def save(self) -> None:
        """Write the state file (if there is one) now; OSError if it cannot be written."""
        if self.state_file is not None:
            store.write(self.state_file, store.document(self.fake))

    def close(self) -> None:
        """Answer nothing more, and save the state as the last answer left it."""
        with self._lock:
            self._closed = True
            self.save()

    def _arm(self, method: str, path: str, query: str, body: bytes,
             headers: Mapping[str, str]) -> Response:
        self.pacing.arrive(method, path)
        url = f"{self.origin}{path}?{query}" if query else f"{self.origin}{path}"
        status, headers, text = self.fake.handle(Request(method, url, body, headers))
        if method not in READS and status < 400:
            self._save_or_say()
        return status, self.pacing.told(method, path, headers), text

    def _sign_in_or_metadata(self, method: str, path: str, query: str) -> Response | None:
        lower = path.lower()
        if method == "GET" and lower == "/metadata/endpoints":
            version = (parse_qs(query).get("api-version") or [""])[0]
            if not version:
                return with_json(error(400, "MissingApiVersionParameter", "The api-version "
                                        "query parameter (?api-version=) is required for all "
                                        "requests."))
            return 200, JSON, json.dumps(cloud.metadata(self.origin, version))
        if method == "GET" and lower == "/metadata/identity/oauth2/token":
            return identity.imds_token()
        tenant, _, rest = path[1:].partition("/")
        return identity.entra_id(self.login, method, tenant, rest) if rest else None

    def _admin_answer(self, method: str, path: str) -> Response:
        found = self._admin.get(path[len(ADMIN):].strip("/").lower())
        if found is None:
            listed = ", ".join(f"{verb} {ADMIN}{name}" for name, (verb, _) in self._admin.items())
            return with_json(error(404, "AdminEndpointNotFound", f"fakecloud has no admin "
                                    f"endpoint {path}; it has {listed}"))
        verb, answer = found
        if method != verb:
            status, headers, text = error(405, "MethodNotAllowed", f"{path} takes {verb}")
            return status, {**JSON, **headers, "Allow": verb}, text
        return answer()

    def _reset(self) -> Response:
        self.fake.reset()
        self.pacing.forget()
        self._save_or_say()
        return 200, JSON, json.dumps({"status": "ok"})

    def _state(self) -> Response:
        return 200, JSON, json.dumps(store.document(self.fake))

    def _requests(self) -> Response:
        return 200, JSON, json.dumps({"value": [asdict(r) for r in self.fake.requests]})

    def _save_or_say(self) -> None:
        """Save the state; a failure is said on stderr and serving goes on."""
        try:
            self.save()
        except OSError as exc:
            say(f"cannot save the state to {self.state_file}: {exc}")


def _split(target: str) -> tuple[str, str]:
    """The path (repeated slashes as one, as in ``https://host//metadata``) and query of a
    request target, in origin form (``/path?query``) or absolute form (a proxy's)."""
    if target.startswith("/"):
        path, _, query = target.partition("?")
    else:
        parts = urlsplit(target)
        path, query = parts.path, parts.query
    return SLASHES.sub("/", path) or "/", query


def with_json(response: Response) -> Response:
    """``response`` marked as JSON."""
    status, headers, text = response
    return status, {**JSON, **headers}, text


def say(message: str) -> None:
    """One line on the server's stderr."""
    print(f"fakecloud: {message}", file=sys.stderr, flush=True)
