"""Group commit: writes queued together share a transaction, yet each succeeds or fails alone,
and none is acknowledged before the COMMIT that makes it durable."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from app.db import Database, Tx
from app.store import audit

pytestmark = pytest.mark.anyio


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(str(tmp_path / "w.db"))
    try:
        yield database
    finally:
        await database.close()


def record(tx: Tx, action: str) -> str:
    audit.record(tx, actor="test", action=action)
    return action


def record_then_fail(tx: Tx, action: str) -> None:
    audit.record(tx, actor="test", action=action)
    raise ValueError(f"{action} refused")


def record_then_break_the_commit(tx: Tx, action: str) -> None:
    """A write whose statements succeed but whose COMMIT cannot (a deferred foreign key)."""
    audit.record(tx, actor="test", action=action)
    tx.execute("PRAGMA defer_foreign_keys = ON")
    tx.execute("INSERT INTO group_members (group_id, user_id) VALUES ('no-group', 'no-user')")


async def actions(db: Database) -> list[str]:
    return sorted(r[0] for r in await db.fetch_all("SELECT action FROM audit_events"))


async def run_together(db: Database, *writes: tuple[object, str]) -> dict[str, object]:
    """Start every write at once (they queue before the first batch starts); their outcomes."""
    outcomes: dict[str, object] = {}

    async def one(fn: object, action: str) -> None:
        try:
            outcomes[action] = await db.write(fn, action)  # type: ignore[arg-type]
        except Exception as exc:
            outcomes[action] = exc

    async with anyio.create_task_group() as tg:
        for fn, action in writes:
            tg.start_soon(one, fn, action)
    return outcomes


async def test_concurrent_writes_share_transactions(db: Database) -> None:
    outcomes = await run_together(db, *((record, f"w{i}") for i in range(50)))
    assert outcomes == {f"w{i}": f"w{i}" for i in range(50)}
    assert await actions(db) == sorted(f"w{i}" for i in range(50))
    assert db.stats.writes < 50  # batched: fewer round trips than writes


async def test_a_failing_write_is_undone_alone(db: Database) -> None:
    outcomes = await run_together(
        db, (record, "before"), (record_then_fail, "bad"), (record, "after")
    )
    assert outcomes["before"] == "before" and outcomes["after"] == "after"
    assert isinstance(outcomes["bad"], ValueError)
    assert await actions(db) == ["after", "before"]  # nothing of "bad"
    assert db.stats.writes == 1  # and all three were in one transaction


async def test_a_failed_commit_fails_every_write_of_the_batch(db: Database) -> None:
    outcomes = await run_together(
        db, (record, "a"), (record_then_break_the_commit, "breaks"), (record, "b")
    )
    for action in ("a", "breaks", "b"):
        assert isinstance(outcomes[action], sqlite3.IntegrityError), outcomes
    assert await actions(db) == []  # nobody was told "done" for what was not committed
    assert await db.write(record, "later") == "later"  # and the writer goes on


async def test_a_lone_failing_write_leaves_nothing(db: Database) -> None:
    with pytest.raises(ValueError):
        await db.write(record_then_fail, "alone")
    assert await actions(db) == []


async def test_a_caller_that_gives_up_does_not_undo_its_write(db: Database) -> None:
    with anyio.move_on_after(0):  # cancelled at its first await, the write already queued
        await db.write(record, "abandoned")
    assert await db.write(record, "next") == "next"  # queued behind it: it was committed
    assert await actions(db) == ["abandoned", "next"]
