"""The server's HTTP: HTTPS on the standard library's ``ThreadingHTTPServer``. Each request
(any method, its body read whole, ``Content-Length`` or chunked) goes to the Service, and
its answer's status, headers and body go back as they are. HTTP the server cannot take (a
malformed request line or body, an unknown method, plain HTTP on the HTTPS port) gets an
ARM-style error body; a failure inside the fake gets a 500 with one, and the traceback
goes to the server's stderr, never to the client."""

from __future__ import annotations

import re
import socket
import ssl
import sys
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fakecloud.arm.responses import error
from fakecloud.server.service import Service, say, with_json

MAX_BODY = 64 * 2**20
HANDSHAKE_TIMEOUT_S = 10
IDLE_TIMEOUT_S = 120
NO_BODY = (204, 304)
TLS_HANDSHAKE = b"\x16"
HEX = re.compile(rb"^[0-9a-fA-F]{1,16}$")


class BadRequest(Exception):
    """A request the server cannot read: ARM's ``status`` and error ``code``."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code


class Server(ThreadingHTTPServer):
    """Listens on ``address``; each connection's TLS handshake is made in its own thread
    with ``context``. ``service`` answers, ``quiet`` leaves the request log out."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext, quiet: bool = False):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, Handler)
        self.context, self.quiet = context, quiet
        self.service: Service | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(HANDSHAKE_TIMEOUT_S)
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # headers, body: no wait
        try:
            first = request.recv(1, socket.MSG_PEEK)
            if first and first != TLS_HANDSHAKE:
                self._refuse_plain_http(request)
                return
            tls = self.context.wrap_socket(request, server_side=True)
        except OSError as exc:  # ssl.SSLError included: a client that refused the certificate
            say(f"no TLS with {client_address[0]}: {exc}")
            return
        with tls:
            super().finish_request(tls, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        say(f"connection from {client_address[0]} ended: {sys.exc_info()[1]!r}")

    def _refuse_plain_http(self, request: socket.socket) -> None:
        request.recv(65536)  # the request, so that closing does not reset the connection
        _, _, body = error(400, "HttpsRequired", f"fakecloud speaks HTTPS only: use "
                           f"{self.service.origin if self.service else 'https://'}")
        request.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                        b"Connection: close\r\nContent-Length: %d\r\n\r\n%s"
                        % (len(body), body.encode()))


class Handler(BaseHTTPRequestHandler):
    """One connection: requests answered by the server's Service."""

    protocol_version = "HTTP/1.1"
    server_version = "fakecloud"
    timeout = IDLE_TIMEOUT_S
    server: Server

    def do_GET(self) -> None:
        try:
            body = self._body()
        except BadRequest as refused:
            self.close_connection = True
            self._send(*with_json(error(refused.status, refused.code, str(refused))))
            return
        try:
            answer = self.server.service.answer(self.command, self.path, body,
                                                {k: v for k, v in self.headers.items()})
        except Exception:  # a bug in the fake: the client hears of it, the log says what
            self.log_error("failed answering %s %s\n%s", self.command, self.path,
                           traceback.format_exc())
            answer = with_json(error(500, "InternalServerError", "fakecloud failed to answer "
                                 "this request; the server's log says why."))
        self._send(*answer)

    do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = do_GET

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """http.server's own refusals (malformed request line, unknown method, headers
        too long), in ARM's error shape."""
        self.close_connection = True
        phrase = HTTPStatus(code).phrase
        self._send(*with_json(error(code, re.sub(r"\W", "", phrase.title()), message or phrase)))

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        if not self.server.quiet:
            super().log_request(code, size)

    def log_message(self, format: str, *args: Any) -> None:
        say(f"{self.address_string()} {format % args}")

    def _send(self, status: int, headers: dict[str, str], text: str) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status not in NO_BODY:
            self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and status not in NO_BODY:
            self.wfile.write(data)

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._chunked()
        length = self.headers.get("Content-Length", "0").strip()
        if not length.isdigit():
            raise BadRequest(400, "InvalidContentLength",
                             f"Content-Length {length!r} is not a number of bytes")
        return self._read(int(length))

    def _chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = self.rfile.readline(1024).split(b";")[0].strip()
            if not HEX.match(size):
                raise BadRequest(400, "InvalidChunkedBody",
                                 f"a chunk's size {size[:20]!r} is not hexadecimal")
            if int(size, 16) == 0:
                while self.rfile.readline(1024).strip():  # trailer fields, ignored
                    pass
                return b"".join(chunks)
            chunks.append(self._read(int(size, 16), sum(map(len, chunks))))
            self.rfile.readline(1024)  # the CRLF after the chunk

    def _read(self, size: int, before: int = 0) -> bytes:
        if before + size > MAX_BODY:
            raise BadRequest(413, "RequestEntityTooLarge",
                             f"a request body is at most {MAX_BODY} bytes here")
        data = self.rfile.read(size)
        if len(data) < size:
            raise BadRequest(400, "IncompleteBody",
                             f"the body ended after {len(data)} of {size} bytes")
        return data
