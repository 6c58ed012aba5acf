"""An administrator ends a user's session from the user's page, in Chromium, against
`webrix serve` and the real npm oidc-provider: the user's browser is signed out at its next
request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.stack import ADMIN, MEMBER, Stack, console_stack, person, shot, sign_in

CLIENT_ID = "webrix-e2e-directory"
CLIENT_SECRET = "directory e2e secret"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("directory")
    with console_stack(folder, CLIENT_ID, CLIENT_SECRET) as running:
        yield running


def _session(page: Page) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(
        page.evaluate("fetch('/api/auth/session').then(r => r.text())")
    )
    return body


def test_an_administrator_ends_a_users_session_from_the_user_page(
    browser: Browser, stack: Stack
) -> None:
    member_browser, admin_browser = person(browser), person(browser)
    try:
        member = member_browser.new_page()
        sign_in(member, stack.base, stack.issuer, MEMBER)
        assert member.inner_text("#user-email") == MEMBER

        admin = admin_browser.new_page()
        sign_in(admin, stack.base, stack.issuer, ADMIN, "/admin/users")
        bob_row = admin.locator("#users tr", has_text=MEMBER)
        # Bob is in no SCIM group; the groups claim he signed in with is shown, marked apart.
        assert "From sign-in claim: Engineering" in bob_row.inner_text()
        assert "Administrator" in admin.locator("#users tr", has_text=ADMIN).inner_text()
        assert "Administrator" not in bob_row.inner_text()
        shot(admin, "admin-users")
        bob_row.get_by_role("link").first.click()
        admin.wait_for_selector("#user-sessions")
        assert admin.inner_text("#user-title").startswith("Bob Brown")
        assert MEMBER in admin.inner_text("#user-emails")
        sessions = admin.locator("#user-sessions tr[data-session]")
        assert sessions.count() == 1
        assert "Headless Chrome" in sessions.first.inner_text()

        shot(admin, "admin-user")
        admin.once("dialog", lambda dialog: dialog.accept())  # the data-confirm question
        with admin.expect_navigation():
            sessions.first.locator("button.end-session").click()
        assert "1 session ended" in admin.inner_text("#ended")
        assert admin.locator("#user-sessions tr[data-session]").count() == 0
        assert "session.end" in admin.inner_text("#history")
        shot(admin, "admin-user-session-ended")

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
    context = person(browser)
    try:
        page = context.new_page()
        sign_in(page, stack.base, stack.issuer, MEMBER)
        user_id = _session(page)["user"]["id"]
        response = page.goto(f"{stack.base}/admin/users/{user_id}")
        assert response is not None and response.status == 403
        assert "administrators" in page.inner_text("#error-message")
    finally:
        context.close()
