"""/scim/v2/Groups in-process: create, read, replace, delete, unique names, ETags, audit and
JumpCloud's test connection.

Elsewhere: look-ups in test_groups_lookup.py, membership in test_groups_members.py, big groups
in test_groups_big.py."""

from __future__ import annotations

import pytest

from tests.scim.client import Scim, assert_scim_error, member_ids
from tests.scim.wire import GROUP_URN, group_body, members_op

pytestmark = pytest.mark.anyio

ENTRA_GROUP_URN = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


# --- CRUD ---------------------------------------------------------------------------------


async def test_create_answers_201_with_location_etag_and_members(scim: Scim) -> None:
    ada, bob = await scim.users(2)
    response = await scim.post(
        "/Groups",
        json={
            "schemas": [GROUP_URN],
            "displayName": "Engineering",
            "externalId": "ext-eng",
            "members": [{"value": ada, "display": "Ada"}, {"value": bob}],
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == body["meta"]["location"]
    assert body["meta"]["location"].endswith(f"/scim/v2/Groups/{body['id']}")
    assert response.headers["etag"] == body["meta"]["version"]
    assert body["meta"]["resourceType"] == "Group"
    assert body["displayName"] == "Engineering"
    assert body["externalId"] == "ext-eng"
    assert member_ids(body) == sorted([ada, bob])
    shown = {m["value"]: m for m in body["members"]}
    assert shown[ada]["display"] == "Ada"
    assert shown[ada]["$ref"].endswith(f"/Users/{ada}")
    assert shown[bob]["type"] == "User"
    assert await scim.get_group(body["id"]) == body


async def test_an_empty_group_has_no_members_key(scim: Scim) -> None:
    group = await scim.group("Empty")
    assert "members" not in group
    assert "members" not in await scim.get_group(group["id"])


async def test_put_replaces_name_external_id_and_exactly_the_members(scim: Scim) -> None:
    a, b, c = await scim.users(3)
    group = await scim.group("Sales", [a, b], externalId="old")
    response = await scim.put(
        f"/Groups/{group['id']}",
        json={
            "schemas": [GROUP_URN],
            "id": group["id"],
            "displayName": "Sales EMEA",
            "members": [{"value": b}, {"value": c}],
            "meta": {"resourceType": "Group"},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["displayName"] == "Sales EMEA"
    assert "externalId" not in body  # PUT replaces: what is not sent is gone
    assert member_ids(body) == sorted([b, c])
    assert await scim.member_rows(group["id"]) == sorted([b, c])
    assert body["meta"]["version"] != group["meta"]["version"]
    assert response.headers["etag"] == body["meta"]["version"]


async def test_delete_answers_204_then_404(scim: Scim) -> None:
    group = await scim.group("Doomed")
    response = await scim.delete(f"/Groups/{group['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_scim_error(await scim.get(f"/Groups/{group['id']}"), 404)
    assert_scim_error(await scim.delete(f"/Groups/{group['id']}"), 404)
    assert_scim_error(
        await scim.patch_group(group["id"], {"op": "add", "path": "members", "value": []}), 404
    )


async def test_unknown_group_is_a_scim_404(scim: Scim) -> None:
    assert_scim_error(await scim.get("/Groups/no-such-id"), 404)
    response = await scim.put(
        "/Groups/no-such-id", json={"schemas": [GROUP_URN], "displayName": "X"}
    )
    assert_scim_error(response, 404)


async def test_requests_without_a_token_are_refused(scim: Scim) -> None:
    response = await scim.get("/Groups", headers={"Authorization": ""})
    assert_scim_error(response, 401)


async def test_bad_bodies_are_400_not_500(scim: Scim) -> None:
    assert_scim_error(
        await scim.post("/Groups", json={"schemas": [GROUP_URN]}), 400, "invalidValue"
    )
    assert_scim_error(
        await scim.post(
            "/Groups", content=b"{not json", headers={"content-type": "application/scim+json"}
        ),
        400,
        "invalidSyntax",
    )
    group = await scim.group("Valid")
    response = await scim.patch_group(group["id"], {"op": "frobnicate", "path": "displayName"})
    assert response.status_code == 400, response.text
    response = await scim.patch_group(
        group["id"], {"op": "replace", "path": "members.value", "value": "x"}
    )
    assert response.status_code == 400, response.text


async def test_entra_extra_schema_urn_and_capitalised_ops_are_accepted(scim: Scim) -> None:
    (ada,) = await scim.users(1)
    response = await scim.post(
        "/Groups",
        json={
            "schemas": [GROUP_URN, ENTRA_GROUP_URN],
            "displayName": "Entra Group",
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        },
    )
    assert response.status_code == 201, response.text
    group = response.json()
    response = await scim.patch_group(
        group["id"],
        {"op": "Add", "path": "members", "value": [{"value": ada}]},
        {"op": "Replace", "path": "displayName", "value": "Entra Group 2"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["displayName"] == "Entra Group 2"
    assert member_ids(response.json()) == [ada]


async def test_okta_rename_is_a_pathless_replace_carrying_the_id(scim: Scim) -> None:
    group = await scim.group("Okta Old")
    response = await scim.patch_group(
        group["id"],
        {"op": "replace", "value": {"id": group["id"], "displayName": "Okta New"}},
    )
    assert response.status_code == 200, response.text
    assert (await scim.get_group(group["id"]))["displayName"] == "Okta New"


# --- displayName uniqueness -------------------------------------------------------------


async def test_display_name_clash_on_create_is_409_case_insensitively(scim: Scim) -> None:
    await scim.group("Finance")
    for name in ("Finance", "finance", "FINANCE", " Finance "):
        response = await scim.post("/Groups", json={"schemas": [GROUP_URN], "displayName": name})
        assert_scim_error(response, 409, "uniqueness")
    assert (await scim.find_groups())["totalResults"] == 1


async def test_rename_onto_another_group_is_409_by_patch_and_put(scim: Scim) -> None:
    await scim.group("Legal")
    other = await scim.group("Ops")
    response = await scim.patch_group(
        other["id"], {"op": "replace", "path": "displayName", "value": "LEGAL"}
    )
    assert_scim_error(response, 409, "uniqueness")
    response = await scim.put(
        f"/Groups/{other['id']}", json={"schemas": [GROUP_URN], "displayName": "legal"}
    )
    assert_scim_error(response, 409, "uniqueness")
    after = await scim.get_group(other["id"])
    assert after["displayName"] == "Ops"
    assert after["meta"]["version"] == other["meta"]["version"]


async def test_a_group_may_change_the_case_of_its_own_name(scim: Scim) -> None:
    group = await scim.group("marketing")
    response = await scim.patch_group(
        group["id"], {"op": "replace", "path": "displayName", "value": "Marketing"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["displayName"] == "Marketing"


# --- ETags ------------------------------------------------------------------------------


async def test_etags_if_none_match_304_and_if_match_412(scim: Scim) -> None:
    (a,) = await scim.users(1)
    group = await scim.group("Versioned")
    gid, etag = group["id"], group["meta"]["version"]
    assert etag.startswith('W/"')
    response = await scim.get(f"/Groups/{gid}", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["etag"] == etag
    response = await scim.patch_group(gid, members_op("add", a), headers={"If-Match": etag})
    assert response.status_code == 200, response.text
    new_etag = response.headers["etag"]
    assert new_etag != etag  # a membership change is a new version
    assert (await scim.get_group(gid))["meta"]["version"] == new_etag
    response = await scim.get(f"/Groups/{gid}", headers={"If-None-Match": etag})
    assert response.status_code == 200
    stale = {"If-Match": etag}
    assert_scim_error(
        await scim.patch_group(gid, {"op": "remove", "path": "members"}, headers=stale), 412
    )
    put_body = {"schemas": [GROUP_URN], "displayName": "Versioned 2"}
    assert_scim_error(await scim.put(f"/Groups/{gid}", json=put_body, headers=stale), 412)
    assert_scim_error(await scim.delete(f"/Groups/{gid}", headers=stale), 412)
    assert await scim.member_rows(gid) == [a]
    response = await scim.put(f"/Groups/{gid}", json=put_body, headers={"If-Match": new_etag})
    assert response.status_code == 200, response.text
    response = await scim.delete(f"/Groups/{gid}", headers={"If-Match": response.headers["etag"]})
    assert response.status_code == 204


# --- audit --------------------------------------------------------------------------------


async def test_every_group_change_is_audited_with_the_token(scim: Scim) -> None:
    a, b = await scim.users(2)
    group = await scim.group("Audited", [a])
    gid = group["id"]
    await scim.add(gid, b)
    await scim.remove(gid, a)
    await scim.rename(gid, "Audited 2")
    response = await scim.put(f"/Groups/{gid}", group_body("Audited 3", [a]))
    assert response.status_code == 200
    assert (await scim.delete(f"/Groups/{gid}")).status_code == 204

    events = [e for e in await scim.events() if e.target_type == "group"]
    assert [e.action for e in events] == [
        "group.create",
        "group.patch",
        "group.patch",
        "group.patch",
        "group.replace",
        "group.delete",
    ]
    for event in events:
        assert event.actor == f"token:{scim.token_id}"
        assert event.target_id == gid
        assert event.ip == "127.0.0.1"
        assert event.request_id
    create, added, removed, renamed, replaced, deleted = events
    assert create.detail["displayName"] == "Audited"
    assert added.detail["members_added"] == [b]
    assert removed.detail["members_removed"] == [a]
    assert renamed.detail["renamed_from"] == "Audited"
    assert renamed.detail["displayName"] == "Audited 2"
    assert replaced.detail["displayName"] == "Audited 3"
    assert replaced.detail["was"] == "Audited 2"
    assert deleted.detail["displayName"] == "Audited 3"


# --- JumpCloud --------------------------------------------------------------------------


async def test_jumpcloud_test_connection(scim: Scim) -> None:
    """Look up, create a test user and a test group, then delete both."""
    email = "jctest-5f1e0c2a@example.com"
    lookup = await scim.get("/Users", params={"filter": f'userName eq "{email}"'})
    assert lookup.json()["totalResults"] == 0
    user_id = await scim.user(email, name={"givenName": "Test", "familyName": "User"})
    name = "JumpCloud Test Group 5f1e0c2a"
    lookup = await scim.get("/Groups", params={"filter": f'displayName eq "{name}"'})
    assert lookup.json()["totalResults"] == 0
    group = await scim.group(name)
    assert (await scim.delete(f"/Groups/{group['id']}")).status_code == 204
    assert (await scim.delete(f"/Users/{user_id}")).status_code == 204
    # and again: nothing left behind makes a second test connection fail
    user_id = await scim.user(email)
    group = await scim.group(name)
    assert (await scim.delete(f"/Groups/{group['id']}")).status_code == 204
    assert (await scim.delete(f"/Users/{user_id}")).status_code == 204


async def test_jumpcloud_group_push_takes_over_an_existing_group(scim: Scim) -> None:
    a, b = await scim.users(2)
    existing = await scim.group("Designers", [a])
    found = await scim.find_groups(
        filter='displayName eq "Designers"', excludedAttributes="members"
    )
    (match,) = found["Resources"]
    assert match["id"] == existing["id"]
    response = await scim.patch_group(match["id"], members_op("add", b))
    assert response.status_code == 200
    assert await scim.member_rows(existing["id"]) == sorted([a, b])
