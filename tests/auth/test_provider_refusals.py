"""What a person sees through Google or Entra ID: a wrong domain or tenant is a 403 page
offering to sign in as someone else (audited with its reason), and sign-out through a
provider without RP-initiated logout says the provider's session stays."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest

from app.config import Config
from tests.auth.fakeprovider import DROP
from tests.auth.providersso import ProviderSso, provider_sso
from tests.auth.sso import session_cookie_set

pytestmark = pytest.mark.anyio

GOOGLE = "https://accounts.google.com"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER = "0c0ffee0-1234-4abc-8def-0123456789ab"
LOGIN = "https://login.microsoftonline.com"


def google(make_config: Callable[..., Config]) -> AbstractAsyncContextManager[ProviderSso]:
    """Google, its issuer as the preset derives it, example.com allowed."""
    return provider_sso(make_config, "google", {"allowed_domains": ["example.com"]}, issuer=GOOGLE)


async def assert_switch_offered(
    sso: ProviderSso, response: httpx.Response, reason: str, text: str
) -> None:
    await sso.assert_refused(response, 403, reason, text)
    assert f'href="{sso.signin_path}?prompt=login"' in response.text
    assert "Sign in as someone else" in response.text
    [event] = await sso.events("auth.signin.refused")
    assert event.detail == {"reason": reason}
    assert await sso.user_by_email("ada@example.com") is None


async def test_google_without_end_session_keeps_the_provider_session(
    make_config: Callable[..., Config],
) -> None:
    async with google(make_config) as sso:
        sso.fake.discovery_override = {"end_session_endpoint": DROP}
        sso.fake.user = {**sso.fake.user, "hd": "example.com"}
        await sso.signed_in()
        token = await sso.csrf_token()
        response = await sso.client.post("/api/auth/signout", data={"csrfToken": token})
        assert response.status_code == 303
        location = response.headers["location"]
        assert location == "http://127.0.0.1:8080/signed-out?provider=kept"
        assert not session_cookie_set(response)
        assert await sso.session() == {}
        page = await sso.client.get(location)
        assert page.status_code == 200
        assert 'id="provider-session-kept"' in page.text
        assert "Google offers no sign-out for other applications" in page.text
        assert "still signed in to your Google account" in page.text
        plain = await sso.client.get("/signed-out")
        assert "provider-session-kept" not in plain.text


async def test_a_provider_with_end_session_logs_out_there(
    make_config: Callable[..., Config],
) -> None:
    section = {"org_url": "https://example.okta.com"}
    async with provider_sso(make_config, "okta", section, issuer="https://example.okta.com") as sso:
        await sso.signed_in()
        token = await sso.csrf_token()
        response = await sso.client.post("/api/auth/signout", data={"csrfToken": token})
        assert response.headers["location"].startswith(sso.fake.url("/oauth2/sessions/logout"))


async def test_a_personal_google_account_is_refused(make_config: Callable[..., Config]) -> None:
    async with google(make_config) as sso:
        sso.fake.discovery_override = {"end_session_endpoint": DROP}  # as Google's
        response = await sso.sign_in()  # no hd
        await assert_switch_offered(
            sso, response, "domain_not_allowed", "This is a personal Google account"
        )
        assert "Account not allowed" in response.text
        # Google offers no sign-out: the page's own sign-out says its session stays.
        assert 'href="http://127.0.0.1:8080/signed-out?provider=kept"' in response.text


async def test_another_google_domain_is_refused(make_config: Callable[..., Config]) -> None:
    async with google(make_config) as sso:
        sso.fake.user = {**sso.fake.user, "hd": "elsewhere.example"}
        response = await sso.sign_in()
        await assert_switch_offered(
            sso, response, "domain_not_allowed", "domain &#39;elsewhere.example&#39; is not"
        )


async def test_the_allowed_google_domain_signs_in(make_config: Callable[..., Config]) -> None:
    async with google(make_config) as sso:
        sso.fake.user = {**sso.fake.user, "hd": "Example.com"}
        await sso.signed_in()
        user = await sso.user_by_email("ada@example.com")
        assert user is not None and user.oidc_issuer == GOOGLE


async def test_another_entra_tenant_is_refused(make_config: Callable[..., Config]) -> None:
    issuer = f"{LOGIN}/{TENANT}/v2.0"
    async with provider_sso(make_config, "entra", {"tenant_id": TENANT}, issuer=issuer) as sso:
        sso.fake.user = {"sub": "pairwise", "tid": OTHER, "email": "ada@example.com"}
        response = await sso.sign_in()
        await assert_switch_offered(
            sso, response, "tenant_not_allowed", f"Your Microsoft Entra tenant ({OTHER})"
        )
        assert "Organisation not allowed" in response.text
        assert 'href="http://127.0.0.1:8080/signed-out?provider=kept"' not in response.text
        assert sso.fake.url("/oauth2/sessions/logout") in response.text
        assert sso.signin_path == "/api/auth/signin/entra"


async def test_a_multi_tenant_entra_sign_in(make_config: Callable[..., Config]) -> None:
    section = {"tenant_id": "organizations", "allowed_tenants": [TENANT]}
    async with provider_sso(
        make_config, "entra", section, issuer=f"{LOGIN}/organizations/v2.0"
    ) as sso:
        sso.fake.discovery_override = {"issuer": f"{LOGIN}/{{tenantid}}/v2.0"}
        sso.fake.user = {"sub": "pairwise", "tid": TENANT, "preferred_username": "ada@ex.com"}
        sso.fake.claims_override = {"iss": f"{LOGIN}/{TENANT}/v2.0"}
        await sso.signed_in()
        user = await sso.user_by_email("ada@ex.com")
        assert user is not None
        assert (user.oidc_sub, user.oidc_issuer) == ("pairwise", f"{LOGIN}/{TENANT}/v2.0")
        await sso.client.post("/api/auth/signout", data={"csrfToken": await sso.csrf_token()})
        # Another tenant, though its token names its own issuer consistently: refused.
        sso.fake.user = {"sub": "pairwise", "tid": OTHER, "preferred_username": "eve@ex.com"}
        sso.fake.claims_override = {"iss": f"{LOGIN}/{OTHER}/v2.0"}
        response = await sso.sign_in()
        await sso.assert_refused(response, 403, "tenant_not_allowed", "is not allowed")
