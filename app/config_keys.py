"""Every config key: its type, default, whether it is a secret, and the help that documents it
(config.example.toml, the admin settings page). `app.config` reads files against this table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_ISSUER = "https://oauth.id.jumpcloud.com/"


@dataclass(frozen=True)
class Key:
    type: type | tuple[type, ...]
    default: Any = ...  # `...` marks a required key
    secret: bool = False
    help: str = ""


REQUIRED = ...

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")


def _provider(issuer: Any, who: str, **preset: Key) -> dict[str, Key]:
    """The keys every `[auth.<provider>]` section has, around the preset's own ones."""
    return {
        "client_id": Key(str, REQUIRED, help=f"from the {who} app"),
        "client_secret": Key(
            str, "", secret=True, help=f"from the {who} app (not with private_key_jwt)"
        ),
        **preset,
        "issuer": Key(
            str,
            issuer,
            help=f"{who}'s issuer" if issuer else "overrides the issuer the keys above give",
        ),
        "token_endpoint_auth_method": Key(str, "client_secret_basic", help=", ".join(AUTH_METHODS)),
        "groups_claim": Key(str, "", help="name of the groups claim, if enabled"),
        "timeout_seconds": Key((int, float), 10.0, help=f"timeout for calls to {who}"),
        "post_logout_redirect_uri": Key(str, "", help=f"where {who} returns after sign-out"),
    }


# The identity providers `[auth] provider` may name, as pages and messages spell them.
TITLES = {
    "jumpcloud": "JumpCloud",
    "okta": "Okta",
    "entra": "Microsoft Entra ID",
    "google": "Google",
    "keycloak": "Keycloak",
    "oidc": "the identity provider",
}

# Each provider's section keys.
PROVIDER_KEYS: dict[str, dict[str, Key]] = {
    "jumpcloud": _provider(DEFAULT_ISSUER, TITLES["jumpcloud"]),
    "okta": _provider(
        "",
        TITLES["okta"],
        org_url=Key(str, "", help="your Okta organisation, https://example.okta.com"),
        authorization_server=Key(str, "", help="a custom authorization server, e.g. default"),
    ),
    "entra": _provider(
        "",
        TITLES["entra"],
        tenant_id=Key(str, "", help="Directory (tenant) ID, or organizations / common"),
        allowed_tenants=Key(list, [], help="tenant ids allowed when tenant_id is not one"),
    ),
    "google": _provider(
        "",
        TITLES["google"],
        allowed_domains=Key(list, [], help="Workspace domains allowed (the hd claim)"),
    ),
    "keycloak": _provider(
        "",
        TITLES["keycloak"],
        base_url=Key(str, "", help="Keycloak's URL, https://sso.example.com"),
        realm=Key(str, "", help="the realm Webrix's client is in"),
    ),
    "oidc": _provider(
        "",
        TITLES["oidc"],
        display_name=Key(str, "", help="what pages call the provider"),
    ),
}

# section -> key -> spec. The order is the order of config.example.toml.
SPEC: dict[str, dict[str, Key]] = {
    "server": {
        "public_url": Key(str, REQUIRED, help="where browsers reach this service"),
        "secret_key": Key(str, REQUIRED, secret=True, help="signs cookies; >= 32 bytes"),
        "host": Key(str, "127.0.0.1", help="address `webrix serve` binds to"),
        "port": Key(int, 8080, help="port `webrix serve` binds to"),
        "allow_insecure_http": Key(bool, False, help="permit an http:// public_url off loopback"),
        "log_level": Key(str, "info", help="debug, info, warning or error"),
        "trusted_proxies": Key(list, ["127.0.0.1"], help="proxies whose X-Forwarded-For counts"),
    },
    "database": {
        "path": Key(str, "webrix.db", help="SQLite file, relative to the config file"),
    },
    "auth": {
        "provider": Key(str, "jumpcloud", help="jumpcloud, okta, entra, google, keycloak or oidc"),
    },
    **{f"auth.{name}": keys for name, keys in PROVIDER_KEYS.items()},
    "access": {
        "admin_emails": Key(list, [], help="who may open /admin"),
        "admin_groups": Key(list, [], help="members of these groups may open /admin"),
        "admin_group_external_ids": Key(
            list, [], help="or of the groups with these externalIds (the IdP's group ids)"
        ),
        "jit_provisioning": Key(bool, True, help="create unknown users at first sign-in"),
    },
    "session": {
        "lifetime_minutes": Key(int, 720, help="absolute session lifetime"),
        "idle_timeout_minutes": Key(int, 120, help="session ends after this much inactivity"),
    },
    "scim": {
        "max_page_size": Key(int, 200, help="largest `count` honoured"),
        "default_page_size": Key(int, 100, help="page size when `count` is absent"),
        "max_body_bytes": Key(int, 1_048_576, help="larger request bodies get 413"),
        "max_url_bytes": Key(int, 8192, help="longer paths with query strings get 414"),
        "max_json_depth": Key(int, 32, help="deepest nesting of a request body"),
        "max_json_values": Key(int, 50_000, help="values (elements, members) in a request body"),
        "max_integer_digits": Key(int, 18, help="longest number, in digits, in a body or query"),
        "max_resource_bytes": Key(int, 65_536, help="largest user or group kept, encoded"),
        "max_header_bytes": Key(int, 32_768, help="larger request headers get 431 (any route)"),
        "max_attribute_names": Key(int, 100, help="names in attributes/excludedAttributes"),
        "max_operations": Key(int, 200, help="operations in one PATCH"),
        "max_values": Key(int, 100, help="values of one multi-valued attribute"),
        "max_members": Key(int, 10_000, help="members in one group request or operation"),
        "max_filter_clauses": Key(int, 50, help="comparisons in one filter"),
        "max_value_filters": Key(int, 5, help="attr[...] value filters in one filter"),
        "query_budget_seconds": Key(
            (int, float), 2.0, help="a query running longer is stopped and refused"
        ),
    },
    "audit": {
        "retention_days": Key(int, 365, help="audit events older than this are deleted"),
    },
}
SECTIONS = {"server", "database", "auth", "access", "session", "scim", "audit"}
LOG_LEVELS = {"debug", "info", "warning", "error"}


def env_name(section: str, key: str) -> str:
    """The environment variable that overrides a key."""
    return "WEBRIX_" + section.replace(".", "_").upper() + "_" + key.upper()


def spec() -> dict[str, dict[str, tuple[Any, bool, str]]]:
    """Every key with (default, secret, help); used by docs and the admin settings page."""
    return {
        s: {
            k: (None if d.default is REQUIRED else d.default, d.secret, d.help)
            for k, d in keys.items()
        }
        for s, keys in SPEC.items()
    }
