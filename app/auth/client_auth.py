"""How the service authenticates to the provider's token endpoint (OpenID Connect Core §9).

- `client_secret_basic` (the default): the Client ID and Secret in an HTTP Basic header.
- `client_secret_post`: both in the form body, for providers set up that way.
- `private_key_jwt` (RFC 7523): no shared secret; a short-lived JWT signed with the service's
  own RSA key, whose public half the provider fetches from `/api/auth/jwks`. The key is made
  once and kept in the database (`app.store.client_keys`), so every process of the service,
  and `webrix check`, signs with the same one.
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any
from urllib.parse import quote_plus

from joserfc import jwt
from joserfc.jwk import RSAKey

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 60  # seconds: long enough for one request, short enough to be useless later


class ClientAuth:
    """The credentials of one client, added to each token request."""

    def __init__(
        self, method: str, client_id: str, client_secret: str, key: RSAKey | None = None
    ) -> None:
        if method == "private_key_jwt" and key is None:
            raise ValueError("private_key_jwt needs the service's client key")
        self.method = method
        self._client_id = client_id
        self._client_secret = client_secret
        self._key = key

    def apply(self, token_endpoint: str, headers: dict[str, str], data: dict[str, str]) -> None:
        """Add this client's credentials to a token request's headers or form."""
        if self.method == "client_secret_basic":
            # RFC 6749 §2.3.1: both parts form-urlencoded before the Basic encoding.
            pair = (
                f"{quote_plus(self._client_id, safe='')}:{quote_plus(self._client_secret, safe='')}"
            )
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        elif self.method == "client_secret_post":
            data["client_id"] = self._client_id
            data["client_secret"] = self._client_secret
        else:
            data["client_id"] = self._client_id
            data["client_assertion_type"] = ASSERTION_TYPE
            data["client_assertion"] = self.assertion(token_endpoint)

    def assertion(self, audience: str, clock: float | None = None) -> str:
        """A client assertion for `audience` (the token endpoint, as Okta requires and
        Keycloak accepts), single use by its random `jti`."""
        assert self._key is not None
        issued = int(time.time() if clock is None else clock)
        claims = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": audience,
            "jti": secrets.token_urlsafe(24),
            "iat": issued,
            "exp": issued + ASSERTION_LIFETIME,
        }
        header = {"alg": "RS256", "typ": "JWT", "kid": self._key.kid}
        return jwt.encode(header, claims, self._key, algorithms=["RS256"])


def public_jwks(key: RSAKey | None) -> dict[str, Any]:
    """The JWKS the provider fetches: the public half only."""
    if key is None:
        return {"keys": []}
    public = key.as_dict(private=False)
    return {"keys": [{**public, "use": "sig", "alg": "RS256"}]}
