"""A restore report as one self-contained HTML page (``--html FILE``): the summary, an
interactive SVG timeline of the steps and their operations (drawn by the page's own
script), the cost, the final state, what was left behind and kept, a drill's checks.

The input is the report's JSON dict (``Report.to_dict()``, or the one a session stored),
so a live report and a stored one give the same page. The page needs no network: its CSS
and script are inline, allowed by hash in its Content-Security-Policy, which forbids
every fetch; the report rides along as JSON in a ``<script type="application/json">``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Sequence
from html import escape
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any

from restore.cli_output import clock, error_said, retries_said, short
from restore.colours import FAILED_COLOUR, distinct_colours

STATUS_COLOURS = {"failed": FAILED_COLOUR, "interrupted": "#9e9e9e"}
"""Bars of these statuses take this colour instead of their step's."""
PAGE = files("restore.report_page")
ReportDict = dict[str, Any]
"""A report as the JSON contract has it (``Report.to_dict()``)."""


def render_html(report: ReportDict) -> str:
    """The whole page for ``report`` (the JSON contract's dict)."""
    css, js = (_asset(name) for name in ("page.css", "page.js"))
    config = {"palette": step_colours(report), "status_colours": STATUS_COLOURS,
              "simulated": report.get("backend") != "azure"}
    return Template(_asset("page.html")).substitute(
        title=escape(f"restorelab: {report.get('scenario')} ({report.get('status')})"),
        csp=f"default-src 'none'; style-src {_hash(css)}; script-src {_hash(js)}",
        css=css, js=js, body=_body(report),
        data=embedded_json({"report": report, "config": config}))


def step_colours(report: ReportDict) -> list[str]:
    """The timeline's colour of each of ``report``'s steps, in turn: one each, as in
    ``Report.gantt()``."""
    return distinct_colours(len(report.get("steps") or ()))


def write_html(report: ReportDict, path: Path) -> None:
    path.write_text(render_html(report), encoding="utf-8")


def embedded_json(value: Any) -> str:
    """``value`` as JSON that cannot end its ``<script>`` element (no ``<``, ``>``, ``&``)."""
    text = json.dumps(value, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _asset(name: str) -> str:
    return (PAGE / name).read_text(encoding="utf-8")


def _hash(source: str) -> str:
    digest = base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def _body(report: ReportDict) -> str:
    status = str(report.get("status"))
    heading = (f'<header><h1>{escape(str(report.get("scenario")))}</h1>'
               f'<span class="status status-{escape(status)}">{escape(status)}</span></header>')
    timeline = ('<section id="timeline-section"><h2>Timeline</h2>'
                '<p class="legend">One row per step, its operations below it; a dashed '
                'outline and &times;N mark an operation retried (N attempts), red a failed '
                'one. Hover a bar for its details and ARM requests.</p>'
                '<div id="timeline"><p class="fallback">The timeline is drawn by the page\'s '
                'script: enable JavaScript to see it.</p></div></section>')
    return "\n".join([heading, _section("Summary", _facts(_summary(report))), timeline,
                      _section("Cost", _cost(report.get("cost"))), _drill(report.get("drill")),
                      _section("Restored", _restored(report)),
                      _section("Left behind and kept", _leftovers(report)),
                      _section("Final state", _final_state(report.get("final_state")))])


def _section(title: str, content: str) -> str:
    if not content:
        return ""
    anchor = title.lower().replace(" ", "-")
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{content}</section>'


def _facts(pairs: Iterable[tuple[str, Any]]) -> str:
    """A definition list of the pairs whose value is not None."""
    rows = "".join(f"<dt>{escape(label)}</dt><dd>{escape(str(value))}</dd>"
                   for label, value in pairs if value is not None)
    return f'<dl class="facts">{rows}</dl>'


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], css: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _items(arm_ids: Sequence[str]) -> str:
    """The resources as a list, or "none"."""
    if not arm_ids:
        return '<p class="none">none</p>'
    return "<ul>" + "".join(f'<li title="{escape(i)}">{escape(short(i))}</li>'
                            for i in arm_ids) + "</ul>"


