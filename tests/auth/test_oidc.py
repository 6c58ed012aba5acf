from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import anyio
import httpx
import pytest
from joserfc.jwk import RSAKey

from app.auth.errors import OidcError, ProviderUnreachable
from app.auth.oidc import OidcClient, SignInResult
from app.auth.transaction import TRANSACTION_MAX_AGE, LoginTransaction
from tests.auth.fakeprovider import (
    DROP,
    FakeClock,
    FakeProvider,
    b64url,
    hs256_signer,
    unsigned_signer,
)

pytestmark = pytest.mark.anyio

REDIRECT_URI = "https://webrix.example.com/auth/callback"
ISSUER = "https://oauth.id.jumpcloud.com/"


@dataclass
class Setup:
    provider: FakeProvider
    client: OidcClient
    clock: FakeClock
    http: httpx.AsyncClient

    def make_client(self, **kwargs: Any) -> OidcClient:
        options: dict[str, Any] = {
            "issuer": self.provider.issuer,
            "client_id": self.provider.client_id,
            "client_secret": self.provider.client_secret,
            "redirect_uri": REDIRECT_URI,
            "http": self.http,
            "clock": self.clock,
        }
        options.update(kwargs)
        return OidcClient(**options)

    async def begin(
        self, client: OidcClient | None = None, **authorize: Any
    ) -> tuple[dict[str, str], LoginTransaction]:
        client = client or self.client
        tx = client.new_transaction("/after")
        params = self.provider.authorize(await client.authorization_url(tx), **authorize)
        return params, tx

    async def sign_in(self, client: OidcClient | None = None, **authorize: Any) -> SignInResult:
        client = client or self.client
        params, tx = await self.begin(client, **authorize)
        return await client.handle_callback(params, tx)

    async def refused(self, code: str, client: OidcClient | None = None) -> OidcError:
        with pytest.raises(OidcError) as info:
            await self.sign_in(client)
        assert info.value.code == code, info.value.message
        return info.value


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    clock = FakeClock()
    provider = FakeProvider(clock=clock)
    async with httpx.AsyncClient(transport=provider.transport) as http:
        client = OidcClient(
            issuer=provider.issuer,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            redirect_uri=REDIRECT_URI,
            http=http,
            clock=clock,
        )
        yield Setup(provider, client, clock, http)


def now(setup: Setup) -> int:
    return int(setup.clock())


# -- accepted -------------------------------------------------------------------------


async def test_code_flow_with_basic_auth(setup: Setup) -> None:
    result = await setup.sign_in()
    assert result.sub == setup.provider.user["sub"]
    assert result.email == "ada@example.com"
    assert result.email_verified is True
    assert (result.given_name, result.family_name) == ("Ada", "Lovelace")
    assert result.name == "Ada Lovelace"
    assert result.groups == []
    assert result.claims["iss"] == ISSUER
    assert result.id_token.count(".") == 2
    assert result.id_token not in repr(result)
    assert setup.provider.count("/userinfo") == 0  # email already in the ID token


async def test_token_request_shape(setup: Setup) -> None:
    await setup.sign_in()
    (request,) = [r for r in setup.provider.requests if r.url.path == "/oauth2/token"]
    assert request.method == "POST"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = dict(parse_qsl(request.content.decode()))
    assert set(form) == {"grant_type", "code", "redirect_uri", "code_verifier"}
    assert form["grant_type"] == "authorization_code"
    assert form["redirect_uri"] == REDIRECT_URI


async def test_basic_header_form_urlencodes_credentials(setup: Setup) -> None:
    secret = "p:ss+w%rd/ x"
    setup.provider.client_secret = secret
    client = setup.make_client(client_secret=secret)
    await setup.sign_in(client)
    (request,) = [r for r in setup.provider.requests if r.url.path == "/oauth2/token"]
    expected = base64.b64encode(
        f"{setup.provider.client_id}:p%3Ass%2Bw%25rd%2F+x".encode()
    ).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    body = request.content.decode()
    assert "client_secret" not in body
    assert "p%3Ass" not in body and "ss+w" not in body


