"""/scim/v2/Users: list, search, read, create, replace, patch, delete.

Each request is one read round trip, or one write, or a read and a write (PUT and PATCH: the
change is computed between them, on the event loop, and written only if the user is still the
version that was read).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

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
    written,
)
from app.scim.errors import Conflict, Uniqueness
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
from app.scim.projection import projector
from app.scim.resource import encode, normalize
from app.services import Services
from app.store import groups as group_store
from app.store import sessions
from app.store import users as user_store
from app.store.groups import Member
from app.store.users import User, UserFields

log = logging.getLogger("webrix.scim")

# --- database work: statements only, each function one round trip -------------------------


def _read(tx: Tx, user_id: str) -> tuple[User, list[Member]] | None:
    """A user and the groups it shows."""
    user = user_store.get(tx, user_id)
    return None if user is None else (user, group_store.groups_of(tx, user_id))


def _page(
    tx: Tx, where: str, args: list[object], order: str, offset: int, limit: int
) -> tuple[int, list[User], dict[str, list[Member]]]:
    total, users = user_store.search(tx, where, args, order_by=order, offset=offset, limit=limit)
    return total, users, group_store.groups_of_many(tx, [u.id for u in users])


@dataclass(frozen=True, slots=True)
class _Stored:
    """What a write hands back: the user as stored, its groups, and sessions it ended."""

    user: User
    groups: list[Member]
    sessions_ended: int = 0


def _create(tx: Tx, fields: UserFields, resource_json: str, who: Origin) -> _Stored:
    try:
        user = user_store.create(tx, fields, resource_json, source="scim")
    except user_store.UserExists:
        existing = user_store.find_by_user_name(tx, fields.user_name)
        if existing is None or not _may_adopt(existing, fields.external_id):
            raise Uniqueness(f"A user with userName {fields.user_name!r} already exists") from None
        # A user who signed in before SCIM knew them, or a deactivated user re-POSTed with the
        # same externalId (Okta's reactivation): take it over instead of 409.
        stored = _update(tx, existing, fields, resource_json, adopt=True)
        assert stored is not None  # found in this same transaction
        detail = {"userName": fields.user_name, "was": existing.source}
        who.record(tx, "user.adopt", "user", existing.id, detail)
        return stored
    who.record(tx, "user.create", "user", user.id, {"userName": user.user_name})
    return _Stored(user, [])


def _may_adopt(existing: User, external_id: str | None) -> bool:
    if existing.source == "jit":
        return True
    return not existing.active and external_id is not None and existing.external_id == external_id


def _update(
    tx: Tx, read: User, fields: UserFields, resource_json: str, *, adopt: bool = False
) -> _Stored | None:
    """Overwrite the user `read` was read as; None if it is no longer that version."""
    try:
        updated = user_store.replace(
            tx,
            read.id,
            fields,
            resource_json,
            source="scim" if adopt else None,
            expect_version=read.version,
        )
    except user_store.UserExists:
        raise Uniqueness(f"A user with userName {fields.user_name!r} already exists") from None
    if updated is None:
        return None
    ended = sessions.delete_for_user(tx, read.id) if read.active and not updated.active else 0
    return _Stored(updated, group_store.groups_of(tx, read.id), ended)


@dataclass(frozen=True, slots=True)
class _Change:
    """A PUT or PATCH computed from the version `read` of a user, ready to be written."""

    read: User
    fields: UserFields
    resource_json: str
    action: str
    detail: dict[str, Any]


def _write_change(tx: Tx, change: _Change, who: Origin) -> _Stored | None:
    """Store `change` if the user is still the version it was computed from; else None."""
    stored = _update(tx, change.read, change.fields, change.resource_json)
    if stored is not None:
        who.record(tx, change.action, "user", change.read.id, change.detail)
    return stored


def _delete(tx: Tx, user_id: str, if_match: str | None, who: Origin) -> None:
    user = found(user_store.get(tx, user_id), "User", user_id)
    if if_match is not None:
        check_if_match(if_match, mapping.user_etag(user, group_store.groups_of(tx, user_id)))
    user_store.delete(tx, user_id)
    who.record(tx, "user.delete", "user", user_id, {"userName": user.user_name})


# --- endpoints ------------------------------------------------------------------------------


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    keys = (set(before) | set(after)) - {"schemas"}
    return sorted(k for k in keys if before.get(k) != after.get(k))


async def find(
    svc: Services, params: ListParams, offset: int, limit: int
) -> tuple[int, list[dict[str, Any]]]:
    """Total matching users and one projected page (FilterError on a bad filter)."""
    base = svc.config.scim_base_url
    query = page_sql(params, USERS_TABLE, svc.config.scim)
    read = svc.db.lookup if query.unique_lookup else svc.db.read
    total, users, memberships = await read(
        _page, query.where, query.args, query.order, offset, limit
    )
    shown = projector("User", params.attributes, params.excluded)
    return total, [shown(mapping.user_to_scim(u, memberships[u.id], base)) for u in users]


@scim_endpoint(*READ_SCOPES)
async def list_users(request: Request) -> Response:
    return await list_page(request, query_params(request), find)


@scim_endpoint(*READ_SCOPES)
async def search_users(request: Request) -> Response:
    return await list_page(request, await search_params(request), find)


@scim_endpoint(*READ_SCOPES)
async def get_user(request: Request) -> Response:
    svc, base = scim_services(request)
    user_id = request.path_params["id"]
    user, groups = found(await svc.db.read(_read, user_id), "User", user_id)
    return read_response(request, "User", mapping.user_to_scim(user, groups, base))


def _respond(request: Request, base: str, stored: _Stored, status: int = 200) -> Response:
    if stored.sessions_ended:
        log.info("user %s deactivated; %d session(s) ended", stored.user.id, stored.sessions_ended)
    body = mapping.user_to_scim(stored.user, stored.groups, base)
    return written(request, "User", body, status)


@scim_endpoint(*WRITE_SCOPES)
async def create_user(request: Request) -> Response:
    svc, base = scim_services(request)
    resource = normalize("User", await read_json(request), svc.config.scim)
    fields = mapping.user_fields(resource)
    encoded = encode(resource, svc.config.scim)
    stored = await svc.db.write(_create, fields, encoded, origin(request))
    stored.user.knowing(resource)
    return _respond(request, base, stored, 201)


Plan = Callable[[User], tuple[dict[str, Any], dict[str, Any]] | None]


async def _read_then_write(
    request: Request, plan: Plan, *, action: str
) -> tuple[_Stored | None, User, list[Member]]:
    """Read the user, let `plan(user, groups)` compute the new resource (None: no change), and
    write it unless the user changed in between, in which case all of it is done again."""
    svc, _ = scim_services(request)
    user_id = request.path_params["id"]
    async with svc.resource_locks.hold(("User", user_id)):
        return await _attempts(request, svc, user_id, plan, action)


async def _attempts(
    request: Request, svc: Services, user_id: str, plan: Plan, action: str
) -> tuple[_Stored | None, User, list[Member]]:
    for _ in range(ATTEMPTS):
        user, groups = found(await svc.db.read(_read, user_id), "User", user_id)
        header = request.headers.get("if-match")
        if header is not None:
            check_if_match(header, mapping.user_etag(user, groups))
        planned = plan(user)
        if planned is None:
            return None, user, groups
        before, resource = planned
        change = _Change(
            read=user,
            fields=mapping.user_fields(resource),
            resource_json=encode(resource, svc.config.scim),
            action=action,
            detail={"userName": resource["userName"], "changed": _changed(before, resource)},
        )
        stored = await svc.db.write(_write_change, change, origin(request))
        if stored is not None:
            stored.user.knowing(resource)
            return stored, user, groups
    raise Conflict(f"User {user_id} kept changing while this request was applied; retry it")


@scim_endpoint(*WRITE_SCOPES)
async def replace_user(request: Request) -> Response:
    svc, base = scim_services(request)
    resource = normalize("User", await read_json(request), svc.config.scim)

    def plan(user: User) -> tuple[dict[str, Any], dict[str, Any]]:
        return user.resource, resource

    stored, _, _ = await _read_then_write(request, plan, action="user.replace")
    assert stored is not None
    return _respond(request, base, stored)


@scim_endpoint(*WRITE_SCOPES)
async def patch_user(request: Request) -> Response:
    svc, base = scim_services(request)
    operations = await read_json(request)
    limits = svc.config.scim

    def plan(user: User) -> tuple[dict[str, Any], dict[str, Any]] | None:
        current = mapping.stored(mapping.user_to_scim(user, [], base), "groups")
        # With its id, so that an id echoed in a path-less value is checked, not ignored.
        result = apply_patch({**current, "id": user.id}, operations, "User", limits)
        return (current, normalize("User", result.resource, limits)) if result.changed else None

    stored, user, groups = await _read_then_write(request, plan, action="user.patch")
    return _respond(request, base, stored or _Stored(user, groups))


@scim_endpoint(*WRITE_SCOPES)
async def delete_user(request: Request) -> Response:
    svc, _ = scim_services(request)
    if_match = request.headers.get("if-match")
    await svc.db.write(_delete, request.path_params["id"], if_match, origin(request))
    return Response(status_code=204)
