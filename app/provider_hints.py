"""Where each identity provider's admin console keeps what Webrix needs: the screens and field
names that `webrix check`, the settings page, test sign-in and the setup checklist point to.

Facts from ../shared/reference/providers.md (each there with its source). A provider that does
not provision custom apps by SCIM (Google Workspace, Keycloak) has no `scim` hints: the pages
say so rather than send anyone looking for a screen that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.presets import title
from app.config import ProviderConfig


@dataclass(frozen=True)
class Scim:
    """Where the provider takes a SCIM app's Base URL and token."""

    where: str  # the screen
    base_url: str  # the field for the SCIM Base URL
    auth_header: str  # the field (or mode) for the bearer token
    users: str  # how users and groups get sent


@dataclass(frozen=True)
class Hints:
    """One provider's console, as a person finds it."""

    title: str
    app: str  # the screen of the Webrix app (client) in the provider's console
    create: str  # how the app is made (the checklist's first step)
    client_id: str  # where the Client ID is, and its field name
    regenerate: str  # where the client secret is made or copied
    redirect: str  # the field the Redirect URI goes in (after `app`)
    methods: dict[str, str]  # client authentication method -> what to select, and where
    grant: str  # how to allow the authorization code grant
    issuer: str  # what the issuer comes from, for a wrong issuer
    groups: str  # how to get a groups claim into tokens
    email: str  # how to get the email into tokens
    scim: Scim | None  # None: no SCIM to custom apps
    no_scim: str = ""  # what to do instead, when scim is None


def _jumpcloud(p: ProviderConfig) -> Hints:
    app = "JumpCloud Admin Console → SSO (SSO Applications) → your Webrix app → SSO tab"
    return Hints(
        title=title(p),
        app=app,
        create="Create the Custom OIDC app in JumpCloud, then put its Client ID and Client "
        "Secret in the config.",
        client_id=f"{app} → Client ID and Client Secret",
        regenerate="JumpCloud shows a Client Secret only once, so regenerate it there",
        redirect="Redirect URIs",
        methods={
            "client_secret_basic": "Client Authentication Type: select Client Secret Basic",
            "client_secret_post": "Client Authentication Type: select Client Secret Post",
        },
        grant="Grant Types: tick Authorization Code",
        issuer="JumpCloud has one issuer for every organisation, "
        "https://oauth.id.jumpcloud.com/ (the default): remove the key or set it back.",
        groups="In JumpCloud: SSO tab → Group Attributes → include the group attribute",
        email="enable the Email scope (JumpCloud Admin Console → SSO → your Webrix app → SSO "
        "tab → Attribute Mapping → Email)",
        scim=Scim(
            where="JumpCloud Admin Console → SSO → your Webrix app → Identity Management → SCIM",
            base_url="Base URL",
            auth_header="Token Key: API Token (Bearer)",
            users="Assign users in JumpCloud and enable Group push; they arrive here by SCIM.",
        ),
    )


