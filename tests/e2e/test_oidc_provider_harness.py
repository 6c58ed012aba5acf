"""The e2e OpenID provider starts and behaves like JumpCloud, or like each preset (Okta, Keycloak,
Google, Entra ID, a generic provider): proven with httpx, no browser."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from joserfc.jwt import JWTClaimsRegistry

from tests.e2e.oidc_provider import (
    DEFAULT_TENANT_ID,
    ClientAuth,
    Preset,
    Provider,
    ProviderUser,
    start_oidc_provider,
)

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


# --- Presets: Okta, Keycloak, Google, Entra ID, a generic provider ------------------------------

PRESET_USERS: list[ProviderUser] = [
    {
        "sub": "carol-0003",
        "email": "carol@corp.example",
        "given_name": "Carol",
        "family_name": "Clark",
        "groups": ["Webrix Admins"],
        "hd": "corp.example",
        "oid": "6f1c0b7e-2a43-4d4e-9a55-0c8d1e2f3a4b",
    },
    {
        "sub": "dave-0004",
        "email": "dave@gmail.example",
        "given_name": "Dave",
        "family_name": "Davis",
        "groups": [],
        "email_claim": False,
    },
    {
        "sub": "erin-0005",
        "email": "erin@corp.example",
        "given_name": "Erin",
        "family_name": "Evans",
        "groups": ["0b5c6d7e-0000-4000-8000-000000000001"],
        "groups_overage": True,
    },
]
ENTRA_ADMINS = "2f6a1d3c-8b9e-4c7d-a1b2-c3d4e5f60718"
TENANT = "0d7e2a41-5c3b-4f9a-8e6d-1b2c3d4e5f60"


@contextmanager
def _preset(
    preset: Preset, client_auth: ClientAuth = "client_secret_basic", **kwargs: Any
) -> Iterator[Provider]:
    users = [dict(u) for u in PRESET_USERS]
    if preset == "entra":
        users[0]["groups"] = [ENTRA_ADMINS]
    with start_oidc_provider(
        CLIENT_ID,
        CLIENT_SECRET,
        REDIRECT_URI,
        POST_LOGOUT_REDIRECT_URI,
        cast(list[ProviderUser], users),
        preset=preset,
        client_auth=client_auth,
        **kwargs,
    ) as running:
        yield running


def _discover(url: str) -> dict[str, Any]:
    response = httpx.get(url, timeout=10)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


@contextmanager
def _serve_jwks(jwks: dict[str, Any]) -> Iterator[tuple[str, list[str]]]:
    """A tiny loopback server publishing the client's JWKS, as the service does; yields its URL
    and the paths fetched from it."""
    body = json.dumps(jwks).encode()
    fetched: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetched.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/auth/jwks", fetched
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _client_assertion(key: RSAKey, audience: str) -> str:
    now = int(time.time())
    claims = {
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": audience,
        "jti": secrets.token_urlsafe(16),
        "iat": now,
        "exp": now + 60,
    }
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def _token_request(
    discovery: dict[str, Any],
    code: str,
    verifier: str,
    auth: ClientAuth,
    *,
    key: RSAKey | None = None,
    audience: str | None = None,
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    headers = {}
    if auth == "client_secret_basic":
        headers["Authorization"] = _basic(CLIENT_ID, CLIENT_SECRET)
    elif auth == "client_secret_post":
        data |= {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    else:
        assert key is not None
        data |= {
            "client_id": CLIENT_ID,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": _client_assertion(key, audience or discovery["token_endpoint"]),
        }
    return httpx.post(discovery["token_endpoint"], data=data, headers=headers, timeout=10)


def _code_for(
    client: httpx.Client, discovery: dict[str, Any], login: str
) -> tuple[dict[str, list[str]], str, str]:
    query, state, nonce, verifier = _authorize(client, discovery, login=login, use_hint=True)
    assert query["state"] == [state]
    return query, nonce, verifier


def _sign_in(
    provider: Provider,
    discovery: dict[str, Any],
    login: str,
    auth: ClientAuth = "client_secret_basic",
    **token_kwargs: Any,
) -> tuple[dict[str, list[str]], dict[str, Any], dict[str, Any]]:
    """A code flow with login_hint; return the callback query, the token response, the claims."""
    with httpx.Client(timeout=10) as client:
        query, nonce, verifier = _code_for(client, discovery, login)
    response = _token_request(discovery, query["code"][0], verifier, auth, **token_kwargs)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return query, tokens, _verify_id_token(provider, discovery, tokens["id_token"], nonce)


def _refused(discovery: dict[str, Any], login: str, auth: ClientAuth, **kwargs: Any) -> None:
    with httpx.Client(timeout=10) as client:
        query, _, verifier = _code_for(client, discovery, login)
    response = _token_request(discovery, query["code"][0], verifier, auth, **kwargs)
    assert response.status_code in (400, 401), response.text
    assert response.json()["error"] == "invalid_client"


def _endpoints(discovery: dict[str, Any], base: str) -> dict[str, str]:
    names = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
    found = {name: discovery[name].removeprefix(base) for name in names}
    if "end_session_endpoint" in discovery:
        found["end_session_endpoint"] = discovery["end_session_endpoint"].removeprefix(base)
    return found


def test_okta_custom_authorization_server_with_client_secret_post() -> None:
    with _preset("okta", "client_secret_post") as okta:
        assert okta.issuer == f"{okta.base_url}/oauth2/default"
        assert okta.configured_issuer == okta.issuer
        discovery = _discover(okta.discovery_url)
        assert discovery["issuer"] == okta.issuer
        assert _endpoints(discovery, okta.base_url) == {
            "authorization_endpoint": "/oauth2/default/v1/authorize",
            "token_endpoint": "/oauth2/default/v1/token",
            "userinfo_endpoint": "/oauth2/default/v1/userinfo",
            "jwks_uri": "/oauth2/default/v1/keys",
            "end_session_endpoint": "/oauth2/default/v1/logout",
        }
        assert discovery["token_endpoint_auth_methods_supported"] == ["client_secret_post"]

        query, _, claims = _sign_in(okta, discovery, "carol@corp.example", "client_secret_post")
        assert query["iss"] == [okta.issuer]
        assert claims["iss"] == okta.issuer
        assert claims["groups"] == ["Webrix Admins"]
        assert claims["email_verified"] is True
        assert claims["preferred_username"] == "carol@corp.example"
        assert "hd" not in claims and "tid" not in claims
        _refused(discovery, "carol@corp.example", "client_secret_basic")


def test_keycloak_realm_with_private_key_jwt_and_logout() -> None:
    key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"})
    key.ensure_kid()
    other = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"})
    other.ensure_kid()
    with (
        _serve_jwks({"keys": [key.as_dict(private=False)]}) as (jwks_uri, fetched),
        _preset("keycloak", "private_key_jwt", client_jwks_uri=jwks_uri) as keycloak,
    ):
        realm = "/realms/webrix"
        assert keycloak.issuer == f"{keycloak.base_url}{realm}"
        discovery = _discover(keycloak.discovery_url)
        assert discovery["issuer"] == keycloak.issuer
        oc = f"{realm}/protocol/openid-connect"
        assert _endpoints(discovery, keycloak.base_url) == {
            "authorization_endpoint": f"{oc}/auth",
            "token_endpoint": f"{oc}/token",
            "userinfo_endpoint": f"{oc}/userinfo",
            "jwks_uri": f"{oc}/certs",
            "end_session_endpoint": f"{oc}/logout",
        }
        assert discovery["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]

        _, tokens, claims = _sign_in(
            keycloak, discovery, "carol@corp.example", "private_key_jwt", key=key
        )
        assert claims["groups"] == ["Webrix Admins"]
        assert claims["email_verified"] is True
        assert fetched and fetched[0] == "/api/auth/jwks"
        # the issuer is an accepted audience too
        _sign_in(
            keycloak,
            discovery,
            "dave@gmail.example",
            "private_key_jwt",
            key=key,
            audience=keycloak.issuer,
        )
        _refused(discovery, "carol@corp.example", "private_key_jwt", key=other)
        _refused(discovery, "carol@corp.example", "client_secret_post")
        _refused(discovery, "carol@corp.example", "client_secret_basic")

        with httpx.Client(timeout=10) as client:
            logout = client.get(
                discovery["end_session_endpoint"],
                params={
                    "id_token_hint": tokens["id_token"],
                    "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI,
                    "state": "kc-state",
                },
            )
            assert logout.status_code == 200
            action = re.search(r'<form[^>]*action="([^"]+)"', logout.text)
            assert action is not None
            assert unescape(action.group(1)).startswith(f"{keycloak.issuer}/protocol/")
            fields = dict(
                re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', logout.text)
            )
            assert fields["logout"] == "yes"
            done = client.post(unescape(action.group(1)), data=fields)
        assert done.is_redirect
        assert done.headers["location"] == f"{POST_LOGOUT_REDIRECT_URI}?state=kc-state"


def test_google_issuer_hd_and_no_end_session() -> None:
    with _preset("google") as google:
        assert (
            google.issuer == google.base_url
        )  # no trailing slash, like https://accounts.google.com
        discovery = _discover(f"{google.issuer}/.well-known/openid-configuration")
        assert discovery["issuer"] == google.issuer
        assert "end_session_endpoint" not in discovery
        assert "authorization_response_iss_parameter_supported" not in discovery
        assert _endpoints(discovery, google.base_url) == {
            "authorization_endpoint": "/o/oauth2/v2/auth",
            "token_endpoint": "/token",
            "userinfo_endpoint": "/v1/userinfo",
            "jwks_uri": "/oauth2/v3/certs",
        }

        query, _, workspace = _sign_in(google, discovery, "carol@corp.example")
        assert "iss" not in query
        assert workspace["hd"] == "corp.example"
        assert workspace["email_verified"] is True
        assert "groups" not in workspace
        _, _, consumer = _sign_in(google, discovery, "dave@gmail.example")
        assert "hd" not in consumer
        assert consumer["email"] == "dave@gmail.example"
        _refused(discovery, "carol@corp.example", "client_secret_post")


def test_entra_single_tenant_claims() -> None:
    with _preset("entra", tenant_id=TENANT) as entra:
        assert entra.tenant_id == TENANT
        assert entra.issuer == f"{entra.base_url}/{TENANT}/v2.0"
        assert entra.configured_issuer == entra.issuer
        discovery = _discover(entra.discovery_url)
        assert discovery["issuer"] == entra.issuer
        assert "authorization_response_iss_parameter_supported" not in discovery
        assert "email_verified" not in discovery["claims_supported"]
        assert _endpoints(discovery, entra.base_url) == {
            "authorization_endpoint": f"/{TENANT}/oauth2/v2.0/authorize",
            "token_endpoint": f"/{TENANT}/oauth2/v2.0/token",
            "userinfo_endpoint": f"/{TENANT}/oidc/userinfo",
            "jwks_uri": f"/{TENANT}/discovery/v2.0/keys",
            "end_session_endpoint": f"/{TENANT}/oauth2/v2.0/logout",
        }

        query, tokens, carol = _sign_in(entra, discovery, "carol@corp.example")
        assert "iss" not in query
        assert carol["iss"] == entra.issuer
        assert carol["tid"] == TENANT
        assert carol["oid"] == "6f1c0b7e-2a43-4d4e-9a55-0c8d1e2f3a4b"
        assert carol["preferred_username"] == carol["email"] == "carol@corp.example"
        assert "email_verified" not in carol
        assert carol["groups"] == [ENTRA_ADMINS]
        assert "_claim_names" not in carol
        userinfo = httpx.get(
            discovery["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=10,
        ).json()
        assert "email_verified" not in userinfo

        _, _, dave = _sign_in(entra, discovery, "dave@gmail.example")
        assert "email" not in dave
        assert dave["preferred_username"] == "dave@gmail.example"
        assert re.fullmatch(
            r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}", dave["oid"]
        )

        _, _, erin = _sign_in(entra, discovery, "erin@corp.example")
        assert "groups" not in erin
        assert erin["_claim_names"] == {"groups": "src1"}
        assert erin["_claim_sources"] == {
            "src1": {
                "endpoint": f"https://graph.microsoft.com/v1.0/users/{erin['oid']}/getMemberObjects"
            }
        }
        _refused(discovery, "carol@corp.example", "client_secret_post")


def test_entra_multi_tenant_templated_discovery() -> None:
    with _preset("entra", "client_secret_post", multi_tenant=True) as entra:
        tenant = DEFAULT_TENANT_ID
        assert entra.tenant_id == tenant
        assert entra.issuer == f"{entra.base_url}/{tenant}/v2.0"
        assert entra.configured_issuer == f"{entra.base_url}/organizations/v2.0"
        assert (
            _discover(f"{entra.issuer}/.well-known/openid-configuration")["issuer"] == entra.issuer
        )
        for segment in ("organizations", "common"):
            document = _discover(
                f"{entra.base_url}/{segment}/v2.0/.well-known/openid-configuration"
            )
            assert document["issuer"] == f"{entra.base_url}/{{tenantid}}/v2.0"
            assert document["authorization_endpoint"] == (
                f"{entra.base_url}/{segment}/oauth2/v2.0/authorize"
            )
        discovery = _discover(entra.discovery_url)
        assert discovery["token_endpoint_auth_methods_supported"] == ["client_secret_post"]

        # signing in through the /organizations endpoints gives the tenant's own issuer
        _, _, claims = _sign_in(entra, discovery, "carol@corp.example", "client_secret_post")
        assert claims["iss"] == entra.issuer
        assert claims["tid"] == tenant
        jwks = _discover(discovery["jwks_uri"])
        assert jwks == _discover(f"{entra.base_url}/{tenant}/discovery/v2.0/keys")


def test_generic_provider() -> None:
    with _preset("oidc") as generic:
        assert generic.issuer == f"{generic.base_url}/idp"
        discovery = _discover(generic.discovery_url)
        assert discovery["issuer"] == generic.issuer
        assert discovery["token_endpoint_auth_methods_supported"] == ["client_secret_basic"]
        assert discovery["end_session_endpoint"] == f"{generic.issuer}/session/end"
        query, _, claims = _sign_in(generic, discovery, "carol@corp.example")
        assert query["iss"] == [generic.issuer]
        assert claims["email_verified"] is True
        assert claims["groups"] == ["Webrix Admins"]
        _refused(discovery, "carol@corp.example", "client_secret_post")


def test_jumpcloud_default_is_unchanged(provider: Provider) -> None:
    assert provider.preset == "jumpcloud"
    assert provider.configured_issuer == provider.issuer == f"{provider.base_url}/"
    assert provider.tenant_id is None


def test_private_key_jwt_needs_a_jwks_uri() -> None:
    with pytest.raises(ValueError, match="client_jwks_uri"), _preset("okta", "private_key_jwt"):
        pass
