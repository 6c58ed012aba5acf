"""What each common SCIM request costs the database, counted, never timed: round trips (hand-offs
to a database thread) and statements. A change that adds either makes a test here fail; one
that removes some makes it fail too, so that the numbers here stay the truth.

A read request is one round trip; a create and a members-only group PATCH one write; a user
PATCH one read (the operations are applied on the event loop) and one write.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from app.config import Config
from app.db import Stats
from tests.scim.client import Scim, scim_app
from tests.scim.wire import patch_body, user_body

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Cost:
    reads: int
    writes: int
    statements: int


async def cost(scim: Scim, request: Callable[[], Awaitable[httpx.Response]]) -> Cost:
    before = Stats(**vars(scim.db.stats))
    response = await request()
    assert response.is_success, response.text
    after = scim.db.stats
    return Cost(
        after.reads - before.reads,
        after.writes - before.writes,
        after.statements - before.statements,
    )


@pytest.fixture
async def scim(make_config: Callable[..., Config]) -> AsyncIterator[Scim]:
    async with scim_app(make_config) as scim:
        # The token's first use reads it and records its use; later ones cost nothing.
        assert (await scim.get("/Users", params={"count": "0"})).status_code == 200
        yield scim


async def test_a_lookup_by_user_name_is_one_round_trip(scim: Scim) -> None:
    await scim.create_user(user_body("ada@example.com"))
    found = await cost(
        scim, lambda: scim.get("/Users", params={"filter": 'userName eq "ada@example.com"'})
    )
    # The page tells the total by itself (not full): no count(*); its groups come with it.
    assert found == Cost(reads=1, writes=0, statements=2)
    missing = await cost(scim, lambda: scim.get("/Users", params={"filter": 'userName eq "x@y.z"'}))
    assert missing == Cost(reads=1, writes=0, statements=1)  # no user: no groups to read


async def test_a_full_page_also_counts_in_the_same_round_trip(scim: Scim) -> None:
    for i in range(3):
        await scim.create_user(user_body(f"u{i}@example.com"))
    page = await cost(scim, lambda: scim.get("/Users", params={"count": "2"}))
    assert page == Cost(reads=1, writes=0, statements=3)  # page, count, groups


async def test_a_read_by_id_is_one_round_trip(scim: Scim) -> None:
    user = await scim.create_user(user_body())
    assert await cost(scim, lambda: scim.get(f"/Users/{user['id']}")) == Cost(1, 0, 2)


async def test_a_create_is_one_write(scim: Scim) -> None:
    created = await cost(scim, lambda: scim.post("/Users", user_body("new@example.com")))
    assert created == Cost(reads=0, writes=1, statements=3)  # user, its emails, audit


async def test_a_patch_is_one_read_and_one_write(scim: Scim) -> None:
    user = await scim.create_user(user_body())
    deactivate = patch_body({"op": "replace", "path": "active", "value": False})
    patched = await cost(scim, lambda: scim.patch(f"/Users/{user['id']}", deactivate))
    # read: user, groups; write: user, emails (delete, insert), sessions, groups, audit
    assert patched == Cost(reads=1, writes=1, statements=8)


async def test_a_patch_that_changes_nothing_writes_nothing(scim: Scim) -> None:
    user = await scim.create_user(user_body())
    same = patch_body({"op": "replace", "path": "active", "value": True})
    assert await cost(scim, lambda: scim.patch(f"/Users/{user['id']}", same)) == Cost(1, 0, 2)


async def test_adding_a_member_is_one_write(scim: Scim) -> None:
    user = await scim.create_user(user_body())
    response = await scim.post("/Groups", {"displayName": "Engineering"})
    group = response.json()
    add = patch_body({"op": "add", "path": "members", "value": [{"value": user["id"]}]})
    path = f"/Groups/{group['id']}"
    added = await cost(
        scim, lambda: scim.patch(path, add, params={"excludedAttributes": "members"})
    )
    # version check, member ids check, insert, new version, audit
    assert added == Cost(reads=0, writes=1, statements=5)
    remove = patch_body({"op": "remove", "path": f'members[value eq "{user["id"]}"]'})
    removed = await cost(scim, lambda: scim.patch(path, remove))
    # version check, member ids check (none), delete, new version, audit, echo check, members
    assert removed == Cost(reads=0, writes=1, statements=6)


async def test_a_rename_reads_the_group_first(scim: Scim) -> None:
    group = (await scim.post("/Groups", {"displayName": "Engineering"})).json()
    rename = patch_body({"op": "replace", "path": "displayName", "value": "R&D"})
    renamed = await cost(scim, lambda: scim.patch(f"/Groups/{group['id']}", rename))
    assert (renamed.reads, renamed.writes) == (1, 1)
