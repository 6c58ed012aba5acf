"""Sign-in through Keycloak in Chromium: the real oidc-provider behaving like a Keycloak realm
({base}/realms/{realm}), the service authenticating with private_key_jwt (the provider fetches
the service's published key), and RP-initiated logout with id_token_hint."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page

from tests.e2e.oidc_provider import Provider
from tests.e2e.provider_stack import (
    ADMIN,
    OTHER_CLIENT,
    PresetStack,
    another_client,
    preset_stack,
    requests_to,
    service_log,
    session,
    sign_in_at_provider,
    sign_out_at_provider,
    user,
    watch,
)

REALM = "acme"
USERS = [
    user("kc-alice", ADMIN, "Alice", "Anderson", groups=["Webrix Admins"]),
    user("kc-mallory", "mallory@example.com", "Mallory", "M", id_token_audience=OTHER_CLIENT),
]


def _section(provider: Provider) -> dict[str, object]:
    return {
        "base_url": provider.base_url,
        "realm": REALM,
        "token_endpoint_auth_method": "private_key_jwt",
    }


@pytest.fixture(scope="module")
def keycloak(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PresetStack]:
    folder = tmp_path_factory.mktemp("keycloak")
    with preset_stack(
        folder, "keycloak", _section, USERS, client_auth="private_key_jwt", realm=REALM
    ) as stack:
        yield stack


def _key_fetches(stack: PresetStack) -> int:
    return service_log(stack).count('"GET /api/auth/jwks" 200')


def test_sign_in_with_private_key_jwt_and_rp_logout(page: Page, keycloak: PresetStack) -> None:
    issuer = keycloak.provider.issuer
    assert issuer == f"{keycloak.provider.base_url}/realms/{REALM}"
    assert _key_fetches(keycloak) == 0
    seen = watch(page)
    page.goto(f"{keycloak.base}/")
    sign_in_at_provider(page, keycloak, ADMIN)
    page.wait_for_url(f"{keycloak.base}/")
    (authorize,) = requests_to(seen, f"{issuer}/protocol/openid-connect/auth")
    assert authorize["redirect_uri"] == [f"{keycloak.base}/api/auth/callback/keycloak"]
    assert page.inner_text("#user-name") == "Alice Anderson"
    assert page.inner_text("#user-groups") == "Webrix Admins"
    assert session(page)["user"]["email"] == ADMIN
    # The provider accepts private_key_jwt only: it fetched the service's key to check the
    # client assertion, the public half of an RSA key.
    assert _key_fetches(keycloak) == 1
    (key,) = httpx.get(f"{keycloak.base}/api/auth/jwks", timeout=10).json()["keys"]
    assert key["kty"] == "RSA" and "d" not in key
    sign_out_at_provider(page, keycloak)


def test_a_token_for_another_client_is_refused(page: Page, keycloak: PresetStack) -> None:
    another_client(page, keycloak, "mallory@example.com")
