"""Sign-in through Google in Chromium: the real oidc-provider behaving like Google (issuer without
a trailing slash, `hd` for Workspace accounts only, no end-session endpoint), and the service
with `[auth] provider = "google"` allowing one Workspace domain."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tests.e2e.oidc_provider import Provider
from tests.e2e.provider_stack import (
    ADMIN,
    OTHER_CLIENT,
    PresetStack,
    another_client,
    endpoint,
    preset_stack,
    refused_cleanly,
    requests_to,
    session,
    sign_in,
    user,
    watch,
)

DOMAIN = "example.com"
USERS = [
    user("1001", ADMIN, "Alice", "Anderson", hd=DOMAIN),
    user("1002", "eve@other.example", "Eve", "Elsewhere", hd="other.example"),
    user("1003", "carl@gmail.example", "Carl", "Consumer"),  # a personal account: no hd
    user("1004", "mallory@example.com", "Mallory", "M", hd=DOMAIN, id_token_audience=OTHER_CLIENT),
]


def _section(provider: Provider) -> dict[str, object]:
    return {"allowed_domains": [DOMAIN]}


@pytest.fixture(scope="module")
def google(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PresetStack]:
    with preset_stack(tmp_path_factory.mktemp("google"), "google", _section, USERS) as stack:
        yield stack


def test_a_workspace_user_signs_in_and_sign_out_keeps_the_google_session(
    page: Page, google: PresetStack
) -> None:
    assert endpoint(google, "end_session_endpoint") is None
    seen = watch(page)
    sign_in(page, google, ADMIN)
    (authorize,) = requests_to(seen, f"{google.provider.issuer}/o/oauth2/v2/auth")
    assert authorize["redirect_uri"] == [f"{google.base}/api/auth/callback/google"]
    assert page.inner_text("#user-name") == "Alice Anderson"
    assert session(page)["user"]["email"] == ADMIN

    seen.clear()
    page.click("#signout")
    page.wait_for_url(f"{google.base}/signed-out?provider=kept")
    assert not [u for u in seen if u.startswith(google.provider.base_url)]  # Google not asked
    kept = page.inner_text("#provider-session-kept")
    assert "Google offers no sign-out" in kept and "still signed in" in kept
    assert session(page) == {}
    page.goto(f"{google.base}/")  # still signed in at Google: straight back to the dashboard
    page.wait_for_url(f"{google.base}/")
    assert page.inner_text("#user-email") == ADMIN


@pytest.mark.parametrize(
    ("email", "why"),
    [
        ("eve@other.example", "'other.example' is not allowed"),
        ("carl@gmail.example", "personal Google account"),
    ],
)
def test_another_domain_and_a_personal_account_are_refused(
    page: Page, google: PresetStack, email: str, why: str
) -> None:
    message = refused_cleanly(page, google, email, "Account not allowed", "domain_not_allowed")
    assert why in message
    assert page.inner_text("#switch-user") == "Sign in as someone else"


def test_a_token_for_another_client_is_refused(page: Page, google: PresetStack) -> None:
    another_client(page, google, "mallory@example.com")
