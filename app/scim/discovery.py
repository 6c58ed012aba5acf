"""The SCIM discovery endpoints: what this service supports, truthfully (RFC 7644 §4)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.scim.errors import NotFound, NotImplemented_
from app.scim.http import ScimResponse, list_response, scim_endpoint
from app.scim.schemas import ENTERPRISE_USER, GROUP, USER, to_scim
from app.services import services

SPC_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
READ_SCOPES = ("admin:scim", "admin:read", "admin:write")
DOCS = "https://github.com/webrix/identity#configure-scim-provisioning"


def _base(request: Request) -> str:
    return services(request).config.scim_base_url


async def service_provider_config(request: Request) -> Response:
    """Readable without a token, so clients can learn how to authenticate."""
    cfg = services(request).config.scim
    base = _base(request)
    return ScimResponse(
        {
            "schemas": [SPC_URN],
            "documentationUri": DOCS,
            "patch": {"supported": True},
            "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": True, "maxResults": cfg.max_page_size},
            "changePassword": {"supported": False},
            "sort": {"supported": True},
            "etag": {"supported": True},
            "authenticationSchemes": [
                {
                    "type": "oauthbearertoken",
                    "name": "API token (Bearer)",
                    "description": "A wxt_ API token created in the admin console or with "
                    "`webrix token create`, sent as Authorization: Bearer wxt_…",
                    "primary": True,
                }
            ],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": f"{base}/ServiceProviderConfig",
            },
        }
    )


def _resource_types(base: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [RESOURCE_TYPE_URN],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User Account",
            "schema": USER.id,
            "schemaExtensions": [{"schema": ENTERPRISE_USER.id, "required": False}],
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"},
        },
        {
            "schemas": [RESOURCE_TYPE_URN],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Group",
            "schema": GROUP.id,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/Group"},
        },
    ]


@scim_endpoint(*READ_SCOPES)
async def resource_types(request: Request) -> Response:
    items = _resource_types(_base(request))
    return list_response(items, len(items), 1)


@scim_endpoint(*READ_SCOPES)
async def resource_type(request: Request) -> Response:
    return _by_id(_resource_types(_base(request)), request.path_params["name"], "resource type")


def _schemas(base: str) -> list[dict[str, Any]]:
    return [to_scim(s, f"{base}/Schemas") for s in (USER, GROUP, ENTERPRISE_USER)]


@scim_endpoint(*READ_SCOPES)
async def schemas(request: Request) -> Response:
    items = _schemas(_base(request))
    return list_response(items, len(items), 1)


@scim_endpoint(*READ_SCOPES)
async def schema(request: Request) -> Response:
    return _by_id(_schemas(_base(request)), request.path_params["urn"], "schema")


def _by_id(items: list[dict[str, Any]], wanted: str, kind: str) -> ScimResponse:
    """The item whose id is `wanted`; NotFound naming `kind` if there is none."""
    for item in items:
        if item["id"] == wanted:
            return ScimResponse(item)
    raise NotFound(f"No {kind} {wanted!r}")


@scim_endpoint(*READ_SCOPES)
async def me(request: Request) -> Response:
    """RFC 7644 §3.11: a bearer token here names no user, so /Me is not offered."""
    raise NotImplemented_("/Me is not supported: API tokens do not belong to a user")


@scim_endpoint(*READ_SCOPES)
async def bulk(request: Request) -> Response:
    raise NotImplemented_("Bulk operations are not supported (see ServiceProviderConfig)")
