"""Configs for each provider preset, and a FakeProvider that takes one client authentication
method (client_secret_basic, client_secret_post or private_key_jwt) and refuses the others.

    fake = MethodProvider("private_key_jwt", issuer=ISSUERS["okta"])
    fake.client_jwks = public_jwks(key)       # what the service publishes at /api/auth/jwks
    config = provider_config(tmp_path, "okta", token_endpoint_auth_method="private_key_jwt")
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from app.auth.client_auth import ASSERTION_TYPE
from app.config import Config, load_data
from tests.auth.fakeprovider import FakeProvider
from tests.auth.sso import CLIENT_ID, CLIENT_SECRET
from tests.conftest import config_data

TENANT = "6f1d2c3b-4a59-4e8f-9a0b-1c2d3e4f5a6b"
# Each preset's own keys (a real-looking organisation, not config.example.toml's placeholders).
PRESETS: dict[str, dict[str, Any]] = {
    "okta": {"org_url": "https://acme.okta.com", "authorization_server": "default"},
    "entra": {"tenant_id": TENANT},
    "google": {"allowed_domains": ["acme.test"]},
    "keycloak": {"base_url": "https://sso.acme.test", "realm": "webrix"},
    "oidc": {"issuer": "https://idp.acme.test", "display_name": "Acme SSO"},
}
ISSUERS = {
    "okta": "https://acme.okta.com/oauth2/default",
    "entra": f"https://login.microsoftonline.com/{TENANT}/v2.0",
    "google": "https://accounts.google.com",
    "keycloak": "https://sso.acme.test/realms/webrix",
    "oidc": "https://idp.acme.test",
}
TITLES = {
    "okta": "Okta",
    "entra": "Microsoft Entra ID",
    "google": "Google",
    "keycloak": "Keycloak",
    "oidc": "Acme SSO",
}
PROVIDERS = tuple(PRESETS)


def provider_data(
    db_path: Path, provider: str, *, access: dict[str, Any] | None = None, **keys: Any
) -> dict[str, Any]:
    """A config document with `provider` active: its preset keys, the test client, `keys`."""
    data = config_data(db_path, **({"access": access} if access else {}))
    section = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **PRESETS[provider]}
    section.update(keys)
    if section.get("token_endpoint_auth_method") == "private_key_jwt":
        section.pop("client_secret", None)
    data["auth"] = {"provider": provider, provider: section}
    return data


def provider_config(tmp_path: Path, provider: str, **keys: Any) -> Config:
    """`provider_data` validated, with its database under `tmp_path`."""
    data = provider_data(tmp_path / "webrix.db", provider, **keys)
    return load_data(data, "test.toml", tmp_path)


def new_fake(provider: str, method: str = "client_secret_basic") -> MethodProvider:
    """A fake of `provider`'s issuer that knows the test client and takes `method`."""
    return MethodProvider(
        method, issuer=ISSUERS[provider], client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )


class MethodProvider(FakeProvider):
    """A FakeProvider whose token endpoint takes only `method`; `client_jwks` is the client's
    published JWKS it verifies private_key_jwt assertions with. `token_headers` keeps each
    token request's headers, `assertions` each verified assertion's claims."""

    def __init__(self, method: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.method = method
        self.client_jwks: dict[str, Any] | None = None
        self.token_headers: list[httpx.Headers] = []
        self.assertions: list[dict[str, Any]] = []

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode(), keep_blank_values=True))
        self.token_headers.append(request.headers)
        if self.method == "client_secret_basic":
            return super()._token(request)
        if self.token_error is None and not self._client_ok(request, form):
            self.token_requests.append(form)
            return httpx.Response(
                401, json={"error": "invalid_client", "error_description": "authentication failed"}
            )
        creds = ("client_id", "client_secret", "client_assertion", "client_assertion_type")
        rest = {k: v for k, v in form.items() if k not in creds}
        pair = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        inner = httpx.Request(
            "POST",
            request.url,
            headers={"Authorization": f"Basic {pair}"},
            content=urlencode(rest).encode(),
        )
        response = super()._token(inner)  # the grant checks, as for Basic
        self.token_requests[-1] = form  # what really arrived
        return response

    def _client_ok(self, request: httpx.Request, form: dict[str, str]) -> bool:
        if "authorization" in request.headers or form.get("client_id") != self.client_id:
            return False
        if self.method == "client_secret_post":
            return form.get("client_secret") == self.client_secret
        if "client_secret" in form or form.get("client_assertion_type") != ASSERTION_TYPE:
            return False
        if self.client_jwks is None:
            return False
        try:
            token = jwt.decode(
                form.get("client_assertion", ""),
                KeySet.import_key_set(self.client_jwks),  # type: ignore[arg-type]
                algorithms=["RS256"],
            )
        except (JoseError, ValueError):
            return False
        claims = token.claims
        ok = (
            claims.get("iss") == claims.get("sub") == self.client_id
            and claims.get("aud") == self.url("/oauth2/token")
            and isinstance(claims.get("exp"), int)
            and claims["exp"] > self.clock()
            and bool(claims.get("jti"))
        )
        if ok:
            self.assertions.append(dict(claims))
        return ok