async def test_wrong_client_secret_is_reported_without_the_secret(setup: Setup) -> None:
    client = setup.make_client(client_secret="wrong-secret-value")
    error = await setup.refused("token_request_failed", client)
    assert "invalid_client" in error.message
    assert "wrong-secret-value" not in error.message


async def test_authorization_url_and_pkce(setup: Setup) -> None:
    tx = setup.client.new_transaction("/x")
    url = await setup.client.authorization_url(tx)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == setup.provider.url("/oauth2/auth")
    assert "scope=openid%20email%20profile" in parts.query
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == setup.provider.client_id
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["state"] == tx.state and query["nonce"] == tx.nonce
    assert query["code_challenge_method"] == "S256"
    digest = hashlib.sha256(tx.code_verifier.encode()).digest()
    assert query["code_challenge"] == b64url(digest)
    assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", tx.code_verifier)
    assert re.fullmatch(r"[A-Za-z0-9\-_]{32,}", tx.state)
    assert tx.state != tx.nonce
    assert tx.return_to == "/x" and tx.created_at == setup.clock()


async def test_authorization_endpoint_with_existing_query(setup: Setup) -> None:
    endpoint = setup.provider.url("/oauth2/auth") + "?tenant=a%20b&client_id=stale"
    setup.provider.discovery_override = {"authorization_endpoint": endpoint}
    url = await setup.client.authorization_url(
        setup.client.new_transaction("/"), extra_params={"login_hint": "a+b@example.com"}
    )
    query = parse_qs(urlsplit(url).query)
    assert query["tenant"] == ["a b"]
    assert query["client_id"] == [setup.provider.client_id]
    assert query["login_hint"] == ["a+b@example.com"]


async def test_transaction_round_trip(setup: Setup) -> None:
    tx = setup.client.new_transaction("/back")
    assert LoginTransaction.from_dict(tx.as_dict()) == tx
    with pytest.raises(ValueError):
        LoginTransaction.from_dict({"state": "x"})


async def test_no_kid_with_single_key_jwks(setup: Setup) -> None:
    setup.provider.publish_kid = False
    assert "kid" not in setup.provider.jwks()["keys"][0]
    result = await setup.sign_in()
    assert result.sub == setup.provider.user["sub"]


async def test_no_kid_with_several_keys_is_refused(setup: Setup) -> None:
    setup.provider.publish_kid = False
    setup.provider.rotate_key(keep_old=True)
    await setup.refused("invalid_id_token")


async def test_key_rotation_between_logins(setup: Setup) -> None:
    await setup.sign_in()
    setup.clock.advance(3600 * 5)
    setup.provider.rotate_key()
    await setup.sign_in()
    assert setup.provider.count("/.well-known/jwks.json") == 2


async def test_key_rotation_seconds_after_startup_and_refetch_rate_limit(setup: Setup) -> None:
    provider = setup.provider
    await setup.sign_in()
    assert provider.count("/.well-known/jwks.json") == 1

    setup.clock.advance(2)  # the first forced refetch is allowed straight away
    provider.rotate_key()
    await setup.sign_in()
    assert provider.count("/.well-known/jwks.json") == 2

    setup.clock.advance(3)  # within 10 s of the previous forced refetch: no refetch
    provider.rotate_key()
    await setup.refused("invalid_id_token")
    assert provider.count("/.well-known/jwks.json") == 2

    setup.clock.advance(8)  # 11 s after the previous forced refetch
    await setup.sign_in()
    assert provider.count("/.well-known/jwks.json") == 3

    await setup.sign_in()  # known key: no more fetches
    assert provider.count("/.well-known/jwks.json") == 3


async def test_configured_issuer_without_trailing_slash(setup: Setup) -> None:
    client = setup.make_client(issuer=ISSUER.rstrip("/"))
    result = await setup.sign_in(client)
    assert result.claims["iss"] == ISSUER
    assert str(setup.provider.requests[0].url) == ISSUER + ".well-known/openid-configuration"


async def test_email_from_userinfo(setup: Setup) -> None:
    setup.provider.email_in_id_token = False
    setup.provider.userinfo_override = {"iss": "https://evil.example/", "given_name": "Augusta"}
    result = await setup.sign_in()
    assert result.email == "ada@example.com"
    assert result.given_name == "Augusta"
    assert result.claims["iss"] == ISSUER
    (request,) = [r for r in setup.provider.requests if r.url.path == "/userinfo"]
    assert request.headers["Authorization"].startswith("Bearer ")


