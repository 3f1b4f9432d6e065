"""The building blocks of the scenario file's models: names, locations, disk SKUs, subnets."""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

import armid as arm


class DiskSku(StrEnum):
    PREMIUM_LRS = "Premium_LRS"
    PREMIUM_ZRS = "Premium_ZRS"
    PREMIUM_V2_LRS = "PremiumV2_LRS"
    STANDARD_SSD_LRS = "StandardSSD_LRS"
    STANDARD_SSD_ZRS = "StandardSSD_ZRS"
    STANDARD_LRS = "Standard_LRS"
    ULTRA_SSD_LRS = "UltraSSD_LRS"


NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
Name = Annotated[str, Field(min_length=1, max_length=80, pattern=NAME_PATTERN)]
"""An Azure resource name as restorelab accepts it (letters, digits, '.', '_', '-')."""


def _location_name(value: object) -> object:
    """A location as Azure displays it (``West Europe``) taken as ARM names it
    (``westeurope``)."""
    return value.replace(" ", "").lower() if isinstance(value, str) else value


Location = Annotated[Name, BeforeValidator(_location_name)]
"""An Azure location by name (``westeurope``) or display name (``West Europe``)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def at_default(default: object) -> Callable[[object], bool]:
    """``exclude_if`` of the restore modes' fields (target.mode, the disks chosen): left
    out of a scenario's dump at their default, so a scenario without them keeps its
    restore id."""
    return lambda value: value == default


DURATION_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
DURATION_PATTERN = re.compile(r"(\d+(?:\.\d+)?)([dhms])")


def seconds_of(value: object) -> float:
    """A duration as seconds: a number of seconds, or a text like ``4h``, ``90m``,
    ``1h30m``, ``45s``, ``2d``."""
    if isinstance(value, bool):
        raise ValueError(f"a duration (4h, 90m, 1h30m, or seconds), not {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip().replace(" ", "")
        text = f"{text}s" if re.fullmatch(r"\d+(\.\d+)?", text) else text  # bare seconds
        parts = DURATION_PATTERN.findall(text)
        if "".join(n + u for n, u in parts) != text:
            raise ValueError(f"{value!r} is not a duration (4h, 90m, 1h30m, 45s, or seconds)")
        seconds = sum(float(n) * DURATION_UNITS[u] for n, u in parts)
    else:
        raise ValueError(f"a duration (4h, 90m, 1h30m, or seconds), not {value!r}")
    if not 0 < seconds < float("inf"):
        raise ValueError(f"a duration must be more than 0 seconds (got {value!r})")
    return seconds


def duration_argument(name: str, value: object) -> float | None:
    """An API argument's duration (None stays None); ValueError naming ``name``."""
    try:
        return None if value is None else seconds_of(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


Duration = Annotated[float, BeforeValidator(seconds_of)]
"""A duration in seconds, given as seconds or as ``4h``, ``90m``, ``1h30m``, ``2d``."""


GUID_PATTERN = r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"
SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets"


def is_id_of(value: str, type_: str) -> bool:
    """Whether ``value`` is the ARM id of a resource of ``type_``."""
    try:
        return arm.parse_id(value).type.lower() == type_.lower()
    except ValueError:
        return False


def subnet_named(subnet: str | None) -> str | None:
    """'vnet', 'vnet/subnet' (names), or a subnet's ARM id."""
    if subnet is None:
        return None
    if subnet.startswith("/"):
        if not is_id_of(subnet, SUBNET_TYPE):
            raise ValueError(f"{subnet!r} is not a subnet's ARM id (/subscriptions/.../"
                             "virtualNetworks/VNET/subnets/SUBNET)")
        return subnet
    if not all(re.match(NAME_PATTERN, part) for part in subnet.split("/", 1)):
        raise ValueError(f"{subnet!r} is neither 'vnet/subnet' (names of letters, digits, "
                         "'.', '_', '-') nor a subnet's ARM id")
    return subnet
