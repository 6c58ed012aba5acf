"""`webrix check` and the connection test for every provider preset: the placeholders of each
section, the screens and fields each provider's console has, and client authentication as
configured (client_secret_post, private_key_jwt signed with the service's key from the
database), against a FakeProvider that takes only that method."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from app import checks
from app.auth.client_auth import public_jwks
from app.checks import unconfigured
from app.checks_cli import check, check_text
from app.config import Config, load_data
from app.db import Database
from app.store import client_keys
from app.support.bundle import build
from tests.auth.providers_harness import (
    ISSUERS,
    PROVIDERS,
    TITLES,
    new_fake,
    provider_config,
    provider_data,
)
from tests.auth.sso import CLIENT_SECRET

pytestmark = pytest.mark.anyio
ADMINS = {"admin_emails": ["ada@example.com"]}
OK_LINE = "OK: sign-in can reach the identity provider"
JWKS_URL = "http://127.0.0.1:8080/api/auth/jwks"

# Where each provider's console keeps the Client ID, and its SCIM screen (None: no SCIM).
CONSOLES = {
    "okta": (
        "Okta Admin Console → Applications → Applications → your Webrix app → General tab → "
        "Client Credentials → Client ID: copy it into [auth.okta] client_id",
        "SCIM connector base URL: http://127.0.0.1:8080/scim/v2",
    ),
    "entra": (
        "Microsoft Entra admin center → App registrations → your Webrix app → Overview → "
        "Application (client) ID: copy it into [auth.entra] client_id",
        "Tenant URL: http://127.0.0.1:8080/scim/v2",
    ),
    "google": (
        "Google Cloud console → APIs & Services → Credentials → your Webrix OAuth client → "
        "Client ID: copy it into [auth.google] client_id",
        None,
    ),
    "keycloak": (
        "Keycloak Admin Console → your realm → Clients → your Webrix client → Settings → "
        "Client ID: copy it into [auth.keycloak] client_id",
        None,
    ),
    "oidc": (
        "Acme SSO's admin console → the Webrix client (application) → its client ID: copy it "
        "into [auth.oidc] client_id",
        "Base URL (SCIM endpoint): http://127.0.0.1:8080/scim/v2",
    ),
}


def config_of(tmp_path: Path, provider: str, **keys: object) -> Config:
    return provider_config(tmp_path, provider, access=ADMINS, **keys)


async def run(
    config: Config, fake: httpx.MockTransport, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    code = await check(config, fake)
    return code, capsys.readouterr().out


# -- placeholders -----------------------------------------------------------------------------

EXAMPLE = "still holds the example value from config.example.toml"


@pytest.mark.parametrize(
    ("provider", "keys", "expected"),
    [
        (
            "okta",
            {"client_id": "paste-the-client-id-from-okta", "org_url": "https://example.okta.com"},
            ["[auth.okta] client_id", "[auth.okta] org_url"],
        ),
        (
            "entra",
            {"tenant_id": "00000000-0000-0000-0000-000000000000", "client_secret": "..."},
            ["[auth.entra] client_secret", "[auth.entra] tenant_id"],
        ),
        (
            "google",
            {"allowed_domains": ["example.com"], "client_id": "paste-the-client-id-from-google"},
            ["[auth.google] client_id", "[auth.google] allowed_domains"],
        ),
        ("keycloak", {"base_url": "https://sso.example.com"}, ["[auth.keycloak] base_url"]),
        ("oidc", {"issuer": "https://idp.example.com/"}, ["[auth.oidc] issuer"]),
    ],
)
def test_each_sections_example_values_are_not_configured(
    tmp_path: Path, provider: str, keys: dict[str, object], expected: list[str]
) -> None:
    assert unconfigured(config_of(tmp_path, provider)) == []
    assert unconfigured(config_of(tmp_path, provider, **keys)) == [
        f"{key} {EXAMPLE}" for key in expected
    ]


def test_private_key_jwt_needs_no_client_secret(tmp_path: Path) -> None:
    config = config_of(tmp_path, "okta", token_endpoint_auth_method="private_key_jwt")
    assert config.auth.active.client_secret == ""
    assert unconfigured(config) == []  # no "client_secret is empty"


# -- webrix check, per provider ---------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_check_names_the_providers_screens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], provider: str
) -> None:
    fake = new_fake(provider)
    code, out = await run(config_of(tmp_path, provider), fake.transport, capsys)
    assert code == 0, out
    title = TITLES[provider]
    assert f"Paste into {title} (" in out
    assert f"Redirect URI:   http://127.0.0.1:8080/api/auth/callback/{provider}" in out
    assert f"Identity provider {ISSUERS[provider]}" in out
    assert f"issuer {ISSUERS[provider]} matches" in out
    assert "authenticated them (client_secret_basic)" in out and OK_LINE in out
    _, scim = CONSOLES[provider]
    if scim is None:
        assert f"SCIM: {title} does not provision" in out or "SCIM: Google Workspace" in out
        assert "Base URL" not in out
    else:
        assert scim in out
    assert "JumpCloud" not in out and "jumpcloud" not in out
    assert CLIENT_SECRET not in out


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_wrong_secret_names_the_providers_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], provider: str
) -> None:
    fake = new_fake(provider)
    fake.client_secret = "the-regenerated-one"
    code, out = await run(config_of(tmp_path, provider), fake.transport, capsys)
    assert code == 1, out
    assert "PROBLEM  Client ID and Client Secret: The Client ID or Client Secret is wrong" in out
    assert CONSOLES[provider][0] in out
    assert f"WEBRIX_AUTH_{provider.upper()}_CLIENT_SECRET" in out
    assert CLIENT_SECRET not in out and "the-regenerated-one" not in out
    assert "JumpCloud" not in out


async def test_the_timeout_names_the_active_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = new_fake("keycloak")
    fake.latency = 2.0
    config = config_of(tmp_path, "keycloak", timeout_seconds=0.3)
    code, out = await run(config, fake.transport, capsys)
    assert code == 1
    assert "within 0.3 s ([auth.keycloak] timeout_seconds)" in out


async def test_a_wrong_issuer_names_the_presets_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = new_fake("okta")
    fake.discovery_override = {"issuer": "https://acme.okta.com"}  # the org server's
    code, out = await run(config_of(tmp_path, "okta"), fake.transport, capsys)
    assert code == 1
    assert "[auth.okta] issuer: it comes from [auth.okta] org_url" in out
    assert fake.token_requests == []


# -- client_secret_post -------------------------------------------------------------------------


async def test_client_secret_post_is_probed_in_the_body_and_never_basic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = new_fake("google", "client_secret_post")
    fake.discovery_override = {"token_endpoint_auth_methods_supported": ["client_secret_post"]}
    config = config_of(tmp_path, "google", token_endpoint_auth_method="client_secret_post")
    code, out = await run(config, fake.transport, capsys)
    assert code == 0, out
    assert "client authentication client_secret_post supported" in out
    assert "authenticated them (client_secret_post)" in out
    [headers] = fake.token_headers
    assert "authorization" not in headers
    [form] = fake.token_requests
    assert form["client_id"] == "test-client" and form["client_secret"] == CLIENT_SECRET
    assert CLIENT_SECRET not in out


async def test_basic_against_a_post_only_client_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = new_fake("entra", "client_secret_post")
    code, out = await run(config_of(tmp_path, "entra"), fake.transport, capsys)
    assert code == 1
    assert "The Client ID or Client Secret is wrong" in out
    [headers] = fake.token_headers
    assert headers["authorization"].startswith("Basic ")


async def test_a_method_the_provider_does_not_list_names_the_config_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = new_fake("okta", "client_secret_post")
    fake.discovery_override = {"token_endpoint_auth_methods_supported": ["client_secret_basic"]}
    config = config_of(tmp_path, "okta", token_endpoint_auth_method="client_secret_post")
    code, out = await run(config, fake.transport, capsys)
    assert code == 1
    assert "does not support client authentication client_secret_post" in out
    assert "[auth.okta] token_endpoint_auth_method" in out
    assert fake.token_requests == []


# -- private_key_jwt ----------------------------------------------------------------------------


async def service_key(config: Config) -> RSAKey:
    """The service's key, as the running service would make and publish it."""
    db = await Database.open(config.database.path, readers=1)
    try:
        return await db.write(client_keys.load_or_create)
    finally:
        await db.close()


