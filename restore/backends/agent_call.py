"""The restore agent as Run Command runs it on a worker: the command sent (ARM's
RunCommandInput) and the report it hands back. One place for every backend."""

from __future__ import annotations

import json
from typing import Any

import armid as arm
from restore import ops
from restore.errors import CloudError

WORKER_AGENT_COMMAND = "restorelab-agent"


def run_command_input(op: ops.WriteDiskData, luns: dict[str, int], store: str
                      ) -> dict[str, Any]:
    """Run Command's body starting the agent: it reads ``store`` and writes each disk of
    ``op`` at its LUN (``luns``: disk id, lowercase -> LUN on the worker)."""
    writes = [{"lun": luns[w.disk.lower()], "disk": w.disk, "source": w.source,
               "data_gb": w.data_gb} for w in op.writes]
    return {"commandId": "RunShellScript",
            "script": [f"{WORKER_AGENT_COMMAND} --store \"$store\" --restore-point "
                       "\"$restore_point\" --writes \"$writes\""],
            "parameters": [{"name": name, "value": value} for name, value in (
                ("store", store), ("restore_point", op.restore_point),
                ("writes", json.dumps(writes)), ("parallel_workers", str(op.parallel_workers)))]}


def check_agent_output(messages: list[str], disks: list[str]) -> None:
    """Run Command succeeds whatever the script did: the agent's own report (one JSON line,
    ``{"restored": [disk ids]}``) must name every disk, or the restore did not happen."""
    output = "\n".join(messages)
    restored: set[str] = set()
    for line in output.splitlines():
        try:
            report = json.loads(line)
        except ValueError:
            continue
        if isinstance(report, dict) and isinstance(report.get("error"), dict):
            raise CloudError(str(report["error"].get("code", "AgentFailed")),
                             f"restore agent: {report['error'].get('message', '')}")
        if isinstance(report, dict):
            restored |= {str(d).lower() for d in report.get("restored", [])}
    missing = [d for d in disks if d.lower() not in restored]
    if missing:
        raise CloudError("AgentFailed", f"the restore agent did not restore "
                         f"{', '.join(arm.name_of(d) for d in missing)}; it said: "
                         f"{' '.join(output.split())[:300] or 'nothing'}")
