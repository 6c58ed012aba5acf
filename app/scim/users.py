"""/scim/v2/Users: list, search, read, create, replace, patch, delete."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.db import Conn
from app.scim import mapping
from app.scim.errors import NotFound, Uniqueness
from app.scim.filter import USERS_TABLE, parse_filter, sort_sql, to_sql
from app.scim.http import (
    WRITE_SCOPES,
    ListParams,
    ScimResponse,
    check_if_match,
    list_response,
    not_modified,
    query_params,
    read_json,
    scim_endpoint,
    search_params,
)
from app.scim.patch import apply_patch
from app.scim.projection import parse_attribute_list, project
from app.scim.resource import normalize
from app.services import Services, services
from app.store import audit, sessions
from app.store import groups as group_store
from app.store import users as user_store
from app.store.users import User

log = logging.getLogger("webrix.scim")
READ_SCOPES = (*WRITE_SCOPES, "admin:read")


def _svc(request: Request) -> tuple[Services, str]:
    svc = services(request)
    return svc, svc.config.scim_base_url


async def _render(conn: Conn, user: User, base: str) -> dict[str, Any]:
    return mapping.user_to_scim(user, await group_store.groups_of(conn, user.id), base)


def _projected(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return project(
        body,
        "User",
        parse_attribute_list(request.query_params.get("attributes")),
        parse_attribute_list(request.query_params.get("excludedAttributes")),
    )


def _written(request: Request, body: dict[str, Any], status: int = 200) -> ScimResponse:
    headers = {"ETag": body["meta"]["version"]}
    if status == 201:
        headers["Location"] = body["meta"]["location"]
    return ScimResponse(_projected(request, body), status, headers)


async def _audit(
    request: Request, conn: Conn, action: str, user_id: str, detail: dict[str, Any]
) -> None:
    token = request.state.token
    await audit.record(
        conn,
        actor=f"token:{token.id}",
        action=action,
        target_type="user",
        target_id=user_id,
        detail=detail,
        ip=request.client.host if request.client else None,
        request_id=request.state.request_id,
    )


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    keys = (set(before) | set(after)) - {"schemas"}
    return sorted(k for k in keys if before.get(k) != after.get(k))


async def find(
    svc: Services, params: ListParams, offset: int, limit: int
) -> tuple[int, list[dict[str, Any]]]:
    """Total matching users and one projected page (FilterError on a bad filter)."""
    base = svc.config.scim_base_url
    where, args = "1 = 1", list[object]()
    if params.filter is not None and params.filter.strip():
        where, args = to_sql(parse_filter(params.filter), USERS_TABLE)
    # Insertion order: a user created while a client pages through lands on the last page
    # instead of shifting earlier ones (created has one-second ties and ids are random).
    order = "users.rowid"
    if params.sort_by:
        direction = "DESC" if params.descending else "ASC"
        order = f"{sort_sql(params.sort_by, USERS_TABLE)} {direction}, users.rowid"
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


async def _query(request: Request, params: ListParams) -> Response:
    total, items = await find(services(request), params, params.start_index - 1, params.count)
    return list_response(items, total, params.start_index)


@scim_endpoint(*READ_SCOPES)
async def list_users(request: Request) -> Response:
    return await _query(request, query_params(request))


@scim_endpoint(*READ_SCOPES)
async def search_users(request: Request) -> Response:
    return await _query(request, await search_params(request))


async def _get_or_404(conn: Conn, user_id: str) -> User:
    user = await user_store.get(conn, user_id)
    if user is None:
        raise NotFound(f"User {user_id} not found")
    return user


async def _check_if_match(request: Request, conn: Conn, user: User) -> None:
    """412 unless If-Match (if any) names the ETag the client was given, groups included."""
    if request.headers.get("if-match") is not None:
        groups = await group_store.groups_of(conn, user.id)
        check_if_match(request, mapping.user_etag(user, groups))


@scim_endpoint(*READ_SCOPES)
async def get_user(request: Request) -> Response:
    svc, base = _svc(request)
    user = await _get_or_404(svc.db, request.path_params["id"])
    body = await _render(svc.db, user, base)
    if not_modified(request, body["meta"]["version"]):
        return Response(status_code=304, headers={"ETag": body["meta"]["version"]})
    return _written(request, body)


@scim_endpoint(*WRITE_SCOPES)
async def create_user(request: Request) -> Response:
    svc, base = _svc(request)
    resource = normalize("User", await read_json(request))
    fields = mapping.user_fields(resource)
    async with svc.db.transaction() as conn:
        existing = await user_store.find_by_user_name(conn, fields.user_name)
        if existing is None:
            user = await user_store.create(conn, fields, resource, source="scim")
            await _audit(request, conn, "user.create", user.id, {"userName": user.user_name})
        elif _may_adopt(existing, fields.external_id):
            # A user who signed in before SCIM knew them, or a deactivated user re-POSTed
            # with the same externalId (Okta's reactivation): take it over instead of 409.
            user = await _replace(conn, existing, fields, resource, adopt=True)
            await _audit(
                request,
                conn,
                "user.adopt",
                user.id,
                {"userName": user.user_name, "was": existing.source},
            )
        else:
            raise Uniqueness(f"A user with userName {fields.user_name!r} already exists")
        body = await _render(conn, user, base)
    return _written(request, body, 201)


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


@scim_endpoint(*WRITE_SCOPES)
async def replace_user(request: Request) -> Response:
    svc, base = _svc(request)
    resource = normalize("User", await read_json(request))
    fields = mapping.user_fields(resource)
    async with svc.db.transaction() as conn:
        user = await _get_or_404(conn, request.path_params["id"])
        await _check_if_match(request, conn, user)
        updated = await _replace(conn, user, fields, resource)
        changed = _changed(user.resource, resource)
        await _audit(
            request,
            conn,
            "user.replace",
            user.id,
            {"userName": updated.user_name, "changed": changed},
        )
        body = await _render(conn, updated, base)
    return _written(request, body)


@scim_endpoint(*WRITE_SCOPES)
async def patch_user(request: Request) -> Response:
    svc, base = _svc(request)
    operations = await read_json(request)
    async with svc.db.transaction() as conn:
        user = await _get_or_404(conn, request.path_params["id"])
        await _check_if_match(request, conn, user)
        current = mapping.stored(mapping.user_to_scim(user, [], base), "groups")
        # With its id, so that an id echoed in a path-less value is checked, not ignored.
        result = apply_patch({**current, "id": user.id}, operations, "User")
        resource = normalize("User", result.resource)
        updated = user
        if result.changed:
            updated = await _replace(conn, user, mapping.user_fields(resource), resource)
            changed = _changed(current, resource)
            await _audit(
                request,
                conn,
                "user.patch",
                user.id,
                {"userName": updated.user_name, "changed": changed},
            )
        body = await _render(conn, updated, base)
    return _written(request, body)


@scim_endpoint(*WRITE_SCOPES)
async def delete_user(request: Request) -> Response:
    svc, _ = _svc(request)
    async with svc.db.transaction() as conn:
        user = await _get_or_404(conn, request.path_params["id"])
        await _check_if_match(request, conn, user)
        await user_store.delete(conn, user.id)
        await _audit(request, conn, "user.delete", user.id, {"userName": user.user_name})
    return Response(status_code=204)
