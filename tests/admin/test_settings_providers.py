"""Settings, Test connection, Test sign-in, the setup checklist and the overview with each
provider preset active: the provider's name, its keys and console screens, never JumpCloud's,
and never the client secret."""

from __future__ import annotations

import html as markup
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.config import Config, load_data
from app.main import create_app
from tests.admin.test_checklist import steps_on
from tests.auth.providers_harness import (
    PROVIDERS,
    TENANT,
    TITLES,
    MethodProvider,
    new_fake,
    provider_data,
)
from tests.auth.sso import CLIENT_SECRET
from tests.conftest import running

pytestmark = pytest.mark.anyio
ADA = "ada@example.com"
# What each provider's ID token carries besides the fake's user (the preset's checks).
CLAIMS: dict[str, dict[str, Any]] = {"entra": {"tid": TENANT}, "google": {"hd": "acme.test"}}


@dataclass
class Admin:
    provider: str
    fake: MethodProvider
    client: httpx.AsyncClient
    app: Starlette
    config: Config

    async def csrf(self) -> str:
        token = (await self.client.get("/api/auth/csrf")).json()["csrfToken"]
        assert isinstance(token, str)
        return token

    async def post(self, path: str) -> httpx.Response:
        return await self.client.post(path, data={"csrfToken": await self.csrf()})

    async def page(self, path: str) -> str:
        response = await self.client.get(path)
        assert response.status_code == 200, response.text
        assert CLIENT_SECRET not in response.text  # never, on any page
        return response.text


@asynccontextmanager
async def admin_of(
    tmp_path: Path, provider: str, method: str = "client_secret_basic", **keys: Any
) -> AsyncIterator[Admin]:
    """The app with `provider` active, an administrator signed in through it."""
    if method != "client_secret_basic":
        keys["token_endpoint_auth_method"] = method
    data = provider_data(tmp_path / "webrix.db", provider, access={"admin_emails": [ADA]}, **keys)
    config = load_data(data, "test.toml", tmp_path)
    fake = new_fake(provider, method)
    fake.user.update(CLAIMS.get(provider, {}))
    app = create_app(config, http_transport=fake.transport)
    async with running(app) as client:
        admin = Admin(provider, fake, client, app, config)
        if method == "private_key_jwt":  # the provider fetches what the service publishes
            fake.client_jwks = (await client.get("/api/auth/jwks")).json()
        started = await client.get(f"/api/auth/signin/{provider}", params={"callbackUrl": "/"})
        assert started.status_code == 302, started.text
        back = await client.get(
            f"/api/auth/callback/{provider}", params=fake.authorize(started.headers["location"])
        )
        assert back.status_code == 303, back.text
        yield admin


def text_of(html: str) -> str:
    return markup.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_settings_show_the_active_provider(tmp_path: Path, provider: str) -> None:
    async with admin_of(tmp_path, provider) as admin:
        html = await admin.page("/admin/settings")
    title = TITLES[provider]
    assert f'<td id="provider">{title}</td>' in html
    assert '<code id="client-id">test-client</code>' in html
    assert "set (never shown)" in html
    assert f'<code id="issuer">{admin.config.auth.active.issuer}</code>' in html
    assert f"/api/auth/callback/{provider}" in html
    assert f"[auth.{provider}]" in html and f'provider = "{provider}"' in markup.unescape(html)
    assert f"WEBRIX_AUTH_{provider.upper()}_CLIENT_SECRET" in html
    assert "JumpCloud" not in html and "auth.jumpcloud" not in html
    text = text_of(html)
    assert f"Test sign-in takes you through {title}'s sign-in and back" in text
    rows = {
        "okta": ("Org URL https://acme.okta.com", "Authorization server default"),
        "entra": (f"Tenant ID {TENANT}", "Allowed tenants only the tenant above"),
        "google": ("Allowed domains (hd) acme.test",),
        "keycloak": ("Base URL https://sso.acme.test", "Realm webrix"),
        "oidc": ("Display name Acme SSO",),
    }[provider]
    for row in rows:
        assert row in text, row
    # Another preset's keys are not this provider's: not shown.
    assert ("Realm" in text) == (provider == "keycloak")
    assert ("Tenant ID" in text) == (provider == "entra")


