"""`webrix serve` beside the real npm oidc-provider configured like one preset (Okta, Entra ID,
Google, Keycloak), and the steps the per-provider browser tests share: signing in at the
provider's page, reading the session and the audit log, watching where the browser went."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from playwright.sync_api import Page

from tests.conftest import config_data, free_port, serve_process, webrix, write_toml
from tests.e2e.oidc_provider import Preset, Provider, ProviderUser, start_oidc_provider

CLIENT_ID = "webrix-e2e"
CLIENT_SECRET = "e2e secret: with +/& odd characters"
OTHER_CLIENT = "another-app"
"""A second application registered at the provider: tokens issued to it are not ours."""
ADMIN = "alice@example.com"

Section = Callable[[Provider], dict[str, Any]]
"""The preset's own keys of `[auth.<provider>]`, from the running provider."""


@dataclass(frozen=True)
class PresetStack:
    name: str  # [auth] provider, and the route names
    base: str  # the service's public URL
    provider: Provider
    config: Path
    db: Path

    @property
    def callback(self) -> str:
        return f"{self.base}/api/auth/callback/{self.name}"


def write_config(
    folder: Path, name: str, base: str, provider: Provider, keys: dict[str, Any]
) -> tuple[Path, Path]:
    """A config whose `[auth] provider` is `name`, its section pointing at the provider."""
    db = folder / "webrix.db"
    section = {
        "client_id": CLIENT_ID,
        "issuer": provider.configured_issuer,
        "post_logout_redirect_uri": f"{base}/signed-out",
        "groups_claim": "groups",
        **keys,
    }
    if section.get("token_endpoint_auth_method") != "private_key_jwt":
        section.setdefault("client_secret", CLIENT_SECRET)
    data = config_data(db, server={"public_url": base}, access={"admin_emails": [ADMIN]})
    data["auth"] = {"provider": name, name: section}
    return write_toml(folder / "config.toml", data), db


@contextmanager
def serve(folder: Path, name: str, provider: Provider, keys: dict[str, Any]) -> Iterator[str]:
    """Another `webrix serve` against an already running provider (its redirect URI is not
    registered there: for refusals before the provider is reached). Yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config, _ = write_config(folder, name, base, provider, keys)
    with serve_process(config, port):
        yield base


@contextmanager
def preset_stack(
    folder: Path,
    name: Preset,
    section: Section,
    users: Sequence[ProviderUser],
    **options: Any,
) -> Iterator[PresetStack]:
    """The provider behaving like `name` with our client registered (authenticating as the
    section's token_endpoint_auth_method says), and the service on a free port beside it.
    `options` go to `start_oidc_provider` (client_auth, tenant_id, multi_tenant, realm,
    alias_path); client_auth must be the section's token_endpoint_auth_method."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with start_oidc_provider(
        CLIENT_ID,
        CLIENT_SECRET,
        f"{base}/api/auth/callback/{name}",
        f"{base}/signed-out",
        users,
        preset=name,
        client_jwks_uri=f"{base}/api/auth/jwks",
        **options,
    ) as provider:
        config, db = write_config(folder, name, base, provider, section(provider))
        with serve_process(config, port):
            yield PresetStack(name, base, provider, config, db)


def user(sub: str, email: str, given: str, family: str, **extra: Any) -> ProviderUser:
    """One account at the provider; `extra` the preset's optional fields."""
    person: dict[str, Any] = {
        "sub": sub,
        "email": email,
        "given_name": given,
        "family_name": family,
        "groups": [],
        **extra,
    }
    return person  # type: ignore[return-value]


# -- in the browser ------------------------------------------------------------------------


def watch(page: Page) -> list[str]:
    """Every URL the page requests from now on (navigations, redirects, fetches)."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def sign_in_at_provider(page: Page, stack: PresetStack, email: str) -> None:
    """The page is the provider's sign-in form: sign in as `email` there."""
    page.wait_for_selector("#login")
    assert page.url.startswith(f"{stack.provider.base_url}/interaction/"), page.url
    page.fill("#login", email)
    page.click("#submit")


def sign_in(page: Page, stack: PresetStack, email: str) -> None:
    """From the dashboard's address through the provider's form, back on the dashboard."""
    page.goto(f"{stack.base}/")
    sign_in_at_provider(page, stack, email)
    page.wait_for_url(f"{stack.base}/")


