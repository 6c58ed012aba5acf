"""A small directory for the Users and Groups pages' tests: Ada (the fake provider's user, an
administrator by email, signed in) and users and groups pushed by SCIM beside her."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.cookiejar import Cookie
from typing import Any

import httpx

from app.config import Config
from app.store import users as user_store
from app.store.users import UserFields
from tests.auth.sso import Sso, restore_cookies, saved_cookies, sso_app
from tests.scim.client import Scim, scim_beside

ADA = "ada@example.com"
ADMIN_GROUP = "Webrix Admins"
OPS_EXTERNAL_ID = "ext-ops"
ACCESS = {
    "admin_emails": [ADA],
    "admin_groups": [ADMIN_GROUP],
    "admin_group_external_ids": [OPS_EXTERNAL_ID],
}
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Safari/537.36"
)
_USER_LINK = re.compile(r'href="/admin/users/([0-9a-f-]{36})"')
_GROUP_LINK = re.compile(r'href="/admin/groups/([0-9a-f-]{36})"')


def table(html: str, table_id: str) -> str:
    """The HTML of the table with this id (and nothing after it)."""
    start = html.index(f'<table id="{table_id}"')
    return html[start : html.index("</table>", start)]


def rows(html: str, table_id: str) -> list[str]:
    """The rows of a table, header excluded."""
    return table(html, table_id).split("<tr")[2:]


def user_links(html: str, table_id: str = "users") -> list[str]:
    """The user ids a table links to, in order, once each."""
    return list(dict.fromkeys(_USER_LINK.findall(table(html, table_id))))


def group_links(html: str, table_id: str = "groups") -> list[str]:
    return list(dict.fromkeys(_GROUP_LINK.findall(table(html, table_id))))


@dataclass
class Directory:
    sso: Sso
    scim: Scim
    ids: dict[str, str] = field(default_factory=dict)  # name -> user or group id

    @property
    def client(self) -> httpx.AsyncClient:
        return self.sso.client

    async def page(self, path: str, **params: str) -> str:
        response = await self.client.get(path, params=params or None)  # {} drops a query
        assert response.status_code == 200, response.text
        return response.text

    async def listed(self, **params: str) -> list[str]:
        """The names (keys of `ids`) the Users page lists for these parameters."""
        names = {v: k for k, v in self.ids.items()}
        return [names.get(i, i) for i in user_links(await self.page("/admin/users", **params))]

    async def sign_in_as(self, email: str, user_agent: str = CHROME) -> list[Cookie]:
        """Sign `email` in from another browser; returns that browser's cookies. The
        administrator's browser keeps its own session."""
        mine = saved_cookies(self.client)
        before = dict(self.sso.fake.user)
        self.client.cookies.clear()
        self.sso.fake.user = {**before, "email": email, "sub": f"sub-{email}"}
        self.client.headers["User-Agent"] = user_agent
        try:
            await self.sso.signed_in()
            return saved_cookies(self.client)
        finally:
            self.sso.fake.user = before
            del self.client.headers["User-Agent"]
            restore_cookies(self.client, mine)

    @asynccontextmanager
    async def browser(self, cookies: list[Cookie]) -> AsyncIterator[httpx.AsyncClient]:
        """Another browser holding `cookies`."""
        transport = httpx.ASGITransport(app=self.sso.app, client=("127.0.0.1", 51002))
        base = str(self.client.base_url)
        async with httpx.AsyncClient(transport=transport, base_url=base) as other:
            restore_cookies(other, cookies)
            yield other

    async def session_of(self, cookies: list[Cookie]) -> dict[str, Any]:
        """What /api/auth/session answers the browser holding `cookies`."""
        async with self.browser(cookies) as other:
            body: dict[str, Any] = (await other.get("/api/auth/session")).json()
            return body


@asynccontextmanager
async def directory(make_config: Callable[..., Config]) -> AsyncIterator[Directory]:
    """Ada signed in (JIT, an administrator by email, her groups claim naming a group SCIM
    never gave her); by SCIM: Grace (in the admin group), Linus (in Ops, an admin group by
    externalId), Ken (suspended, Engineering), Bob (a second email); Cleo made by the CLI."""
    async with sso_app(make_config, access=ACCESS) as sso, scim_beside(sso) as scim:
        sso.fake.user = {**sso.fake.user, "groups": [ADMIN_GROUP, "Claimed Only"]}
        await sso.signed_in()
        d = Directory(sso, scim)
        ada = await sso.user_by_email(ADA)
        assert ada is not None
        d.ids["ada"] = ada.id
        d.ids["grace"] = (
            await scim.create_user(
                {
                    "userName": "grace@example.com",
                    "name": {"givenName": "Grace", "familyName": "Hopper <script>"},
                    "emails": [{"value": "grace@example.com", "primary": True, "type": "work"}],
                }
            )
        )["id"]
        d.ids["linus"] = await scim.user("linus@example.com")
        d.ids["ken"] = await scim.user("ken@example.com", active=False)
        d.ids["bob"] = await scim.user(
            "bob@example.com",
            emails=[
                {"value": "bob@example.com", "primary": True},
                {"value": "robert@alt.example", "type": "home"},
            ],
        )
        fields = UserFields(user_name="cleo@example.com", email="cleo@example.com")
        cleo = await sso.db.write(user_store.create, fields, json.dumps({}), source="cli")
        d.ids["cleo"] = cleo.id
        d.ids[ADMIN_GROUP] = (await scim.group(ADMIN_GROUP, [d.ids["grace"]]))["id"]
        d.ids["Ops"] = (await scim.group("Ops", [d.ids["linus"]], externalId=OPS_EXTERNAL_ID))["id"]
        d.ids["Engineering"] = (await scim.group("Engineering", [d.ids["ken"], d.ids["grace"]]))[
            "id"
        ]
        yield d
