"""A calibrated profile as YAML: the base's settings with each fitted figure in place,
every latency, rehydration, throughput and VM size line naming where its numbers come from
(a fit: its samples and journals, its interval and the base's value; else the base's, and
why)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from fakecloud.profile import Latency
from restore.backends.calibrate_data import REPOSITORY
from restore.backends.calibrate_rehydration import per_gb_source

if TYPE_CHECKING:
    from restore.backends.calibrate import Calibration

DATA = ("latency", "rehydration", "throughput", "vm_sizes")
"""The sections written line by line, each with its provenance."""


def profile_yaml(calibration: Calibration, name: str) -> str:
    """The calibrated profile as YAML (named ``name``)."""
    base = calibration.base
    fitted = calibration.profile()
    journals = sorted({Path(j).name for j in calibration.journals})
    shown = ", ".join(journals[:5]) + (f" and {len(journals) - 5} more" if len(journals) > 5
                                       else "")
    settings = base.model_dump(mode="python", exclude=set(DATA))
    settings.update(name=name, description=f"{base.name} fitted to {len(journals)} recorded "
                    f"restore(s) by restorelab calibrate")
    lines = [f"# restorelab calibrate: the {base.name} profile fitted to {shown}.",
             "# Latencies, rehydration, throughput and VM sizes below say where each comes "
             f"from; every other number is the base profile's (see {base.name}'s file for "
             "its sources).",
             *(f"# {note}" for note in calibration.notes),
             yaml.safe_dump({"name": settings.pop("name"),
                             "description": settings.pop("description")}, sort_keys=False,
                            width=1000).rstrip(),
             "latency:"]
    for kind, latency in fitted.latency.items():
        lines.append(f"  {kind}: {_flow(latency)}  # {_provenance(calibration, kind)}")
    lines += _rehydration(calibration, fitted)
    lines += _throughput(calibration, fitted)
    lines.append("vm_sizes:")
    for size, figures in fitted.vm_sizes.items():
        lines.append(f"  {size}: {_flow(figures)}  # "
                     f"{_data_provenance(calibration, f'worker {size}')}")
    lines.append(yaml.safe_dump(settings, sort_keys=False, width=100).rstrip())
    return "\n".join(lines) + "\n"


def _rehydration(calibration: Calibration, fitted: Any) -> list[str]:
    lines = ["rehydration:"]
    for priority in ("standard", "high"):
        fit = calibration.rehydration.get(priority)
        base = calibration.base.rehydration.latency(priority)
        if fit is None:
            why = calibration.kept.get(f"rehydration {priority}", "kept")
            source = f"base profile {calibration.base.name}: {why}"
        else:
            low, high = fit.median_ci
            source = (f"fitted: {fit.samples} rehydrations from {len(calibration.journals)} "
                      "journal(s) (each less its wait for the account's budget); median 95% "
                      f"CI {_number(low)}-{_number(high)}; base median {_number(base.median)}"
                      f", p95 {_number(base.p95)}")
        if priority == "high" and calibration.rehydration_per_gb is not None:
            source += f"; {per_gb_source(calibration.rehydration_per_gb)}"
        elif priority == "high":
            source += ("; extra_s_per_gb and account_gib_per_hour: the base's ("
                       f"{calibration.kept.get('rehydration high per GB', 'kept')})")
        lines.append(f"  {priority}: {_flow(fitted.rehydration.latency(priority))}  # {source}")
    return lines


def _throughput(calibration: Calibration, fitted: Any) -> list[str]:
    lines = ["throughput:"]
    throughput = fitted.throughput
    for name in type(throughput).model_fields:
        if name == "disk_skus":
            continue
        value = getattr(throughput, name)
        source = _data_provenance(calibration, REPOSITORY) if name.startswith("repository") \
            else f"base profile {calibration.base.name}"
        lines.append(f"  {name}: {_value(value)}  # {source}")
    lines.append("  disk_skus:")
    for sku, steps in throughput.disk_skus.items():
        lines.append(f"    {sku}:  # {_data_provenance(calibration, f'disk {sku}')}")
        lines += [f"      - {_flow(step)}" for step in steps]
    return lines


def _data_provenance(calibration: Calibration, constraint: str) -> str:
    fit = calibration.throughput.get(constraint)
    if fit is None:
        why = calibration.kept.get(f"throughput of {constraint}", "not recorded")
        return f"base profile {calibration.base.name}: {why}"
    low, high = fit.factor_ci
    if fit.at_least:
        return (f"fitted: at least x{fit.factor:.4f} on the base's throughput figures (above "
                f"it another constraint binds) from {fit.samples} transfer(s) bound by it in "
                f"{len(calibration.journals)} journal(s); base {fit.shown} "
                f"{_number(fit.base_mbps)} MB/s")
    return (f"fitted: x{fit.factor:.4f} on the base's throughput figures (95% CI "
            f"{low:.4f}-{high:.4f}) from {fit.samples} transfer(s) bound by it in "
            f"{len(calibration.journals)} journal(s); base {fit.shown} "
            f"{_number(fit.base_mbps)} MB/s")


def _flow(model: Any) -> str:
    """A model as a YAML flow mapping, with only the figures it sets (a latency: its
    non-default ones)."""
    shown = model.model_dump(exclude_defaults=True) if isinstance(model, Latency) \
        else model.model_dump(exclude_none=True)
    return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in shown.items()) + "}"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def _number(value: float) -> str:
    return ".inf" if value == math.inf else f"{value:.4g}" if value < 1000 else f"{value:.0f}"


def _provenance(calibration: Calibration, kind: str) -> str:
    fit = calibration.fits.get(kind)
    if fit is None:
        return f"base profile {calibration.base.name}: {calibration.kept.get(kind, 'kept')}"
    low, high = fit.median_ci
    base = calibration.base.latency[kind]
    return (f"fitted: {fit.samples} operations from {len(calibration.journals)} journal(s); "
            f"median 95% CI {_number(low)}-{_number(high)}; base median {_number(base.median)}"
            f", p95 {_number(base.p95)}")
