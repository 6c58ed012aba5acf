"""The demo identity provider: a full JumpCloud-shaped flow, and everything it must refuse."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry
from starlette.applications import Starlette

from app.demo.provider import DemoProviderError, create_demo_provider
from app.demo.users import DEFAULT_USERS, DemoUser

ISSUER = "http://127.0.0.1:8081/"
CLIENT_ID = "webrix-demo"
CLIENT_SECRET = "s3cret: with +/&% characters"
REDIRECT_URI = "http://127.0.0.1:8080/api/auth/callback/jumpcloud"
POST_LOGOUT = "http://127.0.0.1:8080/"
ADA = DEFAULT_USERS[0]


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Demo:
    app: Starlette
    client: httpx.AsyncClient
    clock: Clock


@dataclass
class Login:
    code: str
    state: str
    nonce: str
    verifier: str


@pytest.fixture
async def demo() -> AsyncIterator[Demo]:
    clock = Clock()
    app = create_demo_provider(
        ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT, clock=clock
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8081") as client:
        yield Demo(app, client, clock)


def basic(client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> dict[str, str]:
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def auth_params(**overrides: str | None) -> dict[str, str]:
    _, challenge = pkce()
    params: dict[str, str | None] = {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid email profile",
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    return {k: v for k, v in params.items() if v is not None}


def query_of(response: httpx.Response) -> dict[str, str]:
    assert response.is_redirect, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def sign_in(demo: Demo, user: DemoUser = ADA) -> Login:
    verifier, challenge = pkce()
    params = auth_params(code_challenge=challenge)
    page = await demo.client.get("/oauth2/auth", params=params)
    assert page.status_code == 200
    found = re.search(r'name="request" value="([^"]+)"', page.text)
    assert found is not None
    chosen = await demo.client.post(
        "/oauth2/auth", data={"request": found.group(1), "user": user.sub}
    )
    assert chosen.status_code == 303
    query = query_of(chosen)
    assert query["state"] == params["state"]
    assert query["iss"] == ISSUER
    return Login(query["code"], params["state"], params["nonce"], verifier)


async def redeem(
    demo: Demo, login: Login, headers: dict[str, str] | None = None, **fields: str
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": login.code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": login.verifier,
        **fields,
    }
    return await demo.client.post(
        "/oauth2/token", data=data, headers=basic() if headers is None else headers
    )


async def verify(demo: Demo, id_token: str, nonce: str) -> dict[str, Any]:
    jwks = (await demo.client.get("/.well-known/jwks.json")).json()
    assert all("d" not in key for key in jwks["keys"])
    token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    JWTClaimsRegistry(
        now=int(demo.clock.now),
        leeway=60,
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": CLIENT_ID},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    ).validate(token.claims)
    return token.claims


@pytest.mark.anyio
async def test_discovery_is_shaped_like_jumpcloud(demo: Demo) -> None:
    doc = (await demo.client.get("/.well-known/openid-configuration")).json()
    assert doc["issuer"] == ISSUER
    assert doc["authorization_endpoint"] == "http://127.0.0.1:8081/oauth2/auth"
    assert doc["token_endpoint"] == "http://127.0.0.1:8081/oauth2/token"
    assert doc["userinfo_endpoint"] == "http://127.0.0.1:8081/userinfo"
    assert doc["jwks_uri"] == "http://127.0.0.1:8081/.well-known/jwks.json"
    assert doc["end_session_endpoint"] == "http://127.0.0.1:8081/oauth2/sessions/logout"
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["token_endpoint_auth_methods_supported"] == ["client_secret_basic"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]


@pytest.mark.anyio
async def test_sign_in_page_is_labelled_and_lists_the_users(demo: Demo) -> None:
    page = await demo.client.get("/oauth2/auth", params=auth_params())
    assert "Webrix demo identity provider — not for production" in page.text
    for user in DEFAULT_USERS:
        assert f'value="{user.sub}"' in page.text
        assert user.email in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


@pytest.mark.anyio
async def test_user_details_are_escaped(demo: Demo) -> None:
    evil = DemoUser("evil", "x@example.com", "<script>alert(1)</script>", "O'Brien")
    app = create_demo_provider(ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT, [evil])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8081") as client:
        page = await client.get("/oauth2/auth", params=auth_params())
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


@pytest.mark.anyio
async def test_full_code_flow(demo: Demo) -> None:
    login = await sign_in(demo)
    response = await redeem(demo, login)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 0
    assert body["access_token"].count(".") == 0  # opaque, like JumpCloud's

    claims = await verify(demo, body["id_token"], login.nonce)
    assert claims["sub"] == ADA.sub
    assert claims["email"] == "ada@example.com"
    assert claims["email_verified"] is True
    assert (claims["given_name"], claims["family_name"]) == ("Ada", "Admin")
    assert claims["groups"] == ["Webrix Admins"]
    assert "name" not in claims
    digest = hashlib.sha256(body["access_token"].encode()).digest()[:16]
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    info = await demo.client.get("/userinfo", headers=bearer)
    assert info.status_code == 200
    assert info.json()["sub"] == ADA.sub
    assert info.json()["email"] == ADA.email

    logout = await demo.client.get(
        "/oauth2/sessions/logout",
        params={
            "id_token_hint": body["id_token"],
            "post_logout_redirect_uri": POST_LOGOUT,
            "state": "after-logout",
        },
    )
    assert logout.status_code == 303
    assert logout.headers["location"] == f"{POST_LOGOUT}?state=after-logout"


@pytest.mark.anyio
async def test_scopes_decide_the_claims(demo: Demo) -> None:
    verifier, challenge = pkce()
    params = auth_params(scope="openid", code_challenge=challenge)
    page = await demo.client.get("/oauth2/auth", params=params)
    found = re.search(r'name="request" value="([^"]+)"', page.text)
    assert found is not None
    user = DEFAULT_USERS[2]
    chosen = await demo.client.post(
        "/oauth2/auth", data={"request": found.group(1), "user": user.sub}
    )
    code = query_of(chosen)["code"]
    login = Login(code, params["state"], params["nonce"], verifier)
    claims = await verify(demo, (await redeem(demo, login)).json()["id_token"], login.nonce)
    assert claims["sub"] == user.sub
    assert claims["groups"] == []
    assert "email" not in claims and "given_name" not in claims


@pytest.mark.anyio
async def test_wrong_client_secret_is_refused(demo: Demo) -> None:
    login = await sign_in(demo)
    response = await redeem(demo, login, headers=basic(secret="wrong"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    assert (await redeem(demo, login, headers=basic(client_id="other"))).status_code == 401
    # a failed client authentication does not burn the code
    assert (await redeem(demo, login)).status_code == 200


@pytest.mark.anyio
async def test_client_secret_post_is_not_accepted(demo: Demo) -> None:
    login = await sign_in(demo)
    body_only = await redeem(
        demo, login, headers={}, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    assert body_only.status_code == 401
    assert body_only.json()["error"] == "invalid_client"
    both = await redeem(demo, login, client_secret=CLIENT_SECRET)
    assert both.status_code == 400
    assert both.json()["error"] == "invalid_request"


@pytest.mark.anyio
async def test_wrong_redirect_uri_is_never_redirected_to(demo: Demo) -> None:
    other = "http://127.0.0.1:9999/steal"
    response = await demo.client.get("/oauth2/auth", params=auth_params(redirect_uri=other))
    assert response.status_code == 400
    assert "location" not in response.headers
    unknown = await demo.client.get("/oauth2/auth", params=auth_params(client_id="nope"))
    assert unknown.status_code == 400


@pytest.mark.anyio
async def test_code_is_bound_to_its_redirect_uri(demo: Demo) -> None:
    login = await sign_in(demo)
    response = await redeem(demo, login, redirect_uri=REDIRECT_URI + "/other")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.anyio
@pytest.mark.parametrize("state", [None, "", "1234567"])
async def test_short_state_is_refused_like_jumpcloud(demo: Demo, state: str | None) -> None:
    response = await demo.client.get("/oauth2/auth", params=auth_params(state=state))
    assert query_of(response)["error"] == "invalid_state"
    assert query_of(response)["iss"] == ISSUER


@pytest.mark.anyio
@pytest.mark.parametrize(
    "overrides",
    [
        {"code_challenge": None},
        {"code_challenge_method": None},
        {"code_challenge_method": "plain"},
        {"code_challenge": "too-short"},
    ],
)
async def test_pkce_s256_is_required(demo: Demo, overrides: dict[str, str | None]) -> None:
    response = await demo.client.get("/oauth2/auth", params=auth_params(**overrides))
    query = query_of(response)
    assert query["error"] == "invalid_request"
    assert "code" not in query


@pytest.mark.anyio
async def test_other_authorization_errors(demo: Demo) -> None:
    token = await demo.client.get("/oauth2/auth", params=auth_params(response_type="token"))
    assert query_of(token)["error"] == "unsupported_response_type"
    no_openid = await demo.client.get("/oauth2/auth", params=auth_params(scope="email"))
    assert query_of(no_openid)["error"] == "invalid_scope"


@pytest.mark.anyio
async def test_wrong_verifier_is_refused(demo: Demo) -> None:
    login = await sign_in(demo)
    response = await redeem(demo, login, code_verifier=pkce()[0])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    # the code was spent by the failed attempt
    assert (await redeem(demo, login)).json()["error"] == "invalid_grant"


@pytest.mark.anyio
async def test_code_replay_is_refused_and_revokes_the_token(demo: Demo) -> None:
    login = await sign_in(demo)
    first = await redeem(demo, login)
    assert first.status_code == 200
    replay = await redeem(demo, login)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}
    assert (await demo.client.get("/userinfo", headers=bearer)).status_code == 401


@pytest.mark.anyio
async def test_code_expires_after_60_seconds(demo: Demo) -> None:
    login = await sign_in(demo)
    demo.clock.now += 61
    response = await redeem(demo, login)
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.anyio
async def test_sign_in_page_is_single_use(demo: Demo) -> None:
    page = await demo.client.get("/oauth2/auth", params=auth_params())
    found = re.search(r'name="request" value="([^"]+)"', page.text)
    assert found is not None
    data = {"request": found.group(1), "user": ADA.sub}
    assert (await demo.client.post("/oauth2/auth", data=data)).status_code == 303
    assert (await demo.client.post("/oauth2/auth", data=data)).status_code == 400
    forged = {"request": "made-up", "user": ADA.sub}
    assert (await demo.client.post("/oauth2/auth", data=forged)).status_code == 400


@pytest.mark.anyio
async def test_userinfo_needs_a_bearer_token(demo: Demo) -> None:
    assert (await demo.client.get("/userinfo")).status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    response = await demo.client.get("/userinfo", headers=bad)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.anyio
async def test_unregistered_post_logout_redirect_is_refused(demo: Demo) -> None:
    response = await demo.client.get(
        "/oauth2/sessions/logout",
        params={"post_logout_redirect_uri": "http://127.0.0.1:9999/elsewhere"},
    )
    assert response.status_code == 400
    assert "location" not in response.headers


@pytest.mark.anyio
async def test_forged_id_token_hint_is_refused(demo: Demo) -> None:
    other = create_demo_provider(ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT)
    transport = httpx.ASGITransport(app=other)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8081") as client:
        elsewhere = Demo(other, client, demo.clock)
        login = await sign_in(elsewhere)
        foreign = (await redeem(elsewhere, login)).json()["id_token"]
    params = {"id_token_hint": foreign, "post_logout_redirect_uri": POST_LOGOUT}
    response = await demo.client.get("/oauth2/sessions/logout", params=params)
    assert response.status_code == 400


@pytest.mark.anyio
async def test_logout_without_redirect_shows_a_page(demo: Demo) -> None:
    response = await demo.client.get("/oauth2/sessions/logout")
    assert response.status_code == 200
    assert "Signed out" in response.text


@pytest.mark.parametrize(
    "issuer",
    [
        "http://192.0.2.10:8081/",
        "https://oauth.id.jumpcloud.com/",
        "http://0.0.0.0:8081/",
        "http://127.0.0.1.example.com/",
        "ftp://127.0.0.1/",
    ],
)
def test_non_loopback_issuer_is_refused(issuer: str) -> None:
    with pytest.raises(DemoProviderError):
        create_demo_provider(issuer, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT)


@pytest.mark.parametrize("issuer", ["http://localhost:8081/", "http://[::1]:8081/"])
def test_loopback_issuers_are_accepted(issuer: str) -> None:
    create_demo_provider(issuer, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT)


@pytest.mark.anyio
@pytest.mark.parametrize("address", ["203.0.113.5", "10.0.0.1", "testclient"])
async def test_non_loopback_clients_are_refused(demo: Demo, address: str) -> None:
    transport = httpx.ASGITransport(app=demo.app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8081") as client:
        response = await client.get("/.well-known/openid-configuration")
    assert response.status_code == 403
