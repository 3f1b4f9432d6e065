"""The rules of the restore modes: ``target.mode`` (the VM, its disks only, or the source
VM's disks replaced) and the disks chosen (``restore_point.disks`` or ``exclude_luns``),
checked on a whole scenario.

Each error starts with the field it is about (``target.vm_size: ...``), which the
scenario's validation names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from restore.scenario import Scenario

VM_ONLY_FIELDS = ("vm_name", "vm_size", "subnet", "power_on", "safety_snapshot",
                  "remove_unrestored_disks", "nsg", "public_ip", "availability_set",
                  "security_type")
"""Target fields about the restored VM or the source's removal: none takes effect when
only disks are restored (the source is never touched)."""


REPLACE_REFUSED_FIELDS = ("safety_snapshot", "remove_unrestored_disks")
"""Target fields about removing the source: replace_disks never removes it (the VM's old
disks are kept, tagged, unless target.delete_replaced_disks)."""


def check_mode(scenario: Scenario) -> None:
    """Raise ValueError naming the field when the scenario's mode or disks chosen cannot
    be restored as written."""
    if scenario.disks_only:
        _check_disks_only(scenario)
    if scenario.is_drill:
        _check_drill(scenario)
    if scenario.replaces_disks:
        _check_replace_disks(scenario)
    elif scenario.target.delete_replaced_disks:
        raise ValueError("target.delete_replaced_disks: applies only to mode: replace_disks")
    _check_chosen_disks(scenario)


def _check_replace_disks(scenario: Scenario) -> None:
    """``target.mode: replace_disks`` swaps the disks of the source VM itself."""
    target = scenario.target
    if not scenario.is_original_location:
        raise ValueError("target.mode: replace_disks swaps the disks of the source VM itself: "
                         "it takes location: original")
    given = [f for f in REPLACE_REFUSED_FIELDS if getattr(target, f)]
    if given:
        raise ValueError(f"target.{given[0]}: applies only to mode: vm (replace_disks never "
                         "removes the source: its old disks are kept unless "
                         "delete_replaced_disks: true)")


DRILL_REFUSED_FIELDS = ("subnet", "nsg", "public_ip", "availability_set")
"""Target fields about the restored VM's network: a drill makes its own, isolated."""


def _check_drill(scenario: Scenario) -> None:
    """``target.mode: drill`` restores the VM into a new group and network of its own."""
    target = scenario.target
    if scenario.is_original_location:
        raise ValueError("target.mode: drill restores the VM next to the source, in a group "
                         "and network of its own: it takes location: new")
    given = [f for f in DRILL_REFUSED_FIELDS if getattr(target, f) is not None]
    if given:
        raise ValueError(f"target.{given[0]}: a drill restores into an isolated network of "
                         "its own (no peering, the internet closed both ways)")
    if not target.power_on:
        raise ValueError("target.power_on: a drill starts the VM to check its health")
    if scenario.fleet is not None:
        raise ValueError("fleet: a drill restores one VM (drill a fleet's VM alone)")


def _check_disks_only(scenario: Scenario) -> None:
    """``target.mode: disks`` makes no VM and leaves the source alone."""
    target, defaults = scenario.target, type(scenario.target)()
    given = [f for f in VM_ONLY_FIELDS if getattr(target, f) != getattr(defaults, f)]
    if given:
        raise ValueError(f"target.{given[0]}: applies only to mode: vm (mode: disks creates "
                         "no VM and never removes the source)")


def _check_chosen_disks(scenario: Scenario) -> None:
    """The disks chosen are disks the source has; a VM needs its OS disk; at the original
    location the source's disks not restored are removed with the source VM only when
    ``target.remove_unrestored_disks`` says so (and that setting only then)."""
    rp, target = scenario.restore_point, scenario.target
    field = rp.selection_field
    if rp.disks is not None and rp.exclude_luns is not None:
        raise ValueError("restore_point.exclude_luns: give disks or exclude_luns, not both")
    disks = scenario.source_vm.disks()
    luns = sorted(lun for lun, _, _ in disks if lun is not None)
    unknown = [str(d) for d in (rp.disks or rp.exclude_luns or ()) if d != "os" and d not in luns]
    if unknown:
        raise ValueError(f"restore_point.{field}: no data disk at LUN {', '.join(unknown)} "
                         f"(the source's data disks are at LUN {luns or 'none'})")
    vm_mode = scenario.target.mode in ("vm", "drill")
    if vm_mode and rp.disks is not None and "os" not in rp.disks:
        raise ValueError(f"restore_point.{field}: a restored VM needs its OS disk: add os "
                         "(or restore only disks with target.mode: disks)")
    removes_source = vm_mode and scenario.is_original_location
    lost = [name for lun, _, name in disks if not rp.restores(lun)]
    if removes_source and lost and not target.remove_unrestored_disks:
        raise ValueError(f"restore_point.{field}: the source's disks {', '.join(lost)} are "
                         "not restored, and an original-location restore removes them with "
                         "the source VM: they would be lost (set "
                         "target.remove_unrestored_disks: true to accept that)")
    if target.remove_unrestored_disks and not (removes_source and lost):
        raise ValueError("target.remove_unrestored_disks: no source disk is removed without "
                         "being restored here (it applies to an original-location restore "
                         "of the VM with some of its disks)")