def refused(page: Page, stack: PresetStack, email: str) -> str:
    """Sign in as `email`, whom the service refuses: the error page's title."""
    page.goto(f"{stack.base}/")
    sign_in_at_provider(page, stack, email)
    page.wait_for_selector("#request-id")
    assert page.url.startswith(stack.callback), page.url
    return page.inner_text("h1")


def session(page: Page) -> dict[str, Any]:
    """/api/auth/session as the page's browser sees it."""
    data: dict[str, Any] = json.loads(
        page.evaluate("fetch('/api/auth/session').then(r => r.text())")
    )
    return data


def requests_to(seen: list[str], url: str) -> list[dict[str, list[str]]]:
    """The query of every request to `url` (scheme, host and path), in order."""
    return [parse_qs(urlsplit(u).query) for u in seen if u.split("?")[0] == url]


def endpoint(stack: PresetStack, name: str) -> str | None:
    """An endpoint of the provider's discovery document, as the service reads it."""
    document = httpx.get(stack.provider.discovery_url, timeout=10).json()
    value = document.get(name)
    return value if isinstance(value, str) else None


def claims(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified (the service verified it)."""
    part = token.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return data


def sign_out_at_provider(page: Page, stack: PresetStack) -> None:
    """Sign out: the provider's RP-initiated logout gets our ID token as id_token_hint and
    sends the browser back to /signed-out; afterwards the provider asks for a sign-in again."""
    end_session = endpoint(stack, "end_session_endpoint")
    assert end_session is not None
    seen = watch(page)
    page.click("#signout")
    page.wait_for_url(f"{stack.base}/signed-out**")
    assert "You are signed out" in page.inner_text("body")
    assert page.locator("#provider-session-kept").count() == 0
    (logout, *_) = requests_to(seen, end_session)
    hint = claims(logout["id_token_hint"][0])
    assert hint["aud"] == CLIENT_ID and hint["iss"] == stack.provider.issuer
    assert logout["post_logout_redirect_uri"] == [f"{stack.base}/signed-out"]
    assert session(page) == {}
    page.goto(f"{stack.base}/")  # signed out at the provider too: its form again
    page.wait_for_selector("#login")


def service_log(stack: PresetStack) -> str:
    """What `webrix serve` has logged so far (one access line per request)."""
    port = urlsplit(stack.base).port
    return stack.config.with_name(f"server-{port}.log").read_text(encoding="utf-8")


# -- in the database ------------------------------------------------------------------------


def query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db, timeout=10) as conn:
        return list(conn.execute(sql, args).fetchall())


def refusals(db: Path) -> list[str]:
    """The reasons of every auth.signin.refused event, oldest first."""
    rows = query(
        db, "SELECT detail FROM audit_events WHERE action = ? ORDER BY id", "auth.signin.refused"
    )
    return [json.loads(detail)["reason"] for (detail,) in rows]


def sessions_of(db: Path, email: str) -> int:
    """Open sessions of the user with this address."""
    rows = query(
        db,
        "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?",
        email,
    )
    return int(rows[0][0])


def scim_token(config: Path) -> dict[str, str]:
    """A SCIM bearer token made with `webrix token create`."""
    made = webrix("--config", str(config), "token", "create", "--name", "IdP SCIM")
    assert made.returncode == 0, made.stderr
    return {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}


def refused_cleanly(page: Page, stack: PresetStack, email: str, title: str, reason: str) -> str:
    """`email` is refused with `title`: nobody signed in, the reason audited. The message."""
    before = refusals(stack.db)
    assert refused(page, stack, email) == title
    assert session(page) == {}
    assert sessions_of(stack.db, email) == 0
    assert query(stack.db, "SELECT id FROM users WHERE email = ?", email) == []  # none made
    assert refusals(stack.db) == [*before, reason]
    return page.inner_text("#error-message")


def another_client(page: Page, stack: PresetStack, email: str) -> None:
    """The provider issues `email`'s ID token to another application: refused."""
    message = refused_cleanly(page, stack, email, "Sign-in failed", "invalid_id_token")
    assert "meant for another application" in message
