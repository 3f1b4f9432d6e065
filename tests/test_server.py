"""``fakecloud serve``: the ARM fake over HTTPS in a process of its own, used by the real
Azure SDK, curl and plain HTTPS clients; its state file, admin endpoints, sign-in, cloud
metadata, time model and its answers to bad HTTP."""

from __future__ import annotations

import json
import queue
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("azure.mgmt.compute", reason="the azure extra is not installed")

import requests  # noqa: E402
from azure.core import MatchConditions  # noqa: E402
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError  # noqa: E402
from azure.identity import ClientSecretCredential, ManagedIdentityCredential  # noqa: E402
from azure.mgmt.compute import ComputeManagementClient  # noqa: E402
from azure.mgmt.compute import models as compute  # noqa: E402
from azure.mgmt.network import NetworkManagementClient  # noqa: E402
from azure.mgmt.resource.resources import ResourceManagementClient  # noqa: E402
from helpers import vm_network  # noqa: E402

from fakecloud import FakeCredential  # noqa: E402
from fakecloud.clock import VirtualClock  # noqa: E402
from fakecloud.server import cert  # noqa: E402
from fakecloud.server.cli import main, origin_of  # noqa: E402
from fakecloud.server.timing import Pacing  # noqa: E402

SUB = "11111111-2222-3333-4444-555555555555"
TENANT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
DISK = {"location": "westeurope", "sku": {"name": "Premium_LRS"},
        "properties": {"diskSizeGB": 32, "creationData": {"createOption": "Empty"}}}
STARTUP_S = 60


@dataclass
class Served:
    """A running ``fakecloud serve``: its URL, certificate and process."""

    url: str
    cert: str
    process: subprocess.Popen
    stderr: Path

    def arm(self, path: str, api_version: str = "2024-03-02", sub: str = SUB) -> str:
        return f"{self.url}/subscriptions/{sub}{path}?api-version={api_version}"

    def call(self, method: str, url: str, **kwargs) -> requests.Response:
        return requests.request(method, url, verify=self.cert, timeout=30, **kwargs)

    def admin(self, method: str, name: str) -> requests.Response:
        return self.call(method, f"{self.url}/_fakecloud/{name}")

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; its exit status."""
        self.process.terminate()
        return self.process.wait(timeout=30)

    def end(self) -> None:
        """Kill it if it still runs."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self.process.stdout.close()


def start(cert_dir: Path, stderr: Path, *args: str) -> Served:
    """Start the server, wait for its first line; the caller stops it."""
    with stderr.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "fakecloud.server.cli", "serve", "--port", "0",
             "--cert-dir", str(cert_dir), "--quiet", *args],
            stdout=subprocess.PIPE, stderr=log, text=True)
    line = first_line(process)
    if not line.startswith("fakecloud: serving"):
        process.kill()
        raise AssertionError(f"no start line: {line!r}; stderr: {stderr.read_text()}")
    url, cert = line.split(" on ", 1)[1].split(" (certificate: ")
    return Served(url, cert.rstrip(")\n"), process, stderr)


def first_line(process: subprocess.Popen) -> str:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=STARTUP_S)
    except queue.Empty:
        process.kill()
        raise AssertionError("the server printed nothing") from None


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cert")


@pytest.fixture
def launch(cert_dir, tmp_path):
    """Start servers (``launch(*args)``); each is stopped at the end, whatever happens."""
    started: list[Served] = []

    def launch_one(*args: str) -> Served:
        started.append(start(cert_dir, tmp_path / f"stderr-{len(started)}", *args))
        return started[-1]

    try:
        yield launch_one
    finally:
        for served in started:
            served.end()


@pytest.fixture(scope="module")
def server(cert_dir, tmp_path_factory):
    served = start(cert_dir, tmp_path_factory.mktemp("log") / "stderr")
    try:
        yield served
    finally:
        served.end()


def sdk(kind, served: Served, credential=None):
    return kind(credential or FakeCredential(), SUB, base_url=served.url,
                connection_verify=served.cert, polling_interval=0)