def _okta(p: ProviderConfig) -> Hints:
    app = "Okta Admin Console → Applications → Applications → your Webrix app"
    server = (
        "Security → API → Authorization Servers → your server → Claims → Add Claim (value type "
        "Groups, included in the ID token)"
        if p.authorization_server
        else "Sign On tab → OpenID Connect ID Token → Edit → Groups claim type Filter, Groups "
        "claim filter groups Matches regex .*"
    )
    return Hints(
        title=title(p),
        app=app,
        create="Create the app in Okta (Applications → Applications → Create App Integration → "
        "OIDC - OpenID Connect → Web Application), then put its Client ID and Client secret in "
        "the config.",
        client_id=f"{app} → General tab → Client Credentials → Client ID",
        regenerate="the Client secret is on the General tab under Client Secrets (Generate new "
        "secret makes another)",
        redirect="General tab → General Settings → Sign-in redirect URIs",
        methods={
            "client_secret_basic": "General tab → Client Credentials → Edit → Client "
            "authentication: select Client secret",
            "client_secret_post": "General tab → Client Credentials → Edit → Client "
            "authentication: select Client secret",
            "private_key_jwt": "General tab → Client Credentials → Edit → Client "
            "authentication: select Public key / Private key, then Public Keys Configuration: "
            "Use a URL to fetch keys dynamically",
        },
        grant="General tab → General Settings → Grant type: tick Authorization Code",
        issuer="it comes from [auth.okta] org_url (your Okta domain, https://example.okta.com, "
        "without -admin) and authorization_server (empty for the org authorization server, "
        "default or another id for a custom one): remove [auth.okta] issuer unless you mean to "
        "override them.",
        groups=f"In Okta: {server}, and set [auth.okta] groups_claim to the claim's name",
        email="Okta sends it with the email scope: check the user's primary email "
        "(Directory → People)",
        scim=Scim(
            where=f"{app} → General tab → App Settings → Provisioning: SCIM, then the "
            "Provisioning tab → Integration",
            base_url="SCIM connector base URL",
            auth_header="Authentication Mode: HTTP Header → Authorization: the API token "
            "(Unique identifier field for users: userName)",
            users="Assign users on the app's Assignments tab and push groups on its Push Groups "
            "tab; they arrive here by SCIM.",
        ),
    )


def _entra(p: ProviderConfig) -> Hints:
    app = "Microsoft Entra admin center → App registrations → your Webrix app"
    both = "Entra ID takes a client secret both ways: nothing to select there"
    return Hints(
        title=title(p),
        app=app,
        create="Register the app in Microsoft Entra ID (App registrations → New registration, "
        "Redirect URI platform Web), then put its Application (client) ID, Directory (tenant) "
        "ID and a client secret in the config.",
        client_id=f"{app} → Overview → Application (client) ID",
        regenerate="Certificates & secrets → Client secrets → New client secret: Entra shows its "
        "Value only once (copy the Value, not the Secret ID)",
        redirect="Authentication → Platform configurations → Web → Redirect URIs",
        methods={"client_secret_basic": both, "client_secret_post": both},
        grant="Authentication: the Redirect URI must be under the Web platform (not "
        "Single-page application)",
        issuer="it comes from [auth.entra] tenant_id, the Directory (tenant) ID on the app's "
        "Overview page (or organizations / common with allowed_tenants): remove [auth.entra] "
        "issuer unless you mean to override it.",
        groups="In Entra ID: Token configuration → Add groups claim (Security groups, or Groups "
        "assigned to the application); its values are group object ids, so name administrator "
        "groups in [access] admin_group_external_ids",
        email="add the optional claims email and upn (Token configuration → Add optional "
        "claim → ID); Entra also gives the address as preferred_username",
        scim=Scim(
            where="Microsoft Entra admin center → Enterprise applications → your Webrix app → "
            "Provisioning → Provisioning Mode: Automatic → Admin Credentials",
            base_url="Tenant URL",
            auth_header="Secret Token: the API token",
            users="Assign users and groups on the Enterprise application's Users and groups, "
            "then start provisioning; they arrive here by SCIM.",
        ),
    )


def _google(p: ProviderConfig) -> Hints:
    app = "Google Cloud console → APIs & Services → Credentials → your Webrix OAuth client"
    both = "Google takes a client secret both ways: nothing to select there"
    return Hints(
        title=title(p),
        app=app,
        create="Create the OAuth client in the Google Cloud console (APIs & Services → OAuth "
        "consent screen with User type Internal, then Credentials → Create credentials → OAuth "
        "client ID → Web application), then put its Client ID and Client secret in the config.",
        client_id=f"{app} → Client ID",
        regenerate="Client secrets → Add secret makes a new one if the old is no longer shown",
        redirect="Authorized redirect URIs",
        methods={"client_secret_basic": both, "client_secret_post": both},
        grant="Application type must be Web application",
        issuer="Google's issuer is https://accounts.google.com (the default): remove the key.",
        groups="Google sends no groups claim: name administrators in [access] admin_emails",
        email="Google sends it with the email scope, which sign-in requests",
        scim=None,
        no_scim="Google Workspace does not provision custom apps by SCIM: users are created at "
        "their first sign-in ([access] jit_provisioning), no groups arrive, and administrators "
        "are named in [access] admin_emails.",
    )


