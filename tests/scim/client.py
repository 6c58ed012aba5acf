"""The one SCIM test client: the app in-process, API tokens, request shortcuts, users, groups,
group PATCHes, look-ups and audit events.

async with scim_app(make_config) as scim:
    created = await scim.create_user(user_body("ada@example.com"))
    response = await scim.get(f"/Users/{created['id']}")
    group = await scim.group("Engineering", [created["id"]])
    await scim.rename(group["id"], "Research")
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
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
from tests.scim.wire import BASE, ERROR_URN, group_body, members_op, patch_body

DEFAULT: Any = object()  # "the harness's own token" in request()


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


def member_ids(group: dict[str, Any]) -> list[str]:
    """The member ids a Group body shows, sorted."""
    return sorted(m["value"] for m in group.get("members", []))


def _ok(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, response.text
    body: dict[str, Any] = response.json()
    return body


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

    # -- requests ----------------------------------------------------------------------------

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

    async def send_raw(
        self, method: str, path: str, raw: Any, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """`raw` (bytes, text or an async iterator of chunks) sent as it is, labelled
        application/scim+json: for bodies json= could not write."""
        sent = {"Content-Type": "application/scim+json", **(headers or {})}
        return await self.request(method, path, content=raw, headers=sent)

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

    # -- users -------------------------------------------------------------------------------

    async def create_user(self, body: dict[str, Any]) -> dict[str, Any]:
        return _ok(await self.post("/Users", body), 201)

    async def user(self, email: str, **extra: Any) -> str:
        """A user named `email` (plus `extra` attributes); its id."""
        body = {"userName": email, "emails": [{"value": email, "primary": True}], **extra}
        user_id: str = (await self.create_user(body))["id"]
        return user_id

    async def users(self, count: int, prefix: str = "u") -> list[str]:
        return [await self.user(f"{prefix}{i}@example.com") for i in range(count)]

    async def list_users(self, **params: Any) -> dict[str, Any]:
        return _ok(await self.get("/Users", params=params), 200)

    async def user_row(self, user_id: str) -> Row | None:
        return await self.db.fetch_one("SELECT * FROM users WHERE id = ?", (user_id,))

    # -- groups ------------------------------------------------------------------------------

    async def group(self, name: str, members: Iterable[str] = (), **extra: Any) -> dict[str, Any]:
        """A new group of the user ids `members` (plus `extra` attributes), as created."""
        return _ok(await self.post("/Groups", group_body(name, members, **extra)), 201)

    async def get_group(self, group_id: str, **params: str) -> dict[str, Any]:
        return _ok(await self.get(f"/Groups/{group_id}", params=params), 200)

    async def find_groups(self, **params: str) -> dict[str, Any]:
        return _ok(await self.get("/Groups", params=params), 200)

    async def patch_group(
        self,
        group_id: str,
        *operations: dict[str, Any],
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """PATCH the group with `operations`; the response, whatever it is."""
        body = patch_body(*operations)
        return await self.patch(f"/Groups/{group_id}", body, headers=headers, params=params)

    async def modify_group(self, group_id: str, *operations: dict[str, Any]) -> httpx.Response:
        """A PATCH that must succeed: 200, or 204 for a group too big to echo."""
        response = await self.patch_group(group_id, *operations)
        assert response.status_code in (200, 204), response.text
        return response

    async def add(self, group_id: str, *user_ids: str) -> httpx.Response:
        return await self.modify_group(group_id, members_op("add", *user_ids))

    async def remove(self, group_id: str, *user_ids: str) -> httpx.Response:
        return await self.modify_group(group_id, members_op("remove", *user_ids))

    async def rename(self, group_id: str, name: str) -> httpx.Response:
        op = {"op": "replace", "path": "displayName", "value": name}
        return await self.modify_group(group_id, op)

    async def member_rows(self, group_id: str) -> list[str]:
        """The group's member ids as stored, sorted."""
        rows = await self.db.fetch_all(
            "SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id", (group_id,)
        )
        return [r[0] for r in rows]

    # -- the database ------------------------------------------------------------------------

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


@asynccontextmanager
async def scim_beside(sso: Sso) -> AsyncIterator[Scim]:
    """The identity provider's SCIM client of `sso`'s running app: a second HTTP client with
    its own address and no cookies (SCIM is not the browser's channel), and its own token."""
    transport = httpx.ASGITransport(app=sso.app, client=("127.0.0.1", 51001))
    async with httpx.AsyncClient(transport=transport, base_url=str(sso.client.base_url)) as idp:
        yield await _ready(sso.app, idp, sso)