def _summary(report: ReportDict) -> list[tuple[str, Any]]:
    simulated = report.get("backend") != "azure"
    duration, critical = report.get("duration_s"), report.get("critical_path_s")
    downtime = report.get("downtime_s")
    return [
        ("scenario", report.get("scenario")), ("backend", report.get("backend")),
        ("status", report.get("status")),
        ("duration", _time(duration, simulated)),
        ("critical path", _time(critical, simulated)),
        ("downtime", _time(downtime, simulated) if downtime is not None else
         "none (the source was not stopped, or no VM runs at the end)"),
        ("seed", report.get("seed")), ("restore id", report.get("restore_id")),
        ("error", _error(report.get("error"))),
        ("recovery error", _error(report.get("recovery_error"))),
        *(("cleanup error", _error(e)) for e in report.get("cleanup_errors") or []),
        ("retries", retries_said(report.get("operations", [])) or "none"),
        ("source intact", _yes(report.get("source_intact"))),
        ("data verified", "not modelled" if report.get("data_verified") is None
         else _yes(report["data_verified"])),
        ("cost", _money(report["cost"]["total"], report["cost"]) if report.get("cost")
         else None),
    ]


def _time(seconds: float | None, simulated: bool) -> str | None:
    if seconds is None:
        return None
    return f"{clock(seconds)} ({seconds:,.1f} s{' simulated' if simulated else ''})"


def _error(error: dict[str, Any] | None) -> str | None:
    return error_said(error) if error else None


def _yes(flag: bool | None) -> str:
    return "yes" if flag else "no"


def _money(amount: float, cost: dict[str, Any]) -> str:
    return f"{amount:,.4f} {cost.get('currency', '')}".strip()


def _cost(cost: dict[str, Any] | None) -> str:
    if not cost:
        return '<p class="none">not priced by this backend</p>'
    items = [(name.replace("_", " "), _money(value, cost)) for name, value in cost.items()
             if name not in ("currency", "total")]
    return _table(("item", "cost"), [*items, ("total", _money(cost["total"], cost))], "cost")


def _drill(drill: dict[str, Any] | None) -> str:
    if not drill:
        return ""
    healthy, rto = drill.get("time_to_healthy_s"), drill.get("rto_s")
    facts = _facts([("passed", _yes(drill.get("passed"))),
                    ("time to healthy", None if healthy is None else clock(healthy)),
                    ("RTO", None if rto is None else clock(rto)),
                    ("RTO met", None if drill.get("rto_met") is None
                     else _yes(drill["rto_met"]))])
    checks = _table(("check", "status", "detail"),
                    [(c["check"], c["status"], c.get("detail") or "")
                     for c in drill.get("checks", [])])
    return _section("Drill", facts + checks)


def _restored(report: ReportDict) -> str:
    vm = report.get("restored_vm")
    facts = _facts([("VM", f"{vm['name']} in {vm['resource_group']} ({vm['location']}, "
                           f"{vm['size']}, {vm['power_state']})" if vm else "none")])
    disks = report.get("restored_disks") or []
    table = _table(("disk", "LUN", "SKU", "size (GB)", "restores"),
                   [(short(d["id"]), "OS" if d["lun"] is None else d["lun"], d["sku"],
                     d["size_gb"], short(d["source"])) for d in disks]) if disks else ""
    replaced = report.get("replaced_disks") or []
    swaps = _table(("LUN", "old disk", "new disk", "old one"),
                   [(r["lun"], short(r["old"]), short(r["new"]),
                     "kept" if r["old_kept"] else "deleted") for r in replaced]
                   ) if replaced else ""
    return facts + table + swaps


def _leftovers(report: ReportDict) -> str:
    lists = [("Left behind (temporary resources that should be gone)", report.get("leaked")),
             ("Kept on purpose (restored data after a failure)", report.get("kept")),
             ("Removed with the source and not restored", report.get("removed_not_restored"))]
    return "".join(f"<h3>{escape(title)}</h3>{_items(arm_ids or [])}"
                   for title, arm_ids in lists)


def _final_state(state: dict[str, Any] | None) -> str:
    resources = (state or {}).get("resources") or []
    if not resources:
        return '<p class="none">none</p>'
    return _table(("type", "name", "resource group", "location", "tags"),
                  [(r["type"], r["name"], r.get("resource_group") or "", r.get("location") or "",
                    ", ".join(f"{k}={v}" for k, v in (r.get("tags") or {}).items()))
                   for r in resources], "resources")
