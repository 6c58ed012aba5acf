"""A harness for the SCIM Users tests: the app in-process, API tokens, request shortcuts.

async with scim_app(make_config) as scim:
    created = await scim.create_user(user_body("ada@example.com"))
    response = await scim.get(f"/Users/{created['id']}")
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette

from app.config import Config
from app.db import Database, Row
from app.main import create_app
from app.services import Services
from app.store import audit
from app.store.audit import AuditEvent
from tests.auth.sso import Sso, sso_app
from tests.conftest import new_token, running

BASE = "/scim/v2"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
DEFAULT: Any = object()  # "the harness's own token" in request()


def user_body(user_name: str = "ada@example.com", **extra: Any) -> dict[str, Any]:
    """A User as JumpCloud's default mapping sends it, plus `extra` attributes."""
    return {
        "schemas": [USER_URN],
        "userName": user_name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "displayName": "Ada Lovelace",
        "active": True,
        **extra,
    }


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


def without_server_parts(resource: dict[str, Any]) -> dict[str, Any]:
    """What the client wrote: a resource minus id, meta and the computed groups."""
    return {k: v for k, v in resource.items() if k not in ("id", "meta", "groups")}


def assert_scim_error(response: httpx.Response, status: int, scim_type: str | None = None) -> None:
    """A SCIM Error body with this status (and scimType), never a traceback or a file path."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR_URN]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    assert_no_internals(response)


def assert_no_internals(response: httpx.Response) -> None:
    text = response.text
    assert "Traceback" not in text
    assert 'File "' not in text
    assert ".py" not in text
    assert "/work/" not in text and "site-packages" not in text


@dataclass
class Scim:
    app: Starlette
    client: httpx.AsyncClient
    token: str = ""
    token_id: str = ""
    sso: Sso | None = None
    tokens_made: dict[str, str] = field(default_factory=dict)

    @property
    def db(self) -> Database:
        svc: Services = self.app.state.services
        return svc.db

    async def new_token(self, *scopes: str, name: str = "test") -> tuple[str, str]:
        """A fresh API token with `scopes`: (id, plaintext)."""
        token, plaintext = await new_token(self.db, name, scopes or ("admin:scim",))
        self.tokens_made[token.id] = plaintext
        return token.id, plaintext

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        token: Any = DEFAULT,
        headers: dict[str, Any] | None = None,
        content: Any = None,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """`method` on /scim/v2`path`, with the harness token unless `token` says otherwise."""
        sent = dict(headers or {})
        token = self.token if token is DEFAULT else token
        if token is not None:
            sent.setdefault("Authorization", f"Bearer {token}")
        if json is not None:
            sent.setdefault("Content-Type", "application/scim+json")
        return await self.client.request(
            method, BASE + path, json=json, headers=sent, content=content, params=params
        )

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, json=json, **kwargs)

    async def put(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, json=json, **kwargs)

    async def patch(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, json=json, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)

    async def create_user(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.post("/Users", body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def list_users(self, **params: Any) -> dict[str, Any]:
        response = await self.get("/Users", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def user_row(self, user_id: str) -> Row | None:
        return await self.db.fetch_one("SELECT * FROM users WHERE id = ?", (user_id,))

    async def count(self, sql: str, *params: Any) -> int:
        row = await self.db.fetch_one(sql, params)
        assert row is not None
        return int(row[0])

    async def events(self, action: str | None = None) -> list[AuditEvent]:
        """Audit events, oldest first, optionally of one action."""
        found = reversed(await self.db.read(audit.recent, limit=1000))
        return [e for e in found if action is None or e.action == action]


async def _ready(app: Starlette, client: httpx.AsyncClient, sso: Sso | None = None) -> Scim:
    scim = Scim(app=app, client=client, sso=sso)
    scim.token_id, scim.token = await scim.new_token("admin:scim", name="jumpcloud")
    return scim


@asynccontextmanager
async def scim_app(make_config: Callable[..., Config], **sections: Any) -> AsyncIterator[Scim]:
    """The whole app with a fresh database and an `admin:scim` token."""
    app = create_app(make_config(**sections))
    async with running(app) as client:
        yield await _ready(app, client)


@asynccontextmanager
async def scim_sso_app(make_config: Callable[..., Config], **sections: Any) -> AsyncIterator[Scim]:
    """As `scim_app`, with the fake OpenID provider behind sign-in (`scim.sso`)."""
    async with sso_app(make_config, **sections) as sso:
        yield await _ready(sso.app, sso.client, sso)
