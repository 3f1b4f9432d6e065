"""The restore agent's report, as Run Command hands it back."""

from __future__ import annotations

import json

import armid as arm
from restore.errors import CloudError


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