def test_the_sdk_makes_a_vm_with_its_network_and_disks_and_deletes_them(server):
    groups = sdk(ResourceManagementClient, server)
    net, vms = sdk(NetworkManagementClient, server), sdk(ComputeManagementClient, server)
    groups.resource_groups.create_or_update("rg-sdk", {"location": "eastus"})
    nic = vm_network(net, "rg-sdk")
    data = vms.disks.begin_create_or_update("rg-sdk", "data-1", {**DISK, "location": "eastus"})
    assert data.result().disk_state == "Unattached"
    vm = vms.virtual_machines.begin_create_or_update("rg-sdk", "vm1", compute.VirtualMachine(
        location="eastus", hardware_profile=compute.HardwareProfile(vm_size="Standard_D4s_v5"),
        storage_profile=compute.StorageProfile(
            image_reference=compute.ImageReference(publisher="Canonical",
                                                   offer="ubuntu-24_04-lts", sku="server",
                                                   version="latest"),
            os_disk=compute.OSDisk(create_option="FromImage", name="vm1-os"),
            data_disks=[compute.DataDisk(lun=0, create_option="Attach",
                                         managed_disk=compute.ManagedDiskParameters(
                                             id=data.result().id))]),
        os_profile=compute.OSProfile(computer_name="vm1", admin_username="azureuser",
                                     admin_password="Not-a-real-password-1"),
        network_profile=compute.NetworkProfile(network_interfaces=[
            compute.NetworkInterfaceReference(id=nic.id, primary=True)]))).result()
    assert vm.provisioning_state == "Succeeded"
    assert vms.disks.get("rg-sdk", "data-1").managed_by == vm.id
    assert sorted(d.name for d in vms.disks.list_by_resource_group("rg-sdk")) == [
        "data-1", "vm1-os"]
    assert [v.name for v in vms.virtual_machines.list("rg-sdk")] == ["vm1"]
    tagged = vms.virtual_machines.begin_update(  # If-Match reaches the server's ARM
        "rg-sdk", "vm1", compute.VirtualMachineUpdate(tags={"a": "1"}), etag=vm.etag,
        match_condition=MatchConditions.IfNotModified).result()
    assert tagged.tags == {"a": "1"} and tagged.etag != vm.etag
    with pytest.raises(HttpResponseError) as stale:
        vms.virtual_machines.begin_update(
            "rg-sdk", "vm1", compute.VirtualMachineUpdate(tags={"b": "2"}), etag=vm.etag,
            match_condition=MatchConditions.IfNotModified).result()
    assert stale.value.status_code == 412 and stale.value.error.code == "PreconditionFailed"
    vms.virtual_machines.begin_delete("rg-sdk", "vm1").result()
    assert vms.disks.get("rg-sdk", "data-1").disk_state == "Unattached"
    groups.resource_groups.begin_delete("rg-sdk").result()  # a Location-polled operation
    with pytest.raises(ResourceNotFoundError):
        groups.resource_groups.get("rg-sdk")


def test_long_running_operations_are_polled_at_the_server_and_end_on_virtual_time(server):
    assert server.call("PUT", server.arm("/resourcegroups/rg-lro", "2021-04-01"),
                       json={"location": "westeurope"}).status_code == 201
    before = server.admin("GET", "state").json()["clock_s"]
    put = server.call("PUT", server.arm("/resourceGroups/rg-lro/providers/Microsoft.Compute/"
                                        "disks/d"), json=DISK)
    assert put.status_code == 202 and put.headers["Retry-After"] == "1"  # the real wait
    poll = put.headers["Azure-AsyncOperation"]
    assert poll.startswith(f"{server.url}/subscriptions/{SUB}/providers/Microsoft.Compute/")
    assert server.call("GET", poll).json() == {"status": "Succeeded"}  # it came back "later"
    assert server.admin("GET", "state").json()["clock_s"] > before
    delete = server.call("DELETE", server.arm("/resourcegroups/rg-lro", "2021-04-01"))
    assert delete.status_code == 202 and delete.headers["Location"].startswith(server.url)
    assert server.call("GET", delete.headers["Location"]).status_code == 200


def test_curl_reads_and_writes_with_the_servers_certificate(server):
    if shutil.which("curl") is None:
        pytest.skip("no curl")

    def curl(*args: str) -> dict:
        ran = subprocess.run(["curl", "-sS", "--fail-with-body", "--cacert", server.cert,
                              *args], capture_output=True, text=True, timeout=30, check=False)
        assert ran.returncode == 0, ran.stderr + ran.stdout
        return json.loads(ran.stdout)

    url = server.arm("/resourcegroups/rg-curl", "2021-04-01")
    made = curl("-X", "PUT", "-H", "Content-Type: application/json", "-d",
                '{"location": "westeurope", "tags": {"by": "curl"}}', url)
    assert made["name"] == "rg-curl" and made["tags"] == {"by": "curl"}
    assert curl(url)["properties"] == {"provisioningState": "Succeeded"}
    listed = curl(server.arm("/resourcegroups", "2021-04-01"))["value"]
    assert "rg-curl" in [g["name"] for g in listed]


