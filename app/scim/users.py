"""/scim/v2/Users: list, search, read, create, replace, patch, delete."""

from __future__ import annotations

import logging
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
    written,
)
from app.scim.errors import NotFound, Uniqueness
from app.scim.filter_sql import USERS_TABLE
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
from app.scim.projection import project
from app.scim.resource import normalize
from app.services import Services
from app.store import groups as group_store
from app.store import sessions
from app.store import users as user_store
from app.store.users import User

log = logging.getLogger("webrix.scim")


async def _render(conn: Conn, user: User, base: str) -> dict[str, Any]:
    return mapping.user_to_scim(user, await group_store.groups_of(conn, user.id), base)


async def _audit(
    request: Request, conn: Conn, action: str, user_id: str, detail: dict[str, Any]
) -> None:
    await audit_change(request, conn, action, "user", user_id, detail)


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    keys = (set(before) | set(after)) - {"schemas"}
    return sorted(k for k in keys if before.get(k) != after.get(k))


async def find(
    svc: Services, params: ListParams, offset: int, limit: int
) -> tuple[int, list[dict[str, Any]]]:
    """Total matching users and one projected page (FilterError on a bad filter)."""
    base = svc.config.scim_base_url
    where, args, order = page_sql(params, USERS_TABLE)
    total, found = await user_store.search(
        svc.db, where, args, order_by=order, offset=offset, limit=limit
    )
    memberships = await group_store.groups_of_many(svc.db, [u.id for u in found])
    items = [
        project(
            mapping.user_to_scim(u, memberships[u.id], base),
            "User",
            params.attributes,
            params.excluded,
        )
        for u in found
    ]
    return total, items


@scim_endpoint(*READ_SCOPES)
async def list_users(request: Request) -> Response:
    return await list_page(request, query_params(request), find)


@scim_endpoint(*READ_SCOPES)
async def search_users(request: Request) -> Response:
    return await list_page(request, await search_params(request), find)


async def _check_if_match(request: Request, conn: Conn, user: User) -> None:
    """412 unless If-Match (if any) names the ETag the client was given, groups included."""
    if request.headers.get("if-match") is not None:
        groups = await group_store.groups_of(conn, user.id)
        check_if_match(request, mapping.user_etag(user, groups))


@scim_endpoint(*READ_SCOPES)
async def get_user(request: Request) -> Response:
    svc, base = scim_services(request)
    user = await get_or_404(user_store.get, svc.db, "User", request.path_params["id"])
    return read_response(request, "User", await _render(svc.db, user, base))


@scim_endpoint(*WRITE_SCOPES)
async def create_user(request: Request) -> Response:
    svc, base = scim_services(request)
    resource = normalize("User", await read_json(request))
    fields = mapping.user_fields(resource)
    async with svc.db.transaction() as conn:
        try:
            user = await user_store.create(conn, fields, resource, source="scim")
            await _audit(request, conn, "user.create", user.id, {"userName": user.user_name})
        except user_store.UserExists:
            existing = await user_store.find_by_user_name(conn, fields.user_name)
            if existing is None or not _may_adopt(existing, fields.external_id):
                raise Uniqueness(
                    f"A user with userName {fields.user_name!r} already exists"
                ) from None
            # A user who signed in before SCIM knew them, or a deactivated user re-POSTed
            # with the same externalId (Okta's reactivation): take it over instead of 409.
            user = await _replace(conn, existing, fields, resource, adopt=True)
            detail = {"userName": user.user_name, "was": existing.source}
            await _audit(request, conn, "user.adopt", user.id, detail)
        body = await _render(conn, user, base)
    return written(request, "User", body, 201)


def _may_adopt(existing: User, external_id: str | None) -> bool:
    if existing.source == "jit":
        return True
    return not existing.active and external_id is not None and existing.external_id == external_id


async def _replace(
    conn: Conn,
    user: User,
    fields: user_store.UserFields,
    resource: dict[str, Any],
    *,
    adopt: bool = False,
) -> User:
    try:
        updated = await user_store.replace(
            conn, user.id, fields, resource, source="scim" if adopt else None
        )
    except user_store.UserExists:
        raise Uniqueness(f"A user with userName {fields.user_name!r} already exists") from None
    if updated is None:
        raise NotFound(f"User {user.id} not found")
    if user.active and not updated.active:
        ended = await sessions.delete_for_user(conn, user.id)
        log.info("user %s deactivated; %d session(s) ended", user.id, ended)
    return updated


async def _change(
    request: Request,
    conn: Conn,
    user: User,
    before: dict[str, Any],
    resource: dict[str, Any],
    action: str,
) -> User:
    """Store a replaced or patched user and audit which attributes changed."""
    updated = await _replace(conn, user, mapping.user_fields(resource), resource)
    detail = {"userName": updated.user_name, "changed": _changed(before, resource)}
    await _audit(request, conn, action, user.id, detail)
    return updated


@scim_endpoint(*WRITE_SCOPES)
async def replace_user(request: Request) -> Response:
    svc, base = scim_services(request)
    resource = normalize("User", await read_json(request))
    async with svc.db.transaction() as conn:
        user = await get_or_404(user_store.get, conn, "User", request.path_params["id"])
        await _check_if_match(request, conn, user)
        updated = await _change(request, conn, user, user.resource, resource, "user.replace")
        body = await _render(conn, updated, base)
    return written(request, "User", body)


@scim_endpoint(*WRITE_SCOPES)
async def patch_user(request: Request) -> Response:
    svc, base = scim_services(request)
    operations = await read_json(request)
    async with svc.db.transaction() as conn:
        user = await get_or_404(user_store.get, conn, "User", request.path_params["id"])
        await _check_if_match(request, conn, user)
        current = mapping.stored(mapping.user_to_scim(user, [], base), "groups")
        # With its id, so that an id echoed in a path-less value is checked, not ignored.
        result = apply_patch({**current, "id": user.id}, operations, "User")
        resource = normalize("User", result.resource)
        updated = user
        if result.changed:
            updated = await _change(request, conn, user, current, resource, "user.patch")
        body = await _render(conn, updated, base)
    return written(request, "User", body)


@scim_endpoint(*WRITE_SCOPES)
async def delete_user(request: Request) -> Response:
    svc, _ = scim_services(request)
    async with svc.db.transaction() as conn:
        user = await get_or_404(user_store.get, conn, "User", request.path_params["id"])
        await _check_if_match(request, conn, user)
        await user_store.delete(conn, user.id)
        await _audit(request, conn, "user.delete", user.id, {"userName": user.user_name})
    return Response(status_code=204)
