"""Outbound HTTP to the OpenID provider, turning transport failures into `ProviderUnreachable`.

Every call goes through the `httpx.AsyncClient` the application owns, never follows
redirects, and names the provider and what was being done in its error messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from app.auth.errors import ProviderUnreachable

__all__ = ["ProviderHttp"]


class ProviderHttp:
    """Requests to one provider with one timeout; errors say which provider and why."""

    def __init__(self, http: httpx.AsyncClient, *, timeout: float, provider_name: str) -> None:
        self.provider_name = provider_name
        self._http = http
        self._timeout = httpx.Timeout(timeout)

    async def send(
        self,
        method: str,
        url: str,
        purpose: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request; ProviderUnreachable on timeout or connection failure."""
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
                f"{self.provider_name} ({host}) did not answer in time while {purpose}."
            ) from None
        except httpx.HTTPError as exc:
            raise ProviderUnreachable(
                f"Could not reach {self.provider_name} ({host}) while {purpose}: "
                f"{type(exc).__name__}."
            ) from None

    def json(self, response: httpx.Response, what: str) -> object:
        """The response body as JSON; ProviderUnreachable if it is not JSON."""
        try:
            return response.json()
        except ValueError:
            raise ProviderUnreachable(
                f"{self.provider_name} answered {what} with something that is not JSON."
            ) from None
