"""Who is an administrator: [access] admin_emails, or current SCIM membership of a group named
in [access] admin_groups, decided on every request (never frozen at sign-in)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from app.config import Config
from tests.auth.sso import SIGNIN, Sso, sso_app
from tests.conftest import new_token

pytestmark = pytest.mark.anyio

ADMIN_GROUP = "Webrix Admins"
ACCESS = {"admin_groups": [ADMIN_GROUP], "admin_emails": ["boss@example.com"]}
BASE = "/scim/v2"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
# The pages of the admin console (DESIGN.md); none may answer a non-administrator.
ADMIN_PAGES = (
    "/admin",
    "/admin/settings",
    "/admin/api-tokens",
    "/admin/users",
    "/admin/groups",
    "/admin/audit",
)


class Admin:
    """The signed-in browser (`sso.client`'s cookies) and a SCIM client of the same app."""

    def __init__(self, sso: Sso, idp: httpx.AsyncClient) -> None:
        self.sso = sso
        self.idp = idp  # no cookies: SCIM is the identity provider's channel, not the browser's

    async def scim(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.idp.request(method, f"{BASE}{path}", json=body)

    async def user(self, email: str) -> str:
        response = await self.scim("POST", "/Users", {"userName": email, "active": True})
        assert response.status_code == 201, response.text
        user_id: str = response.json()["id"]
        return user_id

    async def group(self, name: str, members: tuple[str, ...] = ()) -> str:
        body = {
            "schemas": [GROUP_URN],
            "displayName": name,
            "members": [{"value": m} for m in members],
        }
        response = await self.scim("POST", "/Groups", body)
        assert response.status_code == 201, response.text
        group_id: str = response.json()["id"]
        return group_id

    async def patch(self, group_id: str, *operations: dict[str, Any]) -> None:
        body = {"schemas": [PATCH_URN], "Operations": list(operations)}
        response = await self.scim("PATCH", f"/Groups/{group_id}", body)
        assert response.status_code in (200, 204), response.text

    async def add(self, group_id: str, user_id: str) -> None:
        # JumpCloud's shape: a value array, no display, no type.
        await self.patch(group_id, {"op": "add", "path": "members", "value": [{"value": user_id}]})

    async def remove(self, group_id: str, user_id: str) -> None:
        await self.patch(
            group_id, {"op": "remove", "path": "members", "value": [{"value": user_id}]}
        )

    async def rename(self, group_id: str, name: str) -> None:
        await self.patch(group_id, {"op": "replace", "path": "displayName", "value": name})

    async def is_admin(self) -> bool:
        session = await self.sso.session()
        assert session, "the browser is not signed in"
        admin = session["admin"]
        assert isinstance(admin, bool)
        return admin

    async def console(self, path: str = "/admin") -> httpx.Response:
        return await self.sso.client.get(path)

    async def assert_admitted(self) -> None:
        assert await self.is_admin() is True
        response = await self.console()
        assert response.status_code == 200, (
            f"/admin answered {response.status_code} to an administrator"
        )

    async def assert_refused(self) -> None:
        assert await self.is_admin() is False
        for path in ADMIN_PAGES:
            response = await self.console(path)
            assert response.status_code == 403, f"{path} answered {response.status_code}"
            assert "text/html" in response.headers["content-type"], path


@asynccontextmanager
async def scim_client(sso: Sso) -> AsyncIterator[httpx.AsyncClient]:
    """A second client of the same running app, holding a SCIM token and no cookies."""
    _, plaintext = await new_token(sso.db, "jumpcloud")
    transport = httpx.ASGITransport(app=sso.app, client=("127.0.0.1", 51001))
    async with httpx.AsyncClient(
        transport=transport,
        base_url=str(sso.client.base_url),
        headers={"Authorization": f"Bearer {plaintext}"},
    ) as client:
        yield client


@pytest.fixture
async def admin(make_config: Callable[..., Config]) -> AsyncIterator[Admin]:
    async with sso_app(make_config, access=ACCESS) as sso, scim_client(sso) as idp:
        yield Admin(sso, idp)


async def test_group_membership_makes_and_unmakes_an_admin_on_the_next_request(
    admin: Admin,
) -> None:
    ada = await admin.user("ada@example.com")  # the fake provider's user
    await admin.sso.signed_in()
    assert (await admin.sso.session())["user"]["id"] == ada
    await admin.assert_refused()

    group = await admin.group(ADMIN_GROUP)
    await admin.assert_refused()  # an empty admin group admits nobody

    await admin.add(group, ada)
    await admin.assert_admitted()  # the very next request, same session
    assert ADMIN_GROUP in (await admin.sso.session())["groups"]

    await admin.remove(group, ada)
    await admin.assert_refused()
    assert (await admin.sso.session())["groups"] == []

    await admin.patch(group, {"op": "replace", "path": "members", "value": [{"value": ada}]})
    await admin.assert_admitted()
    await admin.patch(group, {"op": "remove", "path": f'members[value eq "{ada}"]'})
    await admin.assert_refused()


async def test_renaming_or_deleting_the_admin_group_takes_admin_away(admin: Admin) -> None:
    ada = await admin.user("ada@example.com")
    group = await admin.group(ADMIN_GROUP, (ada,))
    await admin.sso.signed_in()
    await admin.assert_admitted()

    await admin.rename(group, "Webrix Former Admins")
    await admin.assert_refused()

    await admin.rename(group, "WEBRIX ADMINS")  # displayName compares case-insensitively
    await admin.assert_admitted()

    response = await admin.scim("DELETE", f"/Groups/{group}")
    assert response.status_code == 204
    await admin.assert_refused()

    await admin.group(ADMIN_GROUP, (ada,))  # JumpCloud pushes it again
    await admin.assert_admitted()


async def test_membership_of_another_group_is_not_enough(admin: Admin) -> None:
    ada = await admin.user("ada@example.com")
    await admin.group("Webrix Users", (ada,))
    await admin.group(ADMIN_GROUP)
    await admin.sso.signed_in()
    await admin.assert_refused()


async def test_a_groups_claim_at_sign_in_is_not_an_scim_membership(admin: Admin) -> None:
    """The admin group is what SCIM pushed; a claim frozen into the session does not count."""
    await admin.user("ada@example.com")
    await admin.group(ADMIN_GROUP)
    admin.sso.fake.user = {**admin.sso.fake.user, "groups": [ADMIN_GROUP]}
    await admin.sso.signed_in()
    await admin.assert_refused()


async def test_admin_at_sign_in_is_not_frozen_into_the_session(admin: Admin) -> None:
    ada = await admin.user("ada@example.com")
    group = await admin.group(ADMIN_GROUP, (ada,))
    await admin.sso.signed_in()
    await admin.assert_admitted()
    await admin.remove(group, ada)
    await admin.assert_refused()


@pytest.mark.parametrize(
    ("configured", "signs_in_as"),
    [
        ("boss@example.com", "Boss@Example.COM"),
        ("BOSS@EXAMPLE.COM", "boss@example.com"),
    ],
)
async def test_admin_emails_match_case_insensitively(
    make_config: Callable[..., Config], configured: str, signs_in_as: str
) -> None:
    access = {"admin_emails": [configured], "admin_groups": [ADMIN_GROUP]}
    async with sso_app(make_config, access=access) as sso:
        sso.fake.user = {**sso.fake.user, "email": signs_in_as}
        await sso.signed_in()  # created just in time: no SCIM involved
        async with scim_client(sso) as idp:
            await Admin(sso, idp).assert_admitted()


async def test_an_admin_by_email_needs_no_group(admin: Admin) -> None:
    boss = await admin.user("boss@example.com")
    admin.sso.fake.user = {**admin.sso.fake.user, "email": "boss@example.com"}
    await admin.sso.signed_in()
    assert (await admin.sso.session())["user"]["id"] == boss
    await admin.assert_admitted()


async def test_a_deactivated_admin_loses_the_console_at_once(admin: Admin) -> None:
    ada = await admin.user("ada@example.com")
    await admin.group(ADMIN_GROUP, (ada,))
    await admin.sso.signed_in()
    await admin.assert_admitted()
    response = await admin.scim(
        "PATCH",
        f"/Users/{ada}",
        {
            "schemas": [PATCH_URN],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    assert response.status_code == 200, response.text
    assert await admin.sso.session() == {}
    response = await admin.console()
    assert response.status_code != 200


async def test_anonymous_visitors_never_reach_the_console(admin: Admin) -> None:
    for path in ADMIN_PAGES:
        response = await admin.console(path)
        if response.status_code in (302, 303, 307):
            assert response.headers["location"].startswith(
                (SIGNIN, f"http://127.0.0.1:8080{SIGNIN}")
            ), response.headers["location"]
        else:
            assert response.status_code in (401, 403), f"{path} answered {response.status_code}"


async def test_a_bearer_token_is_not_an_admin_session(admin: Admin) -> None:
    """A SCIM token opens /scim/v2, not the console."""
    response = await admin.idp.get("/admin")
    assert response.status_code != 200


async def test_an_admin_group_can_be_named_by_its_external_id(
    make_config: Callable[..., Config],
) -> None:
    """JumpCloud's group id survives a rename, and a look-alike name does not match it."""
    access = {"admin_group_external_ids": ["jc-group-5f3a"]}
    async with sso_app(make_config, access=access) as sso, scim_client(sso) as idp:
        admin = Admin(sso, idp)
        ada = await admin.user("ada@example.com")
        await sso.signed_in()
        body = {"schemas": [GROUP_URN], "displayName": "IT", "externalId": "jc-group-5f3a"}
        response = await admin.scim("POST", "/Groups", {**body, "members": [{"value": ada}]})
        assert response.status_code == 201, response.text
        group = response.json()["id"]
        await admin.assert_admitted()
        await admin.rename(group, "IT Operations")
        await admin.assert_admitted()  # renamed in JumpCloud: still the admin group
        groups_page = await admin.console("/admin/groups")
        assert "IT Operations" in groups_page.text
        await admin.remove(group, ada)
        await admin.assert_refused()
        # A group merely named like the id, or with another externalId, grants nothing.
        await admin.group("jc-group-5f3a", (ada,))
        lookalike = {"schemas": [GROUP_URN], "displayName": "X", "externalId": "jc-group-5f3b"}
        response = await admin.scim("POST", "/Groups", {**lookalike, "members": [{"value": ada}]})
        assert response.status_code == 201
        await admin.assert_refused()
