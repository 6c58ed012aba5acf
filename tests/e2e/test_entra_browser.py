"""Sign-in through Microsoft Entra ID in Chromium: the real oidc-provider behaving like Entra
(the tenant's issuer and `tid`, the templated /organizations discovery, no `email_verified`,
group object ids or the groups overage claim), and the service with `[auth] provider = "entra"`,
multi-tenant with an allowed tenant list, and single-tenant."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page

from tests.e2e.oidc_provider import DEFAULT_TENANT_ID, Provider
from tests.e2e.provider_stack import (
    ADMIN,
    OTHER_CLIENT,
    PresetStack,
    another_client,
    preset_stack,
    query,
    refused_cleanly,
    requests_to,
    scim_token,
    session,
    sign_in,
    sign_out_at_provider,
    user,
    watch,
)

TENANT = DEFAULT_TENANT_ID
ELSEWHERE = "9d4b2c71-0a6e-4f3b-8c25-7e1f0a9b3d64"  # another organisation's tenant
ENGINEERING = "6f1c2b9e-3d4a-4e5f-9a8b-1c2d3e4f5a6b"  # group object ids, as Entra sends them
ADMINS = "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"
CAROL = "carol@example.com"  # provisioned by SCIM before she ever signs in
USERS = [
    user("entra-alice", ADMIN, "Alice", "Anderson", groups=[ADMINS, ENGINEERING]),
    user("entra-carol", CAROL, "Carol", "Chen", groups=[ENGINEERING]),
    user("entra-olga", "olga@example.com", "Olga", "Overage", groups_overage=True),
    user("entra-mallory", "mallory@example.com", "Mallory", "M", id_token_audience=OTHER_CLIENT),
]


def _organizations(provider: Provider) -> dict[str, object]:
    return {"tenant_id": "organizations", "allowed_tenants": [TENANT]}


@pytest.fixture(scope="module")
def entra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PresetStack]:
    """Multi-tenant through /organizations; this organisation's tenant allowed."""
    with preset_stack(
        tmp_path_factory.mktemp("entra"), "entra", _organizations, USERS, multi_tenant=True
    ) as stack:
        yield stack


def test_multi_tenant_sign_in_and_rp_logout(page: Page, entra: PresetStack) -> None:
    base = entra.provider.base_url
    assert entra.provider.configured_issuer == f"{base}/organizations/v2.0"
    assert entra.provider.issuer == f"{base}/{TENANT}/v2.0"  # what its tokens carry
    seen = watch(page)
    sign_in(page, entra, ADMIN)
    (authorize,) = requests_to(seen, f"{base}/organizations/oauth2/v2.0/authorize")
    assert authorize["redirect_uri"] == [f"{entra.base}/api/auth/callback/entra"]
    assert page.inner_text("#user-name") == "Alice Anderson"
    assert page.inner_text("#user-groups") == f"{ADMINS}, {ENGINEERING}"  # object ids
    me = session(page)
    assert me["user"]["email"] == ADMIN and me["admin"] is True
    ((issuer,),) = query(entra.db, "SELECT oidc_issuer FROM users WHERE email = ?", ADMIN)
    assert issuer == entra.provider.issuer  # the tenant's issuer, not the template
    sign_out_at_provider(page, entra)


def test_an_address_without_email_verified_links_the_scim_user(
    page: Page, entra: PresetStack
) -> None:
    bearer = scim_token(entra.config)
    made = httpx.post(
        f"{entra.base}/scim/v2/Users",
        headers=bearer,
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": CAROL,
            "name": {"givenName": "Carol", "familyName": "Chen"},
            "emails": [{"value": CAROL, "primary": True}],
            "active": True,
        },
        timeout=10,
    )
    assert made.status_code == 201, made.text
    provisioned = made.json()["id"]

    sign_in(page, entra, CAROL)  # Entra sends no email_verified: the allowed tenant vouches
    assert session(page)["user"]["id"] == provisioned
    rows = query(entra.db, "SELECT id, oidc_sub, oidc_issuer FROM users WHERE email = ?", CAROL)
    assert rows == [(provisioned, "entra-carol", entra.provider.issuer)]  # linked, not a second


def test_the_groups_overage_claim_signs_in_without_claim_groups(
    page: Page, entra: PresetStack
) -> None:
    sign_in(page, entra, "olga@example.com")
    assert page.inner_text("#user-name") == "Olga Overage"
    assert page.inner_text("#user-groups") == "none"
    me = session(page)
    assert me["user"]["email"] == "olga@example.com" and me["groups"] == []
    ((groups,),) = query(
        entra.db,
        "SELECT s.groups FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?",
        "olga@example.com",
    )
    assert groups == "[]"
    ((detail,),) = query(
        entra.db,
        "SELECT detail FROM audit_events WHERE action = 'auth.signin' AND target_id ="
        " (SELECT id FROM users WHERE email = ?) ORDER BY id DESC LIMIT 1",
        "olga@example.com",
    )
    assert json.loads(detail) == {"email": "olga@example.com", "groups_overage": True}


def test_a_token_for_another_client_is_refused(page: Page, entra: PresetStack) -> None:
    another_client(page, entra, "mallory@example.com")


def test_another_organisations_tenant_is_refused(
    page: Page, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The provider is another organisation's tenant; only ours is allowed."""
    with preset_stack(
        tmp_path_factory.mktemp("entra-elsewhere"),
        "entra",
        _organizations,
        USERS,
        multi_tenant=True,
        tenant_id=ELSEWHERE,
    ) as elsewhere:
        message = refused_cleanly(
            page, elsewhere, ADMIN, "Organisation not allowed", "tenant_not_allowed"
        )
        assert ELSEWHERE in message and "allowed_tenants" in message
        assert page.inner_text("#switch-user") == "Sign in as someone else"
        assert page.get_attribute("#switch-user", "href") == "/api/auth/signin/entra?prompt=login"


def test_single_tenant_sign_in(page: Page, tmp_path_factory: pytest.TempPathFactory) -> None:
    with preset_stack(
        tmp_path_factory.mktemp("entra-single"),
        "entra",
        lambda provider: {"tenant_id": TENANT},
        USERS,
    ) as single:
        assert single.provider.configured_issuer == f"{single.provider.base_url}/{TENANT}/v2.0"
        seen = watch(page)
        sign_in(page, single, ADMIN)
        assert requests_to(seen, f"{single.provider.base_url}/{TENANT}/oauth2/v2.0/authorize")
        assert session(page)["user"]["email"] == ADMIN
