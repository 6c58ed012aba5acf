"""Test connection's requests to the provider, mixed into `OidcClient` (app/auth/oidc.py).

`diagnose` fetches discovery and JWKS afresh and describes them (the client authentication
it checks the provider offers is the configured one); `probe_token_endpoint` redeems a code
that cannot exist, authenticated exactly as sign-in is, so the answer tells whether the
provider accepts the Client ID and Client Secret (or the service's key); `probe_authorization`
sends the sign-in request a browser would, so a provider that does not know the Redirect URI
refuses it.
Provider text in an answer is clipped and the client secret redacted.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

import httpx

from app.auth.discovery import ProviderDiscovery, ProviderMetadata
from app.auth.errors import OidcError, clip
from app.auth.provider_http import ProviderHttp
from app.auth.transaction import LoginTransaction

__all__ = ["ProbeAnswer", "ProviderChecks"]


@dataclass(frozen=True)
class ProbeAnswer:
    """How an endpoint answered a diagnostic request; provider text clipped, secret removed."""

    status: int
    error: str | None
    description: str | None
    location: str | None = None


_HTML_ERROR = re.compile(
    r"\b(invalid_[a-z_]{1,40}|unauthorized_client|unsupported_response_type|access_denied)\b"
)


class ProviderChecks:
    """The diagnostic half of `OidcClient`: what it uses of the client is declared here."""

    redirect_uri: str
    _client_secret: str
    _algorithms: tuple[str, ...]
    _discovery: ProviderDiscovery
    _http: ProviderHttp

    if TYPE_CHECKING:

        @property
        def auth_method(self) -> str: ...

        def new_transaction(
            self, return_to: str, *, test_for: str | None = None
        ) -> LoginTransaction: ...

        async def authorization_url(
            self, tx: LoginTransaction, *, extra_params: Mapping[str, str] | None = None
        ) -> str: ...

        async def _token_request(
            self, meta: ProviderMetadata, code: str, code_verifier: str, purpose: str
        ) -> httpx.Response: ...

    async def check(self) -> list[str]:
        """Fetch discovery and JWKS afresh and describe them; OidcError on a hard problem."""
        return (await self.diagnose())[1]

    async def diagnose(self) -> tuple[ProviderMetadata, list[str]]:
        """As `check`, also returning the discovery document it fetched."""
        meta = await self._discovery.fetch_metadata()
        raw = meta.raw
        findings = [
            f"Discovery document {self._discovery.discovery_url}: issuer {meta.issuer} matches.",
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
                self.auth_method,  # as configured: the one sign-in authenticates with
                "client_auth_unsupported",
                "client authentication",
            ),
        ]
        if self.auth_method == "private_key_jwt":
            checks.append(
                (
                    "token_endpoint_auth_signing_alg_values_supported",
                    "RS256",
                    "client_auth_unsupported",
                    "client assertions signed with",
                )
            )
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
        keys = await self._discovery.fetch_jwks(meta)
        kids = ", ".join(str(k.kid) for k in keys)
        findings.append(f"JWKS {meta.jwks_uri}: {len(keys.keys)} usable key(s) ({kids}).")
        return meta, findings

    async def probe_token_endpoint(self, meta: ProviderMetadata) -> ProbeAnswer:
        """Redeem a code that cannot exist, authenticated exactly as sign-in is: the provider
        answers invalid_grant if it accepts the client credentials, invalid_client if not."""
        response = await self._token_request(
            meta,
            secrets.token_urlsafe(32),
            secrets.token_urlsafe(48),
            "testing the Client ID and Client Secret",
        )
        try:
            body: object = response.json()
        except ValueError:
            body = None
        error = description = None
        if isinstance(body, dict):
            error = self._redact(body.get("error"), 64)
            description = self._redact(body.get("error_description"), 200)
        return ProbeAnswer(response.status_code, error, description)

    async def probe_authorization(self, meta: ProviderMetadata) -> ProbeAnswer:
        """Send the sign-in request a browser would (not following the answer): a provider
        that does not know the client or its Redirect URI refuses it here."""
        url = await self.authorization_url(self.new_transaction("/"))
        response = await self._http.send(
            "GET", url, "testing the sign-in request", headers={"Accept": "text/html"}
        )
        location = response.headers.get("location")
        error = description = None
        if location is not None:
            query = dict(parse_qsl(urlsplit(location).query))
            error = self._redact(query.get("error"), 64)
            description = self._redact(query.get("error_description"), 200)
        elif response.status_code >= 400:
            page = response.text[:20_000]
            found = _HTML_ERROR.search(page)
            error = found.group(1) if found else None
            if "redirect_uri" in page and "redirect" not in (error or ""):
                description = "its error page mentions redirect_uri"
        return ProbeAnswer(response.status_code, error, description, location)

    def _redact(self, value: object, limit: int) -> str | None:
        if value is None or value == "":
            return None
        text = str(value)
        if self._client_secret:
            text = text.replace(self._client_secret, "[redacted]")
        return clip(text, limit)
