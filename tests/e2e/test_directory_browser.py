"""An administrator ends a user's session from the user's page, in Chromium, against
`webrix serve` and the real npm oidc-provider: the user's browser is signed out at its next
request."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.conftest import config_data, free_port, serve_process, write_toml
from tests.e2e.conftest import TIMEOUT_MS
from tests.e2e.oidc_provider import Provider, start_oidc_provider

SHOTS = os.environ.get("WEBRIX_SCREENSHOTS")  # a folder to keep screenshots in, when set

CLIENT_ID = "webrix-e2e-directory"
CLIENT_SECRET = "directory e2e secret"
ADMIN = "alice@example.com"  # the provider's default users: Alice and Bob
MEMBER = "bob@example.com"


@dataclass
class Stack:
    base: str
    provider: Provider


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with start_oidc_provider(
        CLIENT_ID, CLIENT_SECRET, f"{base}/api/auth/callback/jumpcloud", f"{base}/signed-out"
    ) as provider:
        tmp = tmp_path_factory.mktemp("directory")
        data = config_data(
            tmp / "webrix.db",
            server={"public_url": base},
            jumpcloud={
                "issuer": provider.issuer,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "groups_claim": "groups",
            },
            access={"admin_emails": [ADMIN]},
        )
        with serve_process(write_toml(tmp / "config.toml", data), port):
            yield Stack(base, provider)


def _shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _browser(browser: Browser) -> BrowserContext:
    context = browser.new_context()  # its own cookie jar: another person's browser
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _sign_in(page: Page, stack: Stack, email: str, path: str = "/") -> None:
    page.goto(f"{stack.base}{path}")
    page.wait_for_selector("#login")
    assert page.url.startswith(f"{stack.provider.issuer}interaction/"), page.url
    page.fill("#login", email)
    page.click("#submit")
    page.wait_for_url(f"{stack.base}{path}")


def _session(page: Page) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(
        page.evaluate("fetch('/api/auth/session').then(r => r.text())")
    )
    return body


def test_an_administrator_ends_a_users_session_from_the_user_page(
    browser: Browser, stack: Stack
) -> None:
    member_browser, admin_browser = _browser(browser), _browser(browser)
    try:
        member = member_browser.new_page()
        _sign_in(member, stack, MEMBER)
        assert member.inner_text("#user-email") == MEMBER

        admin = admin_browser.new_page()
        _sign_in(admin, stack, ADMIN, "/admin/users")
        bob_row = admin.locator("#users tr", has_text=MEMBER)
        # Bob is in no SCIM group; the groups claim he signed in with is shown, marked apart.
        assert "From sign-in claim: Engineering" in bob_row.inner_text()
        assert "Administrator" in admin.locator("#users tr", has_text=ADMIN).inner_text()
        assert "Administrator" not in bob_row.inner_text()
        _shot(admin, "admin-users")
        bob_row.get_by_role("link").first.click()
        admin.wait_for_selector("#user-sessions")
        assert admin.inner_text("#user-title").startswith("Bob Brown")
        assert MEMBER in admin.inner_text("#user-emails")
        sessions = admin.locator("#user-sessions tr[data-session]")
        assert sessions.count() == 1
        assert "Headless Chrome" in sessions.first.inner_text()

        _shot(admin, "admin-user")
        admin.once("dialog", lambda dialog: dialog.accept())  # the data-confirm question
        with admin.expect_navigation():
            sessions.first.locator("button.end-session").click()
        assert "1 session ended" in admin.inner_text("#ended")
        assert admin.locator("#user-sessions tr[data-session]").count() == 0
        assert "session.end" in admin.inner_text("#history")
        _shot(admin, "admin-user-session-ended")

        # Bob's very next request finds no session: the dashboard sends him to sign in.
        assert _session(member) == {}
        dashboard = member.request.get(f"{stack.base}/", max_redirects=0)
        assert dashboard.status == 302
        assert "/api/auth/signin/jumpcloud" in dashboard.headers["location"]
        # The administrator's own session is untouched.
        assert _session(admin)["user"]["email"] == ADMIN
    finally:
        member_browser.close()
        admin_browser.close()


def test_a_member_cannot_open_a_user_page(browser: Browser, stack: Stack) -> None:
    context = _browser(browser)
    try:
        page = context.new_page()
        _sign_in(page, stack, MEMBER)
        user_id = _session(page)["user"]["id"]
        response = page.goto(f"{stack.base}/admin/users/{user_id}")
        assert response is not None and response.status == 403
        assert "administrators" in page.inner_text("#error-message")
    finally:
        context.close()