async def test_bearer_token_type_is_case_insensitive(setup: Setup) -> None:
    setup.provider.token_response_override = {"token_type": "BEARER"}
    await setup.sign_in()


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"memberOf": "Admins"}, ["Admins"]),
        ({"memberOf": ["Admins", "Staff"]}, ["Admins", "Staff"]),
        ({"groups": ["A", 3, None, "", "B", "A"]}, ["A", "B"]),
        ({"groups": "Solo", "memberOf": ["Other"]}, ["Solo"]),
        ({"groups": {"not": "a list"}}, []),
    ],
)
async def test_groups_claim(setup: Setup, claims: dict[str, Any], expected: list[str]) -> None:
    setup.provider.user.update(claims)
    result = await setup.sign_in()
    assert result.groups == expected


async def test_groups_claim_named_by_admin(setup: Setup) -> None:
    setup.provider.user.update({"teams": "Ops", "groups": ["ignored"]})
    result = await setup.sign_in(setup.make_client(groups_claim="teams"))
    assert result.groups == ["Ops"]


async def test_name_claim_wins_over_given_and_family(setup: Setup) -> None:
    setup.provider.user["name"] = "Countess of Lovelace"
    assert (await setup.sign_in()).name == "Countess of Lovelace"
    setup.provider.user = {"sub": "u1", "email": "x@example.com"}
    result = await setup.sign_in()
    assert result.name is None and result.email_verified is False


async def test_iat_in_future_within_leeway_is_accepted(setup: Setup) -> None:
    setup.provider.claims_override = {"iat": now(setup) + 50}
    await setup.sign_in()


async def test_multiple_audiences_with_azp(setup: Setup) -> None:
    client_id = setup.provider.client_id
    setup.provider.claims_override = {"aud": [client_id, "other"], "azp": client_id}
    await setup.sign_in()


# -- ID token rejected ----------------------------------------------------------------


