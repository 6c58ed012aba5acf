"""What each identity provider's ID token means: whose it is, their address, who may sign in.

The relying party (`app.auth.oidc`) verifies every token the same way; a preset's `Rules`
then apply what that provider needs on top (see ../shared/reference/providers.md):
- Microsoft Entra ID: the tenant (`tid`) must be an allowed one; the address comes from
  `email`, else `preferred_username`, else `upn`, and carries no `email_verified`. The tenant
  is the authority over addresses in its directory, and only allowed tenants get this far,
  so the address counts as verified unless Entra says its domain is not verified
  (`xms_edov` false).
- Google: the Workspace domain (`hd`) must be an allowed one; a consumer account has none.
- JumpCloud, Okta, Keycloak and any other provider: the standard claims, as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.auth.errors import SignInRefused, clip
from app.config import ProviderConfig
from app.config_keys import TITLES
from app.config_providers import ENTRA_MULTI_TENANT, GUID

# The titles of the refusal pages: about the account, so they offer to use another.
ORGANISATION = "Organisation not allowed"
ACCOUNT = "Account not allowed"


def title(provider: ProviderConfig) -> str:
    """The provider's name as pages and messages say it."""
    return provider.display_name or TITLES[provider.name]


class Rules:
    """The standard claims, as they are."""

    # Fetch userinfo when the ID token's address comes without `email_verified` (Okta's org
    # authorization server sends it only there).
    needs_email_verified = True
    # Other spellings of the issuer the provider documents for its ID tokens.
    issuer_aliases: tuple[str, ...] = ()

    def check(self, claims: Mapping[str, Any]) -> None:
        """Refuse (SignInRefused) a verified token whose holder may not sign in here."""

    def email(self, claims: Mapping[str, Any]) -> tuple[str | None, bool]:
        """The user's address and whether the provider vouches for it."""
        verified = claims.get("email_verified")
        return _string(claims, "email"), verified is True or (
            isinstance(verified, str) and verified.lower() == "true"
        )


@dataclass(frozen=True)
class EntraRules(Rules):
    tenants: frozenset[str]
    needs_email_verified = False  # Entra never sends it

    def check(self, claims: Mapping[str, Any]) -> None:
        tid = claims.get("tid")
        if not isinstance(tid, str) or not GUID.fullmatch(tid.lower()):
            raise SignInRefused(
                "tenant_not_allowed",
                ORGANISATION,
                "The ID token names no tenant (tid); refused.",
            )
        if tid.lower() not in self.tenants:
            raise SignInRefused(
                "tenant_not_allowed",
                ORGANISATION,
                f"Your Microsoft Entra tenant ({clip(tid, 40)}) is not allowed to sign in to "
                "Webrix. Sign in with your organisation's work account, or ask your "
                "administrator to add the tenant to [auth.entra] allowed_tenants.",
            )

    def email(self, claims: Mapping[str, Any]) -> tuple[str | None, bool]:
        address = next(
            (
                value
                for value in (_string(claims, k) for k in ("email", "preferred_username", "upn"))
                if value and "@" in value
            ),
            None,
        )
        edov = claims.get("xms_edov")
        unverified_domain = edov is False or (isinstance(edov, str) and edov.lower() == "false")
        return address, address is not None and not unverified_domain


@dataclass(frozen=True)
class GoogleRules(Rules):
    domains: frozenset[str]
    # "The value of iss in the ID token is equal to accounts.google.com or
    # https://accounts.google.com" (Google's OpenID Connect guide).
    issuer_aliases = ("accounts.google.com",)

    def check(self, claims: Mapping[str, Any]) -> None:
        hd = claims.get("hd")
        if not isinstance(hd, str) or not hd:
            raise SignInRefused(
                "domain_not_allowed",
                ACCOUNT,
                "This is a personal Google account (no Workspace domain): sign in with your "
                "organisation's Google Workspace account.",
            )
        if hd.lower() not in self.domains:
            raise SignInRefused(
                "domain_not_allowed",
                ACCOUNT,
                f"The Google Workspace domain {clip(hd, 80)!r} is not allowed to sign in to "
                "Webrix. Sign in with your organisation's account, or ask your administrator "
                "to add the domain to [auth.google] allowed_domains.",
            )


def rules(provider: ProviderConfig) -> Rules:
    """The preset's rules for the configured provider."""
    if provider.name == "entra":
        if provider.tenant_id in ENTRA_MULTI_TENANT:
            return EntraRules(frozenset(provider.allowed_tenants))
        return EntraRules(frozenset({provider.tenant_id}))
    if provider.name == "google":
        return GoogleRules(frozenset(provider.allowed_domains))
    return Rules()


def scopes(provider: ProviderConfig) -> tuple[str, ...]:
    """The scopes to ask for: Okta's org authorization server puts the app's groups claim in
    the ID token only for the `groups` scope (a custom server defines its own claims, and
    would refuse a `groups` scope it does not know)."""
    base = ("openid", "email", "profile")
    if provider.name == "okta" and not provider.authorization_server:
        return (*base, "groups")
    return base


def tenant_template(provider: ProviderConfig) -> bool:
    """Entra's multi-tenant endpoints publish an issuer holding `{tenantid}`."""
    return provider.name == "entra" and provider.tenant_id in ENTRA_MULTI_TENANT


def _string(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value else None
