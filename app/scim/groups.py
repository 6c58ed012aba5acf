"""/scim/v2/Groups: list, search, read, create, replace, delete (PATCH: `group_patch`).

Reads are one round trip; POST, PUT and DELETE one write each.
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
    Origin,
    found,
    list_page,
    origin,
    page_sql,
    read_response,
    scim_services,
    selection,
    with_values,
    written,
)
from app.scim.errors import InvalidValue, NotFound, Uniqueness
from app.scim.filter_sql import GROUPS_TABLE
from app.scim.http import (
    READ_SCOPES,
    WRITE_SCOPES,
    ListParams,
    RawJson,
    check_if_match,
    query_params,
    read_json,
    scim_endpoint,
    search_params,
)
from app.scim.projection import projector, wants
from app.scim.resource import encode, normalize
from app.services import Services
from app.store import groups as group_store
from app.store import users as user_store
from app.store.groups import Group, Member

# --- database work: statements only, each function one round trip -------------------------


def read_group(
    tx: Tx, group_id: str, with_members: bool
) -> tuple[Group, list[Member] | None] | None:
    group = group_store.get(tx, group_id)
    if group is None:
        return None
    return group, group_store.members(tx, group_id) if with_members else None


def read_group_raw(tx: Tx, group_id: str, ref_prefix: str) -> tuple[Group, str | None] | None:
    """A group and its members as JSON text (see `member_entries_json`), None if absent."""
    group = group_store.get(tx, group_id)
    if group is None:
        return None
    return group, group_store.member_entries_json(tx, [group_id], ref_prefix).get(group_id)


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


def _page_raw(
    tx: Tx, where: str, args: list[object], order: str, offset: int, limit: int, ref_prefix: str
) -> tuple[int, list[Group], dict[str, str]]:
    """`_page` with the members of each group as JSON text (see `member_entries_json`)."""
    total, groups = group_store.search(tx, where, args, order_by=order, offset=offset, limit=limit)
    return total, groups, group_store.member_entries_json(tx, [g.id for g in groups], ref_prefix)


def _raw_members(text: str | None) -> dict[str, Any]:
    return {"members": RawJson(text)} if text is not None else {}


def check_users(tx: Tx, ids: list[str] | set[str]) -> None:
    """400 invalidValue (and nothing changed) if any id is not a user."""
    wanted = list(ids)
    missing = set(wanted) - user_store.existing_ids(tx, wanted)
    if missing:
        shown = ", ".join(sorted(missing)[:5])
        raise InvalidValue(f"Unknown member id(s): {shown}; no change was made")


def update_group(tx: Tx, group_id: str, body: GroupBody) -> Group:
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
class GroupBody:
    """A group's attributes as they will be stored, and the members a POST or PUT names."""

    display_name: str
    external_id: str | None
    resource_json: str
    member_ids: list[str]
    displays: dict[str, str]


def _create(tx: Tx, body: GroupBody, who: Origin) -> tuple[Group, list[Member]]:
    check_users(tx, body.member_ids)
    try:
        group = group_store.create(tx, body.display_name, body.external_id, body.resource_json)
    except group_store.GroupExists:
        raise Uniqueness(f"A group named {body.display_name!r} already exists") from None
    group_store.add_members(tx, group.id, body.member_ids, body.displays)
    detail = {"displayName": group.display_name, "members": len(body.member_ids)}
    who.record(tx, "group.create", "group", group.id, detail)
    return group, group_store.members(tx, group.id)


def _replace(
    tx: Tx, group_id: str, if_match: str | None, body: GroupBody, who: Origin
) -> tuple[Group, list[Member]]:
    group = found(group_store.get(tx, group_id), "Group", group_id)
    check_if_match(if_match, mapping.etag(group.version))
    check_users(tx, body.member_ids)
    updated = update_group(tx, group_id, body)
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
    shown = projector("Group", params.attributes, params.excluded)
    if with_members and params.attributes is None and params.excluded is None:
        # The default view shows members whole: SQLite writes their JSON, so that a page
        # holding a large group costs the event loop no more than a small one.
        total, groups, texts = await read(
            _page_raw, query.where, query.args, query.order, offset, limit, f"{base}/Users/"
        )
        page = [
            with_values(shown(mapping.group_to_scim(g, None, base)), _raw_members(texts.get(g.id)))
            for g in groups
        ]
        return total, page
    total, groups, members = await read(
        _page, query.where, query.args, query.order, offset, limit, with_members
    )
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
    if attributes is None and excluded is None:  # the default view: members whole, as JSON text
        raw = await svc.db.read(read_group_raw, group_id, f"{base}/Users/")
        group, text = found(raw, "Group", group_id)
        body = mapping.group_to_scim(group, None, base)
        return read_response(request, "Group", body, _raw_members(text))
    read = await svc.db.read(read_group, group_id, wants("members", attributes, excluded))
    group, members = found(read, "Group", group_id)
    return read_response(request, "Group", mapping.group_to_scim(group, members, base))


def group_body(
    resource: dict[str, Any], limits: ScimConfig, member_ids: list[str], displays: dict[str, str]
) -> GroupBody:
    return GroupBody(
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
    body = group_body(resource, svc.config.scim, *_members(resource))
    group, members = await svc.db.write(_create, body, origin(request))
    return written(request, "Group", mapping.group_to_scim(group, members, base), 201)


@scim_endpoint(*WRITE_SCOPES)
async def replace_group(request: Request) -> Response:
    svc, base = scim_services(request)
    resource = normalize("Group", await read_json(request), svc.config.scim)
    body = group_body(resource, svc.config.scim, *_members(resource))
    if_match = request.headers.get("if-match")
    group_id = request.path_params["id"]
    group, members = await svc.db.write(_replace, group_id, if_match, body, origin(request))
    return written(request, "Group", mapping.group_to_scim(group, members, base))


@scim_endpoint(*WRITE_SCOPES)
async def delete_group(request: Request) -> Response:
    svc, _ = scim_services(request)
    if_match = request.headers.get("if-match")
    await svc.db.write(_delete, request.path_params["id"], if_match, origin(request))
    return Response(status_code=204)