@pytest.mark.parametrize(
    "override",
    [
        pytest.param({"iss": "https://evil.example/"}, id="wrong-iss"),
        pytest.param({"iss": ISSUER.rstrip("/")}, id="iss-without-trailing-slash"),
        pytest.param({"iss": DROP}, id="missing-iss"),
        pytest.param({"aud": DROP}, id="missing-aud"),
        pytest.param({"aud": "other-client"}, id="wrong-aud"),
        pytest.param({"aud": ["other-client", "another"]}, id="wrong-aud-list"),
        pytest.param({"sub": DROP}, id="missing-sub"),
        pytest.param({"sub": ""}, id="empty-sub"),
        pytest.param({"sub": 42}, id="non-string-sub"),
        pytest.param({"iat": DROP}, id="missing-iat"),
        pytest.param({"exp": DROP}, id="missing-exp"),
        pytest.param({"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}, id="bad-at-hash"),
    ],
)
async def test_claims_rejected(setup: Setup, override: dict[str, Any]) -> None:
    setup.provider.claims_override = override
    await setup.refused("invalid_id_token")


async def test_multiple_audiences_without_azp(setup: Setup) -> None:
    setup.provider.claims_override = {"aud": [setup.provider.client_id, "other"]}
    error = await setup.refused("invalid_id_token")
    assert "azp" in error.message


async def test_wrong_azp(setup: Setup) -> None:
    setup.provider.claims_override = {"azp": "other-client"}
    await setup.refused("invalid_id_token")


async def test_expired(setup: Setup) -> None:
    setup.provider.claims_override = {"exp": now(setup) - 61, "iat": now(setup) - 700}
    error = await setup.refused("invalid_id_token")
    assert "expired" in error.message


async def test_expired_within_leeway_is_accepted(setup: Setup) -> None:
    setup.provider.claims_override = {"exp": now(setup) - 30}
    await setup.sign_in()


async def test_iat_in_future_beyond_leeway(setup: Setup) -> None:
    setup.provider.claims_override = {"iat": now(setup) + 120}
    error = await setup.refused("invalid_id_token")
    assert "future" in error.message


async def test_bad_signature(setup: Setup) -> None:
    impostor = RSAKey.generate_key(2048)
    provider = setup.provider
    provider.signer = lambda header, claims: provider.sign(header, claims, impostor)
    error = await setup.refused("invalid_id_token")
    assert "signature" in error.message


async def test_tampered_payload(setup: Setup) -> None:
    provider = setup.provider

    def tamper(header: dict[str, Any], claims: dict[str, Any]) -> str:
        head, _, signature = provider.sign(header, claims).split(".")
        # Every claim stays valid (iss, aud, exp, nonce, at_hash...): only the signature
        # can tell that the subject was swapped.
        forged = b64url(json.dumps({**claims, "sub": "admin"}).encode())
        return f"{head}.{forged}.{signature}"

    provider.signer = tamper
    error = await setup.refused("invalid_id_token")
    assert "signature" in error.message


async def test_alg_none(setup: Setup) -> None:
    setup.provider.signer = unsigned_signer
    error = await setup.refused("invalid_id_token")
    assert "alg none" in error.message
    assert setup.provider.count("/.well-known/jwks.json") == 0  # refused before any key lookup


async def test_hs256_with_some_secret(setup: Setup) -> None:
    setup.provider.signer = hs256_signer(b"a shared secret of thirty-two bytes!")
    error = await setup.refused("invalid_id_token")
    assert "HS256" in error.message


async def test_hs256_with_public_key_as_secret(setup: Setup) -> None:
    public_pem = setup.provider.key.as_pem(private=False)
    setup.provider.signer = hs256_signer(public_pem)
    await setup.refused("invalid_id_token")


@pytest.mark.parametrize("alg", ["none", "HS256", "RS256,HS256"])
async def test_symmetric_or_none_algorithms_cannot_be_configured(setup: Setup, alg: str) -> None:
    with pytest.raises(ValueError):
        setup.make_client(algorithms=tuple(alg.split(",")))


async def test_nonce_mismatch(setup: Setup) -> None:
    setup.provider.claims_override = {"nonce": "some-other-nonce"}
    await setup.refused("nonce_mismatch")


async def test_missing_nonce(setup: Setup) -> None:
    setup.provider.claims_override = {"nonce": DROP}
    await setup.refused("nonce_mismatch")


async def test_userinfo_sub_mismatch(setup: Setup) -> None:
    setup.provider.email_in_id_token = False
    setup.provider.userinfo_override = {"sub": "someone-else"}
    await setup.refused("userinfo_sub_mismatch")


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"id_token": DROP}, "invalid_token_response"),
        ({"token_type": "mac"}, "invalid_token_response"),
        ({"token_type": DROP}, "invalid_token_response"),
        ({"access_token": DROP}, "invalid_token_response"),
    ],
)
async def test_bad_token_response(setup: Setup, override: dict[str, Any], code: str) -> None:
    setup.provider.token_response_override = override
    await setup.refused(code)


# -- callback rejected ----------------------------------------------------------------


async def test_state_mismatch(setup: Setup) -> None:
    params, tx = await setup.begin()
    params["state"] = setup.client.new_transaction("/").state
    with pytest.raises(OidcError) as info:
        await setup.client.handle_callback(params, tx)
    assert info.value.code == "state_mismatch"
    assert setup.provider.count("/oauth2/token") == 0


async def test_missing_state(setup: Setup) -> None:
    params, tx = await setup.begin()
    del params["state"]
    with pytest.raises(OidcError) as info:
        await setup.client.handle_callback(params, tx)
    assert info.value.code == "state_mismatch"


async def test_replayed_callback_is_refused_by_the_provider(setup: Setup) -> None:
    params, tx = await setup.begin()
    await setup.client.handle_callback(params, tx)
    with pytest.raises(OidcError) as info:
        await setup.client.handle_callback(params, tx)
    assert info.value.code == "token_request_failed"
    assert "invalid_grant" in info.value.message


async def test_expired_transaction(setup: Setup) -> None:
    params, tx = await setup.begin()
    setup.clock.advance(TRANSACTION_MAX_AGE + 1)
    with pytest.raises(OidcError) as info:
        await setup.client.handle_callback(params, tx)
    assert info.value.code == "transaction_expired"


