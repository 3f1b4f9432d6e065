"""What `restorelab` shows people (rich): a restore's timeline and summary, a plan and its
changes, a sweep's percentiles, a fleet's makespan; ``--json`` prints the dicts instead."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from restore.errors import ScenarioError

if TYPE_CHECKING:
    from restore.report import Report
    from restore.scenario import Scenario

out = Console(highlight=False)

STEP_COLUMNS_WIDTH = 72  # step name, start, duration, ops, retries and the table's borders
STEP_STYLES = {"succeeded": "green", "failed": "red", "interrupted": "yellow"}


def output_file(option: str) -> Callable[[typer.Context, Path | None], Path | None]:
    """A typer callback checking ``option``'s file before anything runs (bad: exit 2,
    saying why); not while the shell completes a command line."""
    def checked(ctx: typer.Context, path: Path | None) -> Path | None:
        problem = path and not ctx.resilient_parsing and _unwritable(path)
        if problem:
            from restore.cli import EXIT_BAD_INPUT, _error

            _error(ScenarioError(str(path), option, problem))
            raise typer.Exit(EXIT_BAD_INPUT)
        return path
    return checked


def _unwritable(path: Path) -> str | None:
    """Why a file cannot be written to ``path`` (None: it can)."""
    if path.is_dir():
        return "is a directory; give a file to write to"
    if not path.parent.is_dir():
        return f"cannot write it: there is no directory {path.parent}"
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        return "cannot write it: permission denied"
    return None


HtmlOpt = Annotated[Path | None, typer.Option(
    "--html", callback=output_file("--html"), metavar="FILE", help="Also write the report as one "
    "self-contained HTML page (summary, interactive timeline, cost, final state) to FILE, "
    "even when the restore fails; view it in any browser, offline.")]


def write_report_html(report: dict[str, Any], path: Path) -> None:
    """Write ``report`` (the JSON contract's dict) as an HTML page; say so on stderr."""
    from restore.report_html import write_html

    try:
        write_html(report, path)
    except OSError as exc:
        raise ScenarioError(str(path), "--html", f"cannot write it ({exc.strerror})") from None
    typer.echo(f"report written to {path}", err=True)


def show_fleet(fleet) -> None:
    summary = fleet.to_dict()
    out.print(f"[bold]{summary['scenario']}[/]: {summary['vms']} VMs, "
              f"{summary['max_workers']} workers at most", soft_wrap=True)
    table = Table("priority", "VMs", "done by")
    for priority, group in summary["by_priority"].items():
        table.add_row(priority, str(group["vms"]), clock(group["makespan_s"]))
    out.print(table)
    color = "green" if summary["status"] == "succeeded" else "red"
    out.print(Text(f"status        {summary['status']} ({summary['succeeded']} of "
                   f"{summary['vms']} succeeded)", style=color))
    out.print(f"makespan      {clock(summary['makespan_s'])} (lower bound "
              f"{clock(summary['lower_bound_s'])}; longest single restore "
              f"{clock(summary['critical_path_s'])})")
    out.print(f"cost          {summary['cost']:,.2f} {summary['currency']}; left behind: "
              f"{summary['leaked']}")
    pool = summary.get("worker_pool") or {}
    if "workers_created" in summary:
        out.print(f"workers       {summary['workers_created']} created, "
                  f"{summary['workers_started']} warm ones started")
    if pool.get("kept"):
        out.print(f"kept warm     {len(pool['kept'])} deallocated worker(s) in "
                  f"{pool['group'].rsplit('/', 1)[-1]} (the pool's minimum; to remove them: "
                  f"{pool['remove_with']})", highlight=False)


def show_sweep(summary: dict[str, Any]) -> None:
    out.print(f"[bold]{summary['scenario']}[/]: {summary['runs']} runs ({summary['method']}, "
              f"seed {summary['seed']}), {summary['succeeded']} succeeded; time in h:mm",
              soft_wrap=True)
    table = Table("", *summary["duration_s"])
    table.add_row("time", *(clock(v)[:-3] for v in summary["duration_s"].values()))
    if summary["cost"]:
        table.add_row(f"cost ({summary['currency']})",
                      *(f"{v:,.2f}" for v in summary["cost"].values()))
    out.print(table)
    if summary["failed"]:
        out.print(f"statuses: {summary['statuses']}")
    if summary.get("critical_path"):
        out.print(f"critical path, share of the time: {_shares(summary, 'share')}")
        out.print(f"  in the slowest 5% of runs: {_shares(summary, 'tail_share')}")
    if summary.get("rto"):
        show_rto(summary["rto"])


def show_rto(rto: dict[str, Any]) -> None:
    """The sweep's answer about its RTO: how often it is met, the tail, the misses."""
    lo, hi = rto["ci95"]
    place = "" if rto["percentile"] is None else (
        f"; the RTO sits at p{rto['percentile']:g} of the succeeded runs")
    out.print(f"RTO {clock(rto['target_s'])[:-3]}: met by {rto['p_meet']:.1%} of runs "
              f"(95% CI {lo:.1%}-{hi:.1%}; {rto['met']} of {rto['runs']}){place}",
              soft_wrap=True)
    tail = rto["tail"]
    if tail["runs"]:
        shares = ", ".join(f"{name} {share:.0%}" for name, share in
                           list(tail["critical_path"].items())[:3])
        runs = f"{tail['runs']} run" + ("s" if tail["runs"] != 1 else "")
        out.print(f"  the slowest {100 - tail['percentile']}% ({runs}, "
                  f"{clock(tail['threshold_s'])[:-3]} or more): {shares}", soft_wrap=True)
        out.print(f"  retried in them: {_retried(tail['retried'])}", soft_wrap=True)
    missed = rto["missed"]
    failed_at = ", ".join(f"{at['step']}: {at['code']} ×{at['runs']}"
                          for at in missed["failed_at"])
    out.print(f"  missed: {missed['failed'] + missed['slow']} runs: {missed['slow']} "
              f"succeeded too late, {missed['failed']} failed" + (
                  f" (at {failed_at})" if failed_at else ""), soft_wrap=True)


def _retried(retried: list[dict[str, Any]] | None) -> str:
    if retried is None:
        return "none (a compiled sweep is fault-free)"
    return ", ".join(f"{r['step']}/{r['op']} ×{r['retries']}" for r in retried) or "none"


def _shares(summary: dict[str, Any], key: str, shown: int = 3) -> str:
    """The ``shown`` steps with the largest share, as percentages."""
    ranked = sorted(summary["critical_path"].items(), key=lambda kv: -kv[1][key])[:shown]
    return ", ".join(f"{name} {step[key]:.0%}" for name, step in ranked)


def show_plan(summary: dict[str, Any]) -> None:
    out.print(f"[bold]Plan for {summary['scenario']}[/] (restore id {summary['restore_id']})")
    if summary["target_subscription"].lower() != summary["subscription"].lower():
        out.print(f"Creates everything in subscription {summary['target_subscription']} (the "
                  f"source's: {summary['subscription']})", soft_wrap=True)
    for number, step in enumerate(summary["steps"], 1):
        after = f" [dim](after {', '.join(step['after'])})[/]" if step["after"] else ""
        out.print(f"{number:>2}. [bold cyan]{step['name']}[/]{after}", soft_wrap=True)
        for op in step["operations"]:
            out.print(f"      {op['op']:<24} {short(op['resource'])}", soft_wrap=True)
    restores = {"disks": "only these disks, attached to nothing",
                "replace_disks": "these disks, swapped into the source VM"}.get(
        summary["mode"], "the VM with these disks")
    out.print(f"[bold]Restores[/] {restores}:")
    for disk in summary["restored_disks"]:
        out.print(f"  {_disk_line(disk)}", soft_wrap=True)
    if summary["replaced_disks"]:
        kept = summary["replaced_disks"][0]["kept"]
        out.print("[bold]Replaces[/] (the VM's old disks, " + (
            "kept detached and tagged):" if kept else "[bold red]deleted[/] once it runs):"))
        for swap in summary["replaced_disks"]:
            out.print(f"  {short(swap['old'])} -> {short(swap['new'])}", soft_wrap=True)
    settings = _settings_lines(summary.get("vm_settings"))
    if settings:
        out.print("[bold]Network and security[/] of the restored VM:")
        for line in settings:
            out.print(f"  {line}", soft_wrap=True)
    if summary["removed_not_restored"]:
        out.print("[bold red]Removes with the source VM and does not restore[/] (lost):")
        for arm_id in summary["removed_not_restored"]:
            out.print(f"  [red]-[/] {short(arm_id)}", soft_wrap=True)
    if "creates" in summary:
        show_changes(summary["creates"], summary["deletes"], summary["removed_not_restored"])


def _disk_line(disk: dict[str, Any]) -> str:
    lun = "OS disk" if disk["lun"] is None else f"LUN {disk['lun']}"
    keys = f", encrypted by {short(disk['encryption_set'])}" if disk.get("encryption_set") \
        else ""
    return (f"{short(disk['id'])} ({lun}, {disk['size_gb']} GB {disk['sku']}{keys}, from "
            f"{short(disk['source'])})")


def _settings_lines(settings: dict[str, Any] | None) -> list[str]:
    """The restored VM's settings that are not the defaults, one line each."""
    if not settings:
        return []
    ip, security = settings["public_ip"], settings["security"]
    return [line for line in (
        settings["nsg"] and f"network security group {short(settings['nsg'])}",
        ip and f"new public IP {short(ip['id'])} ({ip['sku']}, {ip['allocation']})",
        settings["availability_set"] and
        f"availability set {short(settings['availability_set'])}",
        settings["accelerated_networking"] and "accelerated networking",
        security and f"security type {security['type']} (secure boot "
        f"{'on' if security['secure_boot'] else 'off'}, vTPM "
        f"{'on' if security['vtpm'] else 'off'})",
    ) if line]


def show_changes(creates: list[str], deletes: list[str], lost: Sequence[str] = ()) -> None:
    out.print("[bold]Preflight passed.[/] A restore would create (temporary ones are removed "
              "again):")
    for arm_id in creates:
        out.print(f"  [green]+[/] {short(arm_id)}", soft_wrap=True)
    if deletes:
        out.print("[bold]and delete, from the source:[/]")
        gone = {arm_id.lower() for arm_id in lost}
        for arm_id in deletes:
            note = " [bold red](not restored: lost)[/]" if arm_id.lower() in gone else ""
            out.print(f"  [red]-[/] {short(arm_id)}{note}", soft_wrap=True)
    else:
        out.print("and delete nothing of the source.")


def scenario_summary(name: str, sc: Scenario) -> dict[str, Any]:
    """What `restorelab scenarios` says of a shipped scenario (its --json entry)."""
    rp = sc.restore_point
    return {"name": name, "restore_point": {"kind": rp.kind, "tier": rp.tier,
                                            "priority": rp.priority if rp.tier == "archive"
                                            else None},
            "target": {"location": sc.target.location, "mode": sc.target.mode},
            "disks": {"restored": sum(rp.restores(lun) for lun, _, _ in sc.source_vm.disks()),
                      "of": 1 + len(sc.source_vm.data_disks)},
            "fleet_vms": sc.fleet.count if sc.fleet else None, "fault_rules": len(sc.faults),
            "rto_s": sc.rto}


MODE_SHOWN = {"disks": ", disks only", "replace_disks": ", disks replaced", "drill": ", drill"}


def show_scenarios(shipped: dict[str, Scenario]) -> None:
    table = Table(title="Shipped scenarios", title_justify="left")
    table.add_column("name", no_wrap=True, min_width=max(map(len, shipped)))
    for heading in ("restore point", "target", "disks", "also"):
        table.add_column(heading)
    for name, sc in shipped.items():
        found = scenario_summary(name, sc)
        rp, disks = found["restore_point"], found["disks"]
        point = "snapshot" if rp["kind"] == "snapshot" else f"backup ({rp['tier']}" + (
            f", {rp['priority']} priority)" if rp["priority"] else ")")
        rules = found["fault_rules"]
        also = (f"fleet of {found['fleet_vms']}" if found["fleet_vms"] else
                f"{rules} fault rule{'s' if rules > 1 else ''}" if rules else "")
        table.add_row(name, point, sc.target.location + MODE_SHOWN.get(sc.target.mode, ""),
                      str(disks["of"]) if disks["restored"] == disks["of"] else
                      f"{disks['restored']} of {disks['of']}", also)
    out.print(table)


def show_report(report: Report) -> None:
    total = max(report.duration_s, 1e-9)
    bar_width = max(10, out.width - STEP_COLUMNS_WIDTH)
    kind = "timeline" if report.backend == "azure" else "simulated timeline"
    out.print(f"[bold]{report.scenario}[/] on {report.backend}: {kind}, "
              f"{clock(report.duration_s)} in all", soft_wrap=True)
    table = Table()
    table.add_column("step", no_wrap=True, min_width=26)
    table.add_column("start", justify="right", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    table.add_column("ops", justify="right", no_wrap=True)
    table.add_column("retries", justify="right", no_wrap=True)
    table.add_column("timeline", no_wrap=True, width=bar_width)
    op_counts: dict[str, int] = {}
    for op in report.operations:
        op_counts[op["step"]] = op_counts.get(op["step"], 0) + 1
    for step in report.steps:
        start, end = step["start_s"], step["end_s"]
        retries = step["retries"]
        table.add_row(Text(step["name"], style=STEP_STYLES.get(step["status"], "")),
                      clock(start), clock(end - start), str(op_counts.get(step["name"], 0)),
                      Text(str(retries), style="yellow") if retries else "",
                      _bar(start / total, end / total, step["status"], step["name"], bar_width))
    out.print(table)
    out.print(_summary(report))


def _bar(start: float, end: float, status: str, name: str, bar_width: int) -> Text:
    from restore.engine import RECOVERY_STEPS

    left = min(round(start * bar_width), bar_width - 1)
    width = max(1, round(end * bar_width) - left)
    style = "magenta" if name in RECOVERY_STEPS else STEP_STYLES.get(status, "yellow")
    return Text(" " * left) + Text("█" * width, style=style)


def _summary(report: Report) -> Text:
    color = "green" if report.status == "succeeded" else "red"
    lines = Text()
    lines.append("status        ", style="bold").append(report.status, style=f"bold {color}")
    seconds = "s" if report.backend == "azure" else "s simulated"
    lines.append(f"\nduration      {clock(report.duration_s)} ({report.duration_s:,.0f} "
                 f"{seconds}; critical path {report.critical_path_s:,.0f} s)")
    if report.cost:
        lines.append(f"\ncost          {report.cost['total']:,.2f} {report.cost['currency']}")
    if report.error:
        lines.append(f"\nerror         {error_said(report.error)}", style="red")
    lines.append(f"\nrecovery      {_recovery(report)}" if report.error else "")
    if report.recovery_error:
        e = report.recovery_error
        lines.append(f"\n              which failed too: {e['code']} ({e['operation']}): "
                     f"{e['message']}", style="red")
    retries = retries_said(report.operations)
    if retries:
        waited = sum(o["retry_wait_s"] for o in report.operations if o["attempts"] > 1)
        lines.append(f"\nretries       {retries}, {waited:,.0f} s waited")
    if report.kept:
        lines.append(f"\nkept          {', '.join(short(r) for r in report.kept)}",
                     style="yellow")
    vm = report.restored_vm
    if vm:
        lines.append(f"\nrestored VM   {vm['name']} in {vm['resource_group']} ({vm['location']}, "
                     f"{vm['size']}, {len(vm['disks'])} disks, {vm['power_state']})")
    elif report.restored_disks and report.status == "succeeded":
        lines.append(f"\nrestored      {len(report.restored_disks)} disks, attached to nothing:")
        for disk in report.restored_disks:
            lines.append(f"\n              {_disk_line(disk)}")
    if report.replaced_disks:
        lines.append(f"\nreplaced      {len(report.replaced_disks)} disks of the source VM "
                     f"(old ones {'kept' if report.replaced_disks[0]['old_kept'] else 'deleted'})")
    if report.removed_not_restored:
        lines.append("\nnot restored  removed with the source: "
                     f"{', '.join(short(r) for r in report.removed_not_restored)}",
                     style="yellow")
    lines.append(f"\nsource intact {'yes' if report.source_intact else 'no'}")
    if report.data_verified is not None:
        lines.append(f"\ndata verified {'yes' if report.data_verified else 'NO'}",
                     style=None if report.data_verified else "red")
    leaked = ", ".join(short(r) for r in report.leaked) or "nothing"
    lines.append(f"\nleft behind   {leaked}", style=None if not report.leaked else "red")
    for failed in report.cleanup_errors:  # the restore stands; the leftover is the user's
        lines.append(f"\nwarning       {failed['step']} could not {failed['operation']} "
                     f"({failed['code']}): remove what is left behind by hand", style="yellow")
    return lines


def _recovery(report: Report) -> str:
    """What the restore did about its failure; ``failed`` with nothing kept is a rollback
    that failed itself."""
    if report.status == "failed" and not report.kept:
        return ROLLBACK_FAILED
    return RECOVERY_TEXT[report.status]


ROLLBACK_FAILED = ("the rollback failed: the source is untouched; remove what is left "
                   "behind by hand")
RECOVERY_TEXT = {
    "rolled_back": "rolled back: everything the restore created was removed; the source "
                   "is untouched",
    "failed": "the source's removal had started: the restored data was kept (see 'kept')",
    "interrupted": "none yet: the orchestrator stopped; nothing was cleaned up",
    "succeeded": "",
}


def error_said(error: dict[str, Any]) -> str:
    """A report's error in one line: 'CODE in STEP (OPERATION): MESSAGE'."""
    where = f" in {error['step']}" if error.get("step") else ""
    operation = f" ({error['operation']})" if error.get("operation") else ""
    return f"{error.get('code')}{where}{operation}: {error.get('message')}"


def retries_said(operations: Sequence[dict[str, Any]]) -> str | None:
    """'N retries of M operations' of a report's operations (None: none retried)."""
    retried = [o for o in operations if o.get("attempts", 1) > 1]
    if not retried:
        return None
    return f"{sum(o['attempts'] - 1 for o in retried)} retries of {len(retried)} operations"


def clock(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def short(arm_id: str) -> str:
    """'rg/type/name' instead of the whole ARM id, for humans."""
    parts = arm_id.split("/")
    if len(parts) >= 9 and parts[3:4] and parts[5:6] == ["providers"]:
        return f"{parts[4]}/{parts[7]}/{parts[8]}"
    return arm_id
