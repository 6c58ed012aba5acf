"""Big groups in-process: a PATCH answers without echoing the members, and adding or removing
one member costs the same whatever the group's size."""

from __future__ import annotations

import pytest

from app.db import Tx
from app.scim import group_patch
from app.store import groups as group_store
from tests.scim.client import Scim, member_ids
from tests.scim.wire import members_op

pytestmark = pytest.mark.anyio


async def _seed_members(scim: Scim, group_id: str, count: int, prefix: str) -> list[str]:
    """`count` users in the group, inserted directly (fast); returns their ids."""
    ids = [f"{prefix}-{i:06d}" for i in range(count)]
    stamp = "2026-01-01T00:00:00Z"

    def insert(tx: Tx) -> None:
        tx.execute_many(
            "INSERT INTO users (id, user_name, email, resource, created, last_modified)"
            " VALUES (?, ?, ?, '{}', ?, ?)",
            [(uid, f"{uid}@example.com", f"{uid}@example.com", stamp, stamp) for uid in ids],
        )
        tx.execute_many(
            "INSERT INTO group_members (group_id, user_id) VALUES (?, ?)",
            [(group_id, uid) for uid in ids],
        )

    await scim.db.write(insert)
    return ids


async def test_patch_of_a_big_group_answers_204_with_the_etag(
    scim: Scim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group_patch, "ECHO_MEMBERS_LIMIT", 2)
    a, b, c = await scim.users(3)
    group = await scim.group("Large", [a, b])
    response = await scim.patch_group(group["id"], members_op("add", c))
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert response.headers["etag"] == (await scim.get_group(group["id"]))["meta"]["version"]
    assert await scim.member_rows(group["id"]) == sorted([a, b, c])
    response = await scim.patch_group(
        group["id"], members_op("remove", a), params={"excludedAttributes": "members"}
    )
    assert response.status_code == 200, response.text
    assert "members" not in response.json()
    # a small group still echoes its members
    small = await scim.group("Small")
    response = await scim.patch_group(small["id"], members_op("add", a))
    assert response.status_code == 200
    assert member_ids(response.json()) == [a]


async def _patch_steps(
    scim: Scim, group_id: str, op: str, user_id: str, params: dict[str, str]
) -> int:
    """SQLite VM instructions the writer connection runs for one member PATCH: a cost that
    does not depend on the machine's speed."""
    steps = 0

    def tick() -> int:
        nonlocal steps
        steps += 1
        return 0

    writer = scim.db._writer  # the connection every write transaction runs on
    await writer.set_progress_handler(tick, 1)
    try:
        response = await scim.patch_group(group_id, members_op(op, user_id), params=params)
    finally:
        await writer.set_progress_handler(None, 1)  # type: ignore[arg-type]
    assert response.status_code in (200, 204), response.text
    return steps


@pytest.mark.parametrize("excluded", [False, True])
async def test_adding_or_removing_one_member_costs_the_same_in_any_group(
    scim: Scim, monkeypatch: pytest.MonkeyPatch, excluded: bool
) -> None:
    monkeypatch.setattr(group_patch, "ECHO_MEMBERS_LIMIT", 5)
    params = {"excludedAttributes": "members"} if excluded else {}
    costs: dict[int, tuple[int, int]] = {}
    for size in (10, 3000):
        group = await scim.group(f"Size {size}")
        await _seed_members(scim, group["id"], size, f"s{size}")
        newcomer = await scim.user(f"new{size}@example.com")
        add = await _patch_steps(scim, group["id"], "add", newcomer, params)
        assert newcomer in await scim.member_rows(group["id"])
        remove = await _patch_steps(scim, group["id"], "remove", newcomer, params)
        assert newcomer not in await scim.member_rows(group["id"])
        costs[size] = (add, remove)
    (small_add, small_remove), (big_add, big_remove) = costs[10], costs[3000]
    # A deeper B-tree may add a few steps; anything proportional to the group adds thousands.
    assert big_add <= small_add + 50, costs
    assert big_remove <= small_remove + 50, costs


# --- the default view: members written by SQLite ------------------------------------------


async def test_default_view_members_are_those_of_the_projected_view(scim: Scim) -> None:
    """A GET or a page in the default view takes its members' JSON from SQLite; any other view
    builds them in Python. Both give the same entries in the same order (by userName)."""
    ada = await scim.user("ada@example.com", displayName="Ada Lovelace")
    bob = await scim.user("bob@example.com")  # no displayName: the display is the userName
    eve = await scim.user('eve"\\\u00e9\u2603@example.com', displayName="\u00c9ve \U0001f600")
    group = await scim.group("Mixed", [eve, bob])
    await scim.modify_group(
        group["id"],
        {"op": "add", "path": "members", "value": [{"value": ada, "display": "Countess"}]},
    )
    default = await scim.get_group(group["id"])
    projected = await scim.get_group(group["id"], excludedAttributes="externalId")
    assert default == projected
    assert [m["display"] for m in default["members"]] == [
        "Countess",  # the display the client sent is kept
        "bob@example.com",
        "\u00c9ve \U0001f600",
    ]
    assert default["members"][0] == {
        "value": ada,
        "display": "Countess",
        "$ref": f"{scim.app.state.services.config.scim_base_url}/Users/{ada}",
        "type": "User",
    }
    assert list(default)[-1] == "meta"
    page = await scim.find_groups(filter='displayName eq "Mixed"')
    assert page["Resources"] == [default]
    listed = await scim.find_groups(filter='displayName eq "Mixed"', excludedAttributes="id")
    assert listed["Resources"][0]["members"] == default["members"]


async def test_default_view_of_groups_without_members_and_of_a_page(scim: Scim) -> None:
    a, b = await scim.users(2)
    empty = await scim.group("Empty")
    full = await scim.group("Full", [a, b])
    assert "members" not in await scim.get_group(empty["id"])
    page = (await scim.find_groups(sortBy="displayName"))["Resources"]
    assert [g["displayName"] for g in page] == ["Empty", "Full"]
    assert "members" not in page[0]
    assert sorted(member_ids(page[1])) == sorted([a, b])
    assert page[1] == await scim.get_group(full["id"])


async def test_default_view_builds_no_member_objects(
    scim: Scim, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = await scim.group("Large")
    await _seed_members(scim, group["id"], 3000, "big")

    def refuse(*args: object) -> None:
        raise AssertionError("members were read as objects for the default view")

    monkeypatch.setattr(group_store, "members_of_many", refuse)
    assert len((await scim.get_group(group["id"]))["members"]) == 3000
    page = await scim.find_groups(filter='displayName eq "Large"')
    assert len(page["Resources"][0]["members"]) == 3000
