"""/scim/v2/Groups: group push. Member changes touch only the members named.

Reads are one round trip; POST, PUT and DELETE one write; PATCH a read of the group (the
operations are applied to it on the event loop) and a write, done again from the read if the
group changed in between and the change depended on it (If-Match, or attributes changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.config import ScimConfig
from app.db import Tx
from app.scim import mapping
from app.scim.endpoints import (
    ATTEMPTS,
    Origin,
    found,
    list_page,
    origin,
    page_sql,
    read_response,
    scim_services,
    selection,
    written,
)
from app.scim.errors import Conflict, InvalidValue, NotFound, ScimError, Uniqueness
from app.scim.filter import FilterError, parse_path
from app.scim.filter_sql import GROUPS_TABLE
from app.scim.http import (
    READ_SCOPES,
    WRITE_SCOPES,
    ListParams,
    check_if_match,
    query_params,
    read_json,
    scim_endpoint,
    search_params,
)
from app.scim.patch import PatchResult, apply_patch
from app.scim.projection import projector, wants
from app.scim.resource import encode, normalize
from app.scim.schemas import GROUP_URN, UnknownAttribute, resolve
from app.services import Services
from app.store import groups as group_store
from app.store import users as user_store
from app.store.groups import Group, Member

# Past this size a PATCH answers 204 instead of echoing every member (RFC 7644 §3.5.2 allows
# it), so that adding or removing one member costs the same in any group.
ECHO_MEMBERS_LIMIT = 1000

# --- database work: statements only, each function one round trip -------------------------


def _read(tx: Tx, group_id: str, with_members: bool) -> tuple[Group, list[Member] | None] | None:
    group = group_store.get(tx, group_id)
    if group is None:
        return None
    return group, group_store.members(tx, group_id) if with_members else None


def _page(
    tx: Tx,
    where: str,
    args: list[object],
    order: str,
    offset: int,
    limit: int,
    with_members: bool,
) -> tuple[int, list[Group], dict[str, list[Member]]]:
    total, groups = group_store.search(tx, where, args, order_by=order, offset=offset, limit=limit)
    members = group_store.members_of_many(tx, [g.id for g in groups]) if with_members else {}
    return total, groups, members


def _check_users(tx: Tx, ids: list[str] | set[str]) -> None:
    """400 invalidValue (and nothing changed) if any id is not a user."""
    wanted = list(ids)
    missing = set(wanted) - user_store.existing_ids(tx, wanted)
    if missing:
        shown = ", ".join(sorted(missing)[:5])
        raise InvalidValue(f"Unknown member id(s): {shown}; no change was made")


def _update(tx: Tx, group_id: str, body: _Body) -> Group:
    try:
        updated = group_store.update(
            tx, group_id, body.display_name, body.external_id, body.resource_json
        )
    except group_store.GroupExists:
        raise Uniqueness(f"A group named {body.display_name!r} already exists") from None
    if updated is None:
        raise NotFound(f"Group {group_id} not found")
    return updated


@dataclass(frozen=True, slots=True)
class _Body:
    """A group's attributes as they will be stored, and the members a POST or PUT names."""

    display_name: str
    external_id: str | None
    resource_json: str
    member_ids: list[str]
    displays: dict[str, str]


def _create(tx: Tx, body: _Body, who: Origin) -> tuple[Group, list[Member]]:
    _check_users(tx, body.member_ids)
    try:
        group = group_store.create(tx, body.display_name, body.external_id, body.resource_json)
    except group_store.GroupExists:
        raise Uniqueness(f"A group named {body.display_name!r} already exists") from None
    group_store.add_members(tx, group.id, body.member_ids, body.displays)
    detail = {"displayName": group.display_name, "members": len(body.member_ids)}
    who.record(tx, "group.create", "group", group.id, detail)
    return group, group_store.members(tx, group.id)


def _replace(
    tx: Tx, group_id: str, if_match: str | None, body: _Body, who: Origin
) -> tuple[Group, list[Member]]:
    group = found(group_store.get(tx, group_id), "Group", group_id)
    check_if_match(if_match, mapping.etag(group.version))
    _check_users(tx, body.member_ids)
    updated = _update(tx, group_id, body)
    group_store.replace_members(tx, group_id, body.member_ids, body.displays)
    detail = {
        "displayName": updated.display_name,
        "members": len(body.member_ids),
        "was": group.display_name,
    }
    who.record(tx, "group.replace", "group", group_id, detail)
    return updated, group_store.members(tx, group_id)


def _delete(tx: Tx, group_id: str, if_match: str | None, who: Origin) -> None:
    group = found(group_store.get(tx, group_id), "Group", group_id)
    check_if_match(if_match, mapping.etag(group.version))
    group_store.delete(tx, group_id)
    who.record(tx, "group.delete", "group", group_id, {"displayName": group.display_name})


