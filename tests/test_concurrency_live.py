"""Concurrent writers against the real server: eight SCIM clients, 300 mixed writes each, never a
5xx or "database is locked", and what the server stores is exactly what its 2xx answers said."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.conftest import cli_token, config_data, free_port, serve_process, write_toml
from tests.scim.wire import members_op, patch_body, user_body

pytestmark = pytest.mark.anyio

CLIENTS, WRITES = 8, 300


@dataclass
class Expected:
    """What the 2xx answers one client received say the server holds."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> displayName, active
    deleted: set[str] = field(default_factory=set)
    members: set[str] = field(default_factory=set)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    port = free_port()
    data = config_data(tmp_path / "webrix.db")
    data["server"]["public_url"] = f"http://127.0.0.1:{port}"
    config = write_toml(tmp_path / "config.toml", data)
    token = cli_token(config, "jumpcloud")
    with serve_process(config, port) as process:
        yield f"http://127.0.0.1:{port}", token
        output = process.output()
    assert "locked" not in output and "Traceback" not in output, output[-3000:]


async def _client_writes(
    http: httpx.AsyncClient, n: int, group: str, expected: Expected, problems: list[str]
) -> None:
    rng = random.Random(n)
    for step in range(WRITES):
        live = [u for u in expected.users if u not in expected.deleted]
        kind = rng.choice(["create"] * 3 + ["rename", "active", "put", "delete", "join", "leave"])
        if kind != "create" and not live:
            kind = "create"
        target = rng.choice(live) if live else ""
        display = f"c{n}-s{step}"
        if kind == "create":
            response = await http.post(
                "/scim/v2/Users", json=user_body(f"c{n}-{step}@x.com", displayName=display)
            )
        elif kind == "rename":
            ops = patch_body({"op": "replace", "path": "displayName", "value": display})
            response = await http.patch(f"/scim/v2/Users/{target}", json=ops)
        elif kind == "active":
            active = not expected.users[target]["active"]
            ops = patch_body({"op": "replace", "path": "active", "value": active})
            response = await http.patch(f"/scim/v2/Users/{target}", json=ops)
        elif kind == "put":
            name = (await http.get(f"/scim/v2/Users/{target}")).json()["userName"]
            response = await http.put(
                f"/scim/v2/Users/{target}", json=user_body(name, displayName=display)
            )
        elif kind == "delete":
            response = await http.delete(f"/scim/v2/Users/{target}")
        else:
            op = "add" if kind == "join" else "remove"
            ops = patch_body(members_op(op, target))
            response = await http.patch(
                f"/scim/v2/Groups/{group}", json=ops, params={"excludedAttributes": "members"}
            )
        if response.status_code >= 500 or "locked" in response.text:
            problems.append(f"{kind}: {response.status_code} {response.text[:300]}")
            continue
        assert response.is_success, (kind, response.status_code, response.text)
        if kind == "create":
            expected.users[response.json()["id"]] = {"displayName": display, "active": True}
        elif kind in ("rename", "put"):
            expected.users[target] = {
                "displayName": display,
                "active": True if kind == "put" else expected.users[target]["active"],
            }
        elif kind == "active":
            expected.users[target]["active"] = not expected.users[target]["active"]
        elif kind == "delete":
            expected.deleted.add(target)
            expected.members.discard(target)
        elif kind == "join":
            expected.members.add(target)
        else:
            expected.members.discard(target)


async def test_concurrent_writers_lose_nothing(server: tuple[str, str]) -> None:
    base, token = server
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        created = await http.post("/scim/v2/Groups", json={"displayName": "Everyone"})
        group = created.json()["id"]
        expected = [Expected() for _ in range(CLIENTS)]
        problems: list[str] = []
        async with anyio.create_task_group() as tg:
            for n in range(CLIENTS):
                client = httpx.AsyncClient(base_url=base, headers=headers, timeout=60)
                tg.start_soon(_run, client, n, group, expected[n], problems)
        assert problems == []
        members: set[str] = set()
        for state in expected:
            members |= state.members
            for user_id, wanted in state.users.items():
                response = await http.get(f"/scim/v2/Users/{user_id}")
                if user_id in state.deleted:
                    assert response.status_code == 404
                    continue
                stored = response.json()
                got = {"displayName": stored["displayName"], "active": stored["active"]}
                assert got == wanted, user_id
        stored_group = (await http.get(f"/scim/v2/Groups/{group}")).json()
        assert {m["value"] for m in stored_group.get("members", [])} == members


async def _run(
    client: httpx.AsyncClient, n: int, group: str, expected: Expected, problems: list[str]
) -> None:
    async with client:
        await _client_writes(client, n, group, expected, problems)


async def test_two_patches_with_one_if_match_give_exactly_one_412(
    server: tuple[str, str],
) -> None:
    base, token = server
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        for attempt in range(10):
            user = (
                await http.post(
                    "/scim/v2/Users", json=user_body(f"m{attempt}@x.com", displayName="x")
                )
            ).json()
            etag = user["meta"]["version"]
            statuses: list[int] = []

            async def change(
                value: str, user_id: str = user["id"], etag: str = etag, into: list[int] = statuses
            ) -> None:
                ops = patch_body({"op": "replace", "path": "displayName", "value": value})
                response = await http.patch(
                    f"/scim/v2/Users/{user_id}", json=ops, headers={"If-Match": etag}
                )
                into.append(response.status_code)

            async with anyio.create_task_group() as tg:
                tg.start_soon(change, "first")
                tg.start_soon(change, "second")
            assert sorted(statuses) == [200, 412], statuses
