"""The /scim/v2/Users endpoints in-process: create, read, replace, patch, delete and ETags.

Elsewhere: tokens, scopes and discovery in test_users_access.py; listing and filters in
test_users_list.py; bad requests in test_users_errors.py; the mapping, deactivation, audit and
adoption in test_users_lifecycle.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.scim.client import Scim, assert_scim_error, without_server_parts
from tests.scim.wire import ENTERPRISE_URN, USER_URN, patch_body, user_body

pytestmark = pytest.mark.anyio

ADA = "ada@example.com"
HOST = "http://127.0.0.1:8080"


# -- create and read ------------------------------------------------------------------------


async def test_create_answers_201_with_location_etag_and_meta(scim: Scim) -> None:
    response = await scim.post("/Users", user_body(ADA))
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    user_id = body["id"]
    meta = body["meta"]
    assert meta["resourceType"] == "User"
    assert meta["location"] == f"{HOST}/scim/v2/Users/{user_id}"
    assert response.headers["location"] == meta["location"]
    assert response.headers["etag"] == meta["version"]
    assert meta["created"] == meta["lastModified"]
    assert meta["created"].endswith("Z") and "T" in meta["created"]
    assert body["userName"] == ADA
    assert without_server_parts(body) == user_body(ADA)

    fetched = await scim.get(f"/Users/{user_id}")
    assert fetched.status_code == 200
    assert fetched.json() == body
    assert fetched.headers["etag"] == meta["version"]


async def test_plain_json_is_accepted_too(scim: Scim) -> None:
    response = await scim.post(
        "/Users", user_body(ADA), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text


async def test_username_clash_is_409_uniqueness_whatever_the_case(scim: Scim) -> None:
    await scim.create_user(user_body(ADA))
    for clash in (ADA, "ADA@Example.com"):
        response = await scim.post("/Users", user_body(clash))
        assert_scim_error(response, 409, "uniqueness")
    assert await scim.count("SELECT count(*) FROM users") == 1


async def test_unknown_user_is_404(scim: Scim) -> None:
    for method in ("GET", "DELETE"):
        response = await scim.request(method, "/Users/no-such-user")
        assert_scim_error(response, 404)
    assert_scim_error(await scim.put("/Users/no-such-user", user_body()), 404)
    body = patch_body({"op": "replace", "path": "displayName", "value": "x"})
    assert_scim_error(await scim.patch("/Users/no-such-user", body), 404)


async def test_projection_on_a_single_user(scim: Scim) -> None:
    created = await scim.create_user(user_body(ADA, password="Secret-Pa55"))
    assert "password" not in created
    path = f"/Users/{created['id']}"
    only = (await scim.get(path, params={"attributes": "userName"})).json()
    assert set(only) == {"schemas", "id", "userName"}
    named = (await scim.get(path, params={"attributes": "name.familyName,password"})).json()
    assert named["name"] == {"familyName": "Lovelace"}
    assert "password" not in named and "id" in named
    excluded = (await scim.get(path, params={"excludedAttributes": "emails,id,name"})).json()
    assert "emails" not in excluded and "name" not in excluded
    assert excluded["id"] == created["id"]
    assert excluded["userName"] == ADA


# -- replace --------------------------------------------------------------------------------


async def test_put_replaces_everything_and_ignores_read_only_parts(scim: Scim) -> None:
    created = await scim.create_user(user_body(ADA, title="Countess", nickName="Ada"))
    path = f"/Users/{created['id']}"
    # A real group: a PUT that took `groups` as memberships would show it (a made-up id could
    # never be joined, and would prove nothing).
    group = await scim.post("/Groups", {"displayName": "Admins"})
    assert group.status_code == 201, group.text
    group_id = group.json()["id"]
    replacement = {
        "schemas": [USER_URN],
        "id": "someone-else",
        "userName": ADA,
        "name": {"givenName": "Augusta"},
        "groups": [{"value": group_id, "display": "Admins"}],
        "meta": {"resourceType": "User", "created": "2000-01-01T00:00:00Z", "version": 'W/"99"'},
        "active": True,
    }
    response = await scim.put(path, replacement)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == created["id"]
    assert "groups" not in body  # read-only: membership is changed through /Groups only
    assert await scim.count("SELECT count(*) FROM group_members WHERE group_id = ?", group_id) == 0
    assert body["meta"]["created"] == created["meta"]["created"]
    assert body["meta"]["version"] != created["meta"]["version"]
    assert response.headers["etag"] == body["meta"]["version"]
    # Omitted attributes are gone.
    for gone in ("title", "nickName", "emails", "displayName"):
        assert gone not in body, gone
    assert body["name"] == {"givenName": "Augusta"}
    assert (await scim.get(path)).json() == body
    row = await scim.user_row(created["id"])
    assert row is not None
    assert (row["given_name"], row["family_name"], row["display_name"]) == ("Augusta", None, None)
    assert row["email"] == ADA  # no emails left: the userName


async def test_put_may_rename_but_not_onto_another_user(scim: Scim) -> None:
    ada = await scim.create_user(user_body(ADA))
    await scim.create_user(user_body("bob@example.com"))
    path = f"/Users/{ada['id']}"
    assert_scim_error(await scim.put(path, user_body("BOB@example.com")), 409, "uniqueness")
    renamed = await scim.put(path, user_body("ada.lovelace@example.com"))
    assert renamed.status_code == 200
    assert renamed.json()["userName"] == "ada.lovelace@example.com"
    # Changing only the case of one's own userName is no clash.
    assert (await scim.put(path, user_body("Ada.Lovelace@example.com"))).status_code == 200


# -- patch ----------------------------------------------------------------------------------


async def _patch(scim: Scim, user_id: str, *operations: dict[str, Any]) -> dict[str, Any]:
    response = await scim.patch(f"/Users/{user_id}", patch_body(*operations))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert response.headers["etag"] == body["meta"]["version"]
    assert body == (await scim.get(f"/Users/{user_id}")).json()
    return body


async def test_patch_with_paths(scim: Scim) -> None:
    user_id = (await scim.create_user(user_body(ADA)))["id"]
    body = await _patch(
        scim,
        user_id,
        {"op": "replace", "path": "name.givenName", "value": "Augusta"},
        {"op": "add", "path": "title", "value": "Countess"},
        {"op": "add", "path": "phoneNumbers", "value": [{"value": "+44 1", "type": "work"}]},
        {"op": "remove", "path": "displayName"},
    )
    assert body["name"] == {"givenName": "Augusta", "familyName": "Lovelace"}
    assert body["title"] == "Countess"
    assert body["phoneNumbers"] == [{"value": "+44 1", "type": "work"}]
    assert "displayName" not in body
    row = await scim.user_row(user_id)
    assert row is not None and (row["given_name"], row["display_name"]) == ("Augusta", None)


async def test_patch_without_path(scim: Scim) -> None:
    user_id = (await scim.create_user(user_body(ADA)))["id"]
    body = await _patch(
        scim,
        user_id,
        {"op": "replace", "value": {"displayName": "A. L.", "name": {"familyName": "King"}}},
        {"op": "add", "value": {"nickName": "Ada", ENTERPRISE_URN: {"department": "Maths"}}},
    )
    assert body["displayName"] == "A. L."
    assert body["name"]["familyName"] == "King"
    assert body["nickName"] == "Ada"
    assert body[ENTERPRISE_URN] == {"department": "Maths"}
    assert ENTERPRISE_URN in body["schemas"]
    row = await scim.user_row(user_id)
    assert row is not None and row["family_name"] == "King"


async def test_patch_with_value_filter_paths(scim: Scim) -> None:
    user = user_body(
        ADA,
        emails=[
            {"value": ADA, "type": "work", "primary": True},
            {"value": "ada@home.example", "type": "home"},
        ],
    )
    user_id = (await scim.create_user(user))["id"]
    body = await _patch(
        scim,
        user_id,
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "countess@example.com"},
        {"op": "remove", "path": 'emails[type eq "home"]'},
    )
    assert body["emails"] == [{"value": "countess@example.com", "type": "work", "primary": True}]
    row = await scim.user_row(user_id)
    assert row is not None and row["email"] == "countess@example.com"
    # Entra: add to a filtered path that matches nothing yet.
    body = await _patch(
        scim,
        user_id,
        {"op": "add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+44 2"},
    )
    assert body["phoneNumbers"] == [{"type": "mobile", "value": "+44 2"}]
    # A replace whose eq filter matches nothing creates the element (as add does) ...
    created = await scim.patch(
        f"/Users/{user_id}",
        patch_body({"op": "replace", "path": 'emails[type eq "other"].value', "value": "x@y.z"}),
    )
    assert created.status_code == 200
    assert {"type": "other", "value": "x@y.z"} in created.json()["emails"]
    # ... but a filter that does not say what the element would be is noTarget (RFC 7644).
    missing = await scim.patch(
        f"/Users/{user_id}",
        patch_body({"op": "replace", "path": 'emails[value sw "nobody"].type', "value": "home"}),
    )
    assert_scim_error(missing, 400, "noTarget")


async def test_patch_in_entra_dialect(scim: Scim) -> None:
    user_id = (await scim.create_user(user_body(ADA)))["id"]
    body = await _patch(
        scim,
        user_id,
        {"op": "Replace", "value": {"name.givenName": "Augusta", "name.familyName": "King"}},
        {"op": "Add", "path": f"{ENTERPRISE_URN}:manager", "value": "manager-id"},
        {"op": "Add", "path": "emails", "value": [{"value": "new@example.com", "primary": "True"}]},
    )
    assert body["name"] == {"givenName": "Augusta", "familyName": "King"}
    assert body[ENTERPRISE_URN] == {"manager": {"value": "manager-id"}}
    assert [e["primary"] for e in body["emails"]] == [False, True]  # one primary at most
    row = await scim.user_row(user_id)
    assert row is not None
    assert (row["given_name"], row["family_name"], row["email"]) == (
        "Augusta",
        "King",
        "new@example.com",
    )


async def test_patch_that_changes_nothing_keeps_the_version(scim: Scim) -> None:
    created = await scim.create_user(user_body(ADA))
    body = await _patch(
        scim, created["id"], {"op": "replace", "path": "displayName", "value": "Ada Lovelace"}
    )
    assert body["meta"]["version"] == created["meta"]["version"]


async def test_patch_cannot_touch_read_only_attributes(scim: Scim) -> None:
    created = await scim.create_user(user_body(ADA))
    for path in ("id", "groups", "meta.created"):
        response = await scim.patch(
            f"/Users/{created['id']}", patch_body({"op": "replace", "path": path, "value": "x"})
        )
        assert_scim_error(response, 400, "mutability")
    assert (await scim.get(f"/Users/{created['id']}")).json() == created


# -- delete ---------------------------------------------------------------------------------


async def test_delete_then_404(scim: Scim) -> None:
    created = await scim.create_user(user_body(ADA))
    path = f"/Users/{created['id']}"
    response = await scim.delete(path)
    assert response.status_code == 204
    assert response.content == b""
    assert_scim_error(await scim.get(path), 404)
    assert_scim_error(await scim.delete(path), 404)
    assert (await scim.list_users())["totalResults"] == 0
    # The userName is free again.
    assert (await scim.post("/Users", user_body(ADA))).status_code == 201


# -- versions -------------------------------------------------------------------------------


async def test_etags_and_preconditions(scim: Scim) -> None:
    created = await scim.create_user(user_body(ADA))
    path = f"/Users/{created['id']}"
    first = created["meta"]["version"]
    fetched = await scim.get(path)
    assert fetched.headers["etag"] == first == fetched.json()["meta"]["version"]

    not_modified = await scim.get(path, headers={"If-None-Match": first})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert (await scim.get(path, headers={"If-None-Match": 'W/"other"'})).status_code == 200

    changed = await scim.put(path, user_body(ADA, title="Countess"), headers={"If-Match": first})
    assert changed.status_code == 200, changed.text
    second = changed.json()["meta"]["version"]
    assert second != first and changed.headers["etag"] == second
    assert (await scim.get(path, headers={"If-None-Match": first})).status_code == 200

    # A stale version changes nothing, whatever the method.
    stale = {"If-Match": first}
    assert_scim_error(await scim.put(path, user_body(ADA, title="Lost"), headers=stale), 412)
    lost = patch_body({"op": "replace", "path": "title", "value": "Lost"})
    assert_scim_error(await scim.patch(path, lost, headers=stale), 412)
    assert_scim_error(await scim.delete(path, headers=stale), 412)
    now = (await scim.get(path)).json()
    assert now["title"] == "Countess" and now["meta"]["version"] == second

    patched = await scim.patch(path, lost, headers={"If-Match": second})
    assert patched.status_code == 200
    third = patched.json()["meta"]["version"]
    assert third != second
    assert (await scim.delete(path, headers={"If-Match": third})).status_code == 204
