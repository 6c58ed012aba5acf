"""/scim/v2/Groups look-ups in-process: filters, paging, sorting, projection and search."""

from __future__ import annotations

import pytest

from app.store import groups as group_store
from tests.scim.client import Scim, assert_scim_error
from tests.scim.wire import GROUP_URN, LIST_URN, SEARCH_URN, members_op

pytestmark = pytest.mark.anyio


async def test_filter_display_name_eq_is_case_insensitive(scim: Scim) -> None:
    group = await scim.group("Webrix Admins")
    await scim.group("Webrix Users")
    for value in ("Webrix Admins", "webrix admins", "WEBRIX ADMINS"):
        found = await scim.find_groups(filter=f'displayName eq "{value}"')
        assert found["totalResults"] == 1
        assert [g["id"] for g in found["Resources"]] == [group["id"]]
    empty = await scim.find_groups(filter='displayName eq "JumpCloud Test Group"')
    assert empty == {
        "schemas": [LIST_URN],
        "totalResults": 0,
        "itemsPerPage": 0,
        "startIndex": 1,
        "Resources": [],
    }


async def test_filter_external_id_eq(scim: Scim) -> None:
    group = await scim.group("With Ext", externalId="abc-123")
    await scim.group("Other", externalId="xyz")
    found = await scim.find_groups(filter='externalId eq "abc-123"')
    assert [g["id"] for g in found["Resources"]] == [group["id"]]
    assert (await scim.find_groups(filter='externalId eq "nope"'))["totalResults"] == 0


async def test_filter_members_value_eq(scim: Scim) -> None:
    a, b = await scim.users(2)
    one = await scim.group("One", [a])
    two = await scim.group("Two", [a, b])
    await scim.group("Three")
    found = await scim.find_groups(filter=f'members.value eq "{b}"')
    assert [g["id"] for g in found["Resources"]] == [two["id"]]
    found = await scim.find_groups(filter=f'members[value eq "{a}"]', sortBy="displayName")
    assert [g["id"] for g in found["Resources"]] == [one["id"], two["id"]]


async def test_bad_filter_is_400_invalid_filter(scim: Scim) -> None:
    response = await scim.get("/Groups", params={"filter": "displayName eq"})
    assert_scim_error(response, 400, "invalidFilter")


async def test_paging_sorting_and_count_zero(scim: Scim) -> None:
    names = ["delta", "Alpha", "charlie", "Bravo", "echo"]
    for name in names:
        await scim.group(name)
    everything = await scim.find_groups()
    assert everything["totalResults"] == 5
    assert everything["itemsPerPage"] == 5
    assert sorted(g["displayName"] for g in everything["Resources"]) == sorted(names)
    pages = [await scim.find_groups(startIndex=str(i), count="2") for i in (1, 3, 5)]
    assert [g["id"] for p in pages for g in p["Resources"]] == [
        g["id"] for g in everything["Resources"]
    ]  # the default order is stable across pages
    page = await scim.find_groups(sortBy="displayName", startIndex="2", count="2")
    assert (page["totalResults"], page["itemsPerPage"], page["startIndex"]) == (5, 2, 2)
    assert [g["displayName"] for g in page["Resources"]] == ["Bravo", "charlie"]
    down = await scim.find_groups(sortBy="displayName", sortOrder="descending")
    assert [g["displayName"] for g in down["Resources"]] == [
        "echo",
        "delta",
        "charlie",
        "Bravo",
        "Alpha",
    ]
    only_total = await scim.find_groups(count="0")
    assert (only_total["totalResults"], only_total["Resources"]) == (5, [])
    beyond = await scim.find_groups(startIndex="99")
    assert (beyond["totalResults"], beyond["itemsPerPage"], beyond["Resources"]) == (5, 0, [])


async def test_attributes_projection_keeps_id_and_schemas(scim: Scim) -> None:
    (a,) = await scim.users(1)
    group = await scim.group("Projected", [a], externalId="e1")
    body = await scim.get_group(group["id"], attributes="displayName")
    assert set(body) == {"schemas", "id", "displayName"}
    listed = await scim.find_groups(attributes="externalId")
    assert listed["Resources"] == [{"schemas": [GROUP_URN], "id": group["id"], "externalId": "e1"}]


async def test_search_endpoint(scim: Scim) -> None:
    (a,) = await scim.users(1)
    target = await scim.group("Searched", [a])
    await scim.group("Not Searched")
    response = await scim.post(
        "/Groups/.search",
        json={
            "schemas": [SEARCH_URN],
            "filter": 'displayName eq "searched"',
            "excludedAttributes": ["members"],
            "startIndex": 1,
            "count": 10,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totalResults"] == 1
    (found,) = body["Resources"]
    assert found["id"] == target["id"]
    assert "members" not in found
    root = await scim.post(
        "/.search", json={"schemas": [SEARCH_URN], "filter": 'displayName eq "Searched"'}
    )
    assert root.status_code == 200, root.text
    assert [r["id"] for r in root.json()["Resources"]] == [target["id"]]


async def test_excluded_members_are_absent_and_never_loaded(
    scim: Scim, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = await scim.users(3)
    group = await scim.group("Big Enough", users)

    def refuse(*args: object, **kwargs: object) -> None:  # the store's functions are plain
        raise AssertionError("members were loaded although excluded")

    monkeypatch.setattr(group_store, "members", refuse)
    monkeypatch.setattr(group_store, "members_of_many", refuse)
    body = await scim.get_group(group["id"], excludedAttributes="members")
    assert "members" not in body
    assert body["displayName"] == "Big Enough"
    assert body["meta"]["version"] == group["meta"]["version"]
    listed = await scim.find_groups(excludedAttributes="members")
    assert "members" not in listed["Resources"][0]
    found = await scim.find_groups(
        filter='displayName eq "big enough"', excludedAttributes="members"
    )
    assert found["totalResults"] == 1
    assert "members" not in found["Resources"][0]
    assert set(await scim.get_group(group["id"], attributes="displayName")) == {
        "schemas",
        "id",
        "displayName",
    }
    response = await scim.patch_group(
        group["id"], members_op("remove", users[0]), params={"excludedAttributes": "members"}
    )
    assert response.status_code == 200, response.text
    assert "members" not in response.json()
    assert await scim.member_rows(group["id"]) == sorted(users[1:])
