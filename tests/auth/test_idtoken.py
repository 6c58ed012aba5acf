"""IdTokenVerifier on its own: what it accepts, and that every refusal is a clean OidcError.

The sign-in flow around it is in test_oidc.py; here tokens are made by hand (odd headers,
odd payloads, every pinned algorithm) and the key source is a stub that records its calls.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey
from joserfc.jws import JWSRegistry

from app.auth.errors import OidcError
from app.auth.idtoken import IdTokenVerifier, b64url, key_types, pinned_algorithms

pytestmark = pytest.mark.anyio

ISSUER = "https://oauth.id.jumpcloud.com/"
CLIENT = "webrix-client"
NONCE = "n-0S6_WzA2Mj"
ACCESS_TOKEN = "SlAV32hkKG"
NOW = 1_700_000_000
DROP: Any = object()

RSA = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
OTHER_RSA = RSAKey.generate_key(2048, parameters={"kid": "rsa-2"})
EC_KEYS = {
    "ES256": ECKey.generate_key("P-256", parameters={"kid": "ec-256"}),
    "ES384": ECKey.generate_key("P-384", parameters={"kid": "ec-384"}),
    "ES512": ECKey.generate_key("P-521", parameters={"kid": "ec-521"}),
}
HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


class Keys:
    """A KeySource handing out `sets` in turn: each forced fetch moves on to the next one."""

    def __init__(self, *sets: KeySet) -> None:
        self.sets = sets
        self.current = 0
        self.calls: list[bool] = []  # the `force` of every call

    async def key_set(self, *, force: bool = False) -> KeySet:
        self.calls.append(force)
        if force and self.current + 1 < len(self.sets):
            self.current += 1
        return self.sets[self.current]


def verifier(
    keys: Keys, algorithms: tuple[str, ...] = ("RS256",), leeway: int = 60
) -> IdTokenVerifier:
    return IdTokenVerifier(
        client_id=CLIENT, algorithms=algorithms, leeway=leeway, clock=lambda: NOW + 0.9, keys=keys
    )


def claims(**override: Any) -> dict[str, Any]:
    base = {"iss": ISSUER, "aud": CLIENT, "sub": "u1", "exp": NOW + 600, "iat": NOW, "nonce": NONCE}
    return {k: v for k, v in {**base, **override}.items() if v is not DROP}


def at_hash(access_token: str, alg: str = "RS256") -> str:
    digest = HASHES[alg[-3:]](access_token.encode()).digest()
    return b64url(digest[: len(digest) // 2])


def sign(payload: dict[str, Any], key: Any = RSA, alg: str = "RS256", **header: Any) -> str:
    return jwt.encode({"alg": alg, "kid": key.kid, **header}, payload, key, algorithms=[alg])


def segment(data: object) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return b64url(raw)


def raw_token(header: object, payload: object, key: Any = RSA, alg: str = "RS256") -> str:
    """A compact JWS signed as given, whatever joserfc would think of its header or payload."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    signature = JWSRegistry.algorithms[alg].sign(signing_input.encode(), key)
    return f"{signing_input}.{b64url(signature)}"


async def verify(check: IdTokenVerifier, token: str) -> dict[str, Any]:
    return await check.verify(token, ACCESS_TOKEN, issuer=ISSUER, nonce=NONCE)


async def refused(check: IdTokenVerifier, token: str, code: str = "invalid_id_token") -> str:
    with pytest.raises(OidcError) as caught:
        await verify(check, token)
    assert caught.value.code == code, caught.value.message
    return caught.value.message


# --- accepted -----------------------------------------------------------------------------


async def test_genuine_token_gives_its_claims() -> None:
    keys = Keys(KeySet([RSA]))
    payload = claims(at_hash=at_hash(ACCESS_TOKEN), email="ada@example.com")
    assert await verify(verifier(keys), sign(payload)) == payload
    assert keys.calls == [False]


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])
async def test_every_pinned_rsa_algorithm_with_its_at_hash(alg: str) -> None:
    assert pinned_algorithms([alg]) == (alg,)
    assert key_types([alg]) == {"RSA"}
    token = sign(claims(at_hash=at_hash(ACCESS_TOKEN, alg)), RSA, alg)
    assert (await verify(verifier(Keys(KeySet([RSA])), (alg,)), token))["sub"] == "u1"


