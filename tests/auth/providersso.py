"""The sign-in routes of another provider than JumpCloud, in-process (as tests.auth.sso): a
FakeProvider at the preset's issuer, and a `ProviderSso` whose paths follow the provider.

async with provider_sso(make_config, "okta", {"org_url": ...}, issuer=OKTA) as sso:
    response = await sso.sign_in()
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from app.auth.client_auth import ASSERTION_TYPE
from app.config import Config
from app.main import create_app
from tests.auth.fakeprovider import FakeProvider
from tests.auth.sso import CLIENT_ID, CLIENT_SECRET, Sso
from tests.conftest import running


class AnyAuthProvider(FakeProvider):
    """A FakeProvider whose token endpoint takes client_secret_post and private_key_jwt too
    (the assertion checked against `client_jwks`, the service's published keys); records
    the method each token request used and its form as sent."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **kwargs)
        self.client_jwks: dict[str, Any] | None = None
        self.methods: list[str] = []
        self.assertions: list[dict[str, Any]] = []
        self.received: list[dict[str, str]] = []  # token request forms, as sent

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode(), keep_blank_values=True))
        self.received.append(dict(form))
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        if "client_assertion" in form:
            self.methods.append("private_key_jwt")
            if not self._assertion_ok(form, str(request.url)):
                return httpx.Response(401, json={"error": "invalid_client"})
            for name in ("client_assertion", "client_assertion_type", "client_id"):
                form.pop(name)
            headers["Authorization"] = _basic(self.client_id, self.client_secret)
        elif "client_secret" in form:
            self.methods.append("client_secret_post")
            if "authorization" in {k.lower() for k in headers}:
                return httpx.Response(400, json={"error": "invalid_request"})
            if (form.pop("client_id", None), form.pop("client_secret")) != (
                self.client_id,
                self.client_secret,
            ):
                return httpx.Response(401, json={"error": "invalid_client"})
            headers["Authorization"] = _basic(self.client_id, self.client_secret)
        else:
            self.methods.append("client_secret_basic")
        rebuilt = httpx.Request("POST", request.url, headers=headers, content=urlencode(form))
        return super()._token(rebuilt)

    def _assertion_ok(self, form: dict[str, str], token_endpoint: str) -> bool:
        if self.client_jwks is None or form.get("client_assertion_type") != ASSERTION_TYPE:
            return False
        try:
            token = jwt.decode(
                form["client_assertion"],
                KeySet.import_key_set(self.client_jwks),
                algorithms=["RS256"],
            )
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.client_id},
                sub={"essential": True, "value": self.client_id},
                aud={"essential": True, "value": token_endpoint},
                jti={"essential": True},
                exp={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError):
            return False
        self.assertions.append(token.claims)
        return form.get("client_id") == self.client_id


def _basic(client_id: str, secret: str) -> str:
    pair = f"{quote_plus(client_id, safe='')}:{quote_plus(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


@dataclass
class ProviderSso(Sso):
    """`Sso` with the active provider's paths."""

    @property
    def signin_path(self) -> str:
        return f"/api/auth/signin/{self.config.auth.provider}"

    @property
    def callback_path(self) -> str:
        return f"/api/auth/callback/{self.config.auth.provider}"

    async def start(self, callback_url: str | None = "/", **headers: str) -> str:
        params = {} if callback_url is None else {"callbackUrl": callback_url}
        response = await self.client.get(self.signin_path, params=params, headers=headers)
        assert response.status_code == 302, response.text
        location = response.headers["location"]
        assert location.startswith(self.fake.url("/oauth2/auth") + "?"), location
        return location

    async def callback(self, params: dict[str, str]) -> httpx.Response:
        return await self.client.get(self.callback_path, params=params)


@asynccontextmanager
async def provider_sso(
    make_config: Callable[..., Config],
    provider: str,
    section: dict[str, Any],
    *,
    issuer: str,
    **sections: dict[str, Any],
) -> AsyncIterator[ProviderSso]:
    """The app with `[auth] provider = provider` and `[auth.<provider>] section` (plus the
    test client's id and secret), an AnyAuthProvider at `issuer` behind it."""
    fake = AnyAuthProvider(issuer=issuer)
    keys = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **section}
    config = make_config(
        auth={"provider": provider, provider: {k: v for k, v in keys.items() if v is not None}},
        **sections,
    )
    app = create_app(config, http_transport=fake.transport)
    async with running(app) as client:
        yield ProviderSso(fake=fake, app=app, client=client, config=config)
