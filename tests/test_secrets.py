"""No secret reaches an artifact (issue 15, defect 6): an agent error echoing the
repository's URL with its SAS, or a token, is redacted in the report, the journal and the
CLI's output."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import restore
from fakecloud.region import GuestRun
from restore.backends import guest
from restore.cli import app
from restore.errors import CloudError, ScenarioError, redact

SIGNATURE = "Zm9vYmFyU2VjcmV0U2lnbmF0dXJl%3D"
STORE = f"https://acct.blob.core.windows.net/points?sv=2024-08-04&sp=rl&sig={SIGNATURE}"


def test_secrets_are_redacted_from_every_error():
    assert SIGNATURE not in str(CloudError("AgentFailed", f"cannot read {STORE}"))
    assert SIGNATURE not in ScenarioError("s.yaml", "x", f"bad {STORE}").message
    assert redact(f"GET {STORE} 403") == (
        "GET https://acct.blob.core.windows.net/points?<SAS redacted> 403")
    assert redact("Authorization: Bearer abc.def-ghi") == "Authorization: Bearer <redacted>"


def test_an_agent_error_echoing_its_sas_leaves_no_signature_behind(tmp_path, monkeypatch):
    def echoing(self, region, vm, body):
        return GuestRun.printed("StdOut", json.dumps({"error": {
            "code": "RestorePointNotFound", "message": f"no repository at {STORE}"}}))

    monkeypatch.setattr(guest.RestoreAgent, "__call__", echoing)
    journal = tmp_path / "j.db"
    scenario = restore.load_scenario("scenarios/orig-hot-backup.yaml")
    report = restore.simulate(scenario, journal=journal)
    assert report.status == "rolled_back"
    shown = report.to_json()
    assert "<SAS redacted>" in shown and SIGNATURE not in shown
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert SIGNATURE.encode() not in stored and b"<SAS redacted>" in stored
    result = CliRunner().invoke(app, ["simulate", "orig-hot-backup", "--json"])
    assert SIGNATURE not in result.output and "<SAS redacted>" in result.output
