"""app.store.audit_search against a plain Python reading of the same events: every filter,
both paging directions, a window small enough that the index fallback runs, and times out of
id order (a clock stepped back); and the query plans that keep a page cheap."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.db import Tx
from app.migrate import migrations
from app.store import audit_search
from app.store.audit import AuditEvent, from_row
from app.store.audit_search import Filter

ACTIONS = ("user.create", "user.patch", "user.create.jit", "group.patch", "token.revoke", "users.x")


@pytest.fixture
def tx(tmp_path: Path) -> Iterator[Tx]:
    conn = sqlite3.connect(tmp_path / "search.db")
    conn.row_factory = sqlite3.Row
    for _, _, sql in migrations():
        conn.executescript(sql)
    rng = random.Random(7)
    rows = []
    for i in range(600):
        minute = i // 3 - (30 if i % 97 == 50 else 0)  # now and then the clock went back
        action = rng.choices(ACTIONS, (50, 30, 5, 10, 1, 4))[0]
        rows.append(
            (
                f"2026-05-{1 + minute // 1440:02d}T{minute // 60 % 24:02d}:{minute % 60:02d}:00Z",
                rng.choice(("cli", "token:a", "token:b", "user:u")),
                action,
                "user",
                f"u{rng.randrange(20)}",
                f"r{i % 200}",
            )
        )
    conn.executemany(
        "INSERT INTO audit_events (at, actor, action, target_type, target_id, request_id)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    yield Tx(conn)
    conn.close()


def matches(e: AuditEvent, f: Filter) -> bool:
    if f.action and not (
        e.action.startswith(f.action) if f.action.endswith(".") else e.action == f.action
    ):
        return False
    if f.actors is not None and e.actor not in f.actors:
        return False
    if f.targets is not None and (e.target_type, e.target_id) not in f.targets:
        return False
    if (f.since and e.at < f.since) or (f.until and e.at >= f.until):
        return False
    return f.request_id is None or e.request_id == f.request_id


FILTERS = [
    Filter(),
    Filter(action="user."),
    Filter(action="token."),
    Filter(action="user.create"),
    Filter(actors=("token:a",)),
    Filter(actors=("token:a", "cli")),
    Filter(targets=(("user", "u3"), ("user", "u4"))),
    Filter(request_id="r17"),
    Filter(since="2026-05-01T10:00:00Z", until="2026-05-01T11:00:00Z"),
    Filter(action="group.", since="2026-05-01T02:00:00Z"),
    Filter(action="token.", until="2026-05-01T05:00:00Z"),
    Filter(actors=()),
]


@pytest.mark.parametrize("window", [7, 20_000])
@pytest.mark.parametrize("where", FILTERS)
def test_pages_both_ways_are_the_plain_reading(
    tx: Tx, where: Filter, window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_search, "WINDOW", window)
    every = tx.fetch_all("SELECT * FROM audit_events ORDER BY id DESC")
    expected = [e.id for e in map(from_row, every) if matches(e, where)]
    # Older, page after page, then newer again from the oldest page.
    pages: list[list[int]] = []
    before = None
    while True:
        found = audit_search.page(tx, where, limit=25, before=before)
        pages.append([e.id for e in found.events])
        assert found.newer == (before is not None)
        if not found.older:
            break
        before = found.events[-1].id
    assert [i for p in pages for i in p] == expected
    for newer_page in reversed(pages[:-1]):
        after = pages[pages.index(newer_page) + 1][0]
        assert [e.id for e in audit_search.page(tx, where, limit=25, after=after).events] == (
            newer_page
        )
    batch = audit_search.batch(tx, where, before=None, limit=10_000)
    assert [e.id for e in batch.events] == expected


def _plans(tx: Tx, where: Filter) -> list[str]:
    """The query plans of the statements one page runs."""
    statements: list[str] = []
    conn = tx._conn
    conn.set_trace_callback(statements.append)
    try:
        audit_search.page(tx, where, limit=50)
    finally:
        conn.set_trace_callback(None)
    return [
        " | ".join(str(r[-1]) for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        for sql in statements
    ]


@pytest.mark.parametrize(
    ("where", "index"),
    [
        (Filter(request_id="r1"), "audit_events_request"),
        (Filter(actors=("cli",)), "audit_events_actor"),
        (Filter(action="user.create"), "audit_events_action"),
        (Filter(targets=(("user", "u1"),)), "audit_events_target"),
    ],
)
def test_an_equality_page_reads_its_index_and_sorts_nothing(
    tx: Tx, where: Filter, index: str
) -> None:
    plan = _plans(tx, where)[0]  # the page itself; then the names
    assert index in plan and "TEMP B-TREE" not in plan, plan


def test_a_family_page_walks_ids_and_sorts_nothing_when_the_window_fills(tx: Tx) -> None:
    plans = _plans(tx, Filter(action="user."))
    assert plans and all("TEMP B-TREE" not in p for p in plans), plans
