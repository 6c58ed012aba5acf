"""The SCIM 2.0 routes, mounted at /scim/v2."""

from __future__ import annotations

from starlette.routing import Mount, Route

from app.scim import discovery, groups, search, users


def mount() -> Mount:
    return Mount(
        "/scim/v2",
        name="scim",
        routes=[
            Route("/ServiceProviderConfig", discovery.service_provider_config),
            Route("/ResourceTypes", discovery.resource_types),
            Route("/ResourceTypes/{name}", discovery.resource_type),
            Route("/Schemas", discovery.schemas),
            Route("/Schemas/{urn}", discovery.schema),
            Route("/.search", search.search_all, methods=["POST"]),
            Route("/Me", discovery.me, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            Route("/Bulk", discovery.bulk, methods=["POST"]),
            Route("/Users", users.list_users, methods=["GET"]),
            Route("/Users", users.create_user, methods=["POST"]),
            Route("/Users/.search", users.search_users, methods=["POST"]),
            Route("/Users/{id}", users.get_user, methods=["GET"]),
            Route("/Users/{id}", users.replace_user, methods=["PUT"]),
            Route("/Users/{id}", users.patch_user, methods=["PATCH"]),
            Route("/Users/{id}", users.delete_user, methods=["DELETE"]),
            Route("/Groups", groups.list_groups, methods=["GET"]),
            Route("/Groups", groups.create_group, methods=["POST"]),
            Route("/Groups/.search", groups.search_groups, methods=["POST"]),
            Route("/Groups/{id}", groups.get_group, methods=["GET"]),
            Route("/Groups/{id}", groups.replace_group, methods=["PUT"]),
            Route("/Groups/{id}", groups.patch_group, methods=["PATCH"]),
            Route("/Groups/{id}", groups.delete_group, methods=["DELETE"]),
        ],
    )