async def test_iss_parameter_when_advertised(setup: Setup) -> None:
    setup.provider.iss_parameter_supported = True
    params, tx = await setup.begin()
    assert params["iss"] == ISSUER
    await setup.client.handle_callback(params, tx)


@pytest.mark.parametrize("iss", ["https://evil.example/", ISSUER.rstrip("/"), None])
async def test_iss_parameter_mismatch_or_missing_when_advertised(
    setup: Setup, iss: str | None
) -> None:
    setup.provider.iss_parameter_supported = True
    params, tx = await setup.begin()
    if iss is None:
        del params["iss"]
    else:
        params["iss"] = iss
    with pytest.raises(OidcError) as info:
        await setup.client.handle_callback(params, tx)
    assert info.value.code == "iss_mismatch"
    assert setup.provider.count("/oauth2/token") == 0


async def test_iss_parameter_checked_even_when_not_advertised(setup: Setup) -> None:
    params, tx = await setup.begin()
    params["iss"] = "https://evil.example/"
    with pytest.raises(OidcError) as info:
        await setup.client.handle_callback(params, tx)
    assert info.value.code == "iss_mismatch"


async def test_access_denied_message(setup: Setup) -> None:
    params, tx = await setup.begin(
        error="access_denied", error_description="User not assigned\n<b>to app</b>" + "x" * 500
    )
    with pytest.raises(OidcError) as info:
        await setup.client.handle_callback(params, tx)
    error = info.value
    assert error.code == "provider_error"
    assert "JumpCloud refused the sign-in" in error.message
    assert "User Groups tab" in error.message
    assert "User not assigned <b>to app</b>" in error.message
    assert "\n" not in error.message and len(error.message) < 400
    assert setup.provider.count("/oauth2/token") == 0


async def test_error_with_wrong_state_is_a_state_mismatch(setup: Setup) -> None:
    params, tx = await setup.begin(error="access_denied")
    params["state"] = "x" * 43
    with pytest.raises(OidcError) as info:
        await setup.client.handle_callback(params, tx)
    assert info.value.code == "state_mismatch"


async def test_missing_code(setup: Setup) -> None:
    params, tx = await setup.begin()
    del params["code"]
    with pytest.raises(OidcError) as info:
        await setup.client.handle_callback(params, tx)
    assert info.value.code == "missing_code"


async def test_token_endpoint_400(setup: Setup) -> None:
    secret = setup.provider.client_secret
    setup.provider.token_error = (
        400,
        {"error": "invalid_grant", "error_description": f"bad secret {secret}"},
    )
    error = await setup.refused("token_request_failed")
    assert "invalid_grant" in error.message and "HTTP 400" in error.message
    assert secret not in error.message


async def test_token_endpoint_500_is_unreachable(setup: Setup) -> None:
    setup.provider.token_error = (500, {"error": "server_error"})
    with pytest.raises(ProviderUnreachable):
        await setup.sign_in()


# -- provider availability and discovery ----------------------------------------------


async def test_provider_down(setup: Setup) -> None:
    setup.provider.down = True
    with pytest.raises(ProviderUnreachable) as info:
        await setup.sign_in()
    assert info.value.code == "provider_unreachable"
    assert "oauth.id.jumpcloud.com" in info.value.message


async def test_provider_down_at_token_request(setup: Setup) -> None:
    params, tx = await setup.begin()
    setup.provider.down = True
    with pytest.raises(ProviderUnreachable):
        await setup.client.handle_callback(params, tx)


async def test_cached_discovery_survives_outage(setup: Setup) -> None:
    first = await setup.client.metadata()
    setup.clock.advance(7200)
    setup.provider.down = True
    assert await setup.client.metadata() is first
    setup.provider.down = False
    setup.clock.advance(30)  # failed refresh: retried after a pause, not on every call
    await setup.client.metadata()
    assert setup.provider.count("/.well-known/openid-configuration") == 2
    setup.clock.advance(60)
    await setup.client.metadata()
    assert setup.provider.count("/.well-known/openid-configuration") == 3