def pkjwt(tmp_path: Path, provider: str = "okta") -> Config:
    return config_of(tmp_path, provider, token_endpoint_auth_method="private_key_jwt")


@pytest.mark.parametrize("provider", ["okta", "keycloak", "oidc"])
async def test_private_key_jwt_signs_with_the_services_key_from_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], provider: str
) -> None:
    config = pkjwt(tmp_path, provider)
    key = await service_key(config)
    fake = new_fake(provider, "private_key_jwt")
    fake.client_jwks = public_jwks(key)  # what /api/auth/jwks publishes
    code, out = await run(config, fake.transport, capsys)
    assert code == 0, out
    assert f"JWKS URL:       {JWKS_URL}" in out
    assert "verified the service's signed client assertion (private_key_jwt)" in out
    assert "accepts the Client ID and the service's key" in out
    [form] = fake.token_requests
    assert "client_secret" not in form and "authorization" not in fake.token_headers[0]
    # The assertion verifies with the published JWKS alone, for this client and endpoint.
    published = KeySet.import_key_set(public_jwks(key))  # type: ignore[arg-type]
    claims = jwt.decode(form["client_assertion"], published, algorithms=["RS256"]).claims
    assert claims["iss"] == claims["sub"] == "test-client"
    assert claims["aud"] == fake.url("/oauth2/token")
    assert fake.assertions == [claims]
    # `webrix check` used the key the service keeps: no second key was made.
    db = await Database.open(config.database.path, readers=1)
    try:
        rows = await db.read(lambda tx: tx.fetch_all("SELECT kid FROM client_keys"))
    finally:
        await db.close()
    assert [r["kid"] for r in rows] == [key.kid]


