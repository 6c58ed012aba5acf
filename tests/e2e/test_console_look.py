"""The console's look and accessibility in headless Chromium, on `webrix serve` + oidc-provider.

One server and one provider for the module. Every page of `CONSOLE_PAGES` is checked by axe-core
(no serious or critical violation) in light and dark mode at 1280 and 390 px, and must not be
wider than the viewport at 390 and 360 px. With WEBRIX_SCREENSHOTS=DIR the sweep saves
DIR/console/<page>-<width>-<scheme>.png.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from app.admin.routes import routes as admin_routes
from tests.conftest import webrix
from tests.e2e.conftest import TIMEOUT_MS
from tests.e2e.console_pages import CONSOLE_PAGES, ConsolePage, axe_violations, page_width
from tests.e2e.oidc_provider import ProviderUser
from tests.e2e.stack import ADMIN, MEMBER, Stack, console_stack, sign_in

CLIENT_ID = "webrix-look"
CLIENT_SECRET = "look secret"
SHOTS = os.environ.get("WEBRIX_SCREENSHOTS")
DARK_BACKGROUND = "rgb(15, 18, 24)"  # --bg of the dark scheme in webrix.css
USERS: list[ProviderUser] = [
    {
        "sub": "alice-0001",
        "email": "alice@example.com",
        "given_name": "Alice",
        "family_name": "Anderson",
        "groups": [],
    },
    {
        "sub": "bob-0002",
        "email": "bob@example.com",
        "given_name": "Bob",
        "family_name": "Brown",
        "groups": [],
    },
    {
        "sub": "carol-0003",
        "email": "carol@example.com",
        "given_name": "Carol",
        "family_name": "Clark",
        "groups": [],
    },
]


@dataclass
class Console:
    base: str
    issuer: str
    db: Path
    ids: dict[str, str]  # user_id, group_id: what SCIM pushed
    states: dict[str, Any]  # role -> Playwright storage state of a signed-in browser


def _seed(base: str, config: Path) -> dict[str, str]:
    """A SCIM token, then a user with long values and a group, as JumpCloud would push them."""
    token = webrix("--config", str(config), "token", "create", "--name", "JumpCloud SCIM")
    assert token.returncode == 0, token.stderr
    bearer = {"Authorization": f"Bearer {token.stdout.strip().splitlines()[-1]}"}
    email = "maximilian.alexander.longname-of-the-engineering-department@example.com"
    user = httpx.post(
        f"{base}/scim/v2/Users",
        headers=bearer,
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": email,
            "name": {"givenName": "Maximilian", "familyName": "Longname"},
            "emails": [{"value": email, "primary": True}],
            "active": True,
        },
    )
    assert user.status_code == 201, user.text
    group = httpx.post(
        f"{base}/scim/v2/Groups",
        headers=bearer,
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering and Research Operations",
            "externalId": "jc-group-0123456789abcdef0123456789abcdef",
            "members": [{"value": user.json()["id"]}],
        },
    )
    assert group.status_code == 201, group.text
    return {"user_id": user.json()["id"], "group_id": group.json()["id"]}


def signed_in(browser: Browser, console: Console | Stack, email: str) -> BrowserContext:
    """A fresh browser signed in as `email` at the provider, on the dashboard."""
    context = browser.new_context(bypass_csp=True)  # CSP forbids the inline axe script
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    sign_in(page, console.base, console.issuer, email)
    page.close()
    return context


@pytest.fixture(scope="module")
def console(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    folder = tmp_path_factory.mktemp("look")
    with console_stack(folder, CLIENT_ID, CLIENT_SECRET, USERS) as stack:
        ids = _seed(stack.base, stack.config)
        states = {}
        for role, email in (("admin", ADMIN), ("member", MEMBER)):
            context = signed_in(browser, stack, email)
            states[role] = context.storage_state()
            context.close()
        yield Console(stack.base, stack.issuer, stack.db, ids, states)


def _context(browser: Browser, console: Console, role: str, width: int) -> BrowserContext:
    context = browser.new_context(
        storage_state=console.states[role],
        viewport={"width": width, "height": 800},
        bypass_csp=True,
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _visit(page: Page, console: Console, target: ConsolePage) -> None:
    response = page.goto(console.base + target.path.format(**console.ids))
    assert response is not None and response.status == target.status, (target, response)
    if target.then:
        target.then(page)


def _sweep(
    browser: Browser, console: Console, width: int, scheme: str
) -> Iterator[tuple[ConsolePage, Page]]:
    """Each page of the list, loaded at `width` in `scheme`, in a browser of its role."""
    contexts = {role: _context(browser, console, role, width) for role in console.states}
    try:
        pages = {role: context.new_page() for role, context in contexts.items()}
        for page in pages.values():
            page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        for target in CONSOLE_PAGES:
            page = pages[target.role]
            _visit(page, console, target)
            yield target, page
    finally:
        for context in contexts.values():
            context.close()


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violation_on_any_page(
    browser: Browser, console: Console, width: int, scheme: str
) -> None:
    found = {}
    for target, page in _sweep(browser, console, width, scheme):
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert (background == DARK_BACKGROUND) == (scheme == "dark"), (target.name, background)
        if SHOTS:
            folder = Path(SHOTS) / "console"
            folder.mkdir(parents=True, exist_ok=True)
            shot = folder / f"{target.name}-{width}-{scheme}.png"
            page.screenshot(path=str(shot), full_page=True)
        violations = axe_violations(page)
        if violations:
            found[target.name] = violations
    assert not found, found


@pytest.mark.parametrize("width", [390, 360])
def test_no_page_is_wider_than_the_viewport(browser: Browser, console: Console, width: int) -> None:
    too_wide = {}
    for target, page in _sweep(browser, console, width, "light"):
        document, viewport = page_width(page)
        assert viewport == width
        if document > viewport:
            too_wide[target.name] = document
    assert not too_wide, f"wider than {width} px: {too_wide}"


def test_the_current_page_is_marked_in_the_nav(browser: Browser, console: Console) -> None:
    for target, page in _sweep(browser, console, 1280, "light"):
        current = page.locator("header nav a[aria-current='page']")
        if target.nav is None:
            assert current.count() == 0, target.name
        else:
            assert current.count() == 1, target.name
            assert current.inner_text() == target.nav, target.name
        # Landmarks and the skip link on every page.
        assert page.locator("header").count() == 1 and page.locator("main#main").count() == 1
        assert page.locator("a.skip[href='#main']").count() == 1


def test_wide_screens_give_tables_room_and_keep_words_whole(
    browser: Browser, console: Console
) -> None:
    context = _context(browser, console, "admin", 1280)
    try:
        page = context.new_page()
        page.goto(f"{console.base}/admin/users")
        # The console's column uses the screen (the narrow column of other pages is 64rem).
        assert page.evaluate("document.querySelector('main').clientWidth") > 64 * 16
        # A cell breaks a value only where one word cannot fit; a button never wraps.
        cell = page.locator("#users td").first
        assert cell.evaluate("e => getComputedStyle(e).overflowWrap") == "break-word"
        button = page.locator("#users-filter")
        assert button.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
        email = "maximilian.alexander.longname-of-the-engineering-department@example.com"
        # The long email may wrap after a hyphen, never inside a word: its last word
        # ("department@example.com") is on one line.
        cell = page.locator("#users td", has_text=email).first
        rects = cell.evaluate(
            """e => {
              const text = [...e.childNodes].find(n => n.nodeType === 3 && n.data.includes("@"));
              const range = document.createRange();
              range.setStart(text, text.data.indexOf("department@"));
              range.setEnd(text, text.data.length);
              return range.getClientRects().length;
            }"""
        )
        assert rects == 1, rects
        page.goto(f"{console.base}/")
        assert page.evaluate("document.querySelector('main').clientWidth") <= 64 * 16
    finally:
        context.close()


def test_the_header_signs_out(browser: Browser, console: Console) -> None:
    context = signed_in(browser, console, "alice@example.com")  # its own session to end
    try:
        page = context.new_page()
        page.goto(f"{console.base}/admin/users")
        assert page.inner_text("#signed-in-as") == "Alice Anderson"
        page.click("header #signout")
        page.wait_for_url(f"{console.base}/signed-out**")
        assert "You are signed out" in page.inner_text("main")
        assert page.locator("header nav").count() == 0
        assert page.evaluate("fetch('/api/auth/session').then(r => r.text())") == "{}"
    finally:
        context.close()


def test_an_error_page_keeps_the_admin_navigation(browser: Browser, console: Console) -> None:
    context = _context(browser, console, "admin", 1280)
    try:
        page = context.new_page()
        response = page.goto(f"{console.base}/admin/no-such-page")
        assert response is not None and response.status == 404
        assert page.inner_text("h1") == "Page not found"
        assert "not found" not in page.inner_text("#error-message").lower()
        nav = page.inner_text("header nav")
        assert "Users" in nav and "Audit log" in nav
        assert page.locator("header #signout").count() == 1
        assert page.locator("#to-dashboard").get_attribute("href") == "/"
    finally:
        context.close()


def test_a_member_is_told_to_ask_an_administrator(browser: Browser, console: Console) -> None:
    context = _context(browser, console, "member", 1280)
    try:
        page = context.new_page()
        response = page.goto(f"{console.base}/admin/settings")
        assert response is not None and response.status == 403
        text = page.inner_text("main")
        assert "ask an administrator to grant you access" in text
        for jargon in ("[access]", "admin_emails", "admin_groups", "config"):
            assert jargon not in text
        assert page.inner_text("header nav") == "Dashboard"  # the member's own navigation
        assert page.locator("header #signout").count() == 1
    finally:
        context.close()


def test_audit_filters_fold_on_a_phone_until_used(browser: Browser, console: Console) -> None:
    opened = {}
    for width, query in ((390, ""), (1280, ""), (390, "?action=user.")):
        context = _context(browser, console, "admin", width)
        try:
            page = context.new_page()
            page.goto(f"{console.base}/admin/audit{query}")
            opened[(width, query)] = page.evaluate(
                "document.getElementById('audit-filter-box').open"
            )
            if (width, query) == (390, ""):
                page.click("#audit-filter-box summary")  # one tap opens it
                assert page.is_visible("#f-request-id")
        finally:
            context.close()
    assert opened == {(390, ""): False, (1280, ""): True, (390, "?action=user."): True}


def test_a_member_gets_403_on_every_admin_page_and_route(
    browser: Browser, console: Console
) -> None:
    """Every route under /admin, from the app's own route table, in the member's browser:
    pages opened, forms posted with the member's own CSRF token."""
    context = _context(browser, console, "member", 1280)
    try:
        page = context.new_page()
        page.goto(f"{console.base}/")
        csrf = page.request.get(f"{console.base}/api/auth/csrf").json()["csrfToken"]
        tried = 0
        for route in admin_routes():
            path = route.path.format(id=console.ids["user_id"])
            if "/groups/" in route.path:
                path = route.path.format(id=console.ids["group_id"])
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                if method == "GET":
                    response = page.goto(f"{console.base}{path}")
                    assert response is not None
                    status = response.status
                else:
                    status = page.request.post(
                        f"{console.base}{path}",
                        form={"csrfToken": csrf},
                        headers={"Origin": console.base},
                    ).status
                assert status == 403, (method, path, status)
                tried += 1
        assert tried >= 15
    finally:
        context.close()


