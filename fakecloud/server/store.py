"""The server's state file (``--state``): every subscription's resources and the clock.

The document is the one ``GET /_fakecloud/state`` answers::

    {"fakecloud_state": 1, "clock_s": 912.0,
     "subscriptions": {"<subscription id>": [<resource>, ...], ...}}

each resource as ``CloudState.dump`` writes it. It is written whole, to a temporary file
renamed over the old one, so a crash never leaves half a file. Long-running operations
still pending, throttling and latency draws are not kept: after a restart every resource
is as its last accepted request left it, and a poll of an older operation gets 404.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fakecloud.arm.fake import ArmFake
from fakecloud.clock import VirtualClock
from fakecloud.models import CloudState
from fakecloud.profile import RegionProfile
from fakecloud.region import Region

VERSION = 1


class StateFileError(Exception):
    """A state file that cannot be read or is not one; the message says which and why."""


def document(fake: ArmFake) -> dict[str, Any]:
    """The resources of every subscription ``fake`` serves that has any, and its clock."""
    dumps = {sub: fake.state_of(sub).dump() for sub in fake.subscriptions()}
    return {"fakecloud_state": VERSION, "clock_s": fake.clock.now,
            "subscriptions": {sub: dumped for sub, dumped in dumps.items() if dumped}}


def read(path: Path) -> dict[str, Any] | None:
    """The document in ``path``, or None when there is no such file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise StateFileError(f"cannot read state file {path}: {exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StateFileError(f"state file {path} is not JSON: {exc}") from None
    if not (isinstance(data, dict) and data.get("fakecloud_state") == VERSION
            and isinstance(data.get("subscriptions"), dict)):
        raise StateFileError(f"{path} is not a fakecloud state file (version {VERSION})")
    return data


def fake_from(data: dict[str, Any] | None, path: Path | None, subscription: str,
              profile: RegionProfile, seed: int, host: str) -> ArmFake:
    """An ArmFake serving the document's subscriptions (``subscription`` the default),
    its clock where the document left it."""
    data = data or {"clock_s": 0.0, "subscriptions": {}}
    try:
        states = {sub: CloudState.load(sub, profile.max_data_disks, dumped, profile.quota)
                  for sub, dumped in data["subscriptions"].items()}
        clock = VirtualClock(float(data.get("clock_s", 0.0)))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise StateFileError(f"state file {path} cannot be loaded: {type(exc).__name__}: "
                             f"{exc}") from None
    default = states.pop(subscription, None) or CloudState(
        subscription, profile.max_data_disks, profile.quota)
    fake = ArmFake(default, profile, clock, seed, host=host)
    for state in states.values():
        fake._serve(Region(state, profile, seed, fake.rules))  # ArmFake has no public way
    return fake


def write(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` with ``data`` at once."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(temporary, path)
