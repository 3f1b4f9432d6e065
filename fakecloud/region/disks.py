"""Managed disks and snapshots on the region: every create option the fake implements,
read as ARM reads it, and updates (PUT on an existing one, or PATCH): size (grow only),
SKU, tags and the other properties, echoed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fakecloud.models import ArmError, Disk, DiskEncryptionSet, Snapshot
from fakecloud.region.common import (
    Handler,
    Outcome,
    delete_handler,
    echoed,
    echoed_handlers,
    get_or_list,
    location_of,
    missing,
    normal_id,
    remember,
    tags_of,
    zone_of,
)
from fakecloud.region.references import check_disk_encryption

if TYPE_CHECKING:
    from fakecloud.region.call import ArmCall
    from fakecloud.region.core import Region

DISK_OPTIONS = {o.lower(): o for o in (
    "Empty", "Copy", "CopyStart", "Import", "ImportSecure", "FromImage", "Upload",
    "UploadPreparedSecure", "CopyFromSanSnapshot")}
"""The disk create options the fake implements, by ARM's case-insensitive name."""
SNAPSHOT_OPTIONS = ("Copy", "CopyStart", "Import", "CopyFromSanSnapshot")
NEEDS = {"Copy": "sourceResourceId", "CopyStart": "sourceResourceId", "Import": "sourceUri",
         "ImportSecure": "sourceUri", "CopyFromSanSnapshot": "elasticSanResourceId"}
"""What each create option must name in ``creationData``."""
SIZED_BY_SOURCE = ("Import", "ImportSecure", "FromImage", "CopyFromSanSnapshot")
IMPORTED_GB = 30
"""The size of a disk or snapshot whose source the fake cannot read (a VHD, an image, an
Elastic SAN snapshot) when the request gives none."""


def put_disk(region: Region, call: ArmCall) -> Outcome:
    existing = region.state.find(call.id)
    if isinstance(existing, Disk):
        return _update(region, existing, call.body, replace=True)
    body = call.body
    props, creation, option, named = _creation(body, DISK_OPTIONS.values())
    size_gb = int(props.get("diskSizeGB") or 0)
    if option == "FromImage" and not (creation.get("imageReference")
                                      or creation.get("galleryImageReference")):
        raise missing("creationData.imageReference")
    if option in ("Upload", "UploadPreparedSecure"):
        size_gb = size_gb or _upload_gb(creation)
    elif option == "Empty" and size_gb < 1:
        raise ArmError(400, "InvalidParameter", "Required parameter 'diskSizeGB' is "
                       "missing (null) or not positive for an empty disk.")
    if option in SIZED_BY_SOURCE:
        size_gb = size_gb or IMPORTED_GB
    check_disk_encryption(region.state, body)
    source = named if option in ("Copy", "CopyStart") else None
    disk = region.state.create_disk(call.id, location_of(body), size_gb,
                                    (body.get("sku") or {}).get("name", "Standard_LRS"),
                                    zone_of(body), source, tags_of(body), option)
    remember(disk, body)
    return 202, disk, "create_disk_from_snapshot" if source else "create_disk", True


def put_snapshot(region: Region, call: ArmCall) -> Outcome:
    existing = region.state.find(call.id)
    if isinstance(existing, Snapshot):
        return _update(region, existing, call.body, replace=True)
    body = call.body
    props, _, option, named = _creation(body, SNAPSHOT_OPTIONS)
    source = named if option in ("Copy", "CopyStart") else None
    origin = region.state.find(source) if source else None
    snapshot = region.state.create_snapshot(
        call.id, location_of(body), source, tags_of(body), option,
        bool(props.get("incremental")), int(props.get("diskSizeGB") or IMPORTED_GB))
    remember(snapshot, body)
    copy = isinstance(origin, Snapshot) and origin.location != snapshot.location
    return 202, snapshot, "copy_snapshot" if copy else "create_snapshot", True


def patch(region: Region, call: ArmCall) -> Outcome:
    kind = Disk if call.type.lower().endswith("/disks") else Snapshot
    return _update(region, region.state.get(call.id, kind), call.body, replace=False)


