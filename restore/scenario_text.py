"""How a scenario file's problems are told: YAML read strictly (no key twice), each error
as the field it is about, a wrong value shown cut short with its secrets redacted."""

from __future__ import annotations

import re
import reprlib

import yaml

from restore.errors import redact


class UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key written twice in one mapping (YAML forbids it;
    PyYAML would keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool):
                continue  # an unhashable key: the safe loader refuses it itself
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is written twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


NAMED_PROBLEM = re.compile(r"^([a-z_]+(?:\.[a-z_0-9]+)+): (.*)$", re.DOTALL)
"""A whole-scenario check's message that starts with the field it is about."""


def _field_part(part: object) -> str:
    """A part of a field's path as written; quoted when it is empty or unprintable."""
    text = str(part)
    return text if text and text.isprintable() and text.strip() == text else repr(text)


def field_and_problem(error: dict) -> tuple[str, str]:
    """A pydantic error as the field it is about and the problem; a check of the whole
    scenario names its field at the start of its message."""
    field, problem = ".".join(_field_part(p) for p in error["loc"]), _pydantic_problem(error)
    if not field:
        named = NAMED_PROBLEM.match(problem)
        field, problem = named.groups() if named else ("(top level)", problem)
    return field, problem


def _pydantic_problem(error: dict) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if error["type"] == "missing":
        return "required field is missing"
    message = error["msg"].removeprefix("Value error, ")
    return f"{message} (got {shown(error['input'])})" if error["type"] != "value_error" \
        else message


def shown(value: object) -> str:
    """A wrong value as an error shows it: cut short, its secrets redacted first (a cut
    could keep a signature's tail without the ``sig=`` that marks it)."""
    return SHOWN.repr(_redacted(value, SHOWN.maxlevel))


def _redacted(value: object, levels: int) -> object:
    """``value`` with its strings redacted, as deep and as far as SHOWN shows it."""
    if isinstance(value, str):
        return redact(value)
    if levels <= 0:
        return value
    if isinstance(value, list | tuple):
        return [_redacted(v, levels - 1) for v in value[:SHOWN.maxlist + 1]]
    if isinstance(value, dict):
        return {_redacted(k, 0): _redacted(v, levels - 1)
                for k, v in list(value.items())[:SHOWN.maxdict + 1]}
    return value


SHOWN = reprlib.Repr()
"""How much of a wrong value an error shows (a YAML alias bomb expands to millions)."""
SHOWN.maxlevel, SHOWN.maxlist, SHOWN.maxdict, SHOWN.maxstring, SHOWN.maxother = 2, 4, 4, 60, 60


def yaml_problem(exc: yaml.YAMLError) -> str:
    """The parser's problem where it found it, after its context (``found duplicate anchor
    'x'; first occurrence at ...``) when it gives one."""
    parts = [(getattr(exc, "context", None), getattr(exc, "context_mark", None)),
             (getattr(exc, "problem", None) or str(exc), getattr(exc, "problem_mark", None))]
    return "; ".join(" ".join(text.split()) + (f" at line {mark.line + 1}, column "
                                               f"{mark.column + 1}" if mark else "")
                     for text, mark in parts if text)