async def test_discovery_fetched_once_for_concurrent_callers(setup: Setup) -> None:
    setup.provider.latency = 0.05
    results: list[object] = []

    async def call() -> None:
        results.append(await setup.client.metadata())

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(call)
    assert len(results) == 20
    assert setup.provider.count("/.well-known/openid-configuration") == 1


async def test_discovery_issuer_mismatch_refused(setup: Setup) -> None:
    setup.provider.discovery_override = {"issuer": "https://evil.example/"}
    with pytest.raises(OidcError) as info:
        await setup.client.metadata()
    assert info.value.code == "discovery_issuer_mismatch"


async def test_insecure_endpoint_refused(setup: Setup) -> None:
    setup.provider.discovery_override = {"token_endpoint": "http://oauth.id.jumpcloud.com/t"}
    with pytest.raises(OidcError) as info:
        await setup.client.metadata()
    assert info.value.code == "insecure_endpoint"


async def test_http_allowed_for_loopback_issuer() -> None:
    clock = FakeClock()
    provider = FakeProvider(issuer="http://127.0.0.1:9000/tenant", clock=clock)
    async with httpx.AsyncClient(transport=provider.transport) as http:
        client = OidcClient(
            issuer=provider.issuer,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            redirect_uri=REDIRECT_URI,
            http=http,
            clock=clock,
        )
        setup = Setup(provider, client, clock, http)
        assert (await setup.sign_in()).sub == provider.user["sub"]


async def test_http_refused_for_remote_issuer(setup: Setup) -> None:
    with pytest.raises(ValueError):
        setup.make_client(issuer="http://idp.example.com/")


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(503, text="maintenance"),
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, json=["not", "an", "object"]),
    ],
)
async def test_unusable_discovery_is_unreachable(response: httpx.Response) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: response)) as http:
        client = OidcClient(
            issuer=ISSUER, client_id="c", client_secret="s", redirect_uri=REDIRECT_URI, http=http
        )
        with pytest.raises(ProviderUnreachable):
            await client.metadata()


async def test_timeout_is_unreachable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = OidcClient(
            issuer=ISSUER, client_id="c", client_secret="s", redirect_uri=REDIRECT_URI, http=http
        )
        with pytest.raises(ProviderUnreachable) as info:
            await client.metadata()
    assert "in time" in info.value.message


# -- logout and diagnostics -----------------------------------------------------------


async def test_end_session_url(setup: Setup) -> None:
    url = await setup.client.end_session_url("the.id.token", "https://webrix.example.com/")
    assert url is not None
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == setup.provider.url(
        "/oauth2/sessions/logout"
    )
    assert parse_qs(parts.query) == {
        "client_id": [setup.provider.client_id],
        "id_token_hint": ["the.id.token"],
        "post_logout_redirect_uri": ["https://webrix.example.com/"],
    }
    bare = await setup.client.end_session_url(None, None)
    assert bare is not None
    assert parse_qs(urlsplit(bare).query) == {"client_id": [setup.provider.client_id]}


async def test_end_session_url_when_not_offered(setup: Setup) -> None:
    setup.provider.discovery_override = {"end_session_endpoint": DROP}
    assert await setup.client.end_session_url("t", None) is None


async def test_check_reports_findings(setup: Setup) -> None:
    findings = await setup.client.check()
    text = "\n".join(findings)
    assert ISSUER in text
    assert "S256 supported" in text
    assert "client_secret_basic supported" in text
    assert "1 usable key(s)" in text


@pytest.mark.parametrize(
    ("override", "code"),
    [
        (
            {"token_endpoint_auth_methods_supported": ["client_secret_post"]},
            "client_auth_unsupported",
        ),
        ({"code_challenge_methods_supported": ["plain"]}, "pkce_unsupported"),
        ({"id_token_signing_alg_values_supported": ["HS256"]}, "algorithm_unsupported"),
        ({"issuer": "https://evil.example/"}, "discovery_issuer_mismatch"),
    ],
)
async def test_check_hard_problems(setup: Setup, override: dict[str, Any], code: str) -> None:
    setup.provider.discovery_override = override
    with pytest.raises(OidcError) as info:
        await setup.client.check()
    assert info.value.code == code


async def test_check_provider_down(setup: Setup) -> None:
    setup.provider.down = True
    with pytest.raises(ProviderUnreachable):
        await setup.client.check()