def _update(region: Region, resource: Disk | Snapshot, body: dict[str, Any],
            replace: bool) -> Outcome:
    """Change what an update may change; the rest of the request is echoed from now on."""
    props = body.get("properties") or {}
    option = (props.get("creationData") or {}).get("createOption")
    if option and option.lower() != resource.create_option.lower():
        raise ArmError(409, "PropertyChangeNotAllowed", "Changing property "
                       "'creationData.createOption' is not allowed.")
    if replace and body.get("location") and location_of(body) != resource.location:
        raise ArmError(409, "InvalidResourceLocation", f"The resource '{resource.name}' "
                       f"already exists in location '{resource.location}'.")
    size_gb = int(props.get("diskSizeGB") or 0)
    sku = (body.get("sku") or {}).get("name")
    region.state.update_disk(resource.id, size_gb or None, sku,
                             tags_of(body) if "tags" in body else None)
    merged = {**resource.requested, **props}
    remember(resource, {**resource.requested_top, **body, "properties": merged})
    kind = "create_disk" if isinstance(resource, Disk) else "create_snapshot"
    return 200 if replace else 202, resource, kind, True


def _creation(body: dict[str, Any], options: Any
              ) -> tuple[dict[str, Any], dict[str, Any], str, str | None]:
    """A create request's properties, its creationData, its create option (one of
    ``options``) and what the option names."""
    props = body.get("properties") or {}
    creation = props.get("creationData") or {}
    option = _option(creation.get("createOption"), options)
    return props, creation, option, _named(creation, option)


def _option(option: Any, known: Any) -> str:
    if not option:
        raise missing("creationData.createOption")
    found = DISK_OPTIONS.get(str(option).lower())
    if found is None or found not in known:
        raise ArmError(400, "InvalidParameter", f"The value '{option}' of "
                       "creationData.createOption is not valid, or not implemented in "
                       f"fakecloud (it takes {', '.join(known)}).")
    return found


def _named(creation: dict[str, Any], option: str) -> str | None:
    """What the option must name (an id with its leading slash, or a URI), required."""
    name = NEEDS.get(option)
    if name is None:
        return None
    value = creation.get(name)
    if not value:
        raise missing(f"creationData.{name}")
    if option == "ImportSecure" and not creation.get("securityDataUri"):
        raise missing("creationData.securityDataUri")
    return normal_id(value) if name.endswith("ResourceId") else value


def _upload_gb(creation: dict[str, Any]) -> int:
    size = int(creation.get("uploadSizeBytes") or 0)
    if size < 1:
        raise missing("creationData.uploadSizeBytes")
    return -(-size // 2**30)


_ENCRYPTION_SET_PUT = echoed(DiskEncryptionSet, "create_resource_group", long_running=True)


def put_encryption_set(region: Region, call: ArmCall) -> Outcome:
    """A disk encryption set kept as its request said; 202 when new, 200 when replaced
    (DiskEncryptionSet_Create documents both)."""
    status, *rest = _ENCRYPTION_SET_PUT(region, call)
    return (202 if status == 201 else status, *rest)


DISKS, SNAPSHOTS = "Microsoft.Compute/disks", "Microsoft.Compute/snapshots"
DISK_HANDLERS: dict[str, Handler] = {
    # a disk encryption set: a quick ARM write, as a group's
    **echoed_handlers(DiskEncryptionSet, "create_resource_group", "create_resource_group",
                      long_running=True),
    f"PUT {DiskEncryptionSet.type}": put_encryption_set,
    f"GET {DISKS}": get_or_list,
    f"PUT {DISKS}": put_disk,
    f"PATCH {DISKS}": patch,
    f"DELETE {DISKS}": delete_handler("delete_disk", lambda state, i: state.delete_disk(i)),
    f"GET {SNAPSHOTS}": get_or_list,
    f"PUT {SNAPSHOTS}": put_snapshot,
    f"PATCH {SNAPSHOTS}": patch,
    f"DELETE {SNAPSHOTS}": delete_handler("delete_snapshot",
                                          lambda state, i: state.delete_snapshot(i)),
}
"""The handler of each disk and snapshot operation the region implements."""