@pytest.mark.parametrize("alg", sorted(EC_KEYS))
async def test_every_pinned_ec_algorithm_with_its_at_hash(alg: str) -> None:
    assert pinned_algorithms([alg]) == (alg,)
    assert key_types([alg]) == {"EC"}
    key = EC_KEYS[alg]
    token = sign(claims(at_hash=at_hash(ACCESS_TOKEN, alg)), key, alg)
    assert (await verify(verifier(Keys(KeySet([key])), (alg,)), token))["sub"] == "u1"


async def test_at_hash_of_another_hash_is_refused() -> None:
    token = sign(claims(at_hash=at_hash(ACCESS_TOKEN, "RS256")), RSA, "RS384")
    message = await refused(verifier(Keys(KeySet([RSA])), ("RS384",)), token)
    assert "at_hash" in message


@pytest.mark.parametrize("kid", ["a", "ab", "abc", "abcd"])
async def test_header_of_any_length_is_read(kid: str) -> None:
    """Base64url drops the padding: every length of header must still decode."""
    key = RSAKey.import_key(RSA.as_dict(private=True), parameters={"kid": kid})
    assert (await verify(verifier(Keys(KeySet([key]))), sign(claims(), key)))["sub"] == "u1"


async def test_one_audience_in_a_list_needs_no_azp() -> None:
    token = sign(claims(aud=[CLIENT]))
    assert (await verify(verifier(Keys(KeySet([RSA]))), token))["aud"] == [CLIENT]


async def test_several_audiences_with_our_azp() -> None:
    token = sign(claims(aud=[CLIENT, "other"], azp=CLIENT))
    assert (await verify(verifier(Keys(KeySet([RSA]))), token))["azp"] == CLIENT


async def test_expiry_within_the_leeway() -> None:
    token = sign(claims(exp=NOW - 30))
    assert (await verify(verifier(Keys(KeySet([RSA])), leeway=60), token))["sub"] == "u1"
    message = await refused(verifier(Keys(KeySet([RSA])), leeway=10), token)
    assert "expired" in message


# --- refused for its algorithm, before any key is fetched ---------------------------------


@pytest.mark.parametrize(
    ("header", "words"),
    [
        pytest.param({"kid": "rsa-1"}, "uses the algorithm 'None'", id="no-alg"),
        pytest.param({"alg": 256}, "uses the algorithm '256'", id="number-alg"),
        pytest.param({"alg": ["RS256"]}, "uses the algorithm", id="list-alg"),
        pytest.param({"alg": None}, "uses the algorithm", id="null-alg"),
        pytest.param({"alg": "none"}, "unsigned (alg none)", id="none"),
        pytest.param({"alg": "NONE"}, "unsigned (alg none)", id="NONE"),
        pytest.param({"alg": "HS256"}, "shared-secret algorithm HS256", id="HS256"),
        pytest.param({"alg": "hs512"}, "shared-secret algorithm hs512", id="hs512"),
        pytest.param({"alg": "ES256"}, "uses the algorithm 'ES256'", id="unpinned-ES256"),
    ],
)
async def test_algorithm_refused(header: dict[str, Any], words: str) -> None:
    keys = Keys(KeySet([RSA]))
    token = f"{segment(header)}.{segment(claims())}.c2ln"
    message = await refused(verifier(keys), token)
    assert words in message and "only RS256 accepted" in message
    assert keys.calls == []


async def test_unpinned_asymmetric_algorithm_is_refused_though_well_signed() -> None:
    keys = Keys(KeySet([RSA]))
    token = sign(claims(), RSA, "RS384")
    message = await refused(verifier(keys, ("RS256", "PS256")), token)
    assert "'RS384'; only RS256, PS256 accepted" in message
    assert keys.calls == []


async def test_long_algorithm_names_are_clipped() -> None:
    message = await refused(verifier(Keys(KeySet([RSA]))), raw_token({"alg": "X" * 500}, {}))
    assert "X" * 19 in message and "X" * 20 not in message
    message = await refused(verifier(Keys(KeySet([RSA]))), raw_token({"alg": "HS" * 50}, {}))
    assert "HS" * 4 + "H" in message and "HS" * 5 not in message


