"""PATCH /scim/v2/Groups/{id}: a members-only PATCH (JumpCloud's adds and removes) is one write;
any other reads the group, applies the operations on the event loop and writes them if the
group is still the version it read (retried otherwise). Member changes touch only the members
named, and past `ECHO_MEMBERS_LIMIT` members the answer is 204, so they cost the same in any
group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.config import ScimConfig
from app.db import Tx
from app.scim import mapping
from app.scim.endpoints import ATTEMPTS, Origin, found, origin, scim_services, selection, written
from app.scim.errors import Conflict, NotFound, ScimError
from app.scim.filter import FilterError, parse_path
from app.scim.groups import GroupBody, check_users, group_body, read_group, update_group
from app.scim.http import WRITE_SCOPES, check_if_match, read_json, scim_endpoint
from app.scim.patch import PatchResult, apply_patch
from app.scim.projection import wants
from app.scim.resource import normalize
from app.scim.schemas import GROUP_URN, UnknownAttribute, resolve
from app.services import Services
from app.store import groups as group_store
from app.store.groups import Group, Member

# Past this size a PATCH answers 204 instead of echoing every member (RFC 7644 §3.5.2 allows
# it), so that adding or removing one member costs the same in any group.
ECHO_MEMBERS_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class _Patch:
    """A PATCH ready to be written: member changes, and the group's new attributes when the
    operations changed any (computed from the version `read` of the group)."""

    group_id: str
    read: Group | None  # None: members only, computed without reading the group
    body: GroupBody | None  # None: the attributes stay as they are
    guarded: bool  # written only if the group is still at `read.version`
    replaced: set[str] | None
    added: set[str]
    removed: set[str]
    displays: dict[str, str]
    echo: bool


@dataclass(frozen=True, slots=True)
class _Patched:
    group: Group
    members: list[Member] | None
    too_big_to_echo: bool


def _write_patch(tx: Tx, patch: _Patch, who: Origin) -> _Patched | None:
    """Store `patch`; None (nothing written) if it is guarded and the group has moved on."""
    group_id = patch.group_id
    version = group_store.version_of(tx, group_id)
    if version is None:
        raise NotFound(f"Group {group_id} not found")
    if patch.guarded and patch.read is not None and version != patch.read.version:
        return None
    detail: dict[str, Any] = {}
    if patch.replaced is not None:
        check_users(tx, patch.replaced)
        group_store.replace_members(tx, group_id, patch.replaced, patch.displays)
        detail["members_replaced"] = len(patch.replaced)
    else:
        added = patch.added - patch.removed
        check_users(tx, added)
        # Re-adding a present member or removing an absent one is no change at all:
        # no new version, no audit event (JumpCloud repeats adds).
        if group_store.add_members(tx, group_id, added, patch.displays):
            detail["members_added"] = sorted(added)[:100]
        if group_store.remove_members(tx, group_id, patch.removed):
            detail["members_removed"] = sorted(patch.removed)[:100]
    if patch.body is not None:
        group = update_group(tx, group_id, patch.body)
        if patch.read is not None and group.display_name != patch.read.display_name:
            detail["renamed_from"] = patch.read.display_name
    elif detail:
        group = found(group_store.touch(tx, group_id), "Group", group_id)
    else:
        group = patch.read or found(group_store.get(tx, group_id), "Group", group_id)
    if patch.body is not None or detail:
        detail = {"displayName": group.display_name, **detail}
        who.record(tx, "group.patch", "group", group_id, detail)
    # Never count the whole group: look only as far as the echo limit.
    if patch.echo and group_store.has_more_members_than(tx, group_id, ECHO_MEMBERS_LIMIT):
        return _Patched(group, None, True)
    return _Patched(group, group_store.members(tx, group_id) if patch.echo else None, False)


def _member_paths(operations: Any) -> bool:
    """Whether every operation names `members` (or a filter of them) as its path."""
    ops = _key(operations, "operations") if isinstance(operations, dict) else None
    if not isinstance(ops, list) or not ops:
        return False
    for op in ops:
        path = _key(op, "path") if isinstance(op, dict) else None
        if not isinstance(path, str):
            return False
        try:
            if resolve("Group", str(parse_path(path).attr)).path != "members":
                return False
        except (FilterError, UnknownAttribute):
            return False
    return True


def _key(obj: dict[str, Any], name: str) -> Any:
    return next((value for key, value in obj.items() if key.lower() == name), None)


def _members_only(group_id: str, operations: Any, limits: ScimConfig) -> PatchResult | None:
    """The outcome of a PATCH whose operations touch nothing but members, found without the
    group (JumpCloud's adds and removes: one round trip, not two); None for any other."""
    if not _member_paths(operations):
        return None
    stub = {"schemas": [GROUP_URN], "displayName": "\x00members only", "id": group_id}
    try:
        result = apply_patch(dict(stub), operations, "Group", limits)
    except ScimError:
        return None  # decided against the group itself, which may answer otherwise
    rest = {k: v for k, v in result.resource.items() if k != "members"}
    return result if rest == stub else None


def _patch(
    group_id: str,
    read: Group | None,
    body: GroupBody | None,
    result: PatchResult,
    echo: bool,
    *,
    guarded: bool = False,
) -> _Patch:
    return _Patch(
        group_id=group_id,
        read=read,
        body=body,
        guarded=guarded or body is not None,
        replaced=result.members_replaced,
        added=result.members_added,
        removed=result.members_removed,
        displays=result.member_displays,
        echo=echo,
    )


def _patched(request: Request, base: str, patched: _Patched | None) -> Response:
    assert patched is not None  # only guarded writes give up, and they are retried
    if patched.too_big_to_echo:
        return Response(status_code=204, headers={"ETag": mapping.etag(patched.group.version)})
    return written(request, "Group", mapping.group_to_scim(patched.group, patched.members, base))


@scim_endpoint(*WRITE_SCOPES)
async def patch_group(request: Request) -> Response:
    svc, base = scim_services(request)
    operations = await read_json(request)
    group_id = request.path_params["id"]
    if_match = request.headers.get("if-match")
    attributes, excluded = selection(request)
    echo = wants("members", attributes, excluded)
    limits = svc.config.scim
    only = _members_only(group_id, operations, limits) if if_match is None else None
    if only is not None:
        patch = _patch(group_id, None, None, only, echo)
        return _patched(request, base, await svc.db.write(_write_patch, patch, origin(request)))
    async with svc.resource_locks.hold(("Group", group_id)):
        return await _patch_attempts(request, svc, group_id, operations, if_match, echo)


async def _patch_attempts(
    request: Request,
    svc: Services,
    group_id: str,
    operations: Any,
    if_match: str | None,
    echo: bool,
) -> Response:
    base, limits = svc.config.scim_base_url, svc.config.scim
    for _ in range(ATTEMPTS):
        group, _none = found(await svc.db.read(read_group, group_id, False), "Group", group_id)
        check_if_match(if_match, mapping.etag(group.version))
        current = mapping.stored(mapping.group_to_scim(group, None, base))
        # With its id, so that an id echoed in a path-less value (Okta's rename) is checked.
        result = apply_patch({**current, "id": group.id}, operations, "Group", limits)
        resource = normalize("Group", {**result.resource, "members": []}, limits)
        resource.pop("members", None)
        body = group_body(resource, limits, [], {}) if resource != current else None
        patch = _patch(group_id, group, body, result, echo, guarded=if_match is not None)
        patched = await svc.db.write(_write_patch, patch, origin(request))
        if patched is not None:
            return _patched(request, base, patched)
        # The group changed since it was read: apply the operations to it again.
    raise Conflict(f"Group {group_id} kept changing while this request was applied; retry it")