async def test_private_key_jwt_refused_says_the_provider_lacks_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = pkjwt(tmp_path)
    fake = new_fake("okta", "private_key_jwt")
    other = RSAKey.generate_key(2048, private=True, auto_kid=True)
    fake.client_jwks = public_jwks(other)  # Okta holds some other key
    code, out = await run(config, fake.transport, capsys)
    assert code == 1
    assert (
        "PROBLEM  Client ID and the service's key (private_key_jwt): Okta refused the service's "
        f"signed client assertion: it does not have the service's public key, or cannot fetch "
        f"it from {JWKS_URL}"
    ) in out
    assert "Use a URL to fetch keys dynamically, URL " + JWKS_URL in out
    assert "Client Secret" not in out.split("Identity provider")[1]
    assert fake.assertions == []


async def test_private_key_jwt_needs_rs256_assertions_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = new_fake("keycloak", "private_key_jwt")
    fake.discovery_override = {"token_endpoint_auth_signing_alg_values_supported": ["ES256"]}
    code, out = await run(pkjwt(tmp_path, "keycloak"), fake.transport, capsys)
    assert code == 1
    assert "does not support client assertions signed with RS256" in out
    assert fake.token_requests == []


async def test_the_support_bundles_check_text_signs_as_sign_in_does(tmp_path: Path) -> None:
    config = pkjwt(tmp_path)
    key = await service_key(config)
    fake = new_fake("okta", "private_key_jwt")
    fake.client_jwks = public_jwks(key)
    async with httpx.AsyncClient(transport=fake.transport) as http:
        text = await check_text(config, http)
    assert "(webrix check exit status: 0)" in text, text
    assert len(fake.assertions) == 1


async def test_a_whole_support_bundle_with_private_key_jwt(tmp_path: Path) -> None:
    """Its idp.json and check.txt both reach the provider: neither needs a client secret."""
    config = pkjwt(tmp_path)
    key = await service_key(config)
    fake = new_fake("okta", "private_key_jwt")
    fake.client_jwks = public_jwks(key)
    async with httpx.AsyncClient(transport=fake.transport) as http:
        data = await build(config, http)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        idp = json.loads(archive.read("webrix-support/idp.json"))
        text = archive.read("webrix-support/check.txt").decode()
    assert idp["discovery"]["issuer"] == ISSUERS["okta"] and idp["key_ids"], idp
    assert "(webrix check exit status: 0)" in text, text
    assert len(fake.assertions) == 1  # the check signed with the service's own key


def test_the_provider_examples_in_config_example_parse_as_placeholders(tmp_path: Path) -> None:
    """The example's client ids, tenant and domain are recognised (provider_data + keys)."""
    data = provider_data(
        tmp_path / "w.db",
        "entra",
        client_id="paste-the-application-client-id-from-entra",
    )
    assert unconfigured(load_data(data, "x.toml", tmp_path)) == [
        f"[auth.entra] client_id {EXAMPLE}"
    ]


def test_jumpclouds_fixes_keep_their_words() -> None:
    """JumpCloud's texts, as its setup page has always given them."""
    app = "JumpCloud Admin Console → SSO (SSO Applications) → your Webrix app → SSO tab"
    assert (
        f"{app} → Client ID and Client Secret: copy the Client ID into [auth.jumpcloud] "
        "client_id; JumpCloud shows a Client Secret only once, so regenerate it there and put "
        "the new one in [auth.jumpcloud] client_secret (or client_secret_file, or the "
        "environment variable WEBRIX_AUTH_JUMPCLOUD_CLIENT_SECRET), then restart. On the same "
        "tab, Client Authentication Type must be Client Secret Basic."
    ) == checks.FIX_CREDENTIALS
    assert f"{app} → Grant Types: tick Authorization Code." == checks.FIX_GRANT
    assert (
        f"{app} → Client Authentication Type: select Client Secret Basic." == checks.FIX_AUTH_TYPE
    )
    assert checks.FIX_ISSUER == (
        "[auth.jumpcloud] issuer: JumpCloud has one issuer for every organisation, "
        "https://oauth.id.jumpcloud.com/ (the default): remove the key or set it back."
    )
    assert checks.FIX_ADMINS == (
        "Add your email to [access] admin_emails, or a JumpCloud group pushed by SCIM to "
        "[access] admin_groups, then restart."
    )
