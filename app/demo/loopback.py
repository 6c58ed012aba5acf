"""Keep the demo identity provider on this machine: loopback issuers and loopback clients only."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class DemoProviderError(ValueError):
    """The demo identity provider was configured to run somewhere other than loopback."""


def check_loopback_issuer(issuer: str) -> None:
    """Raise DemoProviderError unless `issuer` is a plain http(s) URL on a loopback host."""
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK_HOSTS:
        raise DemoProviderError(
            f"the demo identity provider runs on loopback only, not at {issuer!r}"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise DemoProviderError(f"the demo issuer must be a plain URL, not {issuer!r}")


def is_loopback_client(client: tuple[str, int] | None) -> bool:
    """Whether an ASGI `client` address is this machine."""
    if client is None:
        return False
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


class LoopbackOnly:
    """ASGI middleware refusing every HTTP request that does not come from this machine."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not is_loopback_client(scope.get("client")):
            response = PlainTextResponse(
                "The Webrix demo identity provider answers loopback clients only.", 403
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
