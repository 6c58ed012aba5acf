"""The provider's discovery document and signing keys (JWKS), fetched and cached.

Both are cached for an hour; a failed refresh keeps the stale copy and retries after a
minute (stale copies beat outages). An unknown `kid` may force a JWKS refetch, at most
once per 10 s so that forged tokens cannot make us hammer the provider.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key, KeySet

from app.auth.errors import OidcError, ProviderUnreachable, clip
from app.auth.idtoken import key_types
from app.auth.issuers import TENANT, issuer_matches
from app.auth.provider_http import ProviderHttp

__all__ = ["ProviderDiscovery", "ProviderMetadata", "issuer_matches"]

logger = logging.getLogger(__name__)

_METADATA_MAX_AGE = 3600.0
_JWKS_MAX_AGE = 3600.0
_RETRY_AFTER_FAILURE = 60.0
_FORCED_REFETCH_INTERVAL = 10.0


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


class ProviderDiscovery:
    """Discovery and JWKS for one issuer; ValueError if the issuer URL is unusable."""

    def __init__(
        self,
        issuer: str,
        *,
        http: ProviderHttp,
        algorithms: tuple[str, ...],
        clock: Callable[[], float],
        tenant_template: bool = False,
    ) -> None:
        parts = urlsplit(issuer)
        self._loopback = _is_loopback(parts.hostname)
        if not parts.hostname or parts.scheme not in ("https", "http"):
            raise ValueError(f"issuer {issuer!r} is not an absolute URL")
        if parts.scheme != "https" and not self._loopback:
            raise ValueError(f"issuer {issuer!r} must use https")

        self.issuer = issuer
        self._http = http
        self._algorithms = algorithms
        self._clock = clock
        # Entra's organizations/common endpoints publish `{tenantid}` where the configured
        # issuer names the endpoint: `.../organizations/v2.0` → `.../{tenantid}/v2.0`.
        self._templated = _template_of(issuer.rstrip("/")) if tenant_template else None

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
                fresh = await self.fetch_metadata()
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

    async def fetch_metadata(self) -> ProviderMetadata:
        """Fetch and check the discovery document, bypassing the cache."""
        url = self.discovery_url
        response = await self._http.send("GET", url, "fetching the discovery document")
        if response.status_code != 200:
            raise ProviderUnreachable(
                f"{self._http.provider_name}'s discovery document at {url} answered HTTP "
                f"{response.status_code}; check the issuer URL."
            )
        doc = self._http.json(response, "the discovery document")
        if not isinstance(doc, dict):
            raise ProviderUnreachable(f"The discovery document at {url} is not a JSON object.")
        return self._parse_metadata(doc)

    def _parse_metadata(self, doc: dict[str, Any]) -> ProviderMetadata:
        issuer = doc.get("issuer")
        # The configured issuer may differ from the discovered one by a trailing slash
        # only; from here on the discovered issuer is compared exactly.
        if not isinstance(issuer, str) or issuer.rstrip("/") not in (
            self.issuer.rstrip("/"),
            self._templated,
        ):
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

    async def key_set(self, *, force: bool = False) -> KeySet:
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
                fresh = await self.fetch_jwks(await self.metadata())
            except OidcError as exc:
                if cached is None or force:
                    raise
                logger.warning("Keeping cached JWKS: %s", exc.message)
                self._jwks_expires = now + _RETRY_AFTER_FAILURE
                return cached
            self._jwks = fresh
            self._jwks_expires = self._clock() + _JWKS_MAX_AGE
            return fresh

    async def fetch_jwks(self, meta: ProviderMetadata) -> KeySet:
        """Fetch the signing keys of the pinned algorithms' types, bypassing the cache."""
        response = await self._http.send("GET", meta.jwks_uri, "fetching the signing keys")
        if response.status_code != 200:
            raise ProviderUnreachable(
                f"{self._http.provider_name}'s signing keys (JWKS) answered HTTP "
                f"{response.status_code}."
            )
        doc = self._http.json(response, "the signing keys (JWKS)")
        entries = doc.get("keys") if isinstance(doc, dict) else None
        if not isinstance(entries, list):
            raise OidcError("invalid_jwks", "The provider's JWKS has no 'keys' list.")
        wanted = key_types(self._algorithms)
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


def _template_of(issuer: str) -> str | None:
    """The multi-tenant template for an Entra organizations/common issuer."""
    head, sep, tail = issuer.rpartition("/v2.0")
    if not sep or tail:
        return None
    base, _, tenant = head.rpartition("/")
    return f"{base}/{TENANT}/v2.0" if tenant in ("organizations", "common") else None


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
