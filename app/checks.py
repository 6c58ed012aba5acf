"""`webrix check`: reach the identity provider the way sign-in will."""

from __future__ import annotations

import httpx

from app.auth.errors import OidcError
from app.config import Config
from app.services import USER_AGENT, make_oidc_client

# Values config.example.toml ships with: a config still holding one is not configured.
PLACEHOLDERS = {
    ("auth.jumpcloud", "client_id"): "paste-the-client-id-from-jumpcloud",
    ("auth.jumpcloud", "client_secret"): "...",
    ("server", "public_url"): "https://connect.example.com",
    ("server", "secret_key"): "...",
}


def unconfigured(config: Config) -> list[str]:
    """The keys still holding a placeholder from config.example.toml (or empty), as
    "[section] key" with what to put there; empty when sign-in is configured."""
    values = {
        ("auth.jumpcloud", "client_id"): config.auth.jumpcloud.client_id,
        ("auth.jumpcloud", "client_secret"): config.auth.jumpcloud.client_secret,
        ("server", "public_url"): config.server.public_url,
        ("server", "secret_key"): config.server.secret_key,
    }
    return [
        f"[{section}] {key} still holds the example value from config.example.toml"
        if value.strip() == PLACEHOLDERS[(section, key)]
        else f"[{section}] {key} is empty"
        for (section, key), value in values.items()
        if not value.strip() or value.strip() == PLACEHOLDERS[(section, key)]
    ]


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
