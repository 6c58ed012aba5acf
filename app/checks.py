"""`webrix check`: reach the identity provider the way sign-in will."""

from __future__ import annotations

import httpx

from app.auth.errors import OidcError
from app.config import Config
from app.services import USER_AGENT, make_oidc_client


async def check_provider(config: Config, transport: httpx.AsyncBaseTransport | None = None) -> int:
    """Fetch discovery and JWKS, print findings; 0 if sign-in can work, 1 if not."""
    jc = config.auth.jumpcloud
    print()
    print(f"Identity provider {jc.issuer}:")
    async with httpx.AsyncClient(
        transport=transport, timeout=jc.timeout_seconds, headers={"User-Agent": USER_AGENT}
    ) as http:
        client = make_oidc_client(config, http)
        try:
            findings = await client.check()
        except OidcError as exc:
            print(f"  PROBLEM: {exc.message}")
            print("  Sign-in will not work until this is fixed.")
            return 1
    for line in findings:
        print(f"  {line}")
    print("  OK: sign-in can reach the identity provider.")
    return 0
