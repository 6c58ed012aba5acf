"""Group commit: the writes waiting at one moment share one transaction and one round trip.

SQLite commits one transaction at a time; what a commit costs (writing its pages to the WAL,
and now and then a checkpoint) does not grow with the rows in it. So while one batch is being
written, the writes that arrive queue up, and the next round trip takes all of them: `BEGIN
IMMEDIATE`, each write inside its own `SAVEPOINT` (a write that raises is undone alone and its
caller gets the exception), `COMMIT`. No caller hears of success before that `COMMIT` has
returned; if the `COMMIT` (or SQLite itself) fails, every write of the batch fails with it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_BATCH = 64  # writes per transaction: bounds how long one batch keeps the others waiting


@dataclass
class Write:
    """One queued write: `fn(tx, *args, **kwargs)` and what it came to."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    future: asyncio.Future[Any]
    ok: bool = False
    result: Any = None
    error: BaseException | None = None
    statements: int = 0
    changes: set[str] = field(default_factory=set)


def run_batch(conn: sqlite3.Connection, batch: list[Write], make_tx: Callable[..., Any]) -> None:
    """Run `batch` in one transaction on the writer's thread, filling in each `Write`.

    Raises (after rolling back) only when the transaction as a whole fails."""
    savepoints = len(batch) > 1  # alone, a write needs none: the transaction is its own
    conn.execute("BEGIN IMMEDIATE")
    try:
        for write in batch:
            tx = make_tx(conn)
            if savepoints:
                conn.execute("SAVEPOINT write")
            try:
                write.result = write.fn(tx, *write.args, **write.kwargs)
            except Exception as exc:
                if not conn.in_transaction:
                    raise  # SQLite rolled the whole transaction back (e.g. disk full)
                conn.execute("ROLLBACK TO write" if savepoints else "ROLLBACK")
                if savepoints:
                    conn.execute("RELEASE write")
                write.error = exc
            else:
                if savepoints:
                    conn.execute("RELEASE write")
                write.ok, write.changes = True, tx.changes
            write.statements = tx.statements
        if conn.in_transaction:  # a lone write that failed was rolled back already
            conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        for write in batch:
            write.ok, write.result = False, None
        raise
