"""Sign-in through any OpenID provider (`[auth] provider = "oidc"`) in Chromium: the real
oidc-provider found by discovery alone at an issuer with a path and no trailing slash, with
the same checks as JumpCloud, and the pages calling it by its `display_name`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page

from tests.conftest import free_port
from tests.e2e.oidc_provider import Provider
from tests.e2e.provider_stack import (
    ADMIN,
    CLIENT_ID,
    OTHER_CLIENT,
    PresetStack,
    another_client,
    preset_stack,
    serve,
    session,
    sign_in_at_provider,
    sign_out_at_provider,
    user,
    watch,
)

NAME = "Example SSO"
USERS = [
    user("gen-alice", ADMIN, "Alice", "Anderson", groups=["Webrix Admins"]),
    user("gen-mallory", "mallory@example.com", "Mallory", "M", id_token_audience=OTHER_CLIENT),
]


def _section(provider: Provider) -> dict[str, object]:
    return {"display_name": NAME}  # the issuer itself is the section's `issuer`


@pytest.fixture(scope="module")
def generic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PresetStack]:
    with preset_stack(tmp_path_factory.mktemp("oidc"), "oidc", _section, USERS) as stack:
        yield stack


def test_sign_in_by_discovery_and_rp_logout(page: Page, generic: PresetStack) -> None:
    issuer = generic.provider.issuer
    assert issuer == f"{generic.provider.base_url}/idp"  # a path, no trailing slash
    seen = watch(page)
    page.goto(f"{generic.base}/")
    assert page.url.startswith(f"{generic.provider.base_url}/")
    sign_in_at_provider(page, generic, ADMIN)
    page.wait_for_url(f"{generic.base}/")
    (url,) = [u for u in seen if "code_challenge=" in u]  # the authorization request
    assert url.startswith(f"{issuer}/")  # its endpoint, as discovery gave it
    authorize = parse_qs(urlsplit(url).query)
    assert authorize["client_id"] == [CLIENT_ID]
    assert authorize["redirect_uri"] == [f"{generic.base}/api/auth/callback/oidc"]
    assert authorize["code_challenge_method"] == ["S256"]
    me = session(page)
    assert me["user"]["email"] == ADMIN and me["admin"] is True
    sign_out_at_provider(page, generic)


def test_a_token_for_another_client_is_refused(page: Page, generic: PresetStack) -> None:
    another_client(page, generic, "mallory@example.com")


def test_an_unreachable_provider_is_named_by_its_display_name(
    page: Page, generic: PresetStack, tmp_path: Path
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/idp"  # nothing listens there
    with serve(
        tmp_path, "oidc", generic.provider, {"display_name": NAME, "issuer": nobody}
    ) as base:
        response = page.goto(f"{base}/")
        page.wait_for_selector("#request-id")
        assert response is not None and response.status == 503
        assert page.inner_text("h1") == "Identity provider unreachable"
        assert f"{NAME} could not be reached" in page.inner_text("#error-message")
        assert session(page) == {}
