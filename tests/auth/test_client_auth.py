"""How the service authenticates at the token endpoint: Basic, Post, and private_key_jwt with
its own key, kept in the database and published public half only."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet, RSAKey

from app.auth.client_auth import ASSERTION_TYPE, ClientAuth, public_jwks
from app.db import Database
from app.store import client_keys

TOKEN_ENDPOINT = "https://example.okta.com/oauth2/default/v1/token"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}
KEY = RSAKey.generate_key(2048, private=True, auto_kid=True)


def applied(auth: ClientAuth) -> tuple[dict[str, str], dict[str, str]]:
    headers: dict[str, str] = {"Accept": "application/json"}
    data = {"grant_type": "authorization_code", "code": "c"}
    auth.apply(TOKEN_ENDPOINT, headers, data)
    return headers, data


def test_basic_form_encodes_both_parts() -> None:
    # RFC 6749 §2.3.1: application/x-www-form-urlencoded, then Basic.
    headers, data = applied(ClientAuth("client_secret_basic", "my id:1", "p@ss/wörd+&="))
    scheme, _, value = headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    decoded = base64.b64decode(value).decode()
    assert decoded == "my+id%3A1:p%40ss%2Fw%C3%B6rd%2B%26%3D"
    client_id, _, secret = decoded.partition(":")  # the one ':' is the separator
    assert (unquote_plus(client_id), unquote_plus(secret)) == ("my id:1", "p@ss/wörd+&=")
    assert data == {"grant_type": "authorization_code", "code": "c"}


def test_post_puts_both_in_the_form_and_no_header() -> None:
    headers, data = applied(ClientAuth("client_secret_post", "webrix", "s3cret"))
    assert "Authorization" not in headers
    assert data["client_id"] == "webrix"
    assert data["client_secret"] == "s3cret"


def test_private_key_jwt_needs_the_key() -> None:
    with pytest.raises(ValueError, match="needs the service's client key"):
        ClientAuth("private_key_jwt", "webrix", "")


def test_private_key_jwt_sends_a_verifiable_assertion_and_no_secret() -> None:
    headers, data = applied(ClientAuth("private_key_jwt", "webrix", "", KEY))
    assert "Authorization" not in headers
    assert "client_secret" not in data
    assert data["client_id"] == "webrix"
    assert data["client_assertion_type"] == ASSERTION_TYPE
    published = KeySet.import_key_set(public_jwks(KEY))  # what the provider fetches
    token = jwt.decode(data["client_assertion"], published, algorithms=["RS256"])
    assert token.header == {"alg": "RS256", "typ": "JWT", "kid": KEY.kid}
    claims = token.claims
    assert claims["iss"] == claims["sub"] == "webrix"
    assert claims["aud"] == TOKEN_ENDPOINT
    assert claims["exp"] - claims["iat"] == 60
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": "webrix"},
        aud={"essential": True, "value": TOKEN_ENDPOINT},
        jti={"essential": True},
    ).validate(claims)


def test_each_assertion_has_its_own_jti_and_time() -> None:
    auth = ClientAuth("private_key_jwt", "webrix", "", KEY)
    first = jwt.decode(auth.assertion(TOKEN_ENDPOINT, clock=1_700_000_000), KEY).claims
    second = jwt.decode(auth.assertion(TOKEN_ENDPOINT, clock=1_700_000_000), KEY).claims
    assert first["jti"] != second["jti"]
    assert len(first["jti"]) >= 32
    assert (first["iat"], first["exp"]) == (1_700_000_000, 1_700_000_060)


def test_an_assertion_signed_by_another_key_does_not_verify() -> None:
    other = RSAKey.generate_key(2048, private=True, auto_kid=True)
    token = ClientAuth("private_key_jwt", "webrix", "", other).assertion(TOKEN_ENDPOINT)
    with pytest.raises(BadSignatureError):  # the provider checks against the published key
        jwt.decode(token, RSAKey.import_key(public_jwks(KEY)["keys"][0]), algorithms=["RS256"])


def test_the_jwks_has_the_public_half_only() -> None:
    jwks = public_jwks(KEY)
    [published] = jwks["keys"]
    assert PRIVATE_MEMBERS.isdisjoint(published)
    assert published["kty"] == "RSA"
    assert published["kid"] == KEY.kid
    assert (published["use"], published["alg"]) == ("sig", "RS256")
    assert published["n"] == KEY.as_dict()["n"]
    assert public_jwks(None) == {"keys": []}
    assert "PRIVATE" not in json.dumps(jwks)


@pytest.mark.anyio
async def test_load_or_create_keeps_one_key(tmp_path: Path) -> None:
    path = str(tmp_path / "w.db")
    db = await Database.open(path)
    try:
        first = await db.write(client_keys.load_or_create)
        again = await db.write(client_keys.load_or_create)
        assert again.kid == first.kid
        assert again.as_dict(private=True) == first.as_dict(private=True)
        assert first.is_private
    finally:
        await db.close()
    reopened = await Database.open(path)  # another process, or the next start
    try:
        kept = await reopened.write(client_keys.load_or_create)
        assert kept.as_dict(private=True) == first.as_dict(private=True)
        assert (await reopened.fetch_one("SELECT count(*) FROM client_keys"))[0] == 1
    finally:
        await reopened.close()
