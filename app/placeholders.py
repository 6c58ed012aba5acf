"""Sign-in is not configured while a key still holds config.example.toml's placeholder: the
active provider's section and [server], each with the example's own values."""

from __future__ import annotations

from app.config import Config

# Values config.example.toml ships with: a config still holding one is not configured.
EXAMPLES: dict[str, dict[str, str]] = {
    "jumpcloud": {"client_id": "paste-the-client-id-from-jumpcloud", "client_secret": "..."},
    "okta": {
        "client_id": "paste-the-client-id-from-okta",
        "client_secret": "...",
        "org_url": "https://example.okta.com",
    },
    "entra": {
        "client_id": "paste-the-application-client-id-from-entra",
        "client_secret": "...",
        "tenant_id": "00000000-0000-0000-0000-000000000000",
    },
    "google": {
        "client_id": "paste-the-client-id-from-google",
        "client_secret": "...",
        "allowed_domains": "example.com",
    },
    "keycloak": {"client_secret": "...", "base_url": "https://sso.example.com"},
    "oidc": {
        "client_id": "paste-the-client-id",
        "client_secret": "...",
        "issuer": "https://idp.example.com",
    },
}
PLACEHOLDERS = {
    **{
        (f"auth.{name}", key): value
        for name, values in EXAMPLES.items()
        for key, value in values.items()
    },
    ("server", "public_url"): "https://connect.example.com",
    ("server", "secret_key"): "...",
}


def _placeholder(value: str | tuple[str, ...], example: str) -> bool:
    if isinstance(value, tuple):
        return example in value
    return value.strip().rstrip("/") == example


def unconfigured(config: Config) -> list[str]:
    """The keys of the active provider's section and of [server] still holding a placeholder
    from config.example.toml (or empty), as "[section] key" with what to put there; empty
    when sign-in is configured."""
    active = config.auth.active
    section = active.section
    examples = EXAMPLES[active.name]
    keys = ["client_id", *(() if active.uses_client_key else ("client_secret",))]
    keys += [k for k in examples if k not in ("client_id", "client_secret")]
    values: dict[tuple[str, str], str | tuple[str, ...]] = {
        (section, key): getattr(active, key) for key in keys
    }
    values[("server", "public_url")] = config.server.public_url
    values[("server", "secret_key")] = config.server.secret_key
    found = []
    for (where, key), value in values.items():
        example = PLACEHOLDERS.get((where, key))
        if example is not None and _placeholder(value, example):
            found.append(f"[{where}] {key} still holds the example value from config.example.toml")
        elif isinstance(value, str) and not value.strip():
            found.append(f"[{where}] {key} is empty")
    return found