def test_a_service_principal_and_a_managed_identity_sign_in_at_the_server(server,
                                                                           monkeypatch):
    credential = ClientSecretCredential(TENANT, "any-client", "any-secret",
                                        authority=server.url, disable_instance_discovery=True,
                                        connection_verify=server.cert)
    assert credential.get_token("https://management.azure.com/.default").token == \
        "fakecloud-token"
    groups = sdk(ResourceManagementClient, server, credential)
    assert groups.resource_groups.create_or_update("rg-sp", {"location": "westeurope"}).name \
        == "rg-sp"
    openid = server.call("GET", f"{server.url}/{TENANT}/v2.0/.well-known/openid-configuration")
    assert openid.json()["token_endpoint"] == f"{server.url}/{TENANT}/oauth2/v2.0/token"
    discovery = server.call("GET", f"{server.url}/common/discovery/instance")
    assert discovery.json()["metadata"][0]["aliases"] == [server.url.split("//")[1]]
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", server.url)  # IMDS at the server
    managed = ManagedIdentityCredential(connection_verify=server.cert)
    assert managed.get_token("https://management.azure.com/.default").token == "fakecloud-token"


def test_the_cloud_metadata_names_the_server_as_arm_and_login_host(server):
    cloud = server.call("GET", f"{server.url}/metadata/endpoints?api-version=2022-09-01").json()
    assert cloud["resourceManager"] == cloud["authentication"]["loginEndpoint"] == \
        f"{server.url}/"
    assert cloud["name"] == "fakecloud" and "storage" in cloud["suffixes"]
    assert server.call("GET", f"{server.url}//metadata/endpoints?api-version=2022-09-01"
                       ).json() == cloud  # az cloud register's URL for https://host:port/
    listed = server.call("GET", f"{server.url}/metadata/endpoints?api-version=2019-05-01")
    assert listed.json() == [cloud]
    missing = server.call("GET", f"{server.url}/metadata/endpoints")
    assert missing.status_code == 400


def test_admin_endpoints_dump_list_and_reset(server):
    served = server
    assert served.admin("POST", "reset").json() == {"status": "ok"}
    served.call("PUT", served.arm("/resourcegroups/rg-admin", "2021-04-01"),
                json={"location": "westeurope"})
    state = served.admin("GET", "state").json()
    assert [r["id"] for r in state["subscriptions"][SUB]] == [
        f"/subscriptions/{SUB}/resourceGroups/rg-admin"]
    logged = served.admin("GET", "requests").json()["value"]
    assert [(r["method"], r["status"]) for r in logged] == [("PUT", 201)]
    assert served.admin("POST", "reset").json() == {"status": "ok"}
    assert SUB not in served.admin("GET", "state").json()["subscriptions"]
    assert served.call("GET", served.arm("/resourcegroups/rg-admin", "2021-04-01")
                       ).status_code == 404
    assert served.admin("GET", "reset").status_code == 405
    unknown = served.admin("GET", "nothing")
    assert unknown.status_code == 404 and "/_fakecloud/state" in unknown.json()["error"]["message"]


def test_the_state_file_keeps_every_subscription_across_a_restart(launch, tmp_path):
    state_file = tmp_path / "region.json"
    first = launch("--state", str(state_file))
    other = "22222222-3333-4444-5555-666666666666"
    for sub in (SUB, other):
        first.call("PUT", first.arm("/resourcegroups/rg", "2021-04-01", sub),
                   json={"location": "westeurope"})
    disk = first.call("PUT", first.arm("/resourceGroups/rg/providers/Microsoft.Compute/disks/d"),
                      json=DISK)
    assert disk.status_code == 202
    assert first.stop() == 0
    saved = json.loads(state_file.read_text())
    assert sorted(saved["subscriptions"]) == sorted([SUB, other])
    second = launch("--state", str(state_file))
    kept = second.call("GET", second.arm("/resourceGroups/rg/providers/Microsoft.Compute/disks/d"))
    assert kept.json()["properties"]["diskSizeGB"] == 32
    assert second.call("GET", second.arm("/resourcegroups/rg", "2021-04-01", other)).ok
    assert second.admin("GET", "state").json()["clock_s"] == saved["clock_s"]  # time goes on
    assert not list(tmp_path.glob(".*.tmp"))  # written whole, through a temporary file


