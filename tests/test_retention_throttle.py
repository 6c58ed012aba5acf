"""Audit retention, enforced a batch at a time; unknown sign-in states tallied, not audited one
row each, and slowed per address."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from app.config import Config
from app.db import Tx
from app.services import Services
from app.store import audit
from tests.auth.sso import CALLBACK, sso_app

pytestmark = pytest.mark.anyio


async def test_old_audit_events_are_deleted_in_short_batches(
    make_config: Callable[..., Config],
) -> None:
    async with sso_app(make_config, audit={"retention_days": 30}) as sso:
        svc: Services = sso.app.state.services

        def old_events(tx: Tx) -> None:
            tx.execute_many(
                "INSERT INTO audit_events (at, actor, action) VALUES (?, 'test', 'old')",
                [("2020-01-01T00:00:00Z",)] * 2500,
            )
            audit.record(tx, actor="test", action="recent")

        await sso.db.write(old_events)
        writes = sso.db.stats.writes
        assert await svc.enforce_retention(batch=1000) == 2500
        assert sso.db.stats.writes - writes == 3  # 1,000 + 1,000 + 500: never one long lock
        left = [e.action for e in await sso.db.read(audit.recent, limit=10)]
        assert left == ["recent"]
        assert await svc.enforce_retention() == 0


async def test_unknown_states_are_tallied_and_slowed_per_address(
    make_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="webrix")
    async with sso_app(make_config) as sso:
        params = {"code": "x", "state": "made-up-state-1234"}
        statuses = [(await sso.client.get(CALLBACK, params=params)).status_code for _ in range(12)]
        assert statuses[:10] == [400] * 10 and statuses[-1] == 429, statuses
        limited = await sso.client.get(CALLBACK, params=params)
        assert int(limited.headers["Retry-After"]) >= 1
        assert "text/html" in limited.headers["content-type"]
        assert await sso.events("auth.signin.refused") == []  # not one audit row
        assert sso.services.unknown_states.total == 13
        tallies = [r for r in caplog.records if "unknown or used state" in r.getMessage()]
        assert len(tallies) == 1  # one line for the burst, not thirteen
        # Another address signs in as usual meanwhile.
        other = httpx.ASGITransport(app=sso.app, client=("127.0.0.2", 40000))
        async with httpx.AsyncClient(transport=other, base_url=str(sso.client.base_url)) as client:
            sso.client, saved = client, sso.client
            try:
                await sso.signed_in()
            finally:
                sso.client = saved
