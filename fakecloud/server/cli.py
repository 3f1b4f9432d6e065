"""``fakecloud serve``: the command line of the server (``fakecloud.server``)."""

from __future__ import annotations

import argparse
import math
import signal
import ssl
import sys
from pathlib import Path
from typing import Any

from fakecloud.mock import DEFAULT_SUBSCRIPTION
from fakecloud.profile import ProfileError, load_profile
from fakecloud.server import DEFAULT_PORT, cert, store
from fakecloud.server.httpd import Server
from fakecloud.server.service import Service, say
from fakecloud.server.timing import Pacing

DESCRIPTION = """\
fakecloud: a fake Azure region (Resource Manager, Entra ID sign-in, IMDS) for clients in
any process or language: the Azure SDKs, the az CLI, Terraform, curl."""

SERVE_DESCRIPTION = """\
Serve fakecloud's ARM fake over HTTPS at https://HOST:PORT, with a self-signed certificate
(for localhost, 127.0.0.1 and HOST) written to --cert-dir and reused while valid: clients
trust that file (connection_verify=CERT, curl --cacert CERT, REQUESTS_CA_BUNDLE=CERT).
The first line on stdout says the URL and the certificate's path.

Any subscription id works. Sign-in is answered at the same origin: /{tenant}/oauth2/v2.0/
token, /{tenant}/v2.0/.well-known/openid-configuration, /common/discovery/instance, the
managed identity's /metadata/identity/oauth2/token, and ARM's cloud metadata
/metadata/endpoints?api-version=2022-09-01 naming this server as Resource Manager and
login host. Admin: POST /_fakecloud/reset forgets everything, GET /_fakecloud/state dumps
every subscription's resources, GET /_fakecloud/requests lists the ARM requests answered.

Time is virtual. A synchronous call moves the clock by its latency and answers at once.
A Retry-After the server sends (long-running operations, 429s) is --retry-after real
seconds, and the client's next request to the URL it was told to come back to counts as
coming after the virtual wait it stood for: the clock moves on to then. So operations end
at the client's polls as fast as the client polls, in the same virtual time every run.
--speed F also runs the clock F virtual seconds per wall-clock second."""

SERVE_EPILOG = """\
examples:
  fakecloud serve                           # https://127.0.0.1:%(port)d
  fakecloud serve --port 0 --cert-dir .     # a free port; the first line names it
  fakecloud serve --state region.json       # resources kept across restarts
  curl --cacert CERT https://127.0.0.1:%(port)d/_fakecloud/state
  curl --cacert CERT -X PUT -H 'Content-Type: application/json' -d '{"location": "westeurope"}' \\
    'https://127.0.0.1:%(port)d/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg?api-version=2021-04-01'
  REQUESTS_CA_BUNDLE=CERT az cloud register --name fakecloud \\
    --endpoint-resource-manager https://127.0.0.1:%(port)d

The state file keeps every subscription's resources and the clock (written whole after
each request that changed them, and at exit); long-running operations still pending are
not kept. Stop the server with Ctrl-C or SIGTERM."""


class Stopped(BaseException):
    """SIGTERM: stop serving (like KeyboardInterrupt, past ``except Exception``)."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop)
    try:
        return serve(args)
    except (KeyboardInterrupt, Stopped):  # before it served: nothing to save
        say("stopped")
        return 0


def serve(args: argparse.Namespace) -> int:
    """Serve until stopped; 2 when the server cannot start (its reason on stderr)."""
    try:
        profile = load_profile(args.profile)
        data = store.read(args.state) if args.state else None
    except (ProfileError, store.StateFileError) as exc:
        return _cannot(str(exc))
    try:
        cert_file, key_file = cert.ensure(args.cert_dir, args.host)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
    except OSError as exc:
        return _cannot(f"cannot keep a certificate in {args.cert_dir}: {exc}")
    try:
        server = Server((args.host, args.port), context, args.quiet)
    except OSError as exc:
        return _cannot(f"cannot listen on {args.host}:{args.port}: {exc}")
    with server:
        origin = origin_of(args.host, server.server_address[1])
        try:
            fake = store.fake_from(data, args.state, DEFAULT_SUBSCRIPTION, profile, args.seed,
                                   origin)
            service = Service(fake, origin, Pacing(fake.clock, args.retry_after, args.speed),
                              args.state)
            service.save()
        except store.StateFileError as exc:
            return _cannot(str(exc))
        except OSError as exc:
            return _cannot(f"cannot write the state file {args.state}: {exc}")
        server.service = service
        _serve_until_stopped(server, service, f"fakecloud: serving Azure Resource Manager on "
                             f"{origin} (certificate: {cert_file.resolve()})")
    return 0


def origin_of(host: str, port: int) -> str:
    """The origin clients reach a server on ``host`` at (``localhost`` for all addresses)."""
    shown = "localhost" if host in ("", "0.0.0.0", "::") else host
    return f"https://[{shown}]:{port}" if ":" in shown else f"https://{shown}:{port}"


def _serve_until_stopped(server: Server, service: Service, ready: str) -> None:
    """Say ``ready`` on stdout and serve; at Ctrl-C or SIGTERM save the state and stop."""
    try:
        print(ready, flush=True)
        server.serve_forever()
    except (KeyboardInterrupt, Stopped):
        pass
    finally:
        try:
            service.close()
        except OSError as exc:
            say(f"cannot save the state to {service.state_file}: {exc}")
    say("stopped")


def _stop(signum: int, frame: Any) -> None:
    raise Stopped


def _cannot(reason: str) -> int:
    say(reason)
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fakecloud", description=DESCRIPTION,
                                     epilog="Run 'fakecloud serve --help' for the server.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve_parser = commands.add_parser(
        "serve", help="serve the fake over HTTPS for clients in other processes",
        description=SERVE_DESCRIPTION, epilog=SERVE_EPILOG % {"port": DEFAULT_PORT},
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add = serve_parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    add("--port", type=_port, default=DEFAULT_PORT,
        help="port to listen on, 0 for any free one (default: %(default)s)")
    add("--cert-dir", type=Path, default=cert.default_dir(), metavar="DIR",
        help="where cert.pem and key.pem are kept (default: %(default)s)")
    add("--state", type=Path, metavar="FILE",
        help="load the resources from FILE if it exists, and keep them there")
    add("--profile", default="default", metavar="NAME|FILE",
        help="region profile: latencies, limits, throttling (default: %(default)s)")
    add("--seed", type=int, default=0, help="seed of the latency draws (default: 0)")
    add("--retry-after", type=_not_negative(int), default=1, metavar="SECONDS",
        help="the real Retry-After clients are told (default: 1; 0: their own interval)")
    add("--speed", type=_not_negative(float), default=0.0, metavar="F",
        help="virtual seconds per wall-clock second besides the requests' (default: 0)")
    add("--quiet", action="store_true", help="no line per request on stderr")
    return parser


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0-65535)")
    return int(text)


def _not_negative(kind: type) -> Any:
    def parse(text: str) -> Any:
        value = kind(text)
        if not 0 <= value < math.inf:
            raise argparse.ArgumentTypeError(f"{text} is not a finite number, 0 or more")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its error message
    return parse


if __name__ == "__main__":
    raise SystemExit(main())
