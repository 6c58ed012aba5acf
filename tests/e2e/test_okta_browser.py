"""Sign-in through Okta in Chromium: the real oidc-provider behaving like Okta's custom
authorization server (/oauth2/default, client_secret_post), and `webrix serve` with
`[auth] provider = "okta"`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.oidc_provider import Provider
from tests.e2e.provider_stack import (
    ADMIN,
    CLIENT_ID,
    OTHER_CLIENT,
    PresetStack,
    another_client,
    preset_stack,
    requests_to,
    serve,
    session,
    sign_in_at_provider,
    sign_out_at_provider,
    user,
    watch,
)

USERS = [
    user("00u-alice", ADMIN, "Alice", "Anderson", groups=["Webrix Admins", "Engineering"]),
    user("00u-mallory", "mallory@example.com", "Mallory", "M", id_token_audience=OTHER_CLIENT),
]


def _section(provider: Provider) -> dict[str, object]:
    return {
        "org_url": provider.base_url,
        "authorization_server": "default",
        "token_endpoint_auth_method": "client_secret_post",
    }


@pytest.fixture(scope="module")
def okta(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PresetStack]:
    folder = tmp_path_factory.mktemp("okta")
    with preset_stack(
        folder,
        "okta",
        _section,
        USERS,
        client_auth="client_secret_post",
        alias_path="/oauth2/other",
    ) as stack:
        yield stack


def test_sign_in_through_the_custom_authorization_server_and_sign_out(
    page: Page, okta: PresetStack
) -> None:
    assert okta.provider.issuer == f"{okta.provider.base_url}/oauth2/default"
    seen = watch(page)
    page.goto(f"{okta.base}/")
    sign_in_at_provider(page, okta, ADMIN)
    page.wait_for_url(f"{okta.base}/")
    (authorize,) = requests_to(seen, f"{okta.provider.issuer}/v1/authorize")
    assert authorize["client_id"] == [CLIENT_ID]
    assert authorize["redirect_uri"] == [f"{okta.base}/api/auth/callback/okta"]
    assert authorize["scope"] == ["openid email profile"]  # a custom server: no groups scope
    assert page.inner_text("#user-email") == ADMIN
    assert page.inner_text("#user-groups") == "Webrix Admins, Engineering"  # by name
    me = session(page)
    assert me["user"]["email"] == ADMIN and me["admin"] is True
    sign_out_at_provider(page, okta)


def test_a_token_for_another_client_is_refused(page: Page, okta: PresetStack) -> None:
    another_client(page, okta, "mallory@example.com")


@pytest.mark.parametrize(
    ("path", "status", "title", "why"),
    [
        # Served by the same provider, but its discovery names /oauth2/default.
        ("/oauth2/other", 502, "Identity provider misconfigured", "/oauth2/default"),
        # No authorization server there at all.
        ("/oauth2/missing", 503, "Identity provider unreachable", "HTTP 404"),
    ],
)
def test_a_wrong_issuer_is_refused_at_sign_in(
    page: Page, okta: PresetStack, tmp_path: Path, path: str, status: int, title: str, why: str
) -> None:
    wrong = f"{okta.provider.base_url}{path}"
    with serve(
        tmp_path, "okta", okta.provider, {**_section(okta.provider), "issuer": wrong}
    ) as base:
        seen = watch(page)
        response = page.goto(f"{base}/")
        page.wait_for_selector("#request-id")
        assert response is not None and response.status == status
        assert page.inner_text("h1") == title
        assert why in page.inner_text("#error-message")
        assert session(page) == {}
        assert not [u for u in seen if u.startswith(f"{okta.provider.base_url}/interaction/")]
