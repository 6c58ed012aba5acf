"""The `[auth.<provider>]` sections: each preset's issuer from its own keys, and its safety rules.

`check_provider` validates the active section's values (already typed by `app.config`) in
place: it fills in `issuer` from the preset's keys unless the section overrides it, and
reports what an administrator must fix, one problem per line.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from app.config_keys import AUTH_METHODS, env_name

ENTRA_LOGIN = "https://login.microsoftonline.com"
GOOGLE_ISSUER = "https://accounts.google.com"
# Entra tenant ids are GUIDs; "organizations" and "common" are its multi-tenant endpoints.
ENTRA_MULTI_TENANT = ("organizations", "common")
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_OKTA_SERVER = re.compile(r"[A-Za-z0-9]{1,64}")
_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")

# The client authentication each provider can take. Entra takes a private key only as an
# uploaded certificate and Google not at all; JumpCloud offers Basic and Post (see
# ../shared/reference/providers.md).
AUTH_METHODS_OF = {
    "jumpcloud": AUTH_METHODS[:2],
    "okta": AUTH_METHODS,
    "entra": AUTH_METHODS[:2],
    "google": AUTH_METHODS[:2],
    "keycloak": AUTH_METHODS,
    "oidc": AUTH_METHODS,
}


class Problems(Protocol):
    def problem(self, section: str, key: str | None, message: str) -> None: ...

    def table(self, section: str) -> Mapping[str, Any]: ...


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(loader: Problems, section: str, key: str, url: str | None) -> str | None:
    """`url` if it is an absolute http(s) URL with nothing but a path; else a problem."""
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        loader.problem(section, key, f"must be an absolute http(s) URL, got {url!r}")
        return None
    if parts.query or parts.fragment:
        loader.problem(section, key, "must not carry a query or fragment")
        return None
    if parts.username is not None or parts.password is not None:
        loader.problem(section, key, "must not carry a user name or password")
        return None
    return url


def _https_url(ld: Problems, section: str, key: str, url: str) -> str | None:
    """An issuer-like URL: https, or http on a loopback host only."""
    checked = check_url(ld, section, key, url)
    if checked and checked.startswith("http://") and not is_loopback(urlsplit(checked).hostname):
        ld.problem(section, key, "http:// is only accepted on a loopback host")
        return None
    return checked


def check_provider(ld: Problems, name: str, keys: dict[str, Any]) -> None:
    """Validate the active provider's section and set its `issuer`."""
    section = f"auth.{name}"
    if keys["client_id"] == "":
        ld.problem(section, "client_id", "must not be empty")
    method = keys["token_endpoint_auth_method"]
    allowed = AUTH_METHODS_OF[name]
    if method is not None and method not in allowed:
        why = "" if method not in AUTH_METHODS else f" ({_NO_METHOD.get(name, '')})"
        ld.problem(
            section,
            "token_endpoint_auth_method",
            f"must be one of {', '.join(allowed)}, got {method!r}{why}",
        )
    if method == "private_key_jwt":
        if keys["client_secret"]:
            ld.problem(
                section,
                "client_secret",
                "is not used with private_key_jwt (the service signs with its own key): remove it",
            )
    elif keys["client_secret"] == "":
        # Written as "" in the file or in WEBRIX_AUTH_<PROVIDER>_CLIENT_SECRET: not missing.
        written = (
            "client_secret" in ld.table(section) or env_name(section, "client_secret") in os.environ
        )
        ld.problem(
            section, "client_secret", "must not be empty" if written else "required key is missing"
        )
    timeout = keys["timeout_seconds"]
    if isinstance(timeout, (int, float)) and not 0 < timeout <= 120:
        ld.problem(section, "timeout_seconds", "must be between 0 and 120")
    if keys["post_logout_redirect_uri"]:
        check_url(ld, section, "post_logout_redirect_uri", keys["post_logout_redirect_uri"])
    derived = _DERIVE[name](ld, section, keys)
    override = keys["issuer"]
    if override and ("{" in override or "}" in override):
        # A template (Entra's {tenantid}) would let the ID token name its own issuer; only
        # [auth.entra] with a multi-tenant tenant_id accepts one, checked against its tenants.
        ld.problem(
            section,
            "issuer",
            "must name one issuer, not a template ({tenantid}): for Entra ID's multi-tenant "
            'endpoints, use [auth.entra] tenant_id = "organizations" with allowed_tenants',
        )
        keys["issuer"] = None
    elif override:
        keys["issuer"] = _https_url(ld, section, "issuer", override)
    elif derived is not None:
        keys["issuer"] = derived
    elif name != "jumpcloud":
        keys["issuer"] = None


