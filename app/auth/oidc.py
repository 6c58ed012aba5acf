"""OpenID Connect relying party: the code flow with PKCE, from sign-in attempt to who signed in.

No web framework here. A sign-in route calls `new_transaction()`, keeps the transaction in
its own short-lived cookie and redirects to `authorization_url(tx)`; the callback route
passes the query parameters and that transaction to `handle_callback()`, deletes the
transaction (single use) and opens a session from the returned `SignInResult`.
The transaction is `app.auth.transaction`, discovery and keys `app.auth.discovery`, ID token
checks `app.auth.idtoken`, Test connection's requests `app.auth.diagnostics`; every outbound
call goes through `app.auth.provider_http`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import httpx
from joserfc.jwk import KeySet

from app.auth.client_auth import ClientAuth
from app.auth.diagnostics import ProbeAnswer, ProviderChecks
from app.auth.discovery import ProviderDiscovery, ProviderMetadata, issuer_matches
from app.auth.errors import (
    OidcError,
    ProviderUnreachable,
    authorization_error,
    clip,
    token_error,
)
from app.auth.idtoken import IdTokenVerifier, b64url, pinned_algorithms
from app.auth.presets import Rules
from app.auth.provider_http import ProviderHttp
from app.auth.transaction import TRANSACTION_MAX_AGE, LoginTransaction

__all__ = ["OidcClient", "ProbeAnswer", "SignInResult", "code_challenge"]

# Claims that describe the ID token itself: userinfo may not override them.
_PROTECTED_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "azp", "at_hash", "c_hash", "auth_time"}
    | {"acr", "amr", "sid", "jti"}
)


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
    # For a test sign-in: the ID token's own claims, the userinfo answer if one was fetched,
    # and which claim the groups came from.
    id_token_claims: dict[str, Any] = field(default_factory=dict, repr=False)
    userinfo: dict[str, Any] | None = field(default=None, repr=False)
    userinfo_error: str | None = None
    groups_claim: str | None = None
    # The token's issuer (a subject is unique only within it) and the provider's name.
    issuer: str = ""
    provider: str = "JumpCloud"
    # The groups claim was left out for having too many (a distributed claim, as Entra ID
    # does past 200 groups): no groups from sign-in, SCIM membership stands.
    groups_overage: bool = False


class OidcClient(ProviderChecks):
    """A confidential OpenID Connect client using the code flow with PKCE; the client
    authenticates with `client_auth` (Basic by default)."""

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
        client_auth: ClientAuth | None = None,
        rules: Rules | None = None,
        tenant_template: bool = False,
    ) -> None:
        pinned = pinned_algorithms(algorithms)
        if "openid" not in scopes:
            raise ValueError("scopes must include 'openid'")
        if not client_id:
            raise ValueError("client_id is required")
        self._http = ProviderHttp(http, timeout=timeout, provider_name=provider_name)
        self._discovery = ProviderDiscovery(
            issuer,
            http=self._http,
            algorithms=pinned,
            clock=clock,
            tenant_template=tenant_template,
        )
        self._id_tokens = IdTokenVerifier(
            client_id=client_id, algorithms=pinned, leeway=leeway, clock=clock, keys=self._discovery
        )

        self.issuer = issuer
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._client_secret = client_secret
        self._scopes = tuple(scopes)
        self._algorithms = pinned
        self._groups_claims = (groups_claim,) if groups_claim else ("groups", "memberOf")
        self._provider = provider_name
        self._clock = clock
        self._auth = client_auth or ClientAuth("client_secret_basic", client_id, client_secret)
        self._rules = rules or Rules()

    @property
    def provider_name(self) -> str:
        return self._provider

    @property
    def auth_method(self) -> str:
        """How this client authenticates at the token endpoint."""
        return self._auth.method

    @property
    def discovery_url(self) -> str:
        """Where the discovery document lives (the issuer may end in a slash or not)."""
        return self._discovery.discovery_url

    async def metadata(self) -> ProviderMetadata:
        """The discovery document, fetched once and cached; stale copies beat outages."""
        return await self._discovery.metadata()

    # -- the sign-in flow ---------------------------------------------------------------

    def new_transaction(self, return_to: str, *, test_for: str | None = None) -> LoginTransaction:
        """Fresh state, nonce and PKCE verifier for one sign-in attempt."""
        return LoginTransaction.new(return_to, created_at=self._clock(), test_for=test_for)

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
        self, params: Mapping[str, str], tx: LoginTransaction, *, always_userinfo: bool = False
    ) -> SignInResult:
        """Check the callback, redeem the code and verify the ID token; OidcError if not OK.
        `always_userinfo` (a test sign-in) fetches userinfo even when the ID token has email."""
        meta = await self.metadata()
        iss = params.get("iss")
        if iss is None and meta.iss_parameter_supported:
            raise OidcError(
                "iss_mismatch",
                f"The sign-in response lacks the 'iss' parameter that {self._provider} "
                "advertises (RFC 9207); refused.",
            )
        if iss is not None and not issuer_matches(meta.issuer, iss):
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
        claims = await self._id_tokens.verify(
            id_token,
            access_token,
            issuer=meta.issuer,
            nonce=tx.nonce,
            aliases=self._rules.issuer_aliases if meta.issuer == self.issuer else (),
        )
        self._rules.check(claims)
        id_token_claims = claims
        userinfo: dict[str, Any] | None = None
        userinfo_error: str | None = None
        unverified = "email_verified" not in claims and self._rules.needs_email_verified
        if ("email" not in claims or unverified) and meta.userinfo_endpoint:
            userinfo = await self._userinfo(meta.userinfo_endpoint, access_token, claims["sub"])
            claims = {
                **claims,
                **{k: v for k, v in userinfo.items() if k not in _PROTECTED_CLAIMS},
            }
        elif always_userinfo and meta.userinfo_endpoint:
            try:  # sign-in itself does not need it here: a failure is only reported
                userinfo = await self._userinfo(meta.userinfo_endpoint, access_token, claims["sub"])
            except OidcError as exc:
                userinfo_error = exc.message
        result = self._result(claims, id_token, id_token_claims, userinfo)
        return replace(result, userinfo_error=userinfo_error) if userinfo_error else result

    async def _redeem(
        self, meta: ProviderMetadata, code: str, tx: LoginTransaction
    ) -> tuple[str, str]:
        """POST the code to the token endpoint; returns (id_token, access_token)."""
        response = await self._token_request(
            meta, code, tx.code_verifier, "redeeming the authorization code"
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
        body = self._http.json(response, "the token request")
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

    async def _token_request(
        self, meta: ProviderMetadata, code: str, code_verifier: str, purpose: str
    ) -> httpx.Response:
        """The code exchange, authenticated as the client is configured to."""
        headers = {"Accept": "application/json"}
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": code_verifier,
        }
        self._auth.apply(meta.token_endpoint, headers, data)
        return await self._http.send(
            "POST", meta.token_endpoint, purpose, headers=headers, data=data
        )

    async def _userinfo(self, url: str, access_token: str, sub: str) -> dict[str, Any]:
        response = await self._http.send(
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
        data = self._http.json(response, "the userinfo request")
        if not isinstance(data, dict):
            raise OidcError("userinfo_failed", "The userinfo response is not a JSON object.")
        if data.get("sub") != sub:
            raise OidcError(
                "userinfo_sub_mismatch",
                "The userinfo response describes another user than the ID token; refused.",
            )
        return data

    def _result(
        self,
        claims: dict[str, Any],
        id_token: str,
        id_token_claims: dict[str, Any],
        userinfo: dict[str, Any] | None,
    ) -> SignInResult:
        given = _string_claim(claims, "given_name")
        family = _string_claim(claims, "family_name")
        name = _string_claim(claims, "name") or " ".join(p for p in (given, family) if p)
        email, verified = self._rules.email(claims)
        groups_claim, groups = self._groups(claims)
        return SignInResult(
            sub=claims["sub"],
            email=email,
            email_verified=verified,
            given_name=given,
            family_name=family,
            name=name or None,
            groups=groups,
            id_token=id_token,
            claims=claims,
            id_token_claims=id_token_claims,
            userinfo=userinfo,
            groups_claim=groups_claim,
            # One spelling per issuer (Google's legacy alias is its issuer), so links stay one.
            issuer=self.issuer
            if id_token_claims["iss"] in self._rules.issuer_aliases
            else id_token_claims["iss"],
            provider=self._provider,
            groups_overage=groups_claim is None and self._overage(claims),
        )

    def _overage(self, claims: Mapping[str, Any]) -> bool:
        """A groups claim sent elsewhere (OpenID Connect Core §5.6.2 distributed claims)."""
        names = claims.get("_claim_names")
        return isinstance(names, dict) and any(c in names for c in self._groups_claims)

    def _groups(self, claims: Mapping[str, Any]) -> tuple[str | None, list[str]]:
        """The claim the groups came from (the first configured one present) and its names."""
        for claim in self._groups_claims:
            if claim in claims:
                value = claims[claim]
                values = [value] if isinstance(value, str) else value
                if not isinstance(values, list):
                    return claim, []
                return claim, list(dict.fromkeys(v for v in values if isinstance(v, str) and v))
        return None, []

    # -- logout ------------------------------------------------------------------------

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

    async def documents(self) -> tuple[ProviderMetadata, KeySet]:
        """Discovery and JWKS fetched afresh, never from the cache (checks, support bundle)."""
        meta = await self._discovery.fetch_metadata()
        return meta, await self._discovery.fetch_jwks(meta)


def code_challenge(verifier: str) -> str:
    """The RFC 7636 S256 challenge for a PKCE verifier."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def _string_claim(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value else None


def _with_query(url: str, params: Mapping[str, str]) -> str:
    """Append params to a URL that may already carry a query (dropping any fragment)."""
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query = urlencode([*pairs, *params.items()], quote_via=quote)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
