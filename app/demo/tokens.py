"""Keys, ID tokens, PKCE and client credentials for the demo identity provider."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

ALGORITHM = "RS256"
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def generate_signing_key() -> RSAKey:
    """A fresh RSA key for this process; the demo keeps no key across restarts."""
    return RSAKey.generate_key(
        2048,
        parameters={"kid": secrets.token_urlsafe(8), "use": "sig", "alg": ALGORITHM},
        private=True,
    )


def public_jwks(key: RSAKey) -> dict[str, Any]:
    """The JWKS document publishing `key`'s public half."""
    return {"keys": [key.as_dict(private=False)]}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def at_hash(access_token: str) -> str:
    """OpenID Connect `at_hash` for RS256: the left half of SHA-256, base64url."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return _b64url(digest[: len(digest) // 2])


def sign_id_token(key: RSAKey, claims: Mapping[str, Any]) -> str:
    """An RS256-signed ID token carrying `claims`."""
    header = {"alg": ALGORITHM, "typ": "JWT", "kid": key.kid}
    return jwt.encode(header, dict(claims), key, algorithms=[ALGORITHM])


def read_id_token(key: RSAKey, token: str) -> dict[str, Any] | None:
    """The claims of an ID token this provider signed, or None; expiry is not checked."""
    try:
        decoded = jwt.decode(token, key, algorithms=[ALGORITHM])
    except (JoseError, ValueError):
        return None
    return dict(decoded.claims)


def pkce_matches(verifier: str, challenge: str) -> bool:
    """Whether `verifier` is well formed and hashes (S256) to `challenge`."""
    if not _VERIFIER.fullmatch(verifier):
        return False
    computed = _b64url(hashlib.sha256(verifier.encode("ascii")).digest())
    return hmac.compare_digest(computed, challenge)


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """(client_id, client_secret) from an HTTP Basic header (RFC 6749 §2.3.1), or None."""
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, client_secret = decoded.partition(":")
    if not colon:
        return None
    return unquote_plus(client_id), unquote_plus(client_secret)


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of two client credentials."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def new_opaque_token() -> str:
    """An opaque random token (access tokens and codes are never JWTs here, as at JumpCloud)."""
    return secrets.token_urlsafe(32)
