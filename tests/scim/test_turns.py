"""Concurrent PATCHes of one resource take turns (a lock per resource id in the process) instead
of starting over or giving up with 409; every one is applied, each on the version before it."""

from __future__ import annotations

import anyio
import pytest

from tests.scim.client import Scim
from tests.scim.wire import group_body, patch_body, user_body

pytestmark = pytest.mark.anyio


async def test_many_patches_of_one_user_all_apply(scim: Scim) -> None:
    user = await scim.create_user(user_body())
    path = f"/Users/{user['id']}"
    statuses: list[int] = []

    async def rename(i: int) -> None:
        body = patch_body({"op": "replace", "path": "nickName", "value": f"n{i}"})
        statuses.append((await scim.patch(path, body)).status_code)

    async with anyio.create_task_group() as tg:
        for i in range(32):
            tg.start_soon(rename, i)
    assert statuses == [200] * 32
    row = await scim.user_row(user["id"])
    assert row is not None and row["version"] == 1 + 32  # each on the version before it
    assert len(await scim.events("user.patch")) == 32
    assert len(scim.app.state.services.resource_locks) == 0  # no lock outlives its holders


async def test_many_renames_of_one_group_all_apply(scim: Scim) -> None:
    group = (await scim.post("/Groups", group_body("G"))).json()
    statuses: list[int] = []

    async def rename(i: int) -> None:
        body = patch_body({"op": "replace", "path": "displayName", "value": f"G{i}"})
        statuses.append((await scim.patch(f"/Groups/{group['id']}", body)).status_code)

    async with anyio.create_task_group() as tg:
        for i in range(32):
            tg.start_soon(rename, i)
    assert statuses == [200] * 32
    assert len(await scim.events("group.patch")) == 32