@dataclass(frozen=True, slots=True)
class _Patch:
    """A PATCH ready to be written: member changes, and the group's new attributes when the
    operations changed any (computed from the version `read` of the group)."""

    group_id: str
    read: Group | None  # None: members only, computed without reading the group
    body: _Body | None  # None: the attributes stay as they are
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
        _check_users(tx, patch.replaced)
        group_store.replace_members(tx, group_id, patch.replaced, patch.displays)
        detail["members_replaced"] = len(patch.replaced)
    else:
        added = patch.added - patch.removed
        _check_users(tx, added)
        # Re-adding a present member or removing an absent one is no change at all:
        # no new version, no audit event (JumpCloud repeats adds).
        if group_store.add_members(tx, group_id, added, patch.displays):
            detail["members_added"] = sorted(added)[:100]
        if group_store.remove_members(tx, group_id, patch.removed):
            detail["members_removed"] = sorted(patch.removed)[:100]
    if patch.body is not None:
        group = _update(tx, group_id, patch.body)
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


# --- endpoints ------------------------------------------------------------------------------


async def find(
    svc: Services, params: ListParams, offset: int, limit: int
) -> tuple[int, list[dict[str, Any]]]:
    """Total matching groups and one projected page (FilterError on a bad filter)."""
    base = svc.config.scim_base_url
    query = page_sql(params, GROUPS_TABLE, svc.config.scim)
    with_members = wants("members", params.attributes, params.excluded)
    # One group by name is a lookup, but its members may be many: only without them.
    quick = query.unique_lookup and not with_members
    read = svc.db.lookup if quick else svc.db.read
    total, groups, members = await read(
        _page, query.where, query.args, query.order, offset, limit, with_members
    )
    shown = projector("Group", params.attributes, params.excluded)
    return total, [shown(mapping.group_to_scim(g, members.get(g.id), base)) for g in groups]


@scim_endpoint(*READ_SCOPES)
async def list_groups(request: Request) -> Response:
    return await list_page(request, query_params(request), find)


@scim_endpoint(*READ_SCOPES)
async def search_groups(request: Request) -> Response:
    return await list_page(request, await search_params(request), find)


@scim_endpoint(*READ_SCOPES)
async def get_group(request: Request) -> Response:
    svc, base = scim_services(request)
    group_id = request.path_params["id"]
    attributes, excluded = selection(request)
    read = await svc.db.read(_read, group_id, wants("members", attributes, excluded))
    group, members = found(read, "Group", group_id)
    return read_response(request, "Group", mapping.group_to_scim(group, members, base))


def _body(
    resource: dict[str, Any], limits: ScimConfig, member_ids: list[str], displays: dict[str, str]
) -> _Body:
    return _Body(
        display_name=resource["displayName"],
        external_id=resource.get("externalId"),
        resource_json=encode(resource, limits),
        member_ids=member_ids,
        displays=displays,
    )


def _members(resource: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """The member ids and display names of a POST/PUT body (taken out of the stored resource)."""
    ids, displays = [], {}
    for member in resource.pop("members", []):
        value = member.get("value")
        if not isinstance(value, str) or not value:
            raise InvalidValue("Every member needs a 'value' holding a user id")
        if member.get("type") not in (None, "User"):
            raise InvalidValue("Only users can be members; nested groups are not supported")
        ids.append(value)
        if isinstance(member.get("display"), str):
            displays[value] = member["display"]
    return list(dict.fromkeys(ids)), displays


@scim_endpoint(*WRITE_SCOPES)
async def create_group(request: Request) -> Response:
    svc, base = scim_services(request)
    resource = normalize("Group", await read_json(request), svc.config.scim)
    body = _body(resource, svc.config.scim, *_members(resource))
    group, members = await svc.db.write(_create, body, origin(request))
    return written(request, "Group", mapping.group_to_scim(group, members, base), 201)


@scim_endpoint(*WRITE_SCOPES)
async def replace_group(request: Request) -> Response:
    svc, base = scim_services(request)
    resource = normalize("Group", await read_json(request), svc.config.scim)
    body = _body(resource, svc.config.scim, *_members(resource))
    if_match = request.headers.get("if-match")
    group_id = request.path_params["id"]
    group, members = await svc.db.write(_replace, group_id, if_match, body, origin(request))
    return written(request, "Group", mapping.group_to_scim(group, members, base))


def _patch(
    group_id: str,
    read: Group | None,
    body: _Body | None,
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
        group, _none = found(await svc.db.read(_read, group_id, False), "Group", group_id)
        check_if_match(if_match, mapping.etag(group.version))
        current = mapping.stored(mapping.group_to_scim(group, None, base))
        # With its id, so that an id echoed in a path-less value (Okta's rename) is checked.
        result = apply_patch({**current, "id": group.id}, operations, "Group", limits)
        resource = normalize("Group", {**result.resource, "members": []}, limits)
        resource.pop("members", None)
        body = _body(resource, limits, [], {}) if resource != current else None
        patch = _patch(group_id, group, body, result, echo, guarded=if_match is not None)
        patched = await svc.db.write(_write_patch, patch, origin(request))
        if patched is not None:
            return _patched(request, base, patched)
        # The group changed since it was read: apply the operations to it again.
    raise Conflict(f"Group {group_id} kept changing while this request was applied; retry it")


@scim_endpoint(*WRITE_SCOPES)
async def delete_group(request: Request) -> Response:
    svc, _ = scim_services(request)
    if_match = request.headers.get("if-match")
    await svc.db.write(_delete, request.path_params["id"], if_match, origin(request))
    return Response(status_code=204)
