"""What the Users and Groups endpoints share: lookups, list pages, responses, audit events.

The endpoints follow one shape: parse and check the request on the event loop, read what they
need in one round trip, compute the change on the event loop, and write it in one round trip
that runs statements only. A write that depends on what was read names the version it read,
and is tried again from the read if the resource changed in between (`ATTEMPTS`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from app.config import ScimConfig
from app.db import Tx
from app.scim.errors import NotFound
from app.scim.filter import Compare, parse_filter
from app.scim.filter_sql import SqlTable, sort_sql, to_sql
from app.scim.http import ListParams, ScimResponse, attribute_names, list_response, not_modified
from app.scim.projection import project
from app.services import Services, services
from app.store import audit

__all__ = [
    "ATTEMPTS",
    "Finder",
    "Origin",
    "PageQuery",
    "found",
    "list_page",
    "origin",
    "page_sql",
    "read_response",
    "scim_services",
    "selection",
    "written",
]

#: Optimistic tries of a read-compute-write before the write gives up on a resource that
#: keeps changing under it (every try re-reads it); then the request answers 409.
ATTEMPTS = 5

T = TypeVar("T")

#: Total matching resources and one projected page: `find(svc, params, offset, limit)`.
Finder = Callable[[Services, ListParams, int, int], Awaitable[tuple[int, list[dict[str, Any]]]]]


def scim_services(request: Request) -> tuple[Services, str]:
    """The services and the SCIM base URL resources are located under."""
    svc = services(request)
    return svc, svc.config.scim_base_url


# Attributes whose `eq` is answered by a unique index: such a lookup (JumpCloud's "is this user
# here yet?") runs on the lookup connection, never behind another client's costly filter.
UNIQUE = {"users": {"username", "id"}, "groups": {"displayname", "id"}}


@dataclass(frozen=True, slots=True)
class PageQuery:
    where: str
    args: list[object]
    order: str
    unique_lookup: bool  # an `eq` on a uniquely indexed attribute: at most one row


def page_sql(params: ListParams, table: SqlTable, limits: ScimConfig) -> PageQuery:
    """WHERE fragment, its arguments and ORDER BY for a list request (FilterError if bad)."""
    where, args, unique = "1 = 1", list[object](), False
    if params.filter is not None and params.filter.strip():
        parsed = parse_filter(
            params.filter,
            max_clauses=limits.max_filter_clauses,
            max_value_filters=limits.max_value_filters,
        )
        where, args = to_sql(parsed, table)
        unique = (
            isinstance(parsed, Compare)
            and parsed.op == "eq"
            and isinstance(parsed.value, str)
            and parsed.path.sub_attr is None
            and parsed.path.uri is None
            and parsed.path.attr.lower() in UNIQUE.get(table.name, set())
        )
    # Insertion order: a resource created while a client pages through lands on the last page
    # instead of shifting earlier ones (created has one-second ties and ids are random).
    order = f"{table.name}.rowid"
    if params.sort_by:
        direction = "DESC" if params.descending else "ASC"
        order = f"{sort_sql(params.sort_by, table)} {direction}, {order}"
    return PageQuery(where, args, order, unique)


async def list_page(request: Request, params: ListParams, find: Finder) -> Response:
    """The ListResponse for one page of `find`'s resources."""
    total, items = await find(services(request), params, params.start_index - 1, params.count)
    return list_response(items, total, params.start_index)


def found(value: T | None, resource_type: str, id_: str) -> T:
    """`value`, the stored resource `id_` of `resource_type`; NotFound if it is None."""
    if value is None:
        raise NotFound(f"{resource_type} {id_} not found")
    return value


def selection(request: Request) -> tuple[list[str] | None, list[str] | None]:
    """The `attributes` and `excludedAttributes` query parameters."""
    limit = services(request).config.scim.max_attribute_names
    return (
        attribute_names(request.query_params.get("attributes"), limit),
        attribute_names(request.query_params.get("excludedAttributes"), limit),
    )


def written(
    request: Request,
    resource_type: str,
    body: dict[str, Any],
    status: int = 200,
    shown: dict[str, Any] | None = None,
) -> ScimResponse:
    """The projected resource with its ETag (and Location when it was created). `shown`:
    values known to pass the projection, added after it (before `meta`) untouched."""
    attributes, excluded = selection(request)
    headers = {"ETag": body["meta"]["version"]}
    if status == 201:
        headers["Location"] = body["meta"]["location"]
    projected = project(body, resource_type, attributes, excluded)
    if shown:
        projected = with_values(projected, shown)
    return ScimResponse(projected, status, headers)


def with_values(resource: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """`resource` with `values` added, `meta` kept last."""
    meta = resource.pop("meta", None)
    resource.update(values)
    if meta is not None:
        resource["meta"] = meta
    return resource


def read_response(
    request: Request,
    resource_type: str,
    body: dict[str, Any],
    shown: dict[str, Any] | None = None,
) -> Response:
    """A GET's answer: 304 if If-None-Match names the current version, else the resource."""
    version = body["meta"]["version"]
    if not_modified(request, version):
        return Response(status_code=304, headers={"ETag": version})
    return written(request, resource_type, body, shown=shown)


@dataclass(frozen=True, slots=True)
class Origin:
    """Who makes a SCIM change and from where: taken from the request before the write."""

    actor: str
    ip: str | None
    request_id: str

    def record(
        self, tx: Tx, action: str, target_type: str, target_id: str, detail: dict[str, Any]
    ) -> None:
        """Audit a change, inside the write that makes it."""
        audit.record(
            tx,
            actor=self.actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail,
            ip=self.ip,
            request_id=self.request_id,
        )


def origin(request: Request) -> Origin:
    """The request's API token and client address, for the audit log."""
    return Origin(
        actor=f"token:{request.state.token.id}",
        ip=request.client.host if request.client else None,
        request_id=request.state.request_id,
    )
