"""Run an official Azure SDK for Python management sample, unchanged, against ``mock_azure``.

The sample file is kept verbatim (``tests/data/sdk_samples``, see its MANIFEST.json). It was
written for an SDK that turned a plain dict argument into the request's model; the current
azure-mgmt-* clients send a dict verbatim as the REST body (snake_case keys ARM ignores).
So, as the issue allows, each dict a sample passes is given to the SDK as the same values
in the SDK's model objects: ``as_model`` builds them from the models' own type hints. Two
names changed in the SDK since the sample was written, and nothing else is touched:
``ResourceManagementClient`` moved from ``azure.mgmt.resource`` to
``azure.mgmt.resource.resources`` (azure-mgmt-resource 26), and a VM extension's
``type_properties_type`` is ``type`` in azure-mgmt-compute's current models. A name no
model has is left out, as the msrest serializer of the sample's SDK left it out; ``run``
returns those names, so a test says which they are.
"""

from __future__ import annotations

import contextlib
import functools
import runpy
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import azure.mgmt.resource
from azure.mgmt.compute import models as compute
from azure.mgmt.compute.operations import (
    VirtualMachineExtensionsOperations,
    VirtualMachinesOperations,
)
from azure.mgmt.network import models as network
from azure.mgmt.network.operations import (
    NetworkInterfacesOperations,
    SubnetsOperations,
    VirtualNetworksOperations,
)
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.resources import models as resources
from azure.mgmt.resource.resources.operations import ResourceGroupsOperations

SAMPLES = Path(__file__).parent.parent / "data" / "sdk_samples"
RENAMED = {"type_properties_type": "type"}
"""Attribute names of the sample's SDK -> the current models' names."""
BODIES = [
    (ResourceGroupsOperations, "create_or_update", resources.ResourceGroup),
    (VirtualNetworksOperations, "begin_create_or_update", network.VirtualNetwork),
    (SubnetsOperations, "begin_create_or_update", network.Subnet),
    (NetworkInterfacesOperations, "begin_create_or_update", network.NetworkInterface),
    (VirtualMachinesOperations, "begin_create_or_update", compute.VirtualMachine),
    (VirtualMachinesOperations, "begin_update", compute.VirtualMachineUpdate),
    (VirtualMachineExtensionsOperations, "begin_create_or_update",
     compute.VirtualMachineExtension),
    (VirtualMachineExtensionsOperations, "begin_update", compute.VirtualMachineExtensionUpdate),
]
"""The operations the samples call with a dict body, and the model each takes."""


def as_model(cls: type, data: dict[str, Any], dropped: list[str]) -> Any:
    """``data`` (attribute names, as the sample writes them) as a ``cls`` model, nested
    dicts as the models their attributes are typed with; names the model lacks are left
    out and noted in ``dropped`` (``Model.name``)."""
    hints = _hints(cls)
    kwargs = {}
    for key, value in data.items():
        name = RENAMED.get(key, key)
        if name in hints:
            kwargs[name] = _value(hints[name], value, dropped)
        else:
            dropped.append(f"{cls.__name__}.{key}")
    return cls(**kwargs)


def _value(annotation: Any, value: Any, dropped: list[str]) -> Any:
    if isinstance(value, list):
        item = next((a for a in typing.get_args(_unoptional(annotation))), Any)
        return [_value(item, v, dropped) for v in value]
    model = _model_in(annotation)
    if isinstance(value, dict) and model is not None:
        return as_model(model, value, dropped)
    return value


def _unoptional(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if typing.get_origin(annotation) is typing.Union and args else annotation


def _model_in(annotation: Any) -> type | None:
    found = _unoptional(annotation)
    return found if isinstance(found, type) and hasattr(found, "as_dict") else None


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The attributes a model takes: its own, and those flattened from its properties."""
    module = sys.modules[cls.__module__]  # .models._models: "_models" is .models
    package = sys.modules[cls.__module__.rsplit(".", 1)[0]]
    hints = typing.get_type_hints(cls, {**vars(module), "_models": package})
    properties = _model_in(hints.get("properties"))
    flattened = getattr(cls, f"_{cls.__name__}__flattened_items", [])
    if properties is not None and flattened:
        hints.update({k: v for k, v in _hints(properties).items() if k in flattened})
    return hints


def _taking_models(operation: Any, model: type, dropped: list[str]) -> Any:
    @functools.wraps(operation)
    def with_model(self: Any, *args: Any, **kwargs: Any) -> Any:
        args = tuple(as_model(model, a, dropped) if isinstance(a, dict) else a for a in args)
        return operation(self, *args, **kwargs)

    return with_model


@contextlib.contextmanager
def as_written() -> Iterator[list[str]]:
    """The SDK as the samples were written for: dict bodies as models, the moved name;
    yields the names left out."""
    dropped: list[str] = []
    with contextlib.ExitStack() as stack:
        for owner, name, model in BODIES:
            stack.enter_context(mock.patch.object(
                owner, name, _taking_models(getattr(owner, name), model, dropped)))
        stack.enter_context(mock.patch.object(
            azure.mgmt.resource, "ResourceManagementClient", ResourceManagementClient,
            create=True))
        yield dropped


def run(sample: str) -> list[str]:
    """Run ``sample`` (a file in ``tests/data/sdk_samples``) as ``__main__``; the names
    of its dicts that no model has (left out of the requests)."""
    with as_written() as dropped:
        runpy.run_path(str(SAMPLES / sample), run_name="__main__")
    return dropped
