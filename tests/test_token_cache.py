"""The API token cache: no round trip for a known token, yet a revocation is seen at once in this
process and within a second when `webrix token revoke` runs in another."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from app.config import Config
from app.store import tokens
from app.store.tokens import ApiToken, TokenCache
from tests.conftest import config_data, webrix, write_toml
from tests.scim.client import scim_app

pytestmark = pytest.mark.anyio


async def test_a_token_revoked_by_the_cli_is_refused_within_a_second(
    make_config: Callable[..., Config], tmp_path: Path
) -> None:
    async with scim_app(make_config) as scim:
        assert (await scim.get("/Users")).status_code == 200
        reads = scim.db.stats.reads
        assert (await scim.get("/Users")).status_code == 200
        assert scim.db.stats.reads == reads + 1  # the page only: the token came from the cache

        cli_config = write_toml(tmp_path / "cli.toml", config_data(tmp_path / "webrix.db"))
        revoked = await anyio.to_thread.run_sync(
            lambda: webrix("--config", str(cli_config), "token", "revoke", scim.token_id)
        )
        assert revoked.returncode == 0, revoked.stderr
        started = time.monotonic()
        while (await scim.get("/Users")).status_code == 200:
            assert time.monotonic() - started < 1.0, "still accepted a second after revocation"
            await anyio.sleep(0.05)
        assert (await scim.get("/Users")).status_code == 401


async def test_a_token_revoked_in_this_process_is_refused_at_once(
    make_config: Callable[..., Config],
) -> None:
    async with scim_app(make_config) as scim:
        assert (await scim.get("/Users")).status_code == 200
        await scim.db.write(tokens.revoke, scim.token_id)
        assert (await scim.get("/Users")).status_code == 401


class SlowReads:
    """A stand-in database whose token read returns only when told to."""

    def __init__(self, token: ApiToken) -> None:
        self.token = token
        self.release = anyio.Event()
        self.listeners: list[Callable[[], None]] = []

    def on_change(self, table: str, listener: Callable[[], None]) -> None:
        self.listeners.append(listener)

    async def lookup(self, fn: object, *args: object) -> ApiToken:
        await self.release.wait()
        return self.token


async def test_a_read_racing_a_revocation_is_not_cached() -> None:
    token = ApiToken("id1", "t", "wxt_abcdefgh", ("admin:scim",), "2026", None, None, None)
    slow = SlowReads(token)
    cache = TokenCache(slow)  # type: ignore[arg-type]
    plaintext = "wxt_" + "a" * 43
    async with anyio.create_task_group() as tg:
        tg.start_soon(cache.find, plaintext)
        await anyio.sleep(0.01)  # the read is in flight ...
        for listener in slow.listeners:
            listener()  # ... when a revocation commits
        slow.release.set()
    assert cache.cached(plaintext) is None  # the row read before it must not be kept
    assert await cache.find(plaintext) is token  # (a fresh read is cached again)
    assert cache.cached(plaintext) is token


async def test_unknown_tokens_are_never_cached(make_config: Callable[..., Config]) -> None:
    async with scim_app(make_config) as scim:
        made_up = "wxt_" + "x" * 43
        for _ in range(3):
            reads = scim.db.stats.reads
            assert (await scim.get("/Users", token=made_up)).status_code == 401
            assert scim.db.stats.reads == reads + 1  # asked every time: nothing to fill a cache