_NO_METHOD = {
    "jumpcloud": "JumpCloud offers Client Secret Basic and Client Secret Post",
    "entra": "Entra ID takes a private key only as an uploaded certificate, not a JWKS URL",
    "google": "Google's OAuth clients authenticate with a client secret only",
}


def _jumpcloud(ld: Problems, section: str, keys: dict[str, Any]) -> str | None:
    return None  # the issuer key's default is JumpCloud's one issuer


def _okta(ld: Problems, section: str, keys: dict[str, Any]) -> str | None:
    org, server = keys["org_url"], keys["authorization_server"]
    if server and not _OKTA_SERVER.fullmatch(server):
        ld.problem(
            section,
            "authorization_server",
            f"must be an authorization server's id (letters and digits, e.g. default), "
            f"got {server!r}",
        )
        return None
    if not org:
        if not keys["issuer"]:
            ld.problem(
                section, "org_url", "required key is missing (your Okta URL, without -admin)"
            )
        return None
    url = _https_url(ld, section, "org_url", org)
    if url is None:
        return None
    if urlsplit(url).path.strip("/"):
        ld.problem(section, "org_url", "must be the organisation's URL alone, without a path")
        return None
    if "-admin." in (urlsplit(url).hostname or ""):
        ld.problem(
            section, "org_url", "is the Admin Console's address: remove -admin from the host"
        )
        return None
    base = url.rstrip("/")
    return f"{base}/oauth2/{server}" if server else base


def _entra(ld: Problems, section: str, keys: dict[str, Any]) -> str | None:
    tenant = (keys["tenant_id"] or "").strip().lower()
    allowed = [t.strip().lower() for t in keys["allowed_tenants"] or []]
    keys["tenant_id"], keys["allowed_tenants"] = tenant, allowed
    for t in allowed:
        if not GUID.fullmatch(t):
            ld.problem(section, "allowed_tenants", f"{t!r} is not a tenant id (a GUID)")
    if not tenant:
        ld.problem(
            section,
            "tenant_id",
            "required key is missing (the Directory (tenant) ID on the app's Overview page)",
        )
        return None
    if tenant in ENTRA_MULTI_TENANT:
        if not allowed:
            ld.problem(
                section,
                "allowed_tenants",
                f'is required with tenant_id = "{tenant}": list the tenant ids whose users may '
                "sign in (without it, any Microsoft organisation could)",
            )
    elif not GUID.fullmatch(tenant):
        ld.problem(
            section,
            "tenant_id",
            f'must be the Directory (tenant) ID, a GUID, or "organizations" / "common"; '
            f"got {tenant!r}",
        )
        return None
    elif allowed and allowed != [tenant]:
        ld.problem(
            section,
            "allowed_tenants",
            "only applies with tenant_id = organizations or common: with one tenant, that "
            "tenant alone may sign in; remove the key",
        )
    return f"{ENTRA_LOGIN}/{tenant}/v2.0"


def _google(ld: Problems, section: str, keys: dict[str, Any]) -> str | None:
    domains = [d.strip().lower().rstrip(".") for d in keys["allowed_domains"] or []]
    keys["allowed_domains"] = domains
    if not domains:
        ld.problem(
            section,
            "allowed_domains",
            "is required: your Google Workspace domain(s), checked against the hd claim "
            "(without it, any Google account could sign in)",
        )
    for d in domains:
        if not _DOMAIN.fullmatch(d):
            ld.problem(section, "allowed_domains", f"{d!r} is not a domain name")
    return GOOGLE_ISSUER


def _keycloak(ld: Problems, section: str, keys: dict[str, Any]) -> str | None:
    base, realm = keys["base_url"], keys["realm"]
    if keys["issuer"] and not (base or realm):
        return None
    missing = [k for k in ("base_url", "realm") if not keys[k]]
    for k in missing:
        ld.problem(section, k, "required key is missing")
    if missing:
        return None
    url = _https_url(ld, section, "base_url", base)
    if url is None:
        return None
    if "/realms/" in url:
        ld.problem(section, "base_url", "must end before /realms/: put the realm in realm")
        return None
    return f"{url.rstrip('/')}/realms/{quote(realm, safe='')}"


def _oidc(ld: Problems, section: str, keys: dict[str, Any]) -> str | None:
    if not keys["issuer"]:
        ld.problem(section, "issuer", "required key is missing (the provider's issuer URL)")
    return None


_DERIVE = {
    "jumpcloud": _jumpcloud,
    "okta": _okta,
    "entra": _entra,
    "google": _google,
    "keycloak": _keycloak,
    "oidc": _oidc,
}
