"""What SCIM Users mean to the rest of the service: the seed mapping to columns, attributes
kept as written, deactivation ending sessions, deletion, the audit trail, and adoption of
users who existed before SCIM knew them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from app.config import Config
from tests.auth.sso import SIGNIN
from tests.scim.client import Scim, assert_scim_error, scim_sso_app, without_server_parts
from tests.scim.wire import ENTERPRISE_URN, USER_URN, patch_body, user_body

pytestmark = pytest.mark.anyio

ADA = "ada@example.com"  # the fake provider's user signs in with this email


@pytest.fixture
async def scim(make_config: Callable[..., Config]) -> AsyncIterator[Scim]:
    async with scim_sso_app(make_config) as running_scim:
        yield running_scim


# -- mapping --------------------------------------------------------------------------------


async def _columns(scim: Scim, user_id: str) -> dict[str, Any]:
    row = await scim.user_row(user_id)
    assert row is not None
    return {k: row[k] for k in ("user_name", "email", "given_name", "family_name", "active")}


@pytest.mark.parametrize(
    ("emails", "expected"),
    [
        (
            [
                {"value": "first@example.com", "type": "home"},
                {"value": "primary@example.com", "type": "work", "primary": True},
            ],
            "primary@example.com",
        ),
        (
            [{"value": "first@example.com"}, {"value": "second@example.com", "primary": False}],
            "first@example.com",
        ),
        ([], "login@example.com"),
        (None, "login@example.com"),
    ],
)
async def test_the_seed_mapping_fills_the_columns(
    scim: Scim, emails: list[dict[str, Any]] | None, expected: str
) -> None:
    body = user_body("login@example.com", name={"givenName": "Grace", "familyName": "Hopper"})
    if emails is None:
        del body["emails"]
    else:
        body["emails"] = emails
    created = await scim.create_user(body)
    assert await _columns(scim, created["id"]) == {
        "user_name": "login@example.com",
        "email": expected,
        "given_name": "Grace",
        "family_name": "Hopper",
        "active": 1,
    }


async def test_columns_follow_every_kind_of_change(scim: Scim) -> None:
    user_id = (await scim.create_user(user_body(ADA)))["id"]
    path = f"/Users/{user_id}"
    replaced = user_body(
        "augusta@example.com",
        name={"givenName": "Augusta", "familyName": "King"},
        emails=[{"value": "countess@example.com", "primary": True}],
        active=False,
    )
    assert (await scim.put(path, replaced)).status_code == 200
    assert await _columns(scim, user_id) == {
        "user_name": "augusta@example.com",
        "email": "countess@example.com",
        "given_name": "Augusta",
        "family_name": "King",
        "active": 0,
    }
    patch = patch_body(
        {"op": "replace", "path": "name.familyName", "value": "Lovelace"},
        {"op": "remove", "path": "emails"},
        {"op": "replace", "path": "active", "value": True},
        {"op": "replace", "path": "userName", "value": ADA},
    )
    assert (await scim.patch(path, patch)).status_code == 200
    assert await _columns(scim, user_id) == {
        "user_name": ADA,
        "email": ADA,
        "given_name": "Augusta",
        "family_name": "Lovelace",
        "active": 1,
    }


RICH = {
    "schemas": [USER_URN, ENTERPRISE_URN],
    "userName": "grace@example.com",
    "externalId": "00u1abcdEFGH",
    "name": {
        "formatted": "Rear Admiral Grace M. Hopper",
        "givenName": "Grace",
        "middleName": "Murray",
        "familyName": "Hopper",
        "honorificPrefix": "Rear Admiral",
    },
    "displayName": "Grace Hopper",
    "nickName": "Amazing Grace",
    "title": "Director",
    "userType": "Employee",
    "preferredLanguage": "en-US",
    "locale": "en-US",
    "timezone": "America/New_York",
    "active": True,
    "emails": [
        {"value": "grace@example.com", "type": "work", "primary": True},
        {"value": "grace+home@example.org", "type": "home"},
    ],
    "phoneNumbers": [
        {"value": "+1 555 0100", "type": "work"},
        {"value": "+1 555 0199", "type": "mobile"},
    ],
    "addresses": [
        {
            "type": "work",
            "streetAddress": "1 Navy Way",
            "locality": "Arlington",
            "region": "VA",
            "postalCode": "22202",
            "country": "US",
            "formatted": "1 Navy Way\nArlington, VA 22202\nUS",
            "primary": True,
        }
    ],
    "roles": [{"value": "admiral", "primary": True}],
    ENTERPRISE_URN: {
        "employeeNumber": "1906",
        "costCenter": "COBOL",
        "organization": "US Navy",
        "division": "Computing",
        "department": "Programming Languages",
        "manager": {"value": "manager-id", "displayName": "Howard Aiken"},
    },
}


async def test_every_attribute_comes_back_as_written(scim: Scim) -> None:
    created = await scim.create_user(RICH)
    assert without_server_parts(created) == RICH
    path = f"/Users/{created['id']}"
    assert without_server_parts((await scim.get(path)).json()) == RICH

    changed = json.loads(json.dumps(RICH))
    changed["title"] = "Rear Admiral"
    changed["phoneNumbers"] = [{"value": "+1 555 0111", "type": "home"}]
    changed[ENTERPRISE_URN]["manager"] = {"value": "other-id"}
    del changed["addresses"]
    response = await scim.put(path, changed)
    assert response.status_code == 200
    assert without_server_parts(response.json()) == changed
    assert without_server_parts((await scim.get(path)).json()) == changed

    # Okta's PUT carries the read-only parts it once read: they change nothing.
    echoed = {**(await scim.get(path)).json(), "title": "Commodore"}
    response = await scim.put(path, echoed)
    assert response.status_code == 200
    assert without_server_parts(response.json()) == {**changed, "title": "Commodore"}


async def test_the_password_is_never_stored_or_returned(scim: Scim) -> None:
    created = await scim.create_user(user_body(ADA, password="Pa55-word-1815"))
    patch = patch_body({"op": "replace", "path": "password", "value": "Pa55-word-1852"})
    assert (await scim.patch(f"/Users/{created['id']}", patch)).status_code == 200
    put = await scim.put(f"/Users/{created['id']}", user_body(ADA, password="Pa55-word-1843"))
    assert put.status_code == 200
    for response in (put, await scim.get(f"/Users/{created['id']}"), await scim.get("/Users")):
        assert "Pa55-word" not in response.text
    row = await scim.user_row(created["id"])
    assert row is not None and "Pa55-word" not in row["resource"]
    assert all("Pa55-word" not in json.dumps(e.detail) for e in await scim.events())


# -- deactivation ---------------------------------------------------------------------------


async def _signed_in(scim: Scim) -> str:
    """Provision Ada through SCIM and sign her in through SSO; returns her id."""
    user_id: str = (await scim.create_user(user_body(ADA)))["id"]
    assert scim.sso is not None
    await scim.sso.signed_in()
    assert (await scim.sso.session())["user"]["id"] == user_id
    return user_id


async def _assert_signed_out(scim: Scim, user_id: str) -> None:
    assert scim.sso is not None
    assert await scim.sso.session() == {}
    response = await scim.client.get("/")
    assert response.status_code == 302
    assert response.headers["location"].startswith(SIGNIN)
    assert await scim.count("SELECT count(*) FROM sessions WHERE user_id = ?", user_id) == 0


DEACTIVATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "jumpcloud": ("PATCH", patch_body({"op": "replace", "path": "active", "value": False})),
    "okta": ("PATCH", patch_body({"op": "replace", "value": {"active": False}})),
    "entra": ("PATCH", patch_body({"op": "Replace", "path": "active", "value": "False"})),
    "put": ("PUT", user_body(ADA, active=False)),
}
REACTIVATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "jumpcloud": ("PATCH", patch_body({"op": "replace", "path": "active", "value": True})),
    "okta": ("PATCH", patch_body({"op": "replace", "value": {"active": True}})),
    "entra": ("PATCH", patch_body({"op": "Replace", "path": "active", "value": "True"})),
    "put": ("PUT", user_body(ADA, active=True)),
}


@pytest.mark.parametrize("dialect", list(DEACTIVATIONS))
async def test_deactivation_ends_sessions_at_once_and_reactivation_restores(
    scim: Scim, dialect: str
) -> None:
    assert scim.sso is not None
    user_id = await _signed_in(scim)
    path = f"/Users/{user_id}"
    method, body = DEACTIVATIONS[dialect]
    response = await scim.request(method, path, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    await _assert_signed_out(scim, user_id)
    assert (await _columns(scim, user_id))["active"] == 0

    # Still there for the client (Okta never deletes; it must read its deactivated users).
    fetched = await scim.get(path)
    assert fetched.status_code == 200 and fetched.json()["active"] is False
    listed = await scim.list_users(filter=f'userName eq "{ADA}"')
    assert listed["totalResults"] == 1 and listed["Resources"][0]["active"] is False

    refused = await scim.sso.sign_in()
    await scim.sso.assert_refused(refused, 403, "deactivated", "deactivated")

    method, body = REACTIVATIONS[dialect]
    response = await scim.request(method, path, json=body)
    assert response.status_code == 200 and response.json()["active"] is True
    await scim.sso.signed_in()
    assert (await scim.sso.session())["user"]["id"] == user_id


async def test_an_unrelated_change_keeps_the_session(scim: Scim) -> None:
    assert scim.sso is not None
    user_id = await _signed_in(scim)
    body = patch_body({"op": "replace", "path": "title", "value": "Countess"})
    assert (await scim.patch(f"/Users/{user_id}", body)).status_code == 200
    assert (await scim.sso.session())["user"]["id"] == user_id


async def test_delete_removes_the_user_memberships_and_sessions(scim: Scim) -> None:
    assert scim.sso is not None
    user_id = await _signed_in(scim)
    group = await scim.post(
        "/Groups", {"displayName": "Engineers", "members": [{"value": user_id}]}
    )
    assert group.status_code == 201, group.text
    group_path = f"/Groups/{group.json()['id']}"
    group_etag = group.headers["etag"]
    assert (await scim.get(f"/Users/{user_id}")).json()["groups"][0]["display"] == "Engineers"

    assert (await scim.delete(f"/Users/{user_id}")).status_code == 204
    await _assert_signed_out(scim, user_id)
    for table, column in (
        ("users", "id"),
        ("group_members", "user_id"),
        ("user_emails", "user_id"),
    ):
        sql = f"SELECT count(*) FROM {table} WHERE {column} = ?"
        assert await scim.count(sql, user_id) == 0, table
    after = await scim.get(group_path, headers={"If-None-Match": group_etag})
    assert after.status_code == 200, "the group changed: its old ETag must not match"
    assert "members" not in after.json() or after.json()["members"] == []
    assert after.headers["etag"] != group_etag


async def test_a_user_etag_changes_with_group_membership(scim: Scim) -> None:
    created = await scim.create_user(user_body(ADA))
    path = f"/Users/{created['id']}"
    old = created["meta"]["version"]
    group = await scim.post("/Groups", {"displayName": "Engineers"})
    group_path = f"/Groups/{group.json()['id']}"
    add = patch_body({"op": "add", "path": "members", "value": [{"value": created["id"]}]})
    assert (await scim.patch(group_path, add)).status_code in (200, 204)

    fetched = await scim.get(path, headers={"If-None-Match": old})
    assert fetched.status_code == 200, "the groups shown changed: the old ETag must not match"
    assert [g["display"] for g in fetched.json()["groups"]] == ["Engineers"]
    current = fetched.headers["etag"]
    assert current == fetched.json()["meta"]["version"] != old
    assert_scim_error(
        await scim.put(path, user_body(ADA, title="x"), headers={"If-Match": old}), 412
    )
    assert (await scim.get(path, headers={"If-None-Match": current})).status_code == 304

    rename = patch_body({"op": "replace", "path": "displayName", "value": "Engineering"})
    assert (await scim.patch(group_path, rename)).status_code in (200, 204)
    renamed = await scim.get(path, headers={"If-None-Match": current})
    assert renamed.status_code == 200
    assert renamed.json()["groups"][0]["display"] == "Engineering"
    ok = await scim.put(
        path, user_body(ADA, title="x"), headers={"If-Match": renamed.headers["etag"]}
    )
    assert ok.status_code == 200, ok.text


# -- audit ----------------------------------------------------------------------------------


async def test_every_change_is_audited_with_its_token_and_target(scim: Scim) -> None:
    created = await scim.create_user(user_body(ADA))
    user_id = created["id"]
    path = f"/Users/{user_id}"
    assert (await scim.put(path, user_body(ADA, title="Countess"))).status_code == 200
    body = patch_body({"op": "replace", "path": "active", "value": False})
    assert (await scim.patch(path, body)).status_code == 200
    assert (await scim.delete(path)).status_code == 204

    events = [e for e in await scim.events() if e.action.startswith("user.")]
    assert [e.action for e in events] == [
        "user.create",
        "user.replace",
        "user.patch",
        "user.delete",
    ]
    for event in events:
        assert event.actor == f"token:{scim.token_id}"
        assert (event.target_type, event.target_id) == ("user", user_id)
        assert event.detail["userName"] == ADA
        assert event.request_id and event.ip == "127.0.0.1"
    create, replace, patch, _ = events
    assert "title" not in create.detail.get("changed", [])
    assert replace.detail["changed"] == ["title"]
    assert patch.detail["changed"] == ["active"]


async def test_refused_changes_are_not_audited(scim: Scim) -> None:
    created = await scim.create_user(user_body(ADA))
    before = len(await scim.events())
    await scim.post("/Users", user_body(ADA))  # 409
    await scim.put(f"/Users/{created['id']}", {"userName": 5})  # 400
    await scim.patch(f"/Users/{created['id']}", {"Operations": "x"})  # 400
    assert len(await scim.events()) == before


# -- adoption -------------------------------------------------------------------------------


async def test_a_just_in_time_user_is_adopted_not_refused(scim: Scim) -> None:
    assert scim.sso is not None
    await scim.sso.signed_in()  # no SCIM record yet: created just in time
    jit = await scim.sso.user_by_email(ADA)
    assert jit is not None and jit.source == "jit"

    response = await scim.post("/Users", user_body("Ada@Example.com", externalId="jc-1"))
    assert response.status_code == 201, response.text
    adopted = response.json()
    assert adopted["id"] == jit.id
    assert adopted["externalId"] == "jc-1"
    assert adopted["userName"] == "Ada@Example.com"
    assert response.headers["location"].endswith(f"/Users/{jit.id}")
    row = await scim.user_row(jit.id)
    assert row is not None
    assert (row["source"], row["oidc_sub"]) == ("scim", jit.oidc_sub)
    assert await scim.count("SELECT count(*) FROM users") == 1
    [event] = await scim.events("user.adopt")
    assert (event.target_id, event.actor) == (jit.id, f"token:{scim.token_id}")
    # The open session survives; the next sign-in finds the same user.
    assert (await scim.sso.session())["user"]["id"] == jit.id
    # Adopted once: a second POST is an ordinary clash.
    assert_scim_error(
        await scim.post("/Users", user_body(ADA, externalId="jc-1")), 409, "uniqueness"
    )


async def test_a_deactivated_user_reposted_with_its_external_id_is_reactivated(scim: Scim) -> None:
    created = await scim.create_user(user_body(ADA, externalId="00u-okta-1"))
    path = f"/Users/{created['id']}"
    body = patch_body({"op": "replace", "value": {"active": False}})
    assert (await scim.patch(path, body)).status_code == 200

    response = await scim.post("/Users", user_body(ADA, externalId="00u-okta-1", title="Back"))
    assert response.status_code == 201, response.text
    assert response.json()["id"] == created["id"]
    assert response.json()["active"] is True and response.json()["title"] == "Back"
    assert (await _columns(scim, created["id"]))["active"] == 1
    assert await scim.count("SELECT count(*) FROM users") == 1


@pytest.mark.parametrize(
    ("active", "stored_external_id", "posted_external_id"),
    [
        (True, "00u-1", "00u-1"),  # an active user: a real clash
        (False, "00u-1", "00u-2"),  # another identity
        (False, None, "00u-1"),
        (False, "00u-1", None),
        (False, None, None),
    ],
)
async def test_any_other_clash_is_409(
    scim: Scim, active: bool, stored_external_id: str | None, posted_external_id: str | None
) -> None:
    first = user_body(ADA, active=active)
    if stored_external_id:
        first["externalId"] = stored_external_id
    created = await scim.create_user(first)
    again = user_body(ADA)
    if posted_external_id:
        again["externalId"] = posted_external_id
    assert_scim_error(await scim.post("/Users", again), 409, "uniqueness")
    assert (await scim.get(f"/Users/{created['id']}")).json() == created