def _keycloak(p: ProviderConfig) -> Hints:
    app = "Keycloak Admin Console → your realm → Clients → your Webrix client"
    shared_key = "Credentials tab → Client Authenticator: select Client Id and Secret"
    return Hints(
        title=title(p),
        app=app,
        create="Create the client in Keycloak (Clients → Create client, OpenID Connect, "
        "Client authentication on), then put its Client ID and Client Secret in the config.",
        client_id=f"{app} → Settings → Client ID",
        regenerate="the Client Secret is on the Credentials tab (Regenerate makes a new one)",
        redirect="Settings → Access settings → Valid redirect URIs",
        methods={
            "client_secret_basic": shared_key,
            "client_secret_post": shared_key,
            "private_key_jwt": "Credentials tab → Client Authenticator: select Signed Jwt, "
            "then Keys tab → Use JWKS URL: on",
        },
        grant="Settings → Capability config → Standard flow: on",
        issuer="it comes from [auth.keycloak] base_url (Keycloak's URL, before /realms/) and "
        "realm: remove [auth.keycloak] issuer unless you mean to override them (a Keycloak "
        "older than 17 serves under /auth: put that in base_url).",
        groups="In Keycloak: Client scopes → your client's dedicated scope → Add mapper → By "
        "configuration → Group Membership, Token Claim Name groups (Full group path off for "
        "plain names)",
        email="the user needs an email (Users → the user), and the client the email scope",
        scim=None,
        no_scim="Keycloak does not provision other apps by SCIM: users are created at their "
        "first sign-in ([access] jit_provisioning), no groups arrive, and administrators are "
        "named in [access] admin_emails.",
    )


def _oidc(p: ProviderConfig) -> Hints:
    name = title(p)
    app = f"{name}'s admin console → the Webrix client (application)"
    return Hints(
        title=name,
        app=app,
        create=f"Register Webrix as a confidential client (web application, authorization "
        f"code flow) at {name}, then put its client ID and client secret in the config.",
        client_id=f"{app} → its client ID",
        regenerate="the client secret is where the client's credentials are kept",
        redirect="redirect URIs (callback URLs)",
        methods={
            "client_secret_basic": "token endpoint authentication: client_secret_basic",
            "client_secret_post": "token endpoint authentication: client_secret_post",
            "private_key_jwt": "token endpoint authentication: private_key_jwt, with the "
            "public keys fetched from a JWKS URL",
        },
        grant="allow the authorization code grant",
        issuer="it must be the provider's issuer exactly as its discovery document gives it "
        "(the URL before /.well-known/openid-configuration).",
        groups=f"At {name}: add a groups claim to the ID token or userinfo, and set "
        "[auth.oidc] groups_claim to its name if it is not groups or memberOf",
        email="request the email scope's claims for this client",
        scim=Scim(
            where=f"{name}'s SCIM 2.0 provisioning settings, if it has them",
            base_url="Base URL (SCIM endpoint)",
            auth_header="Bearer token: the API token",
            users=f"Assign users and groups at {name}; they arrive here by SCIM.",
        ),
    )


_HINTS = {
    "jumpcloud": _jumpcloud,
    "okta": _okta,
    "entra": _entra,
    "google": _google,
    "keycloak": _keycloak,
    "oidc": _oidc,
}


def hints(provider: ProviderConfig) -> Hints:
    """The console hints of the configured provider."""
    return _HINTS[provider.name](provider)
