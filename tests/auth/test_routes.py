"""The sign-in routes end to end in-process: signin -> FakeProvider -> callback.

Every case of the OpenID RP conformance list, plus the ones users of other relying parties
trip over (two tabs, replays, open redirects, an unreachable provider).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc.jwk import RSAKey

from app.config import Config
from tests.auth.fakeprovider import DROP, hs256_signer, unsigned_signer
from tests.auth.sso import (
    CALLBACK,
    CLIENT_ID,
    CLIENT_SECRET,
    SIGNIN,
    Sso,
    new_fake,
    restore_cookies,
    saved_cookies,
    sso_app,
)

pytestmark = pytest.mark.anyio


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# -- accepted -------------------------------------------------------------------------------


async def test_dashboard_sends_a_visitor_into_sign_in(sso: Sso) -> None:
    response = await sso.client.get("/")
    assert response.status_code == 302
    assert response.headers["location"] == f"{SIGNIN}?callbackUrl=%2F"


async def test_code_flow_with_basic_auth_and_rs256(sso: Sso) -> None:
    location = await sso.start("/")
    query = _query(location)
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["scope"] == "openid email profile"
    assert query["code_challenge_method"] == "S256"
    assert len(query["state"]) >= 8 and query["nonce"]
    response = await sso.callback(sso.fake.authorize(location))
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    session = await sso.session()
    assert session["user"]["email"] == "ada@example.com"
    assert session["user"]["name"] == "Ada Lovelace"
    signins = await sso.events("auth.signin")
    assert len(signins) == 1 and signins[0].request_id == response.headers["x-request-id"]
    page = await sso.client.get("/")
    assert page.status_code == 200
    assert "Ada Lovelace" in page.text


async def test_token_request_uses_basic_auth_and_no_secret_in_body(sso: Sso) -> None:
    await sso.signed_in()
    [request] = [r for r in sso.fake.requests if r.url.path == "/oauth2/token"]
    scheme, _, value = request.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(value).decode() == f"{CLIENT_ID}:{CLIENT_SECRET}"
    body = request.content.decode()
    assert "client_secret" not in body and CLIENT_SECRET not in body
    form = sso.fake.token_requests[0]
    assert form["grant_type"] == "authorization_code"
    assert len(form["code_verifier"]) >= 43
    assert form["redirect_uri"] == "http://127.0.0.1:8080/api/auth/callback/jumpcloud"


async def test_redirect_uri_comes_from_config_not_host_header(sso: Sso) -> None:
    location = await sso.start("/", host="evil.example")
    assert _query(location)["redirect_uri"] == "http://127.0.0.1:8080/api/auth/callback/jumpcloud"


async def test_login_cookie_attributes(sso: Sso) -> None:
    response = await sso.client.get(SIGNIN, params={"callbackUrl": "/"})
    [cookie] = response.headers.get_list("set-cookie")
    assert cookie.startswith("webrix-login-")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Max-Age=600" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # public_url is http here; see the https session test
    assert response.headers["cache-control"] == "no-store"


async def test_no_kid_with_single_key_jwks(sso: Sso) -> None:
    sso.fake.publish_kid = False
    await sso.signed_in()


async def test_key_rotation_between_logins(sso: Sso) -> None:
    await sso.signed_in()
    sso.fake.rotate_key()
    await sso.signed_in()
    assert sso.fake.count("/.well-known/jwks.json") == 2
    assert (await sso.session())["user"]["email"] == "ada@example.com"


async def test_iss_parameter_accepted_when_advertised(sso: Sso) -> None:
    sso.fake.iss_parameter_supported = True
    await sso.signed_in()


# -- refused by the conformance list ----------------------------------------------------------


def _now() -> int:
    return int(time.time())


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"iss": "https://evil.example/"}, id="wrong-iss"),
        pytest.param({"aud": "another-client"}, id="wrong-aud"),
        pytest.param({"aud": DROP}, id="missing-aud"),
        pytest.param({"sub": DROP}, id="missing-sub"),
        pytest.param({"iat": DROP}, id="missing-iat"),
        pytest.param({"exp": lambda: _now() - 3600, "iat": lambda: _now() - 4200}, id="expired"),
        pytest.param(
            {"iat": lambda: _now() + 3600, "exp": lambda: _now() + 4200}, id="iat-in-future"
        ),
    ],
)
async def test_id_token_claims_refused(sso: Sso, claims: dict[str, Any]) -> None:
    sso.fake.claims_override = {k: v() if callable(v) else v for k, v in claims.items()}
    response = await sso.sign_in()
    await sso.assert_refused(response, 400, "invalid_id_token", "Sign-in failed")


async def test_bad_signature(sso: Sso) -> None:
    impostor = RSAKey.generate_key(2048)
    sso.fake.signer = lambda header, claims: sso.fake.sign(header, claims, impostor)
    response = await sso.sign_in()
    await sso.assert_refused(response, 400, "invalid_id_token", "signature")


async def test_alg_none(sso: Sso) -> None:
    sso.fake.signer = unsigned_signer
    response = await sso.sign_in()
    await sso.assert_refused(response, 400, "invalid_id_token", "unsigned")


async def test_hs256_signed_with_the_public_key(sso: Sso) -> None:
    sso.fake.signer = hs256_signer(sso.fake.key.as_pem(private=False))
    response = await sso.sign_in()
    await sso.assert_refused(response, 400, "invalid_id_token", "HS256")


async def test_nonce_mismatch(sso: Sso) -> None:
    sso.fake.claims_override = {"nonce": "not-the-nonce-of-this-sign-in"}
    response = await sso.sign_in()
    await sso.assert_refused(response, 400, "nonce_mismatch", "nonce")


async def test_userinfo_sub_mismatch(sso: Sso) -> None:
    sso.fake.email_in_id_token = False
    sso.fake.userinfo_override = {"sub": "someone-else"}
    response = await sso.sign_in()
    await sso.assert_refused(response, 400, "userinfo_sub_mismatch", "another user")
    assert sso.fake.count("/userinfo") == 1


async def test_email_from_userinfo_when_not_in_id_token(sso: Sso) -> None:
    sso.fake.email_in_id_token = False
    await sso.signed_in()
    [request] = [r for r in sso.fake.requests if r.url.path == "/userinfo"]
    assert request.headers["authorization"].startswith("Bearer ")
    assert (await sso.session())["user"]["email"] == "ada@example.com"


async def test_state_mismatch(sso: Sso) -> None:
    params = sso.fake.authorize(await sso.start())
    params["state"] = "a-state-this-browser-never-started"
    await sso.assert_unknown_state(sso.callback(params), "already used")
    assert sso.fake.count("/oauth2/token") == 0


async def test_missing_state(sso: Sso) -> None:
    params = sso.fake.authorize(await sso.start())
    del params["state"]
    await sso.assert_unknown_state(sso.callback(params))


async def test_replayed_callback_is_refused(sso: Sso) -> None:
    location = await sso.start()
    params = sso.fake.authorize(location)
    login_cookies = saved_cookies(sso.client)
    assert (await sso.callback(params)).status_code == 303
    # Another browser has no login cookie, so a plain replay fails on it ...
    sso.client.cookies.clear()
    await sso.assert_unknown_state(sso.callback(params))
    # ... and a replay that restores the cookie fails because the state was used.
    restore_cookies(sso.client, login_cookies)
    await sso.assert_unknown_state(sso.callback(params))
    assert sso.fake.count("/oauth2/token") == 1


async def test_iss_parameter_mismatch(sso: Sso) -> None:
    sso.fake.iss_parameter_supported = True
    params = sso.fake.authorize(await sso.start())
    params["iss"] = "https://evil.example/"
    response = await sso.callback(params)
    await sso.assert_refused(response, 400, "iss_mismatch", "RFC 9207")
    assert sso.fake.count("/oauth2/token") == 0


async def test_iss_parameter_missing_when_advertised(sso: Sso) -> None:
    sso.fake.iss_parameter_supported = True
    params = sso.fake.authorize(await sso.start())
    del params["iss"]
    await sso.assert_refused(await sso.callback(params), 400, "iss_mismatch")


async def test_provider_error_is_explained(sso: Sso) -> None:
    location = await sso.start()
    params = sso.fake.authorize(location, error="access_denied", error_description="<b>no</b>")
    response = await sso.callback(params)
    await sso.assert_refused(response, 400, "provider_error", "not be assigned", "&lt;b&gt;")


async def test_token_endpoint_refusal(sso: Sso) -> None:
    sso.fake.token_error = (400, {"error": "invalid_grant", "error_description": "expired"})
    response = await sso.sign_in()
    await sso.assert_refused(response, 400, "token_request_failed", "invalid_grant")


# -- the identity provider is down ------------------------------------------------------------


async def test_startup_and_signin_while_provider_is_down(
    make_config: Callable[..., Config],
) -> None:
    fake = new_fake()
    fake.down = True
    async with sso_app(make_config, fake) as sso:  # start-up does not need the provider
        assert (await sso.client.get("/healthz")).status_code == 200
        response = await sso.client.get("/", follow_redirects=True)
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("text/html")
        assert "Identity provider unreachable" in response.text
        assert response.headers["x-request-id"] in response.text
        assert not response.headers.get_list("set-cookie")
        fake.down = False  # once it is back, sign-in works without a restart
        await sso.signed_in()


async def test_provider_down_at_callback(sso: Sso) -> None:
    location = await sso.start()
    params = sso.fake.authorize(location)
    sso.fake.down = True
    response = await sso.callback(params)
    await sso.assert_refused(response, 503, "provider_unreachable", "Identity provider unreachable")


# -- where the browser goes afterwards ---------------------------------------------------------


@pytest.mark.parametrize(
    "callback_url",
    [
        "https://evil.example/x",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/\r\nSet-Cookie:x=y",
        "/\tx",
        "",
        None,
    ],
)
async def test_callback_url_to_another_origin_lands_on_root(
    sso: Sso, callback_url: str | None
) -> None:
    response = await sso.sign_in(callback_url)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_same_origin_callback_url_is_honoured(sso: Sso) -> None:
    response = await sso.sign_in("/x?y=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/x?y=1"


async def test_dashboard_query_survives_the_sign_in(sso: Sso) -> None:
    response = await sso.client.get("/?tab=2")
    assert response.headers["location"] == f"{SIGNIN}?callbackUrl=%2F%3Ftab%3D2"


async def test_two_tabs_both_complete(sso: Sso) -> None:
    first = await sso.start("/first")
    second = await sso.start("/second")
    assert len([c for c in sso.client.cookies if c.startswith("webrix-login-")]) == 2
    first_params, second_params = sso.fake.authorize(first), sso.fake.authorize(second)
    done_second = await sso.callback(second_params)
    done_first = await sso.callback(first_params)
    assert (done_second.status_code, done_second.headers["location"]) == (303, "/second")
    assert (done_first.status_code, done_first.headers["location"]) == (303, "/first")
    assert (await sso.session())["user"]["email"] == "ada@example.com"
    assert not [c for c in sso.client.cookies if c.startswith("webrix-login-")]


async def test_abandoned_sign_ins_are_pruned_oldest_first(sso: Sso) -> None:
    locations = [await sso.start(f"/tab{i}") for i in range(7)]
    pending = [c for c in sso.client.cookies if c.startswith("webrix-login-")]
    assert len(pending) == 5
    # The newest attempts are the ones kept.
    for location in locations[-5:]:
        response = await sso.callback(sso.fake.authorize(location))
        assert response.status_code == 303, response.text
    response = await sso.callback(sso.fake.authorize(locations[0]))
    assert response.status_code == 400


async def test_login_cookies_the_service_did_not_name_are_left_alone(sso: Sso) -> None:
    """Anyone can send cookies named like ours; pruning only ever clears the names it made
    (a name Set-Cookie cannot carry, like this one, used to end in a 500)."""
    forged = "; ".join(["webrix-login-a(b)=x", *(f"webrix-login-{i}=x" for i in range(6))])
    response = await sso.client.get(SIGNIN, headers={"Cookie": forged})
    assert response.status_code == 302
    cleared = [c for c in response.headers.get_list("set-cookie") if "Max-Age=0" in c]
    assert cleared == []


async def test_callback_path_is_the_registered_one(sso: Sso) -> None:
    assert sso.config.redirect_uri == f"http://127.0.0.1:8080{CALLBACK}"
