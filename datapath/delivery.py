"""Delivering the restore agent to a worker VM: cloud-init custom data.

The agent and the repository code it reads with travel as one zipapp (standard library
plus zstandard, which cloud-init installs from the distribution's packages), written to
the worker at first boot with a ``restorelab-agent`` command that runs it. ARM takes the
cloud-config base64-encoded in ``osProfile.customData`` (at most 64 KB decoded).
"""

from __future__ import annotations

import base64
import io
import zipfile
from functools import cache, lru_cache
from importlib import resources

import yaml

AGENT_ARCHIVE = "/usr/local/lib/restorelab/restorelab-agent.pyz"
AGENT_COMMAND = "/usr/local/bin/restorelab-agent"
AGENT_MODULES = ("__init__.py", "agent.py", "repository.py")
WORKER_PACKAGES = ("python3", "python3-zstandard")
MAX_CUSTOM_DATA = 64 * 1024  # ARM's limit for osProfile.customData
MAIN = "import sys\nfrom datapath.agent import main\nsys.exit(main())\n"


@cache
def agent_zipapp() -> bytes:
    """The agent as a Python zip application (``python3 restorelab-agent.pyz ...``)."""
    package = resources.files("datapath")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("__main__.py", MAIN)
        for module in AGENT_MODULES:
            archive.writestr(f"datapath/{module}", package.joinpath(module).read_bytes())
    return buffer.getvalue()


def cloud_config() -> str:
    """The worker's cloud-config: install zstandard, write the agent and its command."""
    config = {
        "packages": list(WORKER_PACKAGES),
        "write_files": [
            {"path": AGENT_ARCHIVE, "encoding": "b64", "permissions": "0644",
             "content": base64.b64encode(agent_zipapp()).decode()},
            {"path": AGENT_COMMAND, "permissions": "0755",
             "content": f'#!/bin/sh\nexec python3 {AGENT_ARCHIVE} "$@"\n'},
        ],
    }
    return "#cloud-config\n" + yaml.safe_dump(config, sort_keys=False)


@cache
def custom_data() -> str:
    """``cloud_config()`` as ARM's ``customData`` (base64)."""
    config = cloud_config().encode()
    if len(config) > MAX_CUSTOM_DATA:
        raise ValueError(f"the worker's cloud-config is {len(config)} bytes; ARM takes "
                         f"{MAX_CUSTOM_DATA}")
    return base64.b64encode(config).decode()


@lru_cache(maxsize=8)
def delivered_files(custom: str) -> dict[str, bytes]:
    """The files a cloud-config in ``customData`` writes at first boot (path -> bytes):
    what cloud-init's write_files does, for fakes and tests (kept: do not change it)."""
    text = base64.b64decode(custom).decode()
    if not text.startswith("#cloud-config"):
        return {}
    config = yaml.safe_load(text) or {}
    files = {}
    for entry in config.get("write_files") or []:
        content = entry.get("content", "")
        files[entry["path"]] = (base64.b64decode(content) if entry.get("encoding") == "b64"
                                else content.encode())
    return files
