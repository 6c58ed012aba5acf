"""The setup checklist on /admin, in Chromium, as an administrator follows JumpCloud's setup
page against `webrix serve` and the real npm oidc-provider: from nothing to every step done."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from tests.admin.test_checklist import STEPS  # the steps, in the order the page lists them
from tests.e2e.stack import ADMIN, Stack, console_stack, shot, sign_in

CLIENT_ID = "webrix-checklist"
CLIENT_SECRET = "checklist secret"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with console_stack(tmp_path, CLIENT_ID, CLIENT_SECRET) as running:
        yield running


def _checklist(page: Page, stack: Stack) -> dict[str, str]:
    """The status of each step on /admin, read from its badge (text, not colour)."""
    page.goto(f"{stack.base}/admin")
    found = {}
    for step in STEPS:
        status = page.get_attribute(f"#{step}", "data-status")
        assert status is not None
        assert page.inner_text(f"#{step} .badge") == status
        found[step] = status
    return found


def _done(*steps: str) -> dict[str, str]:
    return {step: "done" if step in steps else "not yet" for step in STEPS}


def _sso_tested(page: Page, stack: Stack) -> None:
    """Settings → Test connection, as the checklist's link leads an administrator to."""
    page.goto(f"{stack.base}/admin/settings")
    page.click("#test-connection")
    page.wait_for_selector("#test-steps")
    assert "Connection works" in page.inner_text("#test-result")


def test_the_checklist_fills_as_the_setup_page_is_followed(page: Page, stack: Stack) -> None:
    # Configure SSO is the config file; sign in from the console (SP-initiated).
    sign_in(page, stack.base, stack.issuer, ADMIN, "/admin")
    assert _checklist(page, stack) == _done(
        "step-sso-configured", "step-first-signin", "step-admins"
    )
    assert ADMIN in page.inner_text("#step-first-signin")
    assert page.locator("#step-first-signin time").count() == 1  # when, exact UTC in its title
    assert "/admin/settings" in page.inner_html("#step-sso-tested")
    shot(page, "checklist-start")

    _sso_tested(page, stack)
    state = _checklist(page, stack)
    assert state["step-sso-tested"] == "done"
    assert "passed" in page.inner_text("#step-sso-tested")

    # Generate API token in Webrix: name it, Generate, copy it (shown once).
    page.goto(f"{stack.base}/admin/api-tokens")
    page.fill("#token-name", "JumpCloud SCIM")
    page.click("#generate")
    page.wait_for_selector("#new-token")
    token = page.input_value("#new-token")
    assert token.startswith("wxt_")
    state = _checklist(page, stack)
    assert state["step-scim-token"] == "done" and state["step-scim-request"] == "not yet"

    # Configure SCIM in JumpCloud: its Test Connection, then users pushed (a SCIM create).
    scim = httpx.Client(
        base_url=f"{stack.base}/scim/v2",
        headers={"Authorization": f"Bearer {token}", "User-Agent": "JumpCloud-SCIM-e2e/1.0"},
    )
    with scim:
        created = scim.post(
            "/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "grace@example.com",
                "name": {"givenName": "Grace", "familyName": "Hopper"},
                "emails": [{"value": "grace@example.com", "primary": True}],
                "active": True,
            },
        )
        assert created.status_code == 201, created.text
        state = _checklist(page, stack)
        assert state["step-scim-request"] == "done" and state["step-scim-received"] == "not yet"
        seen = page.inner_text("#step-scim-request")
        assert "JumpCloud SCIM" in seen and "JumpCloud-SCIM-e2e/1.0" in seen
        assert "POST /scim/v2/Users" in seen
        shot(page, "checklist-scim-seen")

        # Enable group push: a group with its members.
        pushed = scim.post(
            "/Groups",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Engineering",
                "members": [{"value": created.json()["id"]}],
            },
        )
        assert pushed.status_code == 201, pushed.text

    assert _checklist(page, stack) == _done(*STEPS)
    assert "7 of 7 done" in page.inner_text("#setup-progress")
    assert "Groups: 1" in page.inner_text("#step-scim-received")
    assert token not in page.content()  # the token never reaches the page again
    shot(page, "checklist-complete")

    # On a phone the checklist stays inside its card: long paths and client names wrap.
    page.set_viewport_size({"width": 390, "height": 844})
    overflow = page.evaluate(
        "(() => { const c = document.querySelector('#setup-checklist');"
        " return c.scrollWidth - c.clientWidth; })()"
    )
    assert overflow <= 0, f"the checklist is {overflow}px wider than its card at 390 px"
    shot(page, "checklist-complete-390")
