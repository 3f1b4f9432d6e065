"""fakecloud's server mode: the ARM fake over HTTPS, for clients outside this process.

Like moto's server and Azurite, ``fakecloud serve`` (``fakecloud.server.cli``) puts one
ArmFake behind a local HTTPS origin, so the az CLI, Terraform, any language's Azure SDK or
another Python process can use the fake region: ARM (every method, any subscription),
ARM's cloud metadata, Entra ID sign-in and the managed identity endpoint at that origin,
and admin endpoints under ``/_fakecloud/`` (``reset``, ``state``, ``requests``).

- ``cert``: the self-signed certificate clients trust, written once and reused.
- ``timing``: how virtual time passes when clients sleep for real. Each Retry-After sent is
  a short real one; a client that comes back to the URL it was told counts as having
  waited the virtual time it stood for, so long-running operations end at its polls,
  deterministically. Synchronous calls never wait for real.
- ``store``: ``--state FILE``, every subscription's resources and the clock, rewritten
  atomically after each change; pending long-running operations are not kept.
- ``service``: what each path answers; ``httpd``: the stdlib HTTP server around it.
"""

DEFAULT_PORT = 8443
