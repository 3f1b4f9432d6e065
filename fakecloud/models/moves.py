"""Moving resources between resource groups, with ARM's rules: the resources must be in
the source group and movable (no attached disk), their names free in the target. Mixed
into ``CloudState``."""

from __future__ import annotations

from collections.abc import Iterable

import armid as arm
from fakecloud.models.errors import ArmError, key_of
from fakecloud.models.resources import Disk, Resource, ResourceGroup


class MoveRules:
    """The moves of a subscription's state (``CloudState`` supplies the store)."""

    def check_move(self, source_group: str, target_group: str, resource_ids: Iterable[str]
                   ) -> list[tuple[Resource, str]]:
        """What a move would do (each resource and its new id), or ARM's refusal of it;
        nothing changes (validateMoveResources)."""
        source, target = self._group(source_group), self._group(target_group)
        moving = [self._movable(r, source) for r in resource_ids]
        subscription = arm.parse_id(target.id).subscription
        new_ids = [arm.resource_id(subscription, target.name, resource.type, resource.name)
                   for resource in moving]
        for resource, new_id in zip(moving, new_ids, strict=True):
            if self.find(new_id):
                raise ArmError(409, "Conflict", f"Resource '{resource.name}' already exists in "
                               f"resource group '{target.name}'.")
        return list(zip(moving, new_ids, strict=True))

    def move_resources(self, source_group: str, target_group: str,
                       resource_ids: Iterable[str]) -> list[Resource]:
        planned = self.check_move(source_group, target_group, resource_ids)
        for resource, new_id in planned:
            self._drop(resource)
            resource.id = new_id
            resource.resource_group = arm.group_of(new_id)  # the target's spelling
            self._add(resource)
        return [resource for resource, _ in planned]

    def _movable(self, resource_id: str, source: ResourceGroup) -> Resource:
        resource = self.find(resource_id)
        if resource is None or key_of(arm.group_id_of(resource.id)) != key_of(source.id):
            raise ArmError(400, "ResourceNotFound", f"Resource '{resource_id}' is not in "
                           f"resource group '{source.name}'.")
        if isinstance(resource, Disk) and resource.managed_by:
            raise ArmError(409, "OperationNotAllowed", f"Disk '{resource.name}' is attached to "
                           f"VM '{resource.managed_by}' and cannot be moved.")
        return resource
