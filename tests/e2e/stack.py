"""The service as the browser tests meet it: `webrix serve` beside the real npm oidc-provider
(configured like JumpCloud), an administrator configured, and the steps every browser test
repeats: signing in at the provider's page and keeping screenshots."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page

from tests.conftest import config_data, free_port, serve_process, write_toml
from tests.e2e.conftest import TIMEOUT_MS
from tests.e2e.oidc_provider import Provider, ProviderUser, start_oidc_provider

ADMIN = "alice@example.com"  # the provider's default users: Alice (made administrator) and Bob
MEMBER = "bob@example.com"
CALLBACK = "/api/auth/callback/jumpcloud"


@dataclass(frozen=True)
class Stack:
    base: str  # the service's public URL
    provider: Provider
    config: Path
    db: Path

    @property
    def issuer(self) -> str:
        return self.provider.issuer


def write_config(
    path: Path, db: Path, base: str, issuer: str, client_id: str, secret: str, **jumpcloud: Any
) -> Path:
    """A config for `webrix serve` at `base`, signing in at `issuer`, Alice its administrator."""
    data = config_data(
        db,
        server={"public_url": base},
        jumpcloud={
            "issuer": issuer,
            "client_id": client_id,
            "client_secret": secret,
            "groups_claim": "groups",
            **jumpcloud,
        },
        access={"admin_emails": [ADMIN]},
    )
    return write_toml(path, data)


@contextmanager
def console_stack(
    folder: Path,
    client_id: str,
    secret: str,
    users: Sequence[ProviderUser] | None = None,
    **jumpcloud: Any,
) -> Iterator[Stack]:
    """The provider with this client registered, and the service on a free port beside it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with start_oidc_provider(
        client_id, secret, f"{base}{CALLBACK}", f"{base}/signed-out", users
    ) as provider:
        db = folder / "webrix.db"
        signed_out = {"post_logout_redirect_uri": f"{base}/signed-out"}  # registered above
        config = write_config(
            folder / "config.toml",
            db,
            base,
            provider.issuer,
            client_id,
            secret,
            **{**signed_out, **jumpcloud},
        )
        with serve_process(config, port):
            yield Stack(base, provider, config, db)


def person(browser: Browser) -> BrowserContext:
    """A browser context of its own (its own cookie jar): another person's browser."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    return context


def sign_in(page: Page, base: str, issuer: str, email: str, path: str = "/") -> None:
    """Open `path`, sign in as `email` on the provider's page, and land back on `path`."""
    page.goto(f"{base}{path}")
    sign_in_here(page, issuer, email)
    page.wait_for_url(f"{base}{path}")


def sign_in_here(page: Page, issuer: str, email: str) -> None:
    """The page is the provider's sign-in form: sign in as `email` there."""
    page.wait_for_selector("#login")
    assert page.url.startswith(f"{issuer}interaction/"), page.url
    page.fill("#login", email)
    page.click("#submit")


def shot(page: Page, name: str) -> None:
    """Keep a full-page screenshot when WEBRIX_SCREENSHOTS names a folder."""
    if folder := os.environ.get("WEBRIX_SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