# --- refused as malformed -----------------------------------------------------------------

NESTED = b'{"alg": "RS256", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
NOT_UTF8 = segment(b"\xff\xfe")


@pytest.mark.parametrize(
    ("token", "words"),
    [
        pytest.param("", "not a signed JWT", id="empty"),
        pytest.param(
            f"{segment({'alg': 'RS256'})}.{segment(claims())}", "not a signed JWT", id="two-parts"
        ),
        pytest.param("a.b.c.d.e", "not a signed JWT", id="five-parts-JWE"),
        pytest.param("!!!!.e30.c2ln", "header is unreadable", id="junk-base64"),
        pytest.param("abcde.e30.c2ln", "header is unreadable", id="base64-length"),
        pytest.param("\u00e9\u00e9\u00e9\u00e9.e30.c2ln", "header is unreadable", id="non-ascii"),
        pytest.param(f"{NOT_UTF8}.e30.c2ln", "header is unreadable", id="not-utf8"),
        pytest.param(f"{segment(b'{alg}')}.e30.c2ln", "header is unreadable", id="not-json"),
        pytest.param(f"{segment(['RS256'])}.e30.c2ln", "header is unreadable", id="json-list"),
        pytest.param(f"{segment('RS256')}.e30.c2ln", "header is unreadable", id="json-string"),
        pytest.param(f"{segment(NESTED)}.e30.c2ln", "header is unreadable", id="deeply-nested"),
        pytest.param("..", "header is unreadable", id="dots"),
    ],
)
async def test_malformed_token_is_refused(token: str, words: str) -> None:
    keys = Keys(KeySet([RSA]))
    assert words in await refused(verifier(keys), token)
    assert keys.calls == []


@pytest.mark.parametrize(
    ("header", "payload"),
    [
        pytest.param({"alg": "RS256", "kid": "rsa-1", "crit": ["exp"]}, claims(), id="crit"),
        pytest.param({"alg": "RS256", "kid": 1}, claims(), id="number-kid"),
        pytest.param({"alg": "RS256", "kid": "rsa-1"}, [claims()], id="payload-list"),
        pytest.param({"alg": "RS256", "kid": "rsa-1"}, b"not json", id="payload-not-json"),
    ],
)
async def test_token_joserfc_refuses_is_malformed(
    header: dict[str, Any], payload: object, caplog: pytest.LogCaptureFixture
) -> None:
    keys = Keys(KeySet([RSA]), KeySet([OTHER_RSA]))
    with caplog.at_level(logging.INFO, logger="app.auth.idtoken"):
        message = await refused(verifier(keys), raw_token(header, payload))
    assert message == "The ID token is malformed."
    assert keys.calls == [False]  # no refetch: new keys cannot mend a malformed token
    assert "ID token rejected" in caplog.text


# --- keys and signatures ------------------------------------------------------------------


async def test_unknown_kid_refetches_the_keys_once() -> None:
    keys = Keys(KeySet([OTHER_RSA]), KeySet([RSA]))
    assert (await verify(verifier(keys), sign(claims())))["sub"] == "u1"
    assert keys.calls == [False, True]


async def test_bad_signature_refetches_the_keys_once() -> None:
    impostor = RSAKey.import_key(OTHER_RSA.as_dict(private=True), parameters={"kid": "rsa-1"})
    keys = Keys(KeySet([impostor]), KeySet([RSA]))
    assert (await verify(verifier(keys), sign(claims())))["sub"] == "u1"
    assert keys.calls == [False, True]


async def test_bad_signature_with_the_same_keys_after_refetch() -> None:
    keys = Keys(KeySet([RSA]))
    token = sign(claims(), OTHER_RSA, kid="rsa-1")
    assert "signature does not match" in await refused(verifier(keys), token)
    assert keys.calls == [False, True]


@pytest.mark.parametrize("second", ["impostor", "no-such-kid"])
async def test_still_no_key_after_refetch(second: str) -> None:
    impostor = RSAKey.import_key(OTHER_RSA.as_dict(private=True), parameters={"kid": "rsa-1"})
    fresh = KeySet([impostor]) if second == "impostor" else KeySet([OTHER_RSA])
    keys = Keys(KeySet([OTHER_RSA]), fresh)
    assert "signature does not match" in await refused(verifier(keys), sign(claims()))
    assert keys.calls == [False, True]


