"""What the connection test tells an administrator to fix, worded for the active provider.

`fixes(provider, jwks_url)` gives every "Fix:" text of `app.checks`: the screen and field of
that provider's console (app.provider_hints) and the config key to edit. JumpCloud's texts are
the ones its setup page has always shown, word for word.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.config import ProviderConfig
from app.config_keys import env_name
from app.provider_hints import Hints, hints

CREDENTIALS_NAME = "Client ID and Client Secret"
KEY_NAME = "Client ID and the service's key (private_key_jwt)"


@dataclass(frozen=True)
class Fixes:
    """Every fix the connection test may name, for one provider's configuration."""

    title: str  # the provider's name
    method: str  # token_endpoint_auth_method
    app: str  # the app's screen in the provider's console
    configure: str  # what to paste while not configured
    credentials: str
    grant: str
    auth_type: str
    issuer: str
    admins: str
    redirect_field: str
    timeout_key: str
    jwks_url: str
    uses_key: bool  # private_key_jwt: the service's key instead of a client secret

    @property
    def credentials_name(self) -> str:
        """The credentials step's name: what the token endpoint is shown."""
        return KEY_NAME if self.uses_key else CREDENTIALS_NAME

    def redirect(self, redirect_uri: str) -> str:
        return f"{self.app} → {self.redirect_field}: add {redirect_uri} exactly."


def _method_label(h: Hints, method: str) -> str:
    return h.methods.get(method, f"token endpoint authentication: {method}")


def _credentials(p: ProviderConfig, h: Hints, jwks_url: str) -> str:
    s = f"[{p.section}]"
    if p.uses_client_key:
        return (
            f"{h.client_id}: copy it into {s} client_id. With private_key_jwt there is no "
            f"client secret: {h.title} must fetch the service's public key from {jwks_url} "
            f"({h.app} → {_method_label(h, p.token_endpoint_auth_method)}, URL {jwks_url}). "
            f"invalid_client from the token endpoint means {h.title} does not have this key "
            f"or cannot fetch it: check that URL is set there and that {h.title} can reach it."
        )
    env = env_name(p.section, "client_secret")
    where = f"{s} client_secret (or client_secret_file, or the environment variable {env})"
    method = _method_label(h, p.token_endpoint_auth_method)
    if p.name == "jumpcloud":
        return (
            f"{h.client_id}: copy the Client ID into {s} client_id; {h.regenerate} and put the new "
            f"one in {where}, then restart. On the same tab, "
            f"{method.replace(': select ', ' must be ')}."
        )
    text = (
        f"{h.client_id}: copy it into {s} client_id. Client secret: {h.regenerate}; put it in "
        f"{where}, then restart."
    )
    if "nothing to select" in method:
        return text
    return f"{text} Client authentication: {h.app} → {method}."


def _admins(h: Hints, name: str) -> str:
    if h.scim is None:
        return (
            f"Add your email to [access] admin_emails, then restart ({h.title} pushes no "
            "groups here by SCIM, so no group can name administrators)."
        )
    if name == "entra":
        return (
            "Add your email to [access] admin_emails, or the object id of an Entra ID group "
            "pushed by SCIM to [access] admin_group_external_ids, then restart."
        )
    article = "an" if h.title[:1] in "AEIOU" else "a"
    return (
        f"Add your email to [access] admin_emails, or {article} {h.title} group pushed by SCIM "
        "to [access] admin_groups, then restart."
    )


def fixes(p: ProviderConfig, jwks_url: str = "") -> Fixes:
    """The fixes for provider `p` (`jwks_url`: where the service publishes its key)."""
    h = hints(p)
    method = p.token_endpoint_auth_method
    auth_type = f"{h.app} → {_method_label(h, method)}."
    configure = f"paste the values from {h.title} ({h.client_id}"
    if p.name == "jumpcloud":
        configure = f"paste the values from JumpCloud ({h.app} → Client ID, Client Secret)"
    else:
        auth_type = auth_type[:-1] + (
            f"; or set [{p.section}] token_endpoint_auth_method to a method the provider's "
            "discovery document lists."
        )
        configure += (
            "; no client secret with private_key_jwt)" if p.uses_client_key else ", client secret)"
        )
    return Fixes(
        title=h.title,
        method=method,
        app=h.app,
        configure=configure,
        credentials=_credentials(p, h, jwks_url),
        grant=f"{h.app} → {h.grant}.",
        auth_type=auth_type,
        issuer=f"[{p.section}] issuer: {h.issuer}",
        admins=_admins(h, p.name),
        redirect_field=h.redirect,
        timeout_key=f"[{p.section}] timeout_seconds",
        jwks_url=jwks_url,
        uses_key=p.uses_client_key,
    )
