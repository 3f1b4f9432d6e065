"""Variants of a validated model (a scenario, a region profile): its fields changed by
name, then validated again as a whole."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from restore.errors import ScenarioError


class _Unreachable(Exception):
    """A dotted key's part that is not there: (the key so far, why)."""


def changed(raw: dict, changes: Mapping[str, Any] | None, fields: Mapping[str, Any],
            source: str) -> dict:
    """``raw`` (a model's dump) with ``changes`` (dotted keys reach deeper:
    ``source_vm.size``, ``source_vm.data_disks.0.used_gb``) and then ``fields`` (top-level
    names) applied: a mapping merges into the value it meets (recursively), anything else
    (a list, a scalar, a model) replaces it. A key that cannot be reached is a
    ScenarioError of ``source`` naming it."""
    if changes is not None and not isinstance(changes, Mapping):
        raise TypeError(f"changes must be a mapping of field names, not {type(changes).__name__}")
    out = _plain(raw)
    for key, value in [*(changes or {}).items(), *fields.items()]:
        *path, last = str(key).split(".")
        parent = out
        try:
            for depth, part in enumerate(path):
                parent = _child(parent, part, ".".join(path[:depth + 1]))
            _set(parent, last, _plain(value), key)
        except _Unreachable as exc:
            raise ScenarioError(source, *exc.args) from None
    return out


def _child(parent: Any, part: str, reached: str) -> Any:
    """The mapping or list at ``part`` of ``parent`` (an empty mapping where none is)."""
    if isinstance(parent, list):
        return parent[_index(parent, part, reached)]
    if parent.get(part) is None:
        parent[part] = {}
    if not isinstance(parent[part], dict | list):
        raise _Unreachable(reached, f"{parent[part]!r} is not a mapping: it has no fields")
    return parent[part]


def _set(parent: Any, last: str, value: Any, key: str) -> None:
    if isinstance(parent, list):
        parent[_index(parent, last, key)] = value
    elif isinstance(value, dict) and isinstance(parent.get(last), dict):
        parent[last] = _merged(parent[last], value)
    else:
        parent[last] = value


def _index(items: list, part: str, reached: str) -> int:
    if not part.isdigit() or int(part) >= len(items):
        raise _Unreachable(reached, f"no item {part!r} (the list has {len(items)})")
    return int(part)


def _merged(old: dict, new: dict) -> dict:
    return {**old, **{k: _merged(old[k], v) if isinstance(v, dict) and isinstance(old.get(k), dict)
                      else v for k, v in new.items()}}


def _plain(value: Any) -> Any:
    """``value`` as plain data: models dumped (as JSON would hold them), tuples as lists,
    containers copied."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
