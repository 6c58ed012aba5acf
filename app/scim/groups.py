"""/scim/v2/Groups: group push. Member changes touch only the members named."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.db import Conn
from app.scim import mapping
from app.scim.endpoints import (
    audit_change,
    get_or_404,
    list_page,
    page_sql,
    read_response,
    scim_services,
    selection,
    written,
)
from app.scim.errors import InvalidValue, NotFound, Uniqueness
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
from app.scim.patch import apply_patch
from app.scim.projection import project, wants
from app.scim.resource import normalize
from app.services import Services
from app.store import groups as group_store
from app.store import users as user_store
from app.store.groups import Group

# Past this size a PATCH answers 204 instead of echoing every member (RFC 7644 §3.5.2 allows
# it), so that adding or removing one member costs the same in any group.
ECHO_MEMBERS_LIMIT = 1000


async def _render(conn: Conn, group: Group, base: str, with_members: bool = True) -> dict[str, Any]:
    members = await group_store.members(conn, group.id) if with_members else None
    return mapping.group_to_scim(group, members, base)


async def _audit(
    request: Request, conn: Conn, action: str, group: Group, detail: dict[str, Any]
) -> None:
    detail = {"displayName": group.display_name, **detail}
    await audit_change(request, conn, action, "group", group.id, detail)


async def find(
    svc: Services, params: ListParams, offset: int, limit: int
) -> tuple[int, list[dict[str, Any]]]:
    """Total matching groups and one projected page (FilterError on a bad filter)."""
    base = svc.config.scim_base_url
    where, args, order = page_sql(params, GROUPS_TABLE)
    total, found = await group_store.search(
        svc.db, where, args, order_by=order, offset=offset, limit=limit
    )
    members: dict[str, list[group_store.Member]] = {}
    if wants("members", params.attributes, params.excluded):
        members = await group_store.members_of_many(svc.db, [g.id for g in found])
    items = [
        project(
            mapping.group_to_scim(g, members.get(g.id), base),
            "Group",
            params.attributes,
            params.excluded,
        )
        for g in found
    ]
    return total, items


@scim_endpoint(*READ_SCOPES)
async def list_groups(request: Request) -> Response:
    return await list_page(request, query_params(request), find)


@scim_endpoint(*READ_SCOPES)
async def search_groups(request: Request) -> Response:
    return await list_page(request, await search_params(request), find)


@scim_endpoint(*READ_SCOPES)
async def get_group(request: Request) -> Response:
    svc, base = scim_services(request)
    group = await get_or_404(group_store.get, svc.db, "Group", request.path_params["id"])
    attributes, excluded = selection(request)
    body = await _render(svc.db, group, base, wants("members", attributes, excluded))
    return read_response(request, "Group", body)


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


async def _check_users(conn: Conn, ids: list[str] | set[str]) -> None:
    """400 invalidValue (and nothing changed) if any id is not a user."""
    wanted = list(ids)
    missing = set(wanted) - await user_store.existing_ids(conn, wanted)
    if missing:
        shown = ", ".join(sorted(missing)[:5])
        raise InvalidValue(f"Unknown member id(s): {shown}; no change was made")


@scim_endpoint(*WRITE_SCOPES)
async def create_group(request: Request) -> Response:
    svc, base = scim_services(request)
    resource = normalize("Group", await read_json(request))
    member_ids, displays = _members(resource)
    async with svc.db.transaction() as conn:
        await _check_users(conn, member_ids)
        try:
            group = await group_store.create(
                conn, resource["displayName"], resource.get("externalId"), resource
            )
        except group_store.GroupExists:
            raise Uniqueness(f"A group named {resource['displayName']!r} already exists") from None
        await group_store.add_members(conn, group.id, member_ids, displays)
        await _audit(request, conn, "group.create", group, {"members": len(member_ids)})
        body = await _render(conn, group, base)
    return written(request, "Group", body, 201)


async def _update(conn: Conn, group: Group, resource: dict[str, Any]) -> Group:
    try:
        updated = await group_store.update(
            conn, group.id, resource["displayName"], resource.get("externalId"), resource
        )
    except group_store.GroupExists:
        raise Uniqueness(f"A group named {resource['displayName']!r} already exists") from None
    if updated is None:
        raise NotFound(f"Group {group.id} not found")
    return updated


@scim_endpoint(*WRITE_SCOPES)
async def replace_group(request: Request) -> Response:
    svc, base = scim_services(request)
    resource = normalize("Group", await read_json(request))
    member_ids, displays = _members(resource)
    async with svc.db.transaction() as conn:
        group = await get_or_404(group_store.get, conn, "Group", request.path_params["id"])
        check_if_match(request, mapping.etag(group.version))
        await _check_users(conn, member_ids)
        updated = await _update(conn, group, resource)
        await group_store.replace_members(conn, group.id, member_ids, displays)
        await _audit(
            request,
            conn,
            "group.replace",
            updated,
            {"members": len(member_ids), "was": group.display_name},
        )
        body = await _render(conn, updated, base)
    return written(request, "Group", body)


@scim_endpoint(*WRITE_SCOPES)
async def patch_group(request: Request) -> Response:
    svc, base = scim_services(request)
    operations = await read_json(request)
    async with svc.db.transaction() as conn:
        group = await get_or_404(group_store.get, conn, "Group", request.path_params["id"])
        check_if_match(request, mapping.etag(group.version))
        current = mapping.stored(mapping.group_to_scim(group, None, base))
        # With its id, so that an id echoed in a path-less value (Okta's rename) is checked.
        result = apply_patch({**current, "id": group.id}, operations, "Group")
        resource = normalize("Group", {**result.resource, "members": []})
        resource.pop("members", None)
        detail: dict[str, Any] = {}
        if result.members_replaced is not None:
            await _check_users(conn, result.members_replaced)
            await group_store.replace_members(
                conn, group.id, result.members_replaced, result.member_displays
            )
            detail["members_replaced"] = len(result.members_replaced)
        else:
            added = result.members_added - result.members_removed
            await _check_users(conn, added)
            # Re-adding a present member or removing an absent one is no change at all:
            # no new version, no audit event (JumpCloud repeats adds).
            if await group_store.add_members(conn, group.id, added, result.member_displays):
                detail["members_added"] = sorted(added)[:100]
            if await group_store.remove_members(conn, group.id, result.members_removed):
                detail["members_removed"] = sorted(result.members_removed)[:100]
        updated = group
        if resource != current or detail:
            updated = await _update(conn, group, resource)
            if resource.get("displayName") != group.display_name:
                detail["renamed_from"] = group.display_name
            await _audit(request, conn, "group.patch", updated, detail)
        attributes, excluded = selection(request)
        echo = wants("members", attributes, excluded)
        # Never count the whole group: look only as far as the echo limit.
        if echo and await group_store.has_more_members_than(conn, group.id, ECHO_MEMBERS_LIMIT):
            return Response(status_code=204, headers={"ETag": mapping.etag(updated.version)})
        body = await _render(conn, updated, base, echo)
    return written(request, "Group", body)


@scim_endpoint(*WRITE_SCOPES)
async def delete_group(request: Request) -> Response:
    svc, _ = scim_services(request)
    async with svc.db.transaction() as conn:
        group = await get_or_404(group_store.get, conn, "Group", request.path_params["id"])
        check_if_match(request, mapping.etag(group.version))
        await group_store.delete(conn, group.id)
        await _audit(request, conn, "group.delete", group, {})
    return Response(status_code=204)
