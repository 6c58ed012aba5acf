"""/scim/v2/Groups membership in-process: PATCH deltas, whole-PATCH transactions, and the
user side (a user's groups, filters on them, deletes)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.scim.client import Scim, assert_scim_error, member_ids
from tests.scim.wire import group_body, members_op, patch_body

pytestmark = pytest.mark.anyio


# --- membership -------------------------------------------------------------------------


async def test_add_is_idempotent(scim: Scim) -> None:
    a, b = await scim.users(2)
    group = await scim.group("Idempotent", [a])
    jumpcloud_add = {"op": "add", "path": "members", "value": [{"value": a}, {"value": b}]}
    for _ in range(3):
        response = await scim.patch_group(group["id"], jumpcloud_add)
        assert response.status_code == 200, response.text
        assert member_ids(response.json()) == sorted([a, b])
    response = await scim.patch_group(group["id"], members_op("add", b, b))
    assert response.status_code == 200, response.text
    assert await scim.member_rows(group["id"]) == sorted([a, b])  # no duplicate rows


async def test_a_repeated_add_or_remove_is_no_change_at_all(scim: Scim) -> None:
    """JumpCloud repeats adds: they must not bump the version or fill the audit log."""
    a, b = await scim.users(2)
    group = await scim.group("Quiet", [a])
    first = await scim.patch_group(group["id"], members_op("add", a))
    assert first.status_code == 200
    assert first.json()["meta"]["version"] == group["meta"]["version"]
    gone = await scim.patch_group(group["id"], members_op("remove", b))
    assert gone.json()["meta"]["version"] == group["meta"]["version"]
    assert await scim.events("group.patch") == []
    real = await scim.patch_group(group["id"], members_op("add", b))
    assert real.json()["meta"]["version"] != group["meta"]["version"]


async def test_pathless_add_of_members(scim: Scim) -> None:
    a, b = await scim.users(2)
    group = await scim.group("Pathless", [a])
    response = await scim.patch_group(
        group["id"], {"op": "add", "value": {"members": [{"value": b}]}}
    )
    assert response.status_code == 200, response.text
    assert await scim.member_rows(group["id"]) == sorted([a, b])


async def test_remove_by_value_filter(scim: Scim) -> None:
    a, b, c = await scim.users(3)
    group = await scim.group("Filtered", [a, b, c])
    response = await scim.patch_group(
        group["id"], {"op": "remove", "path": f'members[value eq "{b}"]'}
    )
    assert response.status_code == 200, response.text
    assert member_ids(response.json()) == sorted([a, c])
    response = await scim.patch_group(
        group["id"], {"op": "remove", "path": f'members[value eq "{a}" or value eq "{c}"]'}
    )
    assert response.status_code == 200, response.text
    assert "members" not in response.json()
    assert await scim.member_rows(group["id"]) == []


async def test_remove_by_value_array_without_filter(scim: Scim) -> None:
    a, b, c = await scim.users(3)
    group = await scim.group("Array", [a, b, c])
    response = await scim.patch_group(group["id"], members_op("remove", a, c))
    assert response.status_code == 200, response.text
    assert member_ids(response.json()) == [b]
    assert await scim.member_rows(group["id"]) == [b]


async def test_removing_a_non_member_is_harmless(scim: Scim) -> None:
    a, b = await scim.users(2)
    group = await scim.group("Harmless", [a])
    response = await scim.patch_group(
        group["id"], {"op": "remove", "path": f'members[value eq "{b}"]'}
    )
    assert response.status_code == 200, response.text
    assert await scim.member_rows(group["id"]) == [a]


async def test_replace_sets_exactly_the_given_members(scim: Scim) -> None:
    a, b, c, d = await scim.users(4)
    group = await scim.group("Replaced", [a, b])
    response = await scim.patch_group(group["id"], members_op("replace", c, b))
    assert response.status_code == 200, response.text
    assert member_ids(response.json()) == sorted([b, c])
    assert await scim.member_rows(group["id"]) == sorted([b, c])
    response = await scim.patch_group(
        group["id"], {"op": "replace", "value": {"members": [{"value": d}]}}
    )
    assert response.status_code == 200, response.text
    assert await scim.member_rows(group["id"]) == [d]
    response = await scim.patch_group(
        group["id"], {"op": "replace", "path": "members", "value": []}
    )
    assert response.status_code == 200, response.text
    assert await scim.member_rows(group["id"]) == []


async def test_remove_without_value_empties_the_group(scim: Scim) -> None:
    a, b = await scim.users(2)
    group = await scim.group("Emptied", [a, b])
    response = await scim.patch_group(group["id"], {"op": "remove", "path": "members"})
    assert response.status_code == 200, response.text
    assert await scim.member_rows(group["id"]) == []


async def test_operations_apply_in_order(scim: Scim) -> None:
    a, b, c = await scim.users(3)
    group = await scim.group("Ordered", [a])
    response = await scim.patch_group(
        group["id"],
        members_op("add", b),
        {"op": "remove", "path": f'members[value eq "{a}"]'},
        members_op("add", c),
        members_op("remove", c),
    )
    assert response.status_code == 200, response.text
    assert await scim.member_rows(group["id"]) == [b]


async def test_unknown_member_is_400_and_the_whole_patch_changes_nothing(scim: Scim) -> None:
    a, b = await scim.users(2)
    group = await scim.group("Atomic", [a])
    before = await scim.get_group(group["id"])
    events_before = len(await scim.events("group.patch"))
    unknown = "00000000-0000-4000-8000-000000000000"
    attempts: list[list[dict[str, Any]]] = [
        [
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            members_op("add", b, unknown),
        ],
        [
            members_op("remove", a),
            members_op("add", unknown),
        ],
        [
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            members_op("replace", b, unknown),
        ],
    ]
    for operations in attempts:
        response = await scim.patch_group(group["id"], *operations)
        assert_scim_error(response, 400, "invalidValue")
        assert unknown in response.json()["detail"]
        after = await scim.get_group(group["id"])
        assert after == before  # name, members, version and lastModified untouched
        assert await scim.member_rows(group["id"]) == [a]
    assert len(await scim.events("group.patch")) == events_before


async def test_unknown_member_on_post_and_put_changes_nothing(scim: Scim) -> None:
    (a,) = await scim.users(1)
    unknown = "no-such-user"
    response = await scim.post("/Groups", group_body("Never", [unknown]))
    assert_scim_error(response, 400, "invalidValue")
    assert (await scim.find_groups())["totalResults"] == 0
    group = await scim.group("Kept", [a])
    response = await scim.put(f"/Groups/{group['id']}", group_body("Changed", [unknown]))
    assert_scim_error(response, 400, "invalidValue")
    assert await scim.get_group(group["id"]) == group
    assert await scim.member_rows(group["id"]) == [a]


async def test_a_group_cannot_be_a_member(scim: Scim) -> None:
    inner = await scim.group("Inner")
    outer = await scim.group("Outer")
    response = await scim.patch_group(
        outer["id"], {"op": "add", "path": "members", "value": [{"value": inner["id"]}]}
    )
    assert_scim_error(response, 400, "invalidValue")


# --- the user side ----------------------------------------------------------------------


async def test_user_groups_lists_the_users_groups(scim: Scim) -> None:
    a, b = await scim.users(2)
    one = await scim.group("Alpha Team", [a])
    two = await scim.group("Beta Team", [a, b])
    response = await scim.get(f"/Users/{a}")
    groups = response.json()["groups"]
    assert [(g["value"], g["display"]) for g in groups] == [
        (one["id"], "Alpha Team"),
        (two["id"], "Beta Team"),
    ]
    assert groups[0]["$ref"].endswith(f"/Groups/{one['id']}")
    await scim.rename(two["id"], "Gamma Team")
    response = await scim.get(f"/Users/{b}")
    assert [(g["value"], g["display"]) for g in response.json()["groups"]] == [
        (two["id"], "Gamma Team")
    ]


async def test_users_filter_on_groups_value(scim: Scim) -> None:
    a, b, c = await scim.users(3)
    group = await scim.group("Filter Me", [a, c])
    response = await scim.get("/Users", params={"filter": f'groups.value eq "{group["id"]}"'})
    assert response.status_code == 200, response.text
    assert sorted(u["id"] for u in response.json()["Resources"]) == sorted([a, c])
    response = await scim.get("/Users", params={"filter": f'groups[value eq "{group["id"]}"]'})
    assert response.json()["totalResults"] == 2
    response = await scim.get("/Users", params={"filter": "groups pr"})
    assert response.json()["totalResults"] == 2
    assert b not in {u["id"] for u in response.json()["Resources"]}


async def test_user_groups_is_read_only(scim: Scim) -> None:
    (a,) = await scim.users(1)
    group = await scim.group("Read Only")
    response = await scim.patch(
        f"/Users/{a}",
        patch_body({"op": "add", "path": "groups", "value": [{"value": group["id"]}]}),
    )
    assert_scim_error(response, 400, "mutability")
    assert await scim.member_rows(group["id"]) == []


async def test_deleting_a_group_removes_its_memberships(scim: Scim) -> None:
    a, b = await scim.users(2)
    group = await scim.group("Short Lived", [a, b])
    keep = await scim.group("Long Lived", [b])
    response = await scim.delete(f"/Groups/{group['id']}")
    assert response.status_code == 204
    assert await scim.member_rows(group["id"]) == []
    user_a = (await scim.get(f"/Users/{a}")).json()
    assert "groups" not in user_a
    user_b = (await scim.get(f"/Users/{b}")).json()
    assert [g["value"] for g in user_b["groups"]] == [keep["id"]]


async def test_deleting_a_user_removes_them_from_groups(scim: Scim) -> None:
    a, b = await scim.users(2)
    group = await scim.group("Survives", [a, b])
    assert (await scim.delete(f"/Users/{a}")).status_code == 204
    assert member_ids(await scim.get_group(group["id"])) == [b]
