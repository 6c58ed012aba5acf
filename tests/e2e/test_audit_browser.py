"""The API token and audit pages in headless Chromium, against `webrix serve` and the real npm
oidc-provider: generate a token (shown once), push a user with it under a known request id and
find that event by its request id, find a refused sign-in by the id its error page shows,
filter the log, and revoke the token (the list says by whom and when)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.stack import ADMIN, Stack, console_stack, shot, sign_in_here

CLIENT_ID = "webrix-e2e"
CLIENT_SECRET = "e2e-audit-secret"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with console_stack(tmp_path_factory.mktemp("audit"), CLIENT_ID, CLIENT_SECRET) as running:
        yield running


def _rows(page: Page) -> list[str]:
    return page.locator("#audit-events tbody tr[data-event-id]").all_inner_texts()


def test_token_flow_then_audit_search_by_request_id(
    page: Page, browser: Browser, stack: Stack
) -> None:
    # Generate Token -> name -> Generate -> shown once, with the warning.
    page.goto(f"{stack.base}/admin/api-tokens")
    sign_in_here(page, stack.issuer, ADMIN)
    page.wait_for_url(f"{stack.base}/admin/api-tokens")
    page.click("#generate-token-link")
    page.fill("#token-name", "JumpCloud SCIM")
    page.select_option("#token-expires", "90")
    page.click("#generate")
    page.wait_for_selector("#new-token")
    token = page.input_value("#new-token")
    assert token.startswith("wxt_")
    assert (
        page.eval_on_selector("#new-token", "e => getComputedStyle(e).fontFamily").find("mono") >= 0
    )
    assert page.locator("#copy-token").is_visible()
    shot(page, "tokens-generated")
    assert "You won't be able to see it again" in page.inner_text("#new-token-card")
    row = page.locator("#tokens tr:has-text('JumpCloud SCIM')")
    assert "active" in row.inner_text() and token not in page.inner_text("#tokens")
    page.reload()
    assert token not in page.content()

    # Unticking every scope is refused, with the reason on the page.
    page.fill("#token-name", "no scope")
    page.uncheck("#generate-form input[value='admin:scim']")
    page.click("#generate")
    assert "Choose at least one scope" in page.inner_text("#token-error")

    # JumpCloud pushes users with the token; one request carries a known request id.
    auth = {"Authorization": f"Bearer {token}"}
    pushed = httpx.post(
        f"{stack.base}/scim/v2/Users",
        json={"userName": "grace@example.com"},
        headers={**auth, "X-Request-Id": "jumpcloud-e2e-0042"},
    )
    assert pushed.status_code == 201, pushed.text
    other = httpx.post(
        f"{stack.base}/scim/v2/Users", json={"userName": "hedy@example.com"}, headers=auth
    )
    assert other.status_code == 201

    page.goto(f"{stack.base}/admin/audit")
    page.fill("#f-request-id", "jumpcloud-e2e-0042")
    page.click("#audit-search")
    page.wait_for_url("**/admin/audit?**request_id=jumpcloud-e2e-0042**")
    (found,) = _rows(page)
    assert "user.create" in found and "grace@example.com" in found and "hedy" not in found
    shot(page, "audit-request-id")
    actor = page.locator("#audit-events td.actor span").first
    assert actor.inner_text() == "JumpCloud SCIM"
    assert re.fullmatch(r"token:[0-9a-f]{12}", actor.get_attribute("title") or "")

    # Filters: the token's user events only, then a bad date explained on the page.
    page.goto(f"{stack.base}/admin/audit")
    page.fill("#f-action", "user.")
    page.fill("#f-actor", "JumpCloud SCIM")
    page.click("#audit-search")
    rows = _rows(page)
    assert len(rows) == 2 and all("user.create" in r for r in rows)
    assert {"grace@example.com", "hedy@example.com"} <= set(
        page.locator("#audit-events td.target span[title^='user:']").all_inner_texts()
    )
    page.fill("#f-since", "30/11/2026")
    page.click("#audit-search")
    assert "is not a date" in page.inner_text("#audit-error")
    shot(page, "audit-bad-date")

    # A refused sign-in: its error page shows a request id, which finds its audit row.
    with sqlite3.connect(stack.db, timeout=10) as conn:
        conn.execute(
            "INSERT INTO users (id, user_name, email, active, source, created, last_modified)"
            " VALUES ('bob-id', 'bob@example.com', 'bob@example.com', 0, 'scim',"
            " '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
        )
    other_browser = browser.new_context()
    try:
        bob = other_browser.new_page()
        bob.goto(f"{stack.base}/")
        sign_in_here(bob, stack.issuer, "bob@example.com")
        bob.wait_for_selector("#request-id")
        request_id = bob.inner_text("#request-id").strip()
    finally:
        other_browser.close()
    request_id = re.search(r"[A-Za-z0-9._-]{8,64}", request_id)[0]  # type: ignore[index]
    page.goto(f"{stack.base}/admin/audit")
    page.fill("#f-request-id", request_id)
    page.click("#audit-search")
    (refused,) = _rows(page)
    assert "auth.signin.refused" in refused and "reason" in refused

    # Revoke: the list says revoked, by whom and when; SCIM refuses the token at once.
    page.goto(f"{stack.base}/admin/api-tokens")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("#tokens tr:has-text('JumpCloud SCIM') button.danger")
    revoked = page.locator("#tokens tr:has-text('JumpCloud SCIM') td.status")
    assert "revoked" in revoked.inner_text() and f"by {ADMIN}" in revoked.inner_text()
    assert revoked.locator("time").count() == 1
    shot(page, "tokens-revoked")
    page.goto(f"{stack.base}/admin/audit")
    shot(page, "audit")
    page.set_viewport_size({"width": 390, "height": 800})
    shot(page, "audit-390")
    page.goto(f"{stack.base}/admin/api-tokens")
    shot(page, "tokens-390")
    assert httpx.get(f"{stack.base}/scim/v2/Users", headers=auth).status_code == 401
