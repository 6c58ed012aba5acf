"""A harness for the sign-in routes: the app in-process, a FakeProvider behind its HTTP client.

async with sso_app(make_config, access={"jit_provisioning": False}) as sso:
    response = await sso.sign_in()                  # signin -> provider -> callback
    assert (await sso.session())["user"]["email"] == "ada@example.com"
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.cookiejar import Cookie
from typing import Any

import httpx
from starlette.applications import Starlette

from app.config import Config
from app.db import Database
from app.main import create_app
from app.services import Services
from app.store import audit
from app.store import users as user_store
from app.store.audit import AuditEvent
from app.store.users import Email, User, UserFields
from tests.auth.fakeprovider import FakeProvider
from tests.conftest import running

SIGNIN = "/api/auth/signin/jumpcloud"
CALLBACK = "/api/auth/callback/jumpcloud"
CLIENT_ID = "test-client"  # as in tests.conftest.config_data
CLIENT_SECRET = "test-client-secret"


def new_fake() -> FakeProvider:
    """A FakeProvider registered with the client of the test configs."""
    return FakeProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


def set_cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def session_cookie_set(response: httpx.Response) -> bool:
    """Whether the response sets (not clears) a session cookie."""
    return any(
        "webrix-session=" in c and "Max-Age=0" not in c and 'webrix-session=""' not in c
        for c in set_cookies(response)
    )


def saved_cookies(client: httpx.AsyncClient) -> list[Cookie]:
    """The client's cookies, to put back with `restore_cookies` (another browser, a replay)."""
    return list(client.cookies.jar)


def restore_cookies(client: httpx.AsyncClient, cookies: list[Cookie]) -> None:
    """Replace the client's cookies with `cookies`."""
    client.cookies.clear()
    for cookie in cookies:
        client.cookies.jar.set_cookie(cookie)


@dataclass
class Sso:
    fake: FakeProvider
    app: Starlette
    client: httpx.AsyncClient
    config: Config

    @property
    def db(self) -> Database:
        svc: Services = self.app.state.services
        return svc.db

    async def start(self, callback_url: str | None = "/", **headers: str) -> str:
        """GET the sign-in route; returns the provider URL it redirects to."""
        params = {} if callback_url is None else {"callbackUrl": callback_url}
        response = await self.client.get(SIGNIN, params=params, headers=headers)
        assert response.status_code == 302, response.text
        location = response.headers["location"]
        assert location.startswith(self.fake.url("/oauth2/auth")), location
        return location

    async def callback(self, params: dict[str, str]) -> httpx.Response:
        return await self.client.get(CALLBACK, params=params)

    async def sign_in(self, callback_url: str | None = "/", **authorize: Any) -> httpx.Response:
        """The whole SP-initiated flow; returns the callback's response."""
        location = await self.start(callback_url)
        return await self.callback(self.fake.authorize(location, **authorize))

    async def signed_in(self, callback_url: str | None = "/") -> httpx.Response:
        response = await self.sign_in(callback_url)
        assert response.status_code == 303, response.text
        assert session_cookie_set(response)
        return response

    async def session(self) -> dict[str, Any]:
        response = await self.client.get("/api/auth/session")
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    async def csrf_token(self) -> str:
        token = (await self.client.get("/api/auth/csrf")).json()["csrfToken"]
        assert isinstance(token, str)
        return token

    async def events(self, action: str) -> list[AuditEvent]:
        return [e for e in await self.db.read(audit.recent, limit=1000) if e.action == action]

    async def add_user(self, email: str, *, active: bool = True, sub: str | None = None) -> User:
        """A user as SCIM provisioning would have created it."""
        fields = UserFields(
            user_name=email,
            email=email,
            given_name="Scim",
            family_name="User",
            active=active,
            emails=(Email(email, "work", True),),
        )
        resource = {"userName": email, "active": active}
        return await self.db.write(
            user_store.create, fields, json.dumps(resource), source="scim", oidc_sub=sub
        )

    async def user_by_email(self, email: str) -> User | None:
        return await self.db.read(user_store.find_by_email, email)

    async def assert_refused(
        self, response: httpx.Response, status: int, reason: str, *texts: str
    ) -> None:
        """A human-readable page with the request id, an audit row, and no session."""
        await self.assert_refused_page(response, status, *texts)
        request_id = response.headers["x-request-id"]
        refused = [
            e for e in await self.events("auth.signin.refused") if e.request_id == request_id
        ]
        assert [e.detail.get("reason") for e in refused] == [reason]

    @property
    def services(self) -> Services:
        svc: Services = self.app.state.services
        return svc

    async def assert_unknown_state(self, callback: Awaitable[httpx.Response], *texts: str) -> None:
        """`callback` (not yet awaited) is refused as matching no sign-in of this browser: a
        page, counted in the log, and no audit row (anyone can send these unsigned in)."""
        before = self.services.unknown_states.total
        response = await callback
        await self.assert_refused_page(response, 400, *texts)
        assert self.services.unknown_states.total == before + 1
        request_id = response.headers["x-request-id"]
        events = await self.events("auth.signin.refused")
        assert [e for e in events if e.request_id == request_id] == []

    async def assert_refused_page(self, response: httpx.Response, status: int, *texts: str) -> None:
        """A human-readable page with the request id, and no session."""
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("text/html")
        request_id = response.headers["x-request-id"]
        assert request_id in response.text
        for text in texts:
            assert text in response.text
        assert not session_cookie_set(response)
        assert await self.session() == {}


@asynccontextmanager
async def sso_app(
    make_config: Callable[..., Config],
    fake: FakeProvider | None = None,
    base_url: str = "http://127.0.0.1:8080",
    **sections: dict[str, Any],
) -> AsyncIterator[Sso]:
    """The app for `make_config(**sections)` with `fake` as its identity provider."""
    fake = fake or new_fake()
    config = make_config(**sections)
    app = create_app(config, http_transport=fake.transport)
    async with running(app, base_url=base_url) as client:
        yield Sso(fake=fake, app=app, client=client, config=config)
