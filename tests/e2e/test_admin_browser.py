"""The JumpCloud setup page's "Generate API token in Webrix" steps, in Chromium, on `webrix demo`."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page

from tests.e2e.stack import shot


def test_an_administrator_generates_a_scim_token_and_it_works(page: Page, demo: str) -> None:
    # 1. In your Webrix Admin Console, navigate to /admin/api-tokens (sign in first: Ada is an
    #    administrator of the demo).
    page.goto(f"{demo}/admin/api-tokens")
    page.click("button[data-email='ada@example.com']")
    page.wait_for_url(f"{demo}/admin/api-tokens")
    # 2.-4. Click Generate Token, enter a descriptive name, click Generate.
    page.fill("#token-name", "JumpCloud SCIM")
    page.click("#generate")
    page.wait_for_selector("#new-token")
    shot(page, "admin-token-generated")
    # 5. Copy the API Token (it starts with wxt_...). It is shown once.
    token = page.input_value("#new-token")
    assert token.startswith("wxt_")
    assert "You won't be able to see it again" in page.inner_text("#new-token-card")
    listed = page.inner_text("#tokens")
    assert "JumpCloud SCIM" in listed and token not in listed

    # The token is what JumpCloud's Test Connection will use against the SCIM Base URL.
    scim = httpx.get(f"{demo}/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})
    assert scim.status_code == 200 and scim.json()["totalResults"] >= 1

    page.reload()  # a reload neither shows the token again nor generates another one
    assert token not in page.content()
    assert page.locator("#tokens tr:has-text('JumpCloud SCIM')").count() == 1
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("#tokens tr:has-text('JumpCloud SCIM') button.danger")
    assert "revoked" in page.inner_text("#tokens tr:has-text('JumpCloud SCIM')")
    assert (
        httpx.get(f"{demo}/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )


def test_a_member_who_is_not_an_administrator_is_turned_away(page: Page, demo: str) -> None:
    page.goto(f"{demo}/admin")
    page.click("button[data-email='grace@example.com']")
    page.wait_for_selector("#error-message")
    assert "administrators" in page.inner_text("#error-message")
    assert page.inner_text("#request-id")
    shot(page, "admin-refused")
