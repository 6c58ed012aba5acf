"""Error pages: they keep the signed-in user's navigation, speak plainly, and never fail."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from app.config import Config
from tests.auth.sso import SIGNIN, Sso, sso_app

pytestmark = pytest.mark.anyio

ADA = "ada@example.com"  # the fake provider's default user
ADMIN_NAV = 'href="/admin/users"'


@pytest.fixture
async def admin(make_config: Callable[..., Config]) -> AsyncIterator[Sso]:
    async with sso_app(make_config, access={"admin_emails": [ADA]}) as sso:
        await sso.signed_in()
        yield sso


@pytest.fixture
async def member(make_config: Callable[..., Config]) -> AsyncIterator[Sso]:
    async with sso_app(make_config, access={"admin_emails": ["boss@example.com"]}) as sso:
        await sso.signed_in()
        yield sso


async def test_a_404_keeps_the_administrators_navigation(admin: Sso) -> None:
    page = await admin.client.get("/admin/no-such-page")
    assert page.status_code == 404
    assert ADMIN_NAV in page.text and 'id="signout"' in page.text
    assert "<h1>Page not found</h1>" in page.text
    assert "Not Found" not in page.text  # Starlette's phrase is not repeated under the title
    assert page.headers["x-request-id"] in page.text


async def test_a_404_for_a_member_shows_only_the_dashboard(member: Sso) -> None:
    page = await member.client.get("/nowhere")
    assert page.status_code == 404
    assert 'href="/"' in page.text and ADMIN_NAV not in page.text
    assert 'id="signout"' in page.text


async def test_a_404_for_a_visitor_has_no_navigation(make_config: Callable[..., Config]) -> None:
    async with sso_app(make_config) as sso:
        page = await sso.client.get("/nowhere")
    assert page.status_code == 404
    assert "<nav" not in page.text and 'id="signout"' not in page.text


async def test_a_members_403_names_no_configuration_key(member: Sso) -> None:
    page = await member.client.get("/admin/settings")
    assert page.status_code == 403
    assert "ask an administrator to grant you access" in page.text
    for jargon in ("[access]", "admin_emails", "admin_groups"):
        assert jargon not in page.text
    assert '<nav aria-label="Main">' in page.text and ADMIN_NAV not in page.text


async def test_an_error_page_that_cannot_render_falls_back_to_a_bare_one(
    admin: Sso, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("template broken")

    monkeypatch.setattr(admin.app.state.templates, "TemplateResponse", broken)
    page = await admin.client.get("/nowhere")
    assert page.status_code == 404
    assert "Page not found" in page.text and page.headers["x-request-id"] in page.text


async def test_a_failing_user_lookup_still_gives_the_error_page(
    make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sso_app(make_config, access={"admin_emails": [ADA]}) as sso:
        await sso.signed_in()

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("database gone")

        monkeypatch.setattr("app.auth.sessions.current_user", broken)
        page = await sso.client.get("/nowhere")
    assert page.status_code == 404
    assert "Page not found" in page.text and "<nav" not in page.text


async def test_the_deactivated_page_offers_sign_out_and_another_user(
    make_config: Callable[..., Config],
) -> None:
    async with sso_app(make_config) as sso:
        await sso.add_user(ADA, active=False)
        page = await sso.sign_in()
    assert page.status_code == 403
    assert "Account deactivated" in page.text
    assert f'href="{SIGNIN}?prompt=login"' in page.text  # sign in as someone else
    assert 'id="signout-provider"' in page.text
    assert 'id="to-dashboard"' not in page.text  # the dashboard would loop back here


async def test_sign_in_as_someone_else_asks_the_provider_to_prompt(
    make_config: Callable[..., Config],
) -> None:
    async with sso_app(make_config) as sso:
        fresh = await sso.client.get(SIGNIN, params={"prompt": "login"})
        plain = await sso.client.get(SIGNIN, params={"prompt": "consent"})
    assert "prompt=login" in fresh.headers["location"]
    assert "prompt" not in plain.headers["location"]  # only "login" is passed on