def test_the_deactivated_page_offers_sign_out_and_another_user(
    browser: Browser, console: Console
) -> None:
    context = signed_in(browser, console, "carol@example.com")
    with sqlite3.connect(console.db, timeout=10) as conn:
        conn.execute("UPDATE users SET active = 0 WHERE user_name = 'carol@example.com'")
    try:
        page = context.new_page()
        page.goto(f"{console.base}/")  # the provider still knows Carol and comes straight back
        page.wait_for_selector("#error-actions")
        assert page.inner_text("h1") == "Account deactivated"
        assert page.locator("#to-dashboard").count() == 0  # it would only loop back here
        assert page.locator("#signout-provider").get_attribute("href").startswith(console.issuer)
        # "Someone else": the provider asks who, although it has Carol signed in.
        page.click("#switch-user")
        page.wait_for_selector("#login")
        page.fill("#login", "bob@example.com")
        page.click("#submit")
        page.wait_for_url(f"{console.base}/")
        assert page.inner_text("#user-name") == "Bob Brown"

        other = sign_in_refused(browser, console)
        other.click("#signout-provider")  # signs out at the provider, back to our signed-out page
        other.wait_for_url(f"{console.base}/signed-out**")
        other.goto(f"{console.base}/")
        other.wait_for_selector("#login")  # the provider asks again: Carol is signed out there
        other.context.close()
    finally:
        context.close()
        with sqlite3.connect(console.db, timeout=10) as conn:
            conn.execute("UPDATE users SET active = 1 WHERE user_name = 'carol@example.com'")


