"""The sign-in routes follow `[auth] provider`: Okta's paths replace JumpCloud's, the JWKS
is published only for private_key_jwt, and each client authentication reaches the provider."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc.jwk import RSAKey

from app.config import Config
from app.store import client_keys
from app.store import users as user_store
from tests.auth.providersso import provider_sso
from tests.auth.sso import CLIENT_SECRET, session_cookie_set

pytestmark = pytest.mark.anyio

ORG = "https://example.okta.com"
OKTA = f"{ORG}/oauth2/default"  # derived from org_url and authorization_server
OKTA_SECTION = {"org_url": ORG, "authorization_server": "default"}
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}


async def test_okta_routes_replace_jumpcloud_s(make_config: Callable[..., Config]) -> None:
    async with provider_sso(make_config, "okta", OKTA_SECTION, issuer=OKTA) as sso:
        location = await sso.start("/admin")
        query = parse_qs(urlsplit(location).query)
        assert query["redirect_uri"] == ["http://127.0.0.1:8080/api/auth/callback/okta"]
        assert query["client_id"] == ["test-client"]
        for path in ("/api/auth/signin/jumpcloud", "/api/auth/callback/jumpcloud"):
            response = await sso.client.get(path, params={"code": "c", "state": "s" * 20})
            assert response.status_code == 404, path
        dashboard = await sso.client.get("/")
        assert dashboard.status_code == 302
        assert dashboard.headers["location"] == "/api/auth/signin/okta?callbackUrl=%2F"


async def test_okta_full_sign_in(make_config: Callable[..., Config]) -> None:
    async with provider_sso(make_config, "okta", OKTA_SECTION, issuer=OKTA) as sso:
        response = await sso.sign_in("/admin")
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/admin"
        assert session_cookie_set(response)
        assert (await sso.session())["user"]["email"] == "ada@example.com"
        user = await sso.user_by_email("ada@example.com")
        assert user is not None
        assert (user.oidc_sub, user.oidc_issuer) == (sso.fake.user["sub"], OKTA)
        assert sso.fake.methods == ["client_secret_basic"]
        [signin] = await sso.events("auth.signin")
        assert signin.target_id == user.id
        # The signed-out page's buttons lead to Okta's sign-in.
        page = await sso.client.get("/signed-out")
        assert 'href="/api/auth/signin/okta?prompt=login"' in page.text
        assert "jumpcloud" not in page.text.lower()


async def test_client_secret_post_reaches_the_provider(
    make_config: Callable[..., Config],
) -> None:
    section = {**OKTA_SECTION, "token_endpoint_auth_method": "client_secret_post"}
    async with provider_sso(make_config, "okta", section, issuer=OKTA) as sso:
        await sso.signed_in()
        assert sso.fake.methods == ["client_secret_post"]
        assert sso.fake.received[0]["client_secret"] == CLIENT_SECRET


async def test_the_jwks_is_not_published_without_private_key_jwt(
    make_config: Callable[..., Config],
) -> None:
    async with provider_sso(make_config, "okta", OKTA_SECTION, issuer=OKTA) as sso:
        response = await sso.client.get("/api/auth/jwks")
        assert response.status_code == 404
        assert await sso.db.fetch_all("SELECT kid FROM client_keys") == []
    jumpcloud = make_config()
    assert not jumpcloud.auth.active.uses_client_key


async def test_private_key_jwt_publishes_the_public_key_and_signs_in(
    make_config: Callable[..., Config],
) -> None:
    section = {
        **OKTA_SECTION,
        "token_endpoint_auth_method": "private_key_jwt",
        "client_secret": None,
    }
    async with provider_sso(make_config, "okta", section, issuer=OKTA) as sso:
        response = await sso.client.get("/api/auth/jwks")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        jwks = response.json()
        [published] = jwks["keys"]
        assert PRIVATE_MEMBERS.isdisjoint(published)
        kept: RSAKey = await sso.db.write(client_keys.load_or_create)
        assert published["kid"] == kept.kid
        assert published["n"] == kept.as_dict()["n"]
        assert kept.as_dict(private=True)["d"] not in response.text

        sso.fake.client_jwks = jwks  # the provider fetched it
        await sso.signed_in()
        assert sso.fake.methods == ["private_key_jwt"]
        [claims] = sso.fake.assertions
        assert claims["aud"] == sso.fake.url("/oauth2/token")
        assert "client_secret" not in sso.fake.received[0]


async def test_private_key_jwt_with_another_key_is_refused_by_the_provider(
    make_config: Callable[..., Config],
) -> None:
    section = {
        **OKTA_SECTION,
        "token_endpoint_auth_method": "private_key_jwt",
        "client_secret": None,
    }
    async with provider_sso(make_config, "okta", section, issuer=OKTA) as sso:
        other = RSAKey.generate_key(2048, private=True, parameters={"kid": "not-ours"})
        sso.fake.client_jwks = {"keys": [other.as_dict(private=False)]}
        response = await sso.sign_in()
        assert response.status_code == 400
        assert not session_cookie_set(response)
        assert await sso.db.read(user_store.find_by_email, "ada@example.com") is None
