"""Checks of the restore modes' outcomes that ``helpers.assert_restored`` runs: the source
VM's disks replaced (``target.mode: replace_disks``), a drill (``target.mode: drill``)."""

from __future__ import annotations

from helpers import (
    DISKS,
    RESTORE_ID_TAG,
    VMS,
    by_id,
    chosen,
    expected_disks,
    is_worker,
    source_disk_names,
)

from restore import Report, Scenario


def assert_disks_replaced(sc: Scenario, report: Report) -> None:
    """Every property of a successful replacement of the source VM's disks
    (``target.mode: replace_disks``): the chosen disks restored next to the source as
    ``<source disk>-<restore id>``, swapped into the source VM at the same LUNs, the VM
    started (unless ``power_on: false``) on its own NIC, the old disks kept detached and
    tagged (or deleted when asked), nothing temporary left."""
    assert report.status == "succeeded", report.error
    assert all(s["status"] == "succeeded" for s in report.steps)
    ran = {s["name"] for s in report.steps}
    assert {"deallocate_source_vm", "swap_disks", "keep_replaced_disks"} <= ran
    assert not {"create_vm", "attach_disks", "remove_source_vm", "create_staging_rg"} & ran
    assert report.restored_vm is None and report.leaked == [] and not report.source_intact
    res, rid, src = by_id(report), report.restore_id, sc.source_vm
    group = f"/subscriptions/{sc.subscription}/resourceGroups/{src.resource_group}/providers/"
    vm = res[f"{group}{VMS}/{src.name}".lower()]
    props = vm["properties"]
    assert props["powerState"] == ("running" if sc.target.power_on else "deallocated")
    nic = src.network.nic or f"{src.name}-nic"
    assert props["networkInterface"].lower() == \
        f"{group}Microsoft.Network/networkInterfaces/{nic}".lower()
    on_vm = {"os": props["osDisk"].lower(), **{d["lun"]: d["id"].lower()
                                               for d in props["dataDisks"]}}
    names, expected = source_disk_names(sc), expected_disks(sc)
    assert {d["lun"] if d["lun"] is not None else "os" for d in report.restored_disks} == \
        chosen(sc)
    deleted = sc.target.delete_replaced_disks
    for lun in names:
        old = f"{group}{DISKS}/{names[lun]}".lower()
        if lun not in chosen(sc):
            assert on_vm[lun] == old  # not restored: left as it was
            continue
        new = f"{group}{DISKS}/{names[lun]}-{rid}".lower()
        assert on_vm[lun] == new
        disk = res[new]
        assert (disk["properties"]["diskSizeGB"], disk["properties"]["sku"]) == expected[lun]
        assert disk["properties"]["zone"] == src.zone and disk["tags"] == {RESTORE_ID_TAG: rid}
        if deleted:
            assert old not in res
        else:
            assert res[old]["properties"]["diskState"] == "Unattached"
            assert res[old]["tags"].get("restorelab-replaced-by") == rid
    kept = [] if deleted else [f"{group}{DISKS}/{names[lun]}".lower() for lun in names
                               if lun in chosen(sc)]
    assert [i.lower() for i in report.kept] == kept
    assert not any(is_worker(i) for i in res)


def assert_drilled(report: Report) -> None:
    """A successful drill: its network made first, the VM's health checked, every check
    passed, and nothing it made left; the source untouched."""
    assert report.status == "succeeded" and report.exit_code == 0, report.error
    names = [s["name"] for s in report.steps]
    assert names[:2] == ["preflight", "create_drill_network"]
    assert names.index("check_health") < names.index("remove_drill") == len(names) - 1
    assert all(c["status"] == "passed" for c in report.drill["checks"])
    assert report.drill["passed"] and report.drill["time_to_healthy_s"] > 0
    assert report.leaked == [] and report.source_intact
    assert not [i for i, r in by_id(report).items() if r["tags"].get(RESTORE_ID_TAG)]