async def test_settings_with_private_key_jwt_show_the_jwks_url(tmp_path: Path) -> None:
    async with admin_of(tmp_path, "keycloak", "private_key_jwt") as admin:
        html = await admin.page("/admin/settings")
    text = text_of(html)
    assert "private_key_jwt: signs with the service's key (no client secret)" in text
    assert 'id="jwks-url"' in html and "http://127.0.0.1:8080/api/auth/jwks" in html
    assert "Client Authenticator: select Signed Jwt" in text
    assert 'token_endpoint_auth_method = "private_key_jwt"' in markup.unescape(html)
    assert "client_secret_file" not in html and 'id="client-secret"' not in html


async def test_test_connection_with_private_key_jwt_signs_with_the_published_key(
    tmp_path: Path,
) -> None:
    async with admin_of(tmp_path, "okta", "private_key_jwt") as admin:
        posted = await admin.post("/admin/settings/test-connection")
        assert posted.status_code == 303, posted.text
        html = await admin.page("/admin/settings")
        before = len(admin.fake.assertions)
        assert before == 2  # the sign-in's and the test's, both verified with /api/auth/jwks
        # With another key published, the provider refuses: the page says why.
        admin.fake.client_jwks = {"keys": []}
        await admin.post("/admin/settings/test-connection")
        refused = await admin.page("/admin/settings")
    assert "Connection works" in html
    assert "verified the service's signed client assertion (private_key_jwt)" in text_of(html)
    assert "Connection fails" in refused
    assert "Okta refused the service's signed client assertion" in text_of(refused)
    assert "Use a URL to fetch keys dynamically" in refused


async def test_test_connection_with_client_secret_post(tmp_path: Path) -> None:
    async with admin_of(tmp_path, "entra", "client_secret_post") as admin:
        await admin.post("/admin/settings/test-connection")
        html = await admin.page("/admin/settings")
        headers = admin.fake.token_headers
    assert "Connection works" in html and "authenticated them (client_secret_post)" in html
    assert headers and all("authorization" not in h for h in headers)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_checklist_and_overview_follow_the_provider(tmp_path: Path, provider: str) -> None:
    async with admin_of(tmp_path, provider) as admin:
        html = await admin.page("/admin")
    title = TITLES[provider]
    steps = steps_on(html)
    configured = steps["step-sso-configured"][1]
    assert f"Provider: {title} " in configured
    assert f"Issuer: {admin.config.auth.active.issuer}" in configured
    assert f"you are sent to {title} and back" not in steps["step-first-signin"][1]  # done
    assert f"<h2>Connect {title}</h2>" in html
    assert "JumpCloud" not in html
    scim = {s: steps[s][1] for s in ("step-scim-token", "step-scim-request", "step-scim-received")}
    if provider in ("google", "keycloak"):
        assert all("does not provision" in text for text in scim.values())
        assert 'id="no-scim"' in html and "SCIM Base URL" not in html
    else:
        assert f"(for example {title} SCIM) and paste it into {title}" in scim["step-scim-token"]
        field = {"okta": "SCIM connector base URL", "entra": "Tenant URL"}.get(provider)
        if field:
            assert f"paste the Base URL into {field}" in scim["step-scim-request"]


async def test_checklist_before_the_test_names_what_it_checks_with_private_key_jwt(
    tmp_path: Path,
) -> None:
    async with admin_of(tmp_path, "oidc", "private_key_jwt") as admin:
        steps = steps_on(await admin.page("/admin"))
    tested = markup.unescape(steps["step-sso-tested"][1])
    assert "the Client ID and the service's key (private_key_jwt)" in tested


async def entra_test_sign_in(admin: Admin) -> str:
    started = await admin.post("/admin/settings/test-signin")
    assert started.status_code == 303, started.text
    params = admin.fake.authorize(started.headers["location"])
    response = await admin.client.get("/api/auth/callback/entra", params=params)
    assert response.status_code == 200, response.text
    assert CLIENT_SECRET not in response.text
    return response.text