@pytest.mark.parametrize(("content", "says"), [
    ("{not json", "is not JSON"),
    ('{"resources": []}', "is not a fakecloud state file"),
    (json.dumps({"fakecloud_state": 1, "subscriptions": {SUB: [{"type": "Nope"}]}}),
     "cannot be loaded"),
])
def test_a_bad_state_file_is_one_clear_line_and_exit_2(cert_dir, tmp_path, capsys, content,
                                                        says):
    state_file = tmp_path / "broken.json"
    state_file.write_text(content)
    assert main(["serve", "--port", "0", "--cert-dir", str(cert_dir), "--state",
                 str(state_file)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and says in err and str(state_file) in err
    assert len(err.strip().splitlines()) == 1


def test_bad_http_gets_an_arm_error_and_the_server_lives_on(server):
    host, port = server.url.removeprefix("https://").split(":")
    plain = requests.get(f"http://{host}:{port}/", timeout=30)
    assert plain.status_code == 400 and plain.json()["error"]["code"] == "HttpsRequired"
    assert raw_exchange(server, b"PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n"
                        ).startswith(b"HTTP/1.1 400")
    assert b'"code": "NotImplemented"' in raw_exchange(server, b"BREW /x HTTP/1.1\r\n\r\n")
    chunked = raw_exchange(server, b"PUT /subscriptions/%s/resourcegroups/rg-chunked"
                           b"?api-version=2021-04-01 HTTP/1.1\r\nHost: h\r\n"
                           b"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"1a\r\n{\"location\": \"westeurope\"}\r\n0\r\n\r\n" % SUB.encode())
    assert chunked.startswith(b"HTTP/1.1 201")
    bad_json = server.call("PUT", server.arm("/resourcegroups/rg-bad", "2021-04-01"),
                           data=b"\xff{", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and "Traceback" not in bad_json.text
    assert server.call("GET", server.arm("/resourcegroups", "2021-04-01")).ok


def raw_exchange(served: Served, request: bytes) -> bytes:
    """Send ``request`` as it is over TLS; all the server answers until it closes."""
    host, port = served.url.removeprefix("https://").split(":")
    context = ssl.create_default_context(cafile=served.cert)
    answer = b""
    with socket.create_connection((host, int(port)), timeout=30) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        tls.sendall(request)
        while chunk := tls.recv(65536):
            answer += chunk
    return answer


def test_help_teaches_the_server(capsys):
    with pytest.raises(SystemExit) as helped:
        main(["serve", "--help"])
    assert helped.value.code == 0
    taught = capsys.readouterr().out
    for subject in ("--state FILE", "--cert-dir", "/_fakecloud/reset", "Retry-After",
                    "examples:", "az cloud register"):
        assert subject in taught


def test_a_client_back_when_told_has_waited_the_virtual_time_it_stood_for():
    pacing = Pacing(VirtualClock(), retry_after_s=1)
    poll = "https://localhost:1/subscriptions/s/providers/P/locations/l/operations/op"
    sent = pacing.told("PUT", "/d", {"Retry-After": "600", "Azure-AsyncOperation": poll})
    assert sent["Retry-After"] == "1" and sent["Azure-AsyncOperation"] == poll
    pacing.arrive("GET", "/d")  # not where it was told to go: no time passes
    assert pacing.clock.now == 0
    pacing.arrive("GET", "/subscriptions/s/providers/P/locations/l/operations/OP")
    assert pacing.clock.now == 600
    pacing.told("PUT", "/busy", {"Retry-After": "17"})  # a 429: the same request, later
    pacing.arrive("PUT", "/busy")
    assert pacing.clock.now == 617
    assert pacing.told("GET", "/d", {"x": "y"}) == {"x": "y"}


def test_speed_runs_the_clock_with_the_wall_clock():
    pacing = Pacing(VirtualClock(), speed=1e6)
    pacing.arrive("GET", "/anything")
    assert pacing.clock.now > 0


def test_origins_and_certificate_names_follow_the_host(tmp_path):
    assert origin_of("127.0.0.1", 5) == "https://127.0.0.1:5"
    assert origin_of("0.0.0.0", 5) == "https://localhost:5"
    assert origin_of("::1", 5) == "https://[::1]:5"
    first, _ = cert.ensure(tmp_path, "127.0.0.1")
    made = first.read_bytes()
    assert cert.ensure(tmp_path, "localhost")[0].read_bytes() == made  # still valid: reused
    assert cert.ensure(tmp_path, "10.1.2.3")[0].read_bytes() != made  # a new name: made anew
    assert (tmp_path / cert.KEY_FILE).stat().st_mode & 0o077 == 0