async def test_malformed_after_refetch_is_malformed() -> None:
    keys = Keys(KeySet([OTHER_RSA]), KeySet([RSA]))
    token = raw_token({"alg": "RS256", "kid": "rsa-1", "crit": ["exp"]}, claims())
    assert await refused(verifier(keys), token) == "The ID token is malformed."


# --- claims -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ({"iss": DROP}, "lacks the required claim(s): iss"),
        ({"aud": DROP}, "lacks the required claim(s): aud"),
        ({"sub": DROP}, "lacks the required claim(s): sub"),
        ({"exp": DROP}, "lacks the required claim(s): exp"),
        ({"iat": DROP}, "lacks the required claim(s): iat"),
        ({"iss": "https://evil.example/"}, "issued by 'https://evil.example/', not by"),
        ({"iss": "x" * 300}, "issued by '" + "x" * 99 + "…', not by"),
        ({"aud": "other"}, "aud mismatch"),
        ({"aud": ["other", "another"], "azp": CLIENT}, "aud mismatch"),
        ({"sub": ""}, "subject (sub)"),
        ({"iat": NOW + 120}, "in the future"),
        ({"exp": NOW - 61}, "expired"),
        ({"nbf": NOW + 120}, "'nbf' claim is invalid"),
        ({"exp": "soon"}, "'exp' claim is invalid"),
        ({"aud": [CLIENT, "other"]}, "several audiences but no azp"),
        ({"azp": "other"}, "another client (azp mismatch)"),
        ({"azp": ["webrix-client"]}, "azp mismatch"),
        ({"at_hash": at_hash("another access token")}, "at_hash does not match"),
        ({"at_hash": 5}, "at_hash does not match"),
        ({"at_hash": at_hash(ACCESS_TOKEN)[:-1]}, "at_hash does not match"),
    ],
)
async def test_claims_refused(override: dict[str, Any], words: str) -> None:
    assert words in await refused(verifier(Keys(KeySet([RSA]))), sign(claims(**override)))


@pytest.mark.parametrize("nonce", [DROP, "other", NONCE + "x", NONCE[:-1], 5, None, [NONCE]])
async def test_nonce_refused(nonce: object) -> None:
    message = await refused(
        verifier(Keys(KeySet([RSA]))), sign(claims(nonce=nonce)), "nonce_mismatch"
    )
    assert "nonce mismatch" in message


async def test_clock_and_leeway_are_the_verifiers() -> None:
    """exp is compared with the injected clock, not the real time."""
    token = sign(claims(exp=NOW + 1, iat=NOW - 10))
    assert (await verify(verifier(Keys(KeySet([RSA])), leeway=0), token))["exp"] == NOW + 1
    late = sign(claims(exp=NOW, iat=NOW - 10))
    assert "expired" in await refused(verifier(Keys(KeySet([RSA])), leeway=0), late)


# --- helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithms", [[], ["HS256"], ["RS256", "none"], ["rs256"]])
def test_pinned_algorithms_refuses(algorithms: list[str]) -> None:
    with pytest.raises(ValueError, match="only asymmetric"):
        pinned_algorithms(algorithms)


def test_key_types_of_a_mix() -> None:
    assert key_types(["RS256", "ES384", "PS512"]) == {"RSA", "EC"}


def test_b64url_is_urlsafe_without_padding() -> None:
    assert b64url(b"\xfb\xff") == "-_8"
    assert b64url(b"") == ""
    assert base64.urlsafe_b64decode(b64url(b"abcd") + "==") == b"abcd"


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (
            raw_token({"alg": "HS256"}, {}),
            "The ID token uses the shared-secret algorithm HS256; only RS256 accepted.",
        ),
        (sign(claims(sub=DROP)), "The ID token lacks the required claim(s): sub."),
        (
            sign(claims(iss="https://evil.example/")),
            f"The ID token was issued by 'https://evil.example/', not by {ISSUER!r}.",
        ),
        (sign(claims(nbf=NOW + 600)), "The ID token's 'nbf' claim is invalid."),
    ],
)
async def test_refusal_messages(token: str, message: str) -> None:
    assert await refused(verifier(Keys(KeySet([RSA]))), token) == message