async def test_entra_groups_overage_says_scim_is_the_source_of_truth(tmp_path: Path) -> None:
    async with admin_of(tmp_path, "entra") as admin:
        admin.fake.user.update(
            {
                "_claim_names": {"groups": "src1"},
                "_claim_sources": {"src1": {"endpoint": "https://graph.microsoft.com/v1.0/x"}},
            }
        )
        html = await entra_test_sign_in(admin)
    text = text_of(html)
    assert "Sign-in works" in text
    assert 'id="groups-overage"' in html
    assert "left the groups claim out of the token" in text
    assert "SCIM, which is the source of truth" in text
    assert "Who Microsoft Entra ID says this is" in text
    assert "JumpCloud" not in html


async def test_a_test_sign_in_from_another_tenant_says_the_organisation_is_not_allowed(
    tmp_path: Path,
) -> None:
    other = "0b5e2f7c-1d3a-4c8e-9f6a-2b7d4e1c3a5f"
    async with admin_of(tmp_path, "entra") as admin:
        admin.fake.user["tid"] = other  # the issuer is ours: only the tenant is not
        html = await entra_test_sign_in(admin)
    text = text_of(html)
    assert "Organisation not allowed" in text
    assert f"Your Microsoft Entra tenant ({other}) is not allowed" in text
    assert "Sign-in works" not in text


async def test_entra_groups_are_object_ids_for_admin_group_external_ids(tmp_path: Path) -> None:
    group = "0b5e2f7c-1d3a-4c8e-9f6a-2b7d4e1c3a5f"
    async with admin_of(tmp_path, "entra") as admin:
        admin.fake.user["groups"] = [group]
        html = await entra_test_sign_in(admin)
    text = text_of(html)
    assert f"claim groups : {group}" in text
    assert 'id="entra-object-ids"' in html and "[access] admin_group_external_ids" in text
    assert 'id="groups-overage"' not in html


async def test_a_provider_without_groups_says_how_to_add_them(tmp_path: Path) -> None:
    async with admin_of(tmp_path, "keycloak") as admin:
        started = await admin.post("/admin/settings/test-signin")
        params = admin.fake.authorize(started.headers["location"])
        html = (await admin.client.get("/api/auth/callback/keycloak", params=params)).text
    text = text_of(html)
    assert "no groups claim" in text and "Group Membership" in text
    assert "JumpCloud" not in html


CONSOLE = (
    "/admin",
    "/admin/settings",
    "/admin/api-tokens",
    "/admin/users?q=nobody",
    "/admin/groups",
)


@pytest.mark.parametrize("provider", ["okta", "google"])
async def test_no_console_page_speaks_of_jumpcloud_for_another_provider(
    tmp_path: Path, provider: str
) -> None:
    """Every console page names the active provider; Google, which pushes nothing by SCIM,
    is never said to create users or groups by SCIM."""
    async with admin_of(tmp_path, provider) as admin:
        pages = {path: text_of(await admin.page(path)) for path in CONSOLE}
        made = await admin.client.post(
            "/admin/api-tokens",
            data={"csrfToken": await admin.csrf(), "name": "t", "scope": "admin:scim"},
            follow_redirects=True,
        )
    pages["token shown"] = text_of(made.text)
    title = TITLES[provider]
    for path, text in pages.items():
        assert "JumpCloud" not in text, path
    assert f"Give it to {title} only" in pages["/admin/api-tokens"]
    if provider == "google":
        assert "They appear at their first sign-in." in pages["/admin/users?q=nobody"]
        assert "Google does not push groups by SCIM." in pages["/admin/groups"]
        assert "does not provision" in pages["token shown"]
    else:
        assert "Okta creates them by SCIM" in pages["/admin/users?q=nobody"]
        assert "Enable group push in Okta" in pages["/admin/groups"]
        assert (
            "In Okta: " in pages["token shown"]
            and "SCIM connector base URL" in pages["token shown"]
        )
