"""One token holder can never stall the service: each request of the review that found the
problem (issue 9's table) goes to the real server on 127.0.0.1 while another client polls
/healthz. The answer is checked (never a 5xx) and /healthz must keep answering: a liveness
bound of half a second, far above its usual milliseconds, not a benchmark."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.conftest import cli_token, config_data, free_port, serve_process, write_toml
from tests.scim.wire import SEARCH_URN, USER_URN, members_op, patch_body

pytestmark = pytest.mark.anyio

USERS = 3000
LIVENESS = 0.5  # seconds: /healthz must answer within this while any request runs


@dataclass
class Live:
    base: str
    token: str
    config: Path
    users: list[str]  # ids of seeded users, each test taking its own
    group: str
    taken: int = 0
    healthz: list[float] = field(default_factory=list)

    def take(self, n: int = 1) -> list[str]:
        chosen = self.users[self.taken : self.taken + n]
        self.taken += n
        return chosen

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/scim+json"}
        return httpx.AsyncClient(base_url=self.base, headers=headers, timeout=60, **kwargs)


def _seed(db: Path) -> tuple[list[str], str]:
    ids = [str(uuid.uuid4()) for _ in range(USERS)]
    stamp = "2026-01-01T00:00:00Z"
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO users (id, user_name, email, resource, created, last_modified)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    uid,
                    f"u{i}@example.com",
                    f"u{i}@example.com",
                    json.dumps(
                        {
                            "schemas": [USER_URN],
                            "userName": f"u{i}@example.com",
                            "emails": [{"value": f"u{i}@example.com", "primary": True}],
                            "addresses": [{"streetAddress": f"{i} Main St", "locality": "Town"}],
                        }
                    ),
                    stamp,
                    stamp,
                )
                for i, uid in enumerate(ids)
            ],
        )
        group = str(uuid.uuid4())
        conn.execute(
            "INSERT INTO groups (id, display_name, resource, created, last_modified)"
            " VALUES (?, 'Big', '{}', ?, ?)",
            (group, stamp, stamp),
        )
    return ids, group


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("hostile")
    port = free_port()
    data = config_data(folder / "webrix.db")
    data["server"]["public_url"] = f"http://127.0.0.1:{port}"
    config = write_toml(folder / "config.toml", data)
    token = cli_token(config, "jumpcloud")  # also creates and migrates the database
    ids, group = _seed(folder / "webrix.db")
    with serve_process(config, port):
        yield Live(f"http://127.0.0.1:{port}", token, config, ids, group)


@asynccontextmanager
async def watched(live: Live) -> AsyncIterator[None]:
    """Poll /healthz every 20 ms while the block runs; fail if any answer took too long."""
    latencies: list[float] = []
    in_flight: list[float] = []  # when the request under way, if any, was sent
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as poller:

        async def poll() -> None:
            while True:
                in_flight[:] = [time.perf_counter()]
                response = await poller.get("/healthz")
                assert response.status_code == 200
                latencies.append(time.perf_counter() - in_flight.pop())
                await anyio.sleep(0.02)

        async with anyio.create_task_group() as tg:
            tg.start_soon(poll)
            await anyio.sleep(0.05)
            yield
            await anyio.sleep(0.05)
            if in_flight:  # a stall that began late counts too: the wait so far
                latencies.append(time.perf_counter() - in_flight[0])
            tg.cancel_scope.cancel()
    assert latencies, "the poller never got an answer"
    assert max(latencies) < LIVENESS, f"/healthz waited {max(latencies):.2f} s"


def refused(response: httpx.Response, status: int, key: str) -> None:
    assert response.status_code == status, response.text[:500]
    body = response.json()
    assert body["status"] == str(status)
    assert f"[scim] {key}" in body["detail"], body


NAMES = [f"name{i}" for i in range(2000)]


@pytest.mark.parametrize("selection", ["excludedAttributes", "attributes"])
async def test_a_search_naming_thousands_of_attributes(live: Live, selection: str) -> None:
    body = {"schemas": [SEARCH_URN], "count": 1000, selection: NAMES}
    async with live.client() as client, watched(live):
        refused(await client.post("/scim/v2/Users/.search", json=body), 400, "max_attribute_names")
        # The most allowed, on a full page, is answered.
        allowed = {**body, selection: NAMES[:100]}
        response = await client.post("/scim/v2/Users/.search", json=allowed)
        assert response.status_code == 200 and len(response.json()["Resources"]) == 200


def emails(n: int, prefix: str) -> list[dict[str, Any]]:
    return [{"value": f"{prefix}{i}@example.com", "type": "other"} for i in range(n)]


async def test_a_patch_adding_thousands_of_emails(live: Live) -> None:
    (user,) = live.take()
    too_many = patch_body({"op": "add", "path": "emails", "value": emails(4000, "x")})
    the_most = patch_body({"op": "add", "path": "emails", "value": emails(99, "y")})
    async with live.client() as client, watched(live):
        refused(await client.patch(f"/scim/v2/Users/{user}", json=too_many), 400, "max_values")
        # With the one it has: the limit.
        assert (await client.patch(f"/scim/v2/Users/{user}", json=the_most)).status_code == 200


async def test_patches_with_thousands_of_operations(live: Live) -> None:
    (user,) = live.take()
    path = f"/scim/v2/Users/{user}"
    removals = [
        {"op": "remove", "path": f'emails[value eq "x{i}@example.com"]'} for i in range(2000)
    ]
    replaces = [{"op": "replace", "path": "displayName", "value": f"n{i}"} for i in range(5000)]
    async with live.client() as client, watched(live):
        for ops in (removals, replaces):
            refused(await client.patch(path, json=patch_body(*ops)), 400, "max_operations")
        # The most allowed, each scanning the most values allowed, is answered.
        add = {"op": "add", "path": "emails", "value": emails(99, "z")}
        added = await client.patch(path, json=patch_body(add))
        assert added.status_code == 200 and len(added.json()["emails"]) == 100
        # An operation and each comparison of its path filter count one each: 100 such
        # operations are the most, each scanning the most values allowed.
        scans = [
            {"op": "remove", "path": f'emails[value eq "z{i}@example.com"]'} for i in range(99)
        ]
        response = await client.patch(path, json=patch_body(*scans))
        assert response.status_code == 200, response.text
        assert len(response.json()["emails"]) == 1
        more = [
            {"op": "remove", "path": f'emails[value eq "q{i}@example.com"]'} for i in range(101)
        ]
        refused(await client.patch(path, json=patch_body(*more)), 400, "max_operations")


async def test_deeply_nested_bodies(live: Live) -> None:
    value: Any = "x"
    for _ in range(900):
        value = {"a": value}
    body = {"schemas": [USER_URN], "userName": "deep@example.com", "urn:example:ext": {"v": value}}
    async with live.client() as client, watched(live):
        refused(await client.post("/scim/v2/Users", json=body), 400, "max_json_depth")
        for raw in (b"[" * 40_000, b'{"a":' * 40_000):
            refused(await client.post("/scim/v2/Users", content=raw), 400, "max_json_depth")
        # Deeper still, and the count of values is what refuses it (before any bracket counting).
        refused(await client.post("/scim/v2/Users", content=b"[" * 100_000), 400, "max_json_values")


async def test_bodies_of_many_small_values(live: Live) -> None:
    """Cheap to send, costly to parse (a review found 0.6 s of the loop for one body): refused
    by counting before parsing, wherever the values sit (even in attributes never read)."""
    async with live.client() as client, watched(live):
        for junk in ([0] * 60_000, [[]] * 60_000, [{}] * 60_000):
            body = {"schemas": [USER_URN], "userName": "junk@example.com", "junk": junk}
            refused(await client.post("/scim/v2/Users", json=body), 400, "max_json_values")
        number = b'{"userName": "n@example.com", "x": ' + b"1" * 19 + b"}"
        refused(await client.post("/scim/v2/Users", content=number), 400, "max_integer_digits")


async def test_a_fat_extension_is_refused_before_it_is_stored(live: Live) -> None:
    """An unknown extension is kept as sent: its size is what bounds every later read of it."""
    fat = {"schemas": [USER_URN], "userName": "fat@example.com", "urn:x:fat": {"a": "x" * 70_000}}
    async with live.client() as client, watched(live):
        refused(await client.post("/scim/v2/Users", json=fat), 400, "max_resource_bytes")
        slim = {**fat, "urn:x:fat": {"a": "x" * 60_000}}
        created = await client.post("/scim/v2/Users", json=slim)
        assert created.status_code == 201, created.text[:300]
        path = f"/scim/v2/Users/{created.json()['id']}"
        grow = patch_body({"op": "add", "path": "displayName", "value": "y" * 10_000})
        refused(await client.patch(path, json=grow), 400, "max_resource_bytes")


async def test_huge_request_headers_are_refused_unread(live: Live) -> None:
    cookie = "; ".join(f"c{i}=v" for i in range(200_000))  # about 2 MB, no token needed
    async with httpx.AsyncClient(base_url=live.base, timeout=60) as client, watched(live):
        response = await client.get("/api/auth/session", headers={"Cookie": cookie})
        assert response.status_code == 431
        assert "[scim] max_header_bytes" in response.json()["message"]


async def test_indexes_of_thousands_of_digits(live: Live) -> None:
    async with live.client() as client, watched(live):
        for name in ("startIndex", "count"):
            response = await client.get("/scim/v2/Users", params={name: "9" * 5000})
            refused(response, 400, "max_integer_digits")


async def test_filters_of_many_value_filters(live: Live) -> None:
    many = " or ".join(['addresses[streetAddress co "zz" or locality co "q"]'] * 72)
    costly = " or ".join(['addresses[streetAddress co "zz" or locality co "q"]'] * 5)
    async with live.client() as client, watched(live):
        response = await client.get("/scim/v2/Users", params={"filter": many})
        refused(response, 400, "max_value_filters")
        # The costliest filter allowed, three at once (more than there are readers): answered
        # or stopped by the query budget, and meanwhile a token never seen before is checked
        # on the lookup connection (a bad body then stops the request before any read).
        fresh = await anyio.to_thread.run_sync(cli_token, live.config, "fresh")
        answers: list[int] = []

        async def heavy() -> None:
            answers.append(
                (await client.get("/scim/v2/Users", params={"filter": costly})).status_code
            )

        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(heavy)
            await anyio.sleep(0.01)
            started = time.perf_counter()
            checked = await client.post(
                "/scim/v2/Users", content=b"{", headers={"Authorization": f"Bearer {fresh}"}
            )
            assert checked.status_code == 400  # past the token check: the token was known
            assert time.perf_counter() - started < LIVENESS * 2
        assert set(answers) <= {200, 400}, answers


async def test_a_patch_adding_two_thousand_members(live: Live) -> None:
    body = patch_body(members_op("add", *live.take(2000)))
    async with live.client() as client, watched(live):
        response = await client.patch(f"/scim/v2/Groups/{live.group}", json=body)
        assert response.status_code in (200, 204), response.text
        group = await client.get(f"/scim/v2/Groups/{live.group}")
        assert len(group.json()["members"]) == 2000


async def test_a_url_of_thirty_thousand_characters(live: Live) -> None:
    async with live.client() as client, watched(live):
        response = await client.get("/scim/v2/Users", params={"attributes": "a" * 30_000})
        refused(response, 414, "max_url_bytes")


async def test_made_up_tokens_are_slowed_and_nobody_else(live: Live) -> None:
    made_up = {"Authorization": "Bearer wxt_" + "m" * 43}
    # Another address (127.0.0.2 is loopback too) with the real token.
    other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with live.client() as client, live.client(transport=other) as neighbour, watched(live):
        statuses = [
            (await client.get("/scim/v2/Users", params={"count": "0"}, headers=made_up)).status_code
            for _ in range(60)
        ]
        assert statuses[:10] == [401] * 10 and statuses[-1] == 429, statuses
        limited = await client.get("/scim/v2/Users", headers=made_up)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert (await neighbour.get("/scim/v2/Users", params={"count": "0"})).status_code == 200
        # Even a good token from the slowed address goes through: only failures are counted.
        assert (await client.get("/scim/v2/Users", params={"count": "0"})).status_code == 200
