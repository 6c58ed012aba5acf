"""OpenID Connect relying party core: discovery, keys, code flow with PKCE, ID token checks.

No web framework here. A sign-in route calls `new_transaction()`, keeps the transaction in
its own short-lived cookie and redirects to `authorization_url(tx)`; the callback route
passes the query parameters and that transaction to `handle_callback()`, deletes the
transaction (single use) and opens a session from the returned `SignInResult`.
Every outbound call goes through the `httpx.AsyncClient` the application owns.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

import anyio
import httpx
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import JWKRegistry, Key, KeySet

from app.auth.errors import (
    OidcError,
    ProviderUnreachable,
    authorization_error,
    clip,
    token_error,
)

__all__ = [
    "TRANSACTION_MAX_AGE",
    "LoginTransaction",
    "OidcClient",
    "OidcError",
    "ProviderMetadata",
    "ProviderUnreachable",
    "SignInResult",
    "code_challenge",
]

logger = logging.getLogger(__name__)

#: Seconds a login transaction stays valid (also the right max-age for its cookie).
TRANSACTION_MAX_AGE = 600
_METADATA_MAX_AGE = 3600.0
_JWKS_MAX_AGE = 3600.0
_RETRY_AFTER_FAILURE = 60.0
_FORCED_REFETCH_INTERVAL = 10.0

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

# Claims that describe the ID token itself: userinfo may not override them.
_PROTECTED_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "azp", "at_hash", "c_hash", "auth_time"}
    | {"acr", "amr", "sid", "jti"}
)


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of the provider's discovery document this client uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None
    iss_parameter_supported: bool
    code_challenge_methods: tuple[str, ...]
    raw: dict[str, Any] = field(compare=False, repr=False)


@dataclass(frozen=True)
class LoginTransaction:
    """One sign-in attempt: what the callback must match, and where to go afterwards."""

    state: str
    nonce: str
    code_verifier: str
    return_to: str
    created_at: float

    def as_dict(self) -> dict[str, str | float]:
        """Plain JSON-able form, for a signed cookie."""
        return {
            "state": self.state,
            "nonce": self.nonce,
            "code_verifier": self.code_verifier,
            "return_to": self.return_to,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> LoginTransaction:
        """Rebuild a transaction from `as_dict()` output; ValueError if malformed."""
        values = [data.get(name) for name in ("state", "nonce", "code_verifier", "return_to")]
        created_at = data.get("created_at")
        if not all(isinstance(v, str) for v in values):
            raise ValueError("malformed login transaction")
        if isinstance(created_at, bool) or not isinstance(created_at, int | float):
            raise ValueError("malformed login transaction")
        state, nonce, verifier, return_to = (str(v) for v in values)
        return cls(state, nonce, verifier, return_to, float(created_at))


@dataclass(frozen=True)
class SignInResult:
    """Who signed in, from the verified ID token (plus userinfo when it was needed)."""

    sub: str
    email: str | None
    email_verified: bool
    given_name: str | None
    family_name: str | None
    name: str | None
    groups: list[str]
    id_token: str = field(repr=False)
    claims: dict[str, Any] = field(repr=False)


class OidcClient:
    """A confidential OpenID Connect client using the code flow with PKCE and Basic auth."""

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        http: httpx.AsyncClient,
        scopes: Sequence[str] = ("openid", "email", "profile"),
        algorithms: Sequence[str] = ("RS256",),
        leeway: int = 60,
        timeout: float = 10.0,
        groups_claim: str | None = None,
        provider_name: str = "JumpCloud",
        clock: Callable[[], float] = time.time,
    ) -> None:
        refused = [alg for alg in algorithms if alg not in _ALGORITHMS]
        if refused or not algorithms:
            raise ValueError(f"only asymmetric ID token algorithms are allowed, not {refused}")
        if "openid" not in scopes:
            raise ValueError("scopes must include 'openid'")
        if not client_id:
            raise ValueError("client_id is required")
        parts = urlsplit(issuer)
        self._loopback = _is_loopback(parts.hostname)
        if not parts.hostname or parts.scheme not in ("https", "http"):
            raise ValueError(f"issuer {issuer!r} is not an absolute URL")
        if parts.scheme != "https" and not self._loopback:
            raise ValueError(f"issuer {issuer!r} must use https")

        self.issuer = issuer
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._client_secret = client_secret
        self._http = http
        self._scopes = tuple(scopes)
        self._algorithms = tuple(algorithms)
        self._leeway = leeway
        self._timeout = httpx.Timeout(timeout)
        self._groups_claims = (groups_claim,) if groups_claim else ("groups", "memberOf")
        self._provider = provider_name
        self._clock = clock

        self._metadata: ProviderMetadata | None = None
        self._metadata_expires = 0.0
        self._metadata_lock = anyio.Lock()
        self._jwks: KeySet | None = None
        self._jwks_expires = 0.0
        self._last_forced_refetch: float | None = None
        self._jwks_lock = anyio.Lock()

    @property
    def discovery_url(self) -> str:
        """Where the discovery document lives (the issuer may end in a slash or not)."""
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    # -- discovery and keys -------------------------------------------------------------

    async def metadata(self) -> ProviderMetadata:
        """The discovery document, fetched once and cached; stale copies beat outages."""
        cached = self._metadata
        if cached is not None and self._clock() < self._metadata_expires:
            return cached
        async with self._metadata_lock:
            cached = self._metadata
            if cached is not None and self._clock() < self._metadata_expires:
                return cached
            try:
                fresh = await self._fetch_metadata()
            except OidcError as exc:
                if cached is None:
                    raise
                logger.warning("Keeping cached discovery document: %s", exc.message)
                self._metadata_expires = self._clock() + _RETRY_AFTER_FAILURE
                return cached
            if cached is not None and cached.jwks_uri != fresh.jwks_uri:
                self._jwks = None
            self._metadata = fresh
            self._metadata_expires = self._clock() + _METADATA_MAX_AGE
            return fresh

    async def _fetch_metadata(self) -> ProviderMetadata:
        url = self.discovery_url
        response = await self._send("GET", url, "fetching the discovery document")
        if response.status_code != 200:
            raise ProviderUnreachable(
                f"{self._provider}'s discovery document at {url} answered HTTP "
                f"{response.status_code}; check the issuer URL."
            )
        doc = self._json(response, "the discovery document")
        if not isinstance(doc, dict):
            raise ProviderUnreachable(f"The discovery document at {url} is not a JSON object.")
        return self._parse_metadata(doc)

    def _parse_metadata(self, doc: dict[str, Any]) -> ProviderMetadata:
        issuer = doc.get("issuer")
        # The configured issuer may differ from the discovered one by a trailing slash
        # only; from here on the discovered issuer is compared exactly.
        if not isinstance(issuer, str) or issuer.rstrip("/") != self.issuer.rstrip("/"):
            raise OidcError(
                "discovery_issuer_mismatch",
                f"The discovery document names the issuer {clip(issuer, 100)!r}, but the "
                f"configured issuer is {self.issuer!r}; they must match.",
            )
        endpoints: dict[str, str | None] = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = doc.get(name)
            if not isinstance(value, str) or not value:
                raise OidcError(
                    "invalid_discovery", f"The discovery document has no {name}; cannot sign in."
                )
            endpoints[name] = value
        for name in ("userinfo_endpoint", "end_session_endpoint"):
            value = doc.get(name)
            endpoints[name] = value if isinstance(value, str) and value else None
        for name, value in endpoints.items():
            if value is not None:
                self._require_https(name, value)
        methods = doc.get("code_challenge_methods_supported")
        return ProviderMetadata(
            issuer=issuer,
            authorization_endpoint=str(endpoints["authorization_endpoint"]),
            token_endpoint=str(endpoints["token_endpoint"]),
            jwks_uri=str(endpoints["jwks_uri"]),
            userinfo_endpoint=endpoints["userinfo_endpoint"],
            end_session_endpoint=endpoints["end_session_endpoint"],
            iss_parameter_supported=(
                doc.get("authorization_response_iss_parameter_supported") is True
            ),
            code_challenge_methods=(
                tuple(m for m in methods if isinstance(m, str)) if isinstance(methods, list) else ()
            ),
            raw=doc,
        )

    def _require_https(self, name: str, url: str) -> None:
        scheme = urlsplit(url).scheme
        if scheme == "https" or (scheme == "http" and self._loopback):
            return
        raise OidcError(
            "insecure_endpoint",
            f"The discovery document's {name} ({clip(url, 100)}) does not use https.",
        )

    async def _key_set(self, *, force: bool = False) -> KeySet:
        """The provider's signing keys; `force` refetches, at most once per 10 s."""
        cached = self._jwks
        if not force and cached is not None and self._clock() < self._jwks_expires:
            return cached
        async with self._jwks_lock:
            cached = self._jwks
            now = self._clock()
            if cached is not None:
                if force:
                    last = self._last_forced_refetch
                    if last is not None and now - last < _FORCED_REFETCH_INTERVAL:
                        return cached  # possibly already refreshed by a concurrent caller
                    self._last_forced_refetch = now
                elif now < self._jwks_expires:
                    return cached
            try:
                fresh = await self._fetch_jwks(await self.metadata())
            except OidcError as exc:
                if cached is None or force:
                    raise
                logger.warning("Keeping cached JWKS: %s", exc.message)
                self._jwks_expires = now + _RETRY_AFTER_FAILURE
                return cached
            self._jwks = fresh
            self._jwks_expires = self._clock() + _JWKS_MAX_AGE
            return fresh

    async def _fetch_jwks(self, meta: ProviderMetadata) -> KeySet:
        response = await self._send("GET", meta.jwks_uri, "fetching the signing keys")
        if response.status_code != 200:
            raise ProviderUnreachable(
                f"{self._provider}'s signing keys (JWKS) answered HTTP {response.status_code}."
            )
        doc = self._json(response, "the signing keys (JWKS)")
        entries = doc.get("keys") if isinstance(doc, dict) else None
        if not isinstance(entries, list):
            raise OidcError("invalid_jwks", "The provider's JWKS has no 'keys' list.")
        wanted = {_ALGORITHMS[alg][1] for alg in self._algorithms}
        keys: list[Key] = []
        for entry in entries:
            # Only signature keys of the pinned algorithms' types: never a symmetric key.
            if not isinstance(entry, dict) or entry.get("kty") not in wanted:
                continue
            if entry.get("use", "sig") != "sig":
                continue
            try:
                keys.append(JWKRegistry.import_key(entry))
            except (JoseError, ValueError, TypeError, KeyError) as exc:
                logger.warning("Skipping unusable JWKS key %r: %s", entry.get("kid"), exc)
        if not keys:
            raise OidcError(
                "invalid_jwks",
                f"The provider's JWKS has no key usable for {', '.join(self._algorithms)}.",
            )
        return KeySet(keys)

    # -- the sign-in flow ---------------------------------------------------------------

    def new_transaction(self, return_to: str) -> LoginTransaction:
        """Fresh state, nonce and PKCE verifier for one sign-in attempt."""
        return LoginTransaction(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(48),  # 64 unreserved chars (RFC 7636)
            return_to=return_to,
            created_at=self._clock(),
        )

    async def authorization_url(
        self, tx: LoginTransaction, *, extra_params: Mapping[str, str] | None = None
    ) -> str:
        """The provider URL to send the browser to; `extra_params` e.g. login_hint, prompt."""
        meta = await self.metadata()
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(self._scopes),
            "state": tx.state,
            "nonce": tx.nonce,
            "code_challenge": code_challenge(tx.code_verifier),
            "code_challenge_method": "S256",
        }
        extra = {k: v for k, v in (extra_params or {}).items() if k not in params}
        return _with_query(meta.authorization_endpoint, {**params, **extra})

    async def handle_callback(
        self, params: Mapping[str, str], tx: LoginTransaction
    ) -> SignInResult:
        """Check the callback, redeem the code and verify the ID token; OidcError if not OK."""
        meta = await self.metadata()
        iss = params.get("iss")
        if iss is None and meta.iss_parameter_supported:
            raise OidcError(
                "iss_mismatch",
                f"The sign-in response lacks the 'iss' parameter that {self._provider} "
                "advertises (RFC 9207); refused.",
            )
        if iss is not None and iss != meta.issuer:
            raise OidcError(
                "iss_mismatch",
                f"The sign-in response names the issuer {clip(iss, 100)!r}, not "
                f"{meta.issuer!r} (RFC 9207); refused.",
            )
        state = params.get("state")
        if not state:
            raise OidcError("state_mismatch", "The sign-in response carries no state; try again.")
        if not hmac.compare_digest(state.encode(), tx.state.encode()):
            raise OidcError(
                "state_mismatch",
                "The sign-in response does not belong to this browser's sign-in attempt "
                "(state mismatch); try again.",
            )
        if self._clock() - tx.created_at > TRANSACTION_MAX_AGE:
            raise OidcError("transaction_expired", "The sign-in attempt took too long; try again.")
        error = params.get("error")
        if error is not None:
            raise authorization_error(error, params.get("error_description"), self._provider)
        code = params.get("code")
        if not code:
            raise OidcError("missing_code", "The sign-in response carries no authorization code.")

        id_token, access_token = await self._redeem(meta, code, tx)
        claims = await self._verify_id_token(id_token, access_token, meta, tx)
        if "email" not in claims and meta.userinfo_endpoint:
            userinfo = await self._userinfo(meta.userinfo_endpoint, access_token, claims["sub"])
            claims = {
                **claims,
                **{k: v for k, v in userinfo.items() if k not in _PROTECTED_CLAIMS},
            }
        return self._result(claims, id_token)

    async def _redeem(
        self, meta: ProviderMetadata, code: str, tx: LoginTransaction
    ) -> tuple[str, str]:
        """POST the code to the token endpoint; returns (id_token, access_token)."""
        # RFC 6749 §2.3.1: both parts form-urlencoded before the Basic encoding.
        credentials = (
            f"{quote_plus(self.client_id, safe='')}:{quote_plus(self._client_secret, safe='')}"
        )
        basic = base64.b64encode(credentials.encode()).decode("ascii")
        response = await self._send(
            "POST",
            meta.token_endpoint,
            "redeeming the authorization code",
            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": tx.code_verifier,
            },
        )
        if response.status_code >= 500:
            raise ProviderUnreachable(
                f"{self._provider}'s token endpoint failed (HTTP {response.status_code})."
            )
        if response.status_code != 200:
            try:
                body: object = response.json()
            except ValueError:
                body = None
            raise token_error(response.status_code, body, self._provider, self._client_secret)
        body = self._json(response, "the token request")
        if not isinstance(body, dict):
            raise OidcError("invalid_token_response", "The token response is not a JSON object.")
        id_token = body.get("id_token")
        access_token = body.get("access_token")
        token_type = body.get("token_type")
        if not isinstance(id_token, str) or not id_token:
            raise OidcError("invalid_token_response", "The token response has no ID token.")
        if not isinstance(access_token, str) or not access_token:
            raise OidcError("invalid_token_response", "The token response has no access token.")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise OidcError(
                "invalid_token_response",
                f"The token response's token_type is {clip(token_type, 30)!r}, not Bearer.",
            )
        return id_token, access_token

    async def _verify_id_token(
        self, id_token: str, access_token: str, meta: ProviderMetadata, tx: LoginTransaction
    ) -> dict[str, Any]:
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

        keys = await self._key_set()
        try:
            token = self._decode(id_token, keys)
        except (InvalidKeyIdError, BadSignatureError):
            # The provider may have rotated its keys since they were fetched.
            fresh = await self._key_set(force=True)
            if fresh is keys:
                raise _bad_signature() from None
            try:
                token = self._decode(id_token, fresh)
            except (InvalidKeyIdError, BadSignatureError):
                raise _bad_signature() from None
        claims = token.claims
        self._check_claims(claims, meta.issuer)

        aud = claims["aud"]
        azp = claims.get("azp")
        if isinstance(aud, list) and len(aud) > 1 and azp is None:
            raise OidcError(
                "invalid_id_token", "The ID token has several audiences but no azp claim."
            )
        if azp is not None and azp != self.client_id:
            raise OidcError(
                "invalid_id_token", "The ID token was issued to another client (azp mismatch)."
            )
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not hmac.compare_digest(nonce.encode(), tx.nonce.encode()):
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
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=self._leeway,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": self.client_id},
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

    async def _userinfo(self, url: str, access_token: str, sub: str) -> dict[str, Any]:
        response = await self._send(
            "GET",
            url,
            "fetching the user's profile",
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
        if response.status_code >= 500:
            raise ProviderUnreachable(
                f"{self._provider}'s userinfo endpoint failed (HTTP {response.status_code})."
            )
        if response.status_code != 200:
            raise OidcError(
                "userinfo_failed",
                f"{self._provider} refused the userinfo request (HTTP {response.status_code}).",
            )
        if response.headers.get("content-type", "").startswith("application/jwt"):
            raise OidcError("userinfo_failed", "Signed userinfo responses are not supported.")
        data = self._json(response, "the userinfo request")
        if not isinstance(data, dict):
            raise OidcError("userinfo_failed", "The userinfo response is not a JSON object.")
        if data.get("sub") != sub:
            raise OidcError(
                "userinfo_sub_mismatch",
                "The userinfo response describes another user than the ID token; refused.",
            )
        return data

    def _result(self, claims: dict[str, Any], id_token: str) -> SignInResult:
        given = _string_claim(claims, "given_name")
        family = _string_claim(claims, "family_name")
        name = _string_claim(claims, "name") or " ".join(p for p in (given, family) if p)
        verified = claims.get("email_verified")
        return SignInResult(
            sub=claims["sub"],
            email=_string_claim(claims, "email"),
            email_verified=verified is True
            or (isinstance(verified, str) and verified.lower() == "true"),
            given_name=given,
            family_name=family,
            name=name or None,
            groups=self._groups(claims),
            id_token=id_token,
            claims=claims,
        )

    def _groups(self, claims: Mapping[str, Any]) -> list[str]:
        for claim in self._groups_claims:
            if claim in claims:
                value = claims[claim]
                values = [value] if isinstance(value, str) else value
                if not isinstance(values, list):
                    return []
                return list(dict.fromkeys(v for v in values if isinstance(v, str) and v))
        return []

    # -- logout and diagnostics ---------------------------------------------------------

    async def end_session_url(
        self, id_token_hint: str | None, post_logout_redirect_uri: str | None
    ) -> str | None:
        """The provider's RP-initiated logout URL, or None if it offers none."""
        meta = await self.metadata()
        if meta.end_session_endpoint is None:
            return None
        params = {"client_id": self.client_id}
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        if post_logout_redirect_uri:
            params["post_logout_redirect_uri"] = post_logout_redirect_uri
        return _with_query(meta.end_session_endpoint, params)

    async def check(self) -> list[str]:
        """Fetch discovery and JWKS afresh and describe them; OidcError on a hard problem."""
        meta = await self._fetch_metadata()
        raw = meta.raw
        findings = [
            f"Discovery document {self.discovery_url}: issuer {meta.issuer} matches.",
            f"Authorization endpoint: {meta.authorization_endpoint}",
            f"Token endpoint: {meta.token_endpoint}",
            f"Userinfo endpoint: {meta.userinfo_endpoint or 'not offered'}",
            f"End-session endpoint: {meta.end_session_endpoint or 'not offered (no SSO logout)'}",
        ]
        checks: list[tuple[str, str, str, str]] = [
            ("response_types_supported", "code", "unsupported_response_type", "response_type"),
            ("code_challenge_methods_supported", "S256", "pkce_unsupported", "PKCE method"),
            (
                "token_endpoint_auth_methods_supported",
                "client_secret_basic",
                "client_auth_unsupported",
                "client authentication",
            ),
        ]
        for field_name, needed, code, label in checks:
            offered = raw.get(field_name)
            if not isinstance(offered, list):
                findings.append(f"{field_name} not advertised; {label} {needed} assumed.")
            elif needed not in offered:
                raise OidcError(code, f"The provider does not support {label} {needed}.")
            else:
                findings.append(f"{label} {needed} supported.")
        algs = raw.get("id_token_signing_alg_values_supported")
        if isinstance(algs, list) and not set(self._algorithms) & set(algs):
            raise OidcError(
                "algorithm_unsupported",
                f"The provider signs ID tokens with {clip(algs, 80)}, "
                f"none of {', '.join(self._algorithms)}.",
            )
        if meta.iss_parameter_supported:
            findings.append("The provider sends the RFC 9207 iss parameter; it will be required.")
        keys = await self._fetch_jwks(meta)
        kids = ", ".join(str(k.kid) for k in keys)
        findings.append(f"JWKS {meta.jwks_uri}: {len(keys.keys)} usable key(s) ({kids}).")
        return findings

    # -- HTTP -------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        url: str,
        purpose: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        host = urlsplit(url).netloc
        try:
            return await self._http.request(
                method,
                url,
                headers=headers,
                data=data,
                timeout=self._timeout,
                follow_redirects=False,
            )
        except httpx.TimeoutException:
            raise ProviderUnreachable(
                f"{self._provider} ({host}) did not answer in time while {purpose}."
            ) from None
        except httpx.HTTPError as exc:
            raise ProviderUnreachable(
                f"Could not reach {self._provider} ({host}) while {purpose}: {type(exc).__name__}."
            ) from None

    def _json(self, response: httpx.Response, what: str) -> object:
        try:
            return response.json()
        except ValueError:
            raise ProviderUnreachable(
                f"{self._provider} answered {what} with something that is not JSON."
            ) from None


def code_challenge(verifier: str) -> str:
    """The RFC 7636 S256 challenge for a PKCE verifier."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def _half_hash(value: str, alg: str) -> str:
    """at_hash / c_hash: left-most half of the alg's hash, base64url without padding."""
    digest = _ALGORITHMS[alg][0](value.encode()).digest()
    return _b64url(digest[: len(digest) // 2])


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jose_header(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise OidcError("invalid_id_token", "The ID token is not a signed JWT.")
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except ValueError:
        header = None
    if not isinstance(header, dict):
        raise OidcError("invalid_id_token", "The ID token's header is unreadable.")
    return header


def _bad_signature() -> OidcError:
    return OidcError(
        "invalid_id_token",
        "The ID token's signature does not match any of the provider's published keys.",
    )


def _string_claim(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value else None


def _with_query(url: str, params: Mapping[str, str]) -> str:
    """Append params to a URL that may already carry a query (dropping any fragment)."""
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query = urlencode([*pairs, *params.items()], quote_via=quote)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
