"""ID token verification: pinned asymmetric algorithms, signature, claims, azp, nonce, at_hash.

The signing keys come from a `KeySource`; an unknown `kid` or a bad signature triggers one
forced refetch (the provider may have rotated its keys) before the token is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from app.auth.errors import OidcError, clip
from app.auth.issuers import TENANT, issuer_matches

__all__ = ["IdTokenVerifier", "KeySource", "b64url", "key_types", "pinned_algorithms"]

logger = logging.getLogger(__name__)

# Asymmetric algorithms only: the hash used for at_hash and the key type they need.
_ALGORITHMS: dict[str, tuple[Callable[..., Any], str]] = {
    "RS256": (hashlib.sha256, "RSA"),
    "RS384": (hashlib.sha384, "RSA"),
    "RS512": (hashlib.sha512, "RSA"),
    "PS256": (hashlib.sha256, "RSA"),
    "PS384": (hashlib.sha384, "RSA"),
    "PS512": (hashlib.sha512, "RSA"),
    "ES256": (hashlib.sha256, "EC"),
    "ES384": (hashlib.sha384, "EC"),
    "ES512": (hashlib.sha512, "EC"),
}


class KeySource(Protocol):
    """Where the provider's signing keys come from."""

    async def key_set(self, *, force: bool = False) -> KeySet:
        """The current keys; `force` asks for a refetch (which may be rate-limited)."""
        ...


def pinned_algorithms(algorithms: Sequence[str]) -> tuple[str, ...]:
    """The algorithms as a tuple; ValueError unless all are supported asymmetric ones."""
    refused = [alg for alg in algorithms if alg not in _ALGORITHMS]
    if refused or not algorithms:
        raise ValueError(f"only asymmetric ID token algorithms are allowed, not {refused}")
    return tuple(algorithms)


def key_types(algorithms: Sequence[str]) -> set[str]:
    """The JWK key types (kty) the given pinned algorithms need."""
    return {_ALGORITHMS[alg][1] for alg in algorithms}


class IdTokenVerifier:
    """Checks an ID token issued to `client_id` and signed with one of `algorithms`."""

    def __init__(
        self,
        *,
        client_id: str,
        algorithms: tuple[str, ...],
        leeway: int,
        clock: Callable[[], float],
        keys: KeySource,
    ) -> None:
        self._client_id = client_id
        self._algorithms = algorithms
        self._leeway = leeway
        self._clock = clock
        self._keys = keys

    async def verify(
        self,
        id_token: str,
        access_token: str,
        *,
        issuer: str,
        nonce: str,
        aliases: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """The token's claims if it is genuine and meant for this sign-in; OidcError if not.
        `aliases`: other spellings of the issuer the provider documents (Google's)."""
        alg = _jose_header(id_token).get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            allowed = ", ".join(self._algorithms)
            if isinstance(alg, str) and alg.lower() == "none":
                reason = "is unsigned (alg none)"
            elif isinstance(alg, str) and alg.upper().startswith("HS"):
                reason = f"uses the shared-secret algorithm {clip(alg, 10)}"
            else:
                reason = f"uses the algorithm {clip(alg, 20)!r}"
            raise OidcError("invalid_id_token", f"The ID token {reason}; only {allowed} accepted.")

        keys = await self._keys.key_set()
        try:
            token = self._decode(id_token, keys)
        except (InvalidKeyIdError, BadSignatureError):
            # The provider may have rotated its keys since they were fetched.
            fresh = await self._keys.key_set(force=True)
            if fresh is keys:
                raise _bad_signature() from None
            try:
                token = self._decode(id_token, fresh)
            except (InvalidKeyIdError, BadSignatureError):
                raise _bad_signature() from None
        claims = token.claims
        if claims.get("iss") in aliases:
            issuer = claims["iss"]
        self._check_claims(claims, issuer)

        aud = claims["aud"]
        azp = claims.get("azp")
        if isinstance(aud, list) and len(aud) > 1 and azp is None:
            raise OidcError(
                "invalid_id_token", "The ID token has several audiences but no azp claim."
            )
        if azp is not None and azp != self._client_id:
            raise OidcError(
                "invalid_id_token", "The ID token was issued to another client (azp mismatch)."
            )
        token_nonce = claims.get("nonce")
        if not isinstance(token_nonce, str) or not hmac.compare_digest(
            token_nonce.encode(), nonce.encode()
        ):
            raise OidcError(
                "nonce_mismatch",
                "The ID token does not belong to this sign-in attempt (nonce mismatch).",
            )
        if "at_hash" in claims:
            expected = _half_hash(access_token, alg)
            at_hash = claims["at_hash"]
            if not isinstance(at_hash, str) or not hmac.compare_digest(
                at_hash.encode(), expected.encode()
            ):
                raise OidcError(
                    "invalid_id_token", "The ID token's at_hash does not match the access token."
                )
        return dict(claims)

    def _decode(self, id_token: str, keys: KeySet) -> jwt.Token:
        """Verify the signature; lets key-lookup and signature errors through for a retry."""
        try:
            return jwt.decode(id_token, keys, algorithms=list(self._algorithms))
        except (InvalidKeyIdError, BadSignatureError):
            raise
        except (JoseError, ValueError) as exc:
            logger.info("ID token rejected: %s", exc)
            raise OidcError("invalid_id_token", "The ID token is malformed.") from None

    def _check_claims(self, claims: dict[str, Any], issuer: str) -> None:
        if TENANT in issuer:  # a multi-tenant issuer (Entra): the token's tenant fills it in
            tid = claims.get("tid")
            if not isinstance(tid, str) or not issuer_matches(issuer, issuer.replace(TENANT, tid)):
                raise OidcError("invalid_id_token", "The ID token names no tenant (tid).")
            issuer = issuer.replace(TENANT, tid)
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=self._leeway,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": self._client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            message = "The ID token has expired (is this server's clock right?)."
        except MissingClaimError as exc:
            message = f"The ID token lacks the required claim(s): {exc.claim}."
        except InvalidClaimError as exc:
            message = {
                "iss": f"The ID token was issued by {clip(claims.get('iss'), 100)!r}, "
                f"not by {issuer!r}.",
                "aud": "The ID token is meant for another application (aud mismatch).",
                "iat": "The ID token's issue time is invalid or in the future "
                "(is this server's clock right?).",
                "sub": "The ID token's subject (sub) is empty or not a string.",
            }.get(exc.claim, f"The ID token's {clip(exc.claim, 30)!r} claim is invalid.")
        else:
            return
        raise OidcError("invalid_id_token", message)


def b64url(data: bytes) -> str:
    """Base64url without padding (JOSE and PKCE encoding)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _half_hash(value: str, alg: str) -> str:
    """at_hash / c_hash: left-most half of the alg's hash, base64url without padding."""
    digest = _ALGORITHMS[alg][0](value.encode()).digest()
    return b64url(digest[: len(digest) // 2])


def _jose_header(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise OidcError("invalid_id_token", "The ID token is not a signed JWT.")
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        header = None
    if not isinstance(header, dict):
        raise OidcError("invalid_id_token", "The ID token's header is unreadable.")
    return header


def _bad_signature() -> OidcError:
    return OidcError(
        "invalid_id_token",
        "The ID token's signature does not match any of the provider's published keys.",
    )
