"""Settings → Test connection and Test sign-in in headless Chromium, against `webrix serve` and
the real npm oidc-provider (configured like JumpCloud).

Two servers share one database (and secret key): "right" holds the Client Secret the provider
knows, "wrong" a stale one. Nobody can sign in to "wrong" (that is the point), but the browser
sends the session cookie of 127.0.0.1 to both ports, so the administrator signed in at "right"
opens "wrong"'s console too, as one would after changing the secret and restarting.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.conftest import free_port, serve_process, webrix
from tests.e2e.oidc_provider import Provider, start_oidc_provider
from tests.e2e.stack import ADMIN, shot, sign_in, write_config

CLIENT_ID = "webrix-e2e-test"
CLIENT_SECRET = "e2e secret: with +/& odd characters"
STALE_SECRET = "an old secret, regenerated since"


@dataclass
class Stack:
    right: str  # the server with the right secret
    wrong: str  # the same database, a stale secret
    provider: Provider
    db: Path
    wrong_config: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("sso-test")
    db = tmp / "webrix.db"
    port, wrong_port = free_port(), free_port()
    right, wrong = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{wrong_port}"
    with start_oidc_provider(
        CLIENT_ID, CLIENT_SECRET, f"{right}/api/auth/callback/jumpcloud", f"{right}/signed-out"
    ) as provider:
        issuer = provider.issuer
        right_config = write_config(tmp / "right.toml", db, right, issuer, CLIENT_ID, CLIENT_SECRET)
        wrong_config = write_config(tmp / "wrong.toml", db, wrong, issuer, CLIENT_ID, STALE_SECRET)
        with serve_process(right_config, port), serve_process(wrong_config, wrong_port):
            yield Stack(right, wrong, provider, db, wrong_config)


def _sign_in_as_alice(page: Page, stack: Stack) -> None:
    sign_in(page, stack.right, stack.provider.issuer, ADMIN, "/admin/settings")


def _counts(db: Path) -> tuple[int, int, int]:
    with sqlite3.connect(db, timeout=10) as conn:
        users = conn.execute("SELECT count(*) FROM users").fetchone()[0]
        linked = conn.execute("SELECT count(*) FROM users WHERE oidc_sub IS NOT NULL").fetchone()
        sessions = conn.execute("SELECT count(*) FROM sessions").fetchone()[0]
    return int(users), int(linked[0]), int(sessions)


def _step(page: Page, name: str) -> str:
    row = page.locator(f'#test-steps tr[data-step="{name}"]')
    return f"{row.get_attribute('data-status')}: {row.inner_text()}"


def test_test_connection_reports_right_and_wrong_credentials(page: Page, stack: Stack) -> None:
    _sign_in_as_alice(page, stack)
    page.click("#test-connection")
    page.wait_for_selector("#test-result")
    shot(page, "settings-test-connection-ok")
    assert "Connection works" in page.inner_text("#test-result")
    assert _step(page, "Client ID and Client Secret").startswith("ok: ")
    assert _step(page, "Redirect URI").startswith("ok: ")
    assert _step(page, "Signing keys (JWKS)").startswith("ok: ")

    page.goto(f"{stack.wrong}/admin/settings")  # the same administrator, the stale secret
    page.click("#test-connection")
    page.wait_for_selector("#test-result")
    shot(page, "settings-test-connection-wrong")
    assert "Connection fails" in page.inner_text("#test-result")
    credentials = _step(page, "Client ID and Client Secret")
    assert credentials.startswith("problem: ")
    assert (
        "The Client ID or Client Secret is wrong" in credentials and "invalid_client" in credentials
    )
    assert (
        "Admin Console → SSO (SSO Applications) → your Webrix app → SSO tab → Client ID and Client Secret"
        in credentials
    )
    # "wrong" has its own address, which the provider does not know as a Redirect URI.
    redirect = _step(page, "Redirect URI")
    assert redirect.startswith("problem: ") and "Redirect URIs: add " in redirect
    assert f"{stack.wrong}/api/auth/callback/jumpcloud" in redirect
    html = page.content()
    assert STALE_SECRET not in html and CLIENT_SECRET not in html

    # `webrix check` says the same from the command line, and fails.
    result = webrix("--config", str(stack.wrong_config), "check")
    assert result.returncode == 1, result.stdout
    assert "The Client ID or Client Secret is wrong" in result.stdout
    assert "OK: sign-in can reach" not in result.stdout
    assert STALE_SECRET not in result.stdout + result.stderr


def test_test_sign_in_shows_the_claims_and_changes_nothing(page: Page, stack: Stack) -> None:
    _sign_in_as_alice(page, stack)
    session = page.evaluate("fetch('/api/auth/session').then(r => r.json())")
    before = _counts(stack.db)
    page.click("#test-signin")
    # The provider still knows Alice: it comes straight back (or asks again; both are fine).
    page.wait_for_url(f"{stack.right}/api/auth/callback/jumpcloud**")
    page.wait_for_selector("#test-signin-outcome")
    shot(page, "settings-test-signin")
    assert "Sign-in works" in page.inner_text("#test-signin-outcome")
    claims = page.inner_text("#id-token-claims")
    assert "alice-0001" in claims and "alice@example.com" in claims
    assert page.inner_text("#claim-sub") == "alice-0001"
    assert page.inner_text("#claim-email") == "alice@example.com"
    groups = page.inner_text("#test-signin-groups")
    assert "groups" in groups and "Webrix Admins" in groups
    assert "already linked to this OpenID subject" in page.inner_text("#test-signin-match")
    assert "alice-0001" in page.inner_text("#userinfo-claims")
    # Nothing changed: the same session, the same accounts.
    assert page.evaluate("fetch('/api/auth/session').then(r => r.json())") == session
    assert _counts(stack.db) == before
