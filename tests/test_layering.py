"""The layers stay apart: fakecloud is a fake Azure region that imports nothing of
restorelab; the engine imports no fakecloud, simpy, responses or azure; only
``restore/backends/`` (and the CLI) join them."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported(path: Path) -> set[str]:
    """The top-level packages a module imports, lazily imported ones included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", modules("fakecloud"), ids=lambda p: str(p.relative_to(ROOT)))
def test_fakecloud_imports_nothing_of_restorelab(path):
    assert not imported(path) & {"restore", "datapath"}


ENGINE = [p for p in modules("restore")
          if "backends" not in p.parts and p.name != "cli.py"]


@pytest.mark.parametrize("path", ENGINE, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_engine_imports_no_fake_and_no_cloud_sdk(path):
    assert not imported(path) & {"fakecloud", "simpy", "responses", "azure"}


def test_the_layering_check_sees_an_import():
    assert imported(ROOT / "restore" / "backends" / "sim.py") >= {"fakecloud", "simpy"}


SDK_SESSION = """
import sys
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from fakecloud import FakeCredential, mock_azure

with mock_azure() as fake:
    groups = ResourceManagementClient(FakeCredential(), fake.subscription, polling_interval=0)
    groups.resource_groups.create_or_update("rg", {"location": "westeurope"})
    compute = ComputeManagementClient(FakeCredential(), fake.subscription, polling_interval=0)
    disk = compute.disks.begin_create_or_update("rg", "d1", {
        "location": "westeurope", "sku": {"name": "Premium_LRS"},
        "properties": {"diskSizeGB": 8, "creationData": {"createOption": "Empty"}}}).result()
    assert disk.provisioning_state == "Succeeded" and fake.clock.now > 0
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in ("restore", "datapath"))))
"""


def test_a_mock_azure_session_with_the_plain_sdk_loads_no_restorelab_module():
    pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")
    ran = subprocess.run([sys.executable, "-c", SDK_SESSION], capture_output=True, text=True,
                         cwd=ROOT, check=False, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == ""
