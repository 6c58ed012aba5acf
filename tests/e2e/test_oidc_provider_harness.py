"""The e2e OpenID provider starts and behaves like JumpCloud: proven with httpx, no browser."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from tests.e2e.oidc_provider import Provider, start_oidc_provider

CLIENT_ID = "webrix-e2e"
CLIENT_SECRET = "e2e secret: with +/& odd characters"
REDIRECT_URI = "http://127.0.0.1:9/api/auth/callback/jumpcloud"
POST_LOGOUT_REDIRECT_URI = "http://127.0.0.1:9/signed-out"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with start_oidc_provider(
        CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI
    ) as running:
        yield running


@pytest.fixture(scope="module")
def discovery(provider: Provider) -> dict[str, Any]:
    response = httpx.get(f"{provider.issuer}.well-known/openid-configuration", timeout=10)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


def _basic(client_id: str, client_secret: str) -> str:
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def _authorize(
    client: httpx.Client,
    discovery: dict[str, Any],
    *,
    login: str,
    use_hint: bool = False,
) -> tuple[dict[str, list[str]], str, str, str]:
    """Run authorize → sign-in → callback; return the callback query, state, nonce, verifier."""
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    verifier, challenge = _pkce()
    params = {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid email profile",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if use_hint:
        params["login_hint"] = login
    response = client.get(f"{discovery['authorization_endpoint']}?{urlencode(params)}")
    forms_seen = 0
    for _ in range(10):
        if response.status_code == 200 and 'id="login"' in response.text:
            assert 'id="submit"' in response.text
            forms_seen += 1
            response = client.post(response.url, data={"login": login})
            continue
        assert response.is_redirect, response.text
        location = str(response.url.join(response.headers["location"]))
        if location.startswith(REDIRECT_URI):
            assert forms_seen == (0 if use_hint else 1)
            return parse_qs(urlsplit(location).query), state, nonce, verifier
        response = client.get(location)
    raise AssertionError("too many redirects")


def _redeem(
    discovery: dict[str, Any], code: str, verifier: str, *, secret: str = CLIENT_SECRET
) -> httpx.Response:
    return httpx.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        headers={"Authorization": _basic(CLIENT_ID, secret)},
        timeout=10,
    )


def _verify_id_token(
    provider: Provider, discovery: dict[str, Any], id_token: str, nonce: str
) -> dict[str, Any]:
    jwks = httpx.get(discovery["jwks_uri"], timeout=10).json()
    token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert token.header["alg"] == "RS256"
    registry = JWTClaimsRegistry(
        leeway=60,
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": CLIENT_ID},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    registry.validate(token.claims)
    return token.claims


def test_discovery_looks_like_jumpcloud(provider: Provider, discovery: dict[str, Any]) -> None:
    assert provider.issuer.endswith("/")
    assert discovery["issuer"] == provider.issuer
    assert discovery["authorization_response_iss_parameter_supported"] is True
    assert discovery["end_session_endpoint"] == f"{provider.issuer}oauth2/sessions/logout"
    assert "S256" in discovery["code_challenge_methods_supported"]
    assert discovery["token_endpoint_auth_methods_supported"] == ["client_secret_basic"]
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]
    assert discovery["authorization_endpoint"] == f"{provider.issuer}oauth2/auth"


def test_code_flow_with_basic_auth_and_pkce(provider: Provider, discovery: dict[str, Any]) -> None:
    with httpx.Client(timeout=10) as client:
        query, state, nonce, verifier = _authorize(client, discovery, login="alice@example.com")
    assert query["state"] == [state]
    assert query["iss"] == [provider.issuer]
    code = query["code"][0]

    response = _redeem(discovery, code, verifier)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"].lower() == "bearer"
    claims = _verify_id_token(provider, discovery, tokens["id_token"], nonce)
    assert claims["email"] == "alice@example.com"
    assert claims["email_verified"] is True
    assert claims["given_name"] == "Alice"
    assert claims["family_name"] == "Anderson"
    assert "name" not in claims
    assert claims["groups"] == ["Webrix Admins", "Engineering"]

    userinfo = httpx.get(
        discovery["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )
    assert userinfo.status_code == 200
    assert userinfo.json()["sub"] == claims["sub"]

    replay = _redeem(discovery, code, verifier)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


def test_login_hint_skips_the_form_and_logout_confirms_itself(
    provider: Provider, discovery: dict[str, Any]
) -> None:
    with httpx.Client(timeout=10) as client:
        query, _, nonce, verifier = _authorize(
            client, discovery, login="bob@example.com", use_hint=True
        )
        tokens = _redeem(discovery, query["code"][0], verifier).json()
        claims = _verify_id_token(provider, discovery, tokens["id_token"], nonce)
        assert claims["email"] == "bob@example.com"

        logout = client.get(
            discovery["end_session_endpoint"],
            params={
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI,
                "state": "bye-bye-state",
            },
        )
        assert logout.status_code == 200
        assert "submit()" in logout.text
        action = re.search(r'<form[^>]*action="([^"]+)"', logout.text)
        assert action is not None
        fields = dict(
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', logout.text)
        )
        assert fields["logout"] == "yes"
        done = client.post(unescape(action.group(1)), data=fields)
        assert done.is_redirect
        assert done.headers["location"] == f"{POST_LOGOUT_REDIRECT_URI}?state=bye-bye-state"


def test_refusals(provider: Provider, discovery: dict[str, Any]) -> None:
    with httpx.Client(timeout=10) as client:
        query, _, _, verifier = _authorize(client, discovery, login="alice@example.com")
    code = query["code"][0]
    # client_secret_post is not registered for this client
    as_post = httpx.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
        timeout=10,
    )
    assert as_post.status_code in (400, 401)
    assert as_post.json()["error"] == "invalid_client"
    assert _redeem(discovery, code, verifier, secret="wrong").status_code == 401

    # PKCE is required
    response = httpx.get(
        discovery["authorization_endpoint"],
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid",
            "state": "a-long-enough-state",
        },
        timeout=10,
    )
    assert response.is_redirect
    error = parse_qs(urlsplit(response.headers["location"]).query)
    assert error["error"] == ["invalid_request"]
