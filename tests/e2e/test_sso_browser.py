"""The whole SP-initiated flow in headless Chromium against real processes.

`webrix serve` and the npm oidc-provider (configured like JumpCloud) for the SSO walk and
`webrix check`; `webrix demo` with its built-in provider for the trial walk.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from tests.conftest import config_data, free_port, serve_process, webrix, write_toml
from tests.e2e.oidc_provider import Provider, start_oidc_provider

CLIENT_ID = "webrix-e2e"
CLIENT_SECRET = "e2e secret: with +/& odd characters"


@dataclass
class Stack:
    base: str  # the service, http://127.0.0.1:PORT
    provider: Provider
    config: Path
    db: Path


def _config(tmp: Path, base: str, issuer: str) -> tuple[Path, Path]:
    db = tmp / "webrix.db"
    data = config_data(
        db,
        server={"public_url": base},
        jumpcloud={
            "issuer": issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "post_logout_redirect_uri": f"{base}/signed-out",
            "groups_claim": "groups",
        },
    )
    return write_toml(tmp / "config.toml", data), db


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with start_oidc_provider(
        CLIENT_ID, CLIENT_SECRET, f"{base}/api/auth/callback/jumpcloud", f"{base}/signed-out"
    ) as provider:
        config, db = _config(tmp_path_factory.mktemp("sso"), base, provider.issuer)
        with serve_process(config, port):
            yield Stack(base, provider, config, db)


def _sign_in_at_provider(page: Page, stack: Stack, email: str) -> None:
    page.wait_for_selector("#login")
    assert page.url.startswith(f"{stack.provider.issuer}interaction/"), page.url
    page.fill("#login", email)
    page.click("#submit")


def _sessions(db: Path) -> int:
    with sqlite3.connect(db, timeout=10) as conn:
        return int(conn.execute("SELECT count(*) FROM sessions").fetchone()[0])


def test_sign_in_dashboard_sign_out_and_back_to_the_provider(page: Page, stack: Stack) -> None:
    page.goto(f"{stack.base}/")
    _sign_in_at_provider(page, stack, "alice@example.com")
    page.wait_for_url(f"{stack.base}/")
    assert page.inner_text("#user-name") == "Alice Anderson"
    assert page.inner_text("#user-email") == "alice@example.com"
    groups = page.inner_text("#user-groups")
    assert "Webrix Admins" in groups and "Engineering" in groups
    session = json.loads(page.evaluate("fetch('/api/auth/session').then(r => r.text())"))
    assert session["user"]["email"] == "alice@example.com"

    page.click("#signout")  # our session ends, then the provider's logout confirms itself
    page.wait_for_url(f"{stack.base}/signed-out**")
    assert "You are signed out" in page.inner_text("body")
    assert page.evaluate("fetch('/api/auth/session').then(r => r.text())") == "{}"

    page.goto(f"{stack.base}/")  # signed out at the provider too: its login form again
    page.wait_for_selector("#login")
    assert page.url.startswith(f"{stack.provider.issuer}interaction/")


def test_deactivated_user_loses_the_session_and_cannot_sign_in(page: Page, stack: Stack) -> None:
    page.goto(f"{stack.base}/")
    _sign_in_at_provider(page, stack, "bob@example.com")
    page.wait_for_url(f"{stack.base}/")
    assert page.inner_text("#user-name") == "Bob Brown"
    open_sessions = _sessions(stack.db)

    with sqlite3.connect(stack.db, timeout=10) as conn:
        conn.execute("UPDATE users SET active = 0 WHERE user_name = 'bob@example.com'")
    try:
        assert page.evaluate("fetch('/api/auth/session').then(r => r.text())") == "{}"
        # Reloading sends Bob to the provider, which still knows him and comes straight back:
        # the service refuses him with a page, and no session is opened.
        page.goto(f"{stack.base}/")
        page.wait_for_selector("#request-id")
        assert "Account deactivated" in page.inner_text("h1")
        assert "deactivated" in page.inner_text("#error-message")
        assert page.url.startswith(f"{stack.base}/api/auth/callback/jumpcloud")
        assert _sessions(stack.db) == open_sessions
    finally:
        with sqlite3.connect(stack.db, timeout=10) as conn:
            conn.execute("UPDATE users SET active = 1 WHERE user_name = 'bob@example.com'")


# -- webrix check --------------------------------------------------------------------------------


def test_check_against_the_real_provider(stack: Stack) -> None:
    result = webrix("--config", str(stack.config), "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"issuer {stack.provider.issuer} matches" in result.stdout
    assert f"Redirect URI:   {stack.base}/api/auth/callback/jumpcloud" in result.stdout
    assert f"Base URL:       {stack.base}/scim/v2" in result.stdout
    assert "JWKS" in result.stdout and "OK" in result.stdout


def test_check_refuses_a_provider_whose_issuer_differs(stack: Stack, tmp_path: Path) -> None:
    """A server at another address hands out the real provider's discovery document."""
    discovery = httpx.get(f"{stack.provider.issuer}.well-known/openid-configuration").content

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(discovery)))
            self.end_headers()
            self.wfile.write(discovery)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        issuer = f"http://127.0.0.1:{server.server_address[1]}/"
        config, _ = _config(tmp_path, stack.base, issuer)
        result = webrix("--config", str(config), "check")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "PROBLEM" in result.stdout
    assert stack.provider.issuer in result.stdout and "must match" in result.stdout


def test_demo_walk(page: Page, demo: str) -> None:
    page.goto(f"{demo}/")
    page.wait_for_selector("button[data-email='grace@example.com']")
    assert "webrix demo" in page.inner_text("body")
    page.click("button[data-email='grace@example.com']")
    page.wait_for_url(f"{demo}/")
    assert page.inner_text("#user-name") == "Grace User"
    assert page.inner_text("#user-email") == "grace@example.com"
    assert "Engineering" in page.inner_text("#user-groups")

    page.click("#signout")
    page.wait_for_url(f"{demo}/signed-out**")
    assert "You are signed out" in page.inner_text("body")
    page.goto(f"{demo}/")  # the demo provider keeps no session: its user list again
    page.wait_for_selector("button[data-email='ada@example.com']")
