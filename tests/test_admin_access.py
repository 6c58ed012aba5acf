"""Who is an administrator: [access] admin_emails, or current SCIM membership of a group named
in [access] admin_groups, decided on every request (never frozen at sign-in)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from app.config import Config
from tests.auth.sso import SIGNIN, Sso, sso_app
from tests.scim.client import Scim, scim_beside
from tests.scim.wire import patch_body

pytestmark = pytest.mark.anyio

ADMIN_GROUP = "Webrix Admins"
ACCESS = {"admin_groups": [ADMIN_GROUP], "admin_emails": ["boss@example.com"]}
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
    """The signed-in browser (`sso.client`'s cookies) and the identity provider's SCIM client
    of the same app (`scim`, its own HTTP client without cookies)."""

    def __init__(self, sso: Sso, scim: Scim) -> None:
        self.sso = sso
        self.scim = scim

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


@pytest.fixture
async def admin(make_config: Callable[..., Config]) -> AsyncIterator[Admin]:
    async with sso_app(make_config, access=ACCESS) as sso, scim_beside(sso) as scim:
        yield Admin(sso, scim)


async def _ada_admitted_by_group(admin: Admin) -> tuple[str, str]:
    """Ada, signed in as a member of the admin group and admitted: (her id, the group's id)."""
    ada = await admin.scim.user("ada@example.com")
    group = (await admin.scim.group(ADMIN_GROUP, [ada]))["id"]
    await admin.sso.signed_in()
    await admin.assert_admitted()
    return ada, group


async def test_group_membership_makes_and_unmakes_an_admin_on_the_next_request(
    admin: Admin,
) -> None:
    ada = await admin.scim.user("ada@example.com")  # the fake provider's user
    await admin.sso.signed_in()
    assert (await admin.sso.session())["user"]["id"] == ada
    await admin.assert_refused()

    group = (await admin.scim.group(ADMIN_GROUP))["id"]
    await admin.assert_refused()  # an empty admin group admits nobody

    await admin.scim.add(group, ada)
    await admin.assert_admitted()  # the very next request, same session
    assert ADMIN_GROUP in (await admin.sso.session())["groups"]

    await admin.scim.remove(group, ada)
    await admin.assert_refused()
    assert (await admin.sso.session())["groups"] == []

    await admin.scim.modify_group(
        group, {"op": "replace", "path": "members", "value": [{"value": ada}]}
    )
    await admin.assert_admitted()
    await admin.scim.modify_group(group, {"op": "remove", "path": f'members[value eq "{ada}"]'})
    await admin.assert_refused()


async def test_renaming_or_deleting_the_admin_group_takes_admin_away(admin: Admin) -> None:
    ada, group = await _ada_admitted_by_group(admin)

    await admin.scim.rename(group, "Webrix Former Admins")
    await admin.assert_refused()

    await admin.scim.rename(group, "WEBRIX ADMINS")  # displayName compares case-insensitively
    await admin.assert_admitted()

    response = await admin.scim.delete(f"/Groups/{group}")
    assert response.status_code == 204
    await admin.assert_refused()

    await admin.scim.group(ADMIN_GROUP, [ada])  # JumpCloud pushes it again
    await admin.assert_admitted()


async def test_membership_of_another_group_is_not_enough(admin: Admin) -> None:
    ada = await admin.scim.user("ada@example.com")
    await admin.scim.group("Webrix Users", [ada])
    await admin.scim.group(ADMIN_GROUP)
    await admin.sso.signed_in()
    await admin.assert_refused()


async def test_a_groups_claim_at_sign_in_is_not_an_scim_membership(admin: Admin) -> None:
    """The admin group is what SCIM pushed; a claim frozen into the session does not count."""
    await admin.scim.user("ada@example.com")
    await admin.scim.group(ADMIN_GROUP)
    admin.sso.fake.user = {**admin.sso.fake.user, "groups": [ADMIN_GROUP]}
    await admin.sso.signed_in()
    await admin.assert_refused()


async def test_admin_at_sign_in_is_not_frozen_into_the_session(admin: Admin) -> None:
    ada, group = await _ada_admitted_by_group(admin)
    await admin.scim.remove(group, ada)
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
        async with scim_beside(sso) as scim:
            await Admin(sso, scim).assert_admitted()


async def test_an_admin_by_email_needs_no_group(admin: Admin) -> None:
    boss = await admin.scim.user("boss@example.com")
    admin.sso.fake.user = {**admin.sso.fake.user, "email": "boss@example.com"}
    await admin.sso.signed_in()
    assert (await admin.sso.session())["user"]["id"] == boss
    await admin.assert_admitted()


async def test_a_deactivated_admin_loses_the_console_at_once(admin: Admin) -> None:
    ada, _ = await _ada_admitted_by_group(admin)
    response = await admin.scim.patch(
        f"/Users/{ada}", patch_body({"op": "replace", "path": "active", "value": False})
    )
    assert response.status_code == 200, response.text
    assert await admin.sso.session() == {}
    response = await admin.console()
    assert response.status_code == 302  # no session any more: off to sign in
    assert SIGNIN in response.headers["location"]


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
    bearer = {"Authorization": f"Bearer {admin.scim.token}"}
    response = await admin.scim.client.get("/admin", headers=bearer)
    assert response.status_code == 302  # a bearer token is no session: off to sign in
    assert SIGNIN in response.headers["location"]


async def test_an_admin_group_can_be_named_by_its_external_id(
    make_config: Callable[..., Config],
) -> None:
    """JumpCloud's group id survives a rename, and a look-alike name does not match it."""
    access = {"admin_group_external_ids": ["jc-group-5f3a"]}
    async with sso_app(make_config, access=access) as sso, scim_beside(sso) as scim:
        admin = Admin(sso, scim)
        ada = await scim.user("ada@example.com")
        await sso.signed_in()
        group = (await scim.group("IT", [ada], externalId="jc-group-5f3a"))["id"]
        await admin.assert_admitted()
        await scim.rename(group, "IT Operations")
        await admin.assert_admitted()  # renamed in JumpCloud: still the admin group
        groups_page = await admin.console("/admin/groups")
        assert "IT Operations" in groups_page.text
        await scim.remove(group, ada)
        await admin.assert_refused()
        # A group merely named like the id, or with another externalId, grants nothing.
        await scim.group("jc-group-5f3a", [ada])
        await scim.group("X", [ada], externalId="jc-group-5f3b")  # asserts the 201
        await admin.assert_refused()
