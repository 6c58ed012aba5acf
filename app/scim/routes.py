"""The SCIM 2.0 routes, mounted at /scim/v2."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from app.scim import discovery, group_patch, groups, search, users

Endpoint = Callable[[Request], Awaitable[Response]]


def _by_method(path: str, **endpoints: Endpoint) -> Route:
    """One route for `path` that hands each method to its endpoint (HEAD to GET's). Starlette
    answers 405, with Allow, for the methods not named."""
    table = dict(endpoints)
    if "GET" in table:
        table["HEAD"] = table["GET"]

    async def dispatch(request: Request) -> Response:
        return await table[request.method](request)

    return Route(path, dispatch, methods=list(endpoints))


def mount() -> Mount:
    return Mount(
        "/scim/v2",
        name="scim",
        # Users and Groups first, one route per path: Starlette tries the routes in order on
        # every request, and a path listed once per method would be matched once per method.
        routes=[
            _by_method("/Users", GET=users.list_users, POST=users.create_user),
            _by_method(
                "/Users/{id}",
                GET=users.get_user,
                PUT=users.replace_user,
                PATCH=users.patch_user,
                DELETE=users.delete_user,
            ),
            _by_method("/Groups", GET=groups.list_groups, POST=groups.create_group),
            _by_method(
                "/Groups/{id}",
                GET=groups.get_group,
                PUT=groups.replace_group,
                PATCH=group_patch.patch_group,
                DELETE=groups.delete_group,
            ),
            Route("/Users/.search", users.search_users, methods=["POST"]),
            Route("/Groups/.search", groups.search_groups, methods=["POST"]),
            Route("/ServiceProviderConfig", discovery.service_provider_config),
            Route("/ResourceTypes", discovery.resource_types),
            Route("/ResourceTypes/{name}", discovery.resource_type),
            Route("/Schemas", discovery.schemas),
            Route("/Schemas/{urn}", discovery.schema),
            Route("/.search", search.search_all, methods=["POST"]),
            Route("/Me", discovery.me, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            Route("/Bulk", discovery.bulk, methods=["POST"]),
        ],
    )