def sign_in_refused(browser: Browser, console: Console) -> Page:
    """A fresh browser where deactivated Carol tried to sign in: on the refusal page."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{console.base}/")
    page.fill("#login", "carol@example.com")
    page.click("#submit")
    page.wait_for_selector("#error-actions")
    return page


def test_the_accessibility_check_can_fail(browser: Browser) -> None:
    """axe-core as injected here does report an unlabelled field and faint text."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content(
            '<html lang="en"><title>t</title><body><main><input type="text">'
            '<p style="color:#bbb;background:#fff">faint</p></main></body></html>'
        )
        found = {v["id"] for v in axe_violations(page)}
        assert {"label", "color-contrast"} <= found, found
    finally:
        context.close()


def test_the_keyboard_skips_to_main_with_visible_focus(browser: Browser, console: Console) -> None:
    context = _context(browser, console, "admin", 390)
    try:
        page = context.new_page()
        page.goto(f"{console.base}/admin/users")
        focused = "document.activeElement"
        outline = f"getComputedStyle({focused}).outlineStyle"
        page.keyboard.press("Tab")
        assert page.evaluate(f"{focused}.className") == "skip"
        assert page.evaluate(f"{focused}.getBoundingClientRect().top") >= 0  # shown when focused
        assert page.evaluate(outline) == "solid"
        page.keyboard.press("Enter")
        assert page.evaluate(f"{focused}.id") == "main"
        page.keyboard.press("Tab")  # the first control of the page, past the header
        assert page.evaluate(f"{focused}.closest('main') !== null")
        assert page.evaluate(outline) == "solid"
    finally:
        context.close()
