"""SQLite access: connections, migrations, transactions, online backup.

Every call into the database is one round trip: a plain function runs on a connection's own
thread (aiosqlite's), all its statements back to back, and hands back one result. A hand-off
between the event loop and a database thread costs more than an indexed query, so a request
makes as few as it can: `read(fn, …)` runs `fn` in one snapshot on a read-only connection,
`write(fn, …)` runs `fn` in one `BEGIN IMMEDIATE … COMMIT` on the single writer connection
(whose queue is the one write lock of this process; `busy_timeout` waits for writers in other
processes, such as the CLI). Knows nothing of any table's meaning.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite

from app.files import create_private
from app.group_commit import MAX_BATCH, Write, run_batch
from app.migrate import BUSY_TIMEOUT_MS, DatabaseError, migrate

__all__ = ["Database", "DatabaseError", "DatabaseUnavailable", "QueryTimeout", "Row", "Stats", "Tx"]

Row = sqlite3.Row
Params = Sequence[Any] | dict[str, Any]
PROBE_SECONDS = 5.0  # while writes fail, how often `writable` may try one of its own
P = ParamSpec("P")
T = TypeVar("T")


class DatabaseUnavailable(Exception):
    """SQLite refused the work for a reason of its own (disk full, file read-only, locked by
    another process for too long, I/O error): worth retrying later, not the caller's fault."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class QueryTimeout(Exception):
    """A read ran past the query budget and was interrupted (a client's too costly filter)."""

    def __init__(self, budget: float) -> None:
        super().__init__(f"the query ran past its budget of {budget:g} s")
        self.budget = budget


def unavailable(exc: sqlite3.Error) -> DatabaseUnavailable:
    """What to tell an operator about an SQLite error that is not the request's fault."""
    text = str(exc).lower()
    if "full" in text:
        reason = "the disk is full: free space where the database lives"
    elif "readonly" in text or "read-only" in text:
        reason = "the database file is read-only: check its permissions and the volume"
    elif "locked" in text or "busy" in text:
        reason = "another process holds the database's write lock"
    else:
        reason = f"the database failed: {exc}"
    return DatabaseUnavailable(reason)


class _Budget:
    """A reader's progress handler: interrupts a statement running past its deadline."""

    __slots__ = ("deadline",)

    def __init__(self) -> None:
        self.deadline = math.inf

    def __call__(self) -> int:
        return 1 if time.monotonic() > self.deadline else 0


class Tx:
    """One connection, used only on its own thread: what store functions are given.

    Counts the statements it runs, and collects the tables a write marked as changed
    (`changed`) so that in-process caches hear of it once the transaction has committed.
    """

    __slots__ = ("_conn", "changes", "statements")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.statements = 0
        self.changes: set[str] = set()

    def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        self.statements += 1
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        self.statements += 1
        return self._conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        self.statements += 1
        return self._conn.execute(sql, params).rowcount

    def execute_many(self, sql: str, rows: Iterable[Params]) -> int:
        """Run one statement once per parameter set (one prepared statement)."""
        self.statements += 1
        return self._conn.executemany(sql, rows).rowcount

    def changed(self, table: str) -> None:
        """Tell this process's listeners that `table` changed, once the write commits."""
        self.changes.add(table)


@dataclass
class Stats:
    """Round trips to database threads and statements run, since the database was opened."""

    reads: int = 0
    writes: int = 0
    statements: int = 0

    @property
    def round_trips(self) -> int:
        return self.reads + self.writes


async def _on_thread(conn: aiosqlite.Connection, job: Callable[[sqlite3.Connection], T]) -> T:
    """Run `job(connection)` on the connection's own thread: exactly one round trip.

    aiosqlite runs each queued callable on its thread in order; `_execute` is how its own
    public methods queue theirs. Using it for a whole unit of work is what keeps a request to
    one hand-off instead of three per statement (execute, fetch, close).
    """
    result: T = await conn._execute(lambda: job(conn._conn))  # type: ignore[no-untyped-call]
    return result


def _read_job(
    fn: Callable[..., T],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    budget: _Budget | None = None,
    seconds: float = math.inf,
) -> Callable[[sqlite3.Connection], tuple[T, int]]:
    def job(conn: sqlite3.Connection) -> tuple[T, int]:
        tx = Tx(conn)
        if budget is not None:
            budget.deadline = time.monotonic() + seconds
        conn.execute("BEGIN")  # one snapshot for every statement of `fn`
        try:
            return fn(tx, *args, **kwargs), tx.statements
        finally:
            if budget is not None:
                budget.deadline = math.inf
            if conn.in_transaction:  # an interrupted statement may have ended it already
                conn.execute("COMMIT")

    return job


class Database:
    """The service's SQLite file, opened by `Database.open(path)`."""

    def __init__(
        self,
        path: str,
        writer: aiosqlite.Connection,
        readers: list[aiosqlite.Connection],
        quick: aiosqlite.Connection,
        query_budget: float,
    ) -> None:
        self.path = path
        self.stats = Stats()
        self.query_budget = query_budget
        self.fault: str | None = None  # why the last write failed, until one succeeds
        self._next_probe = 0.0  # while faulted: when `writable` may try a write again
        self._probing: asyncio.Task[None] | None = None
        self._writer = writer
        self._readers = readers
        self._budgets = [_Budget() for _ in readers]
        self._quick = quick
        self._busy = [0] * len(readers)
        self._listeners: dict[str, list[Callable[[], None]]] = defaultdict(list)
        self._queued: list[Write] = []
        self._committer: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, path: str, *, readers: int = 2, query_budget: float = math.inf) -> Database:
        """Open (creating if needed), migrate, and return the database.

        `readers` connections serve `read` (a statement running past `query_budget` seconds is
        interrupted); one more serves `lookup`, so that index lookups never queue behind them.
        """
        try:
            if path != ":memory:":
                # Made 0600 here, before SQLite opens it: its -wal and -shm files take its mode.
                create_private(Path(path))
            writer = await _connect(path)
        except (OSError, sqlite3.Error) as exc:
            raise DatabaseError(f"cannot open database {path}: {exc}") from None
        opened: list[aiosqlite.Connection] = []
        try:
            await writer.execute_fetchall("PRAGMA journal_mode = WAL")
            await migrate(writer)
            for _ in range(readers + 1):
                opened.append(await _connect(path, read_only=True))
        except BaseException:
            for conn in [*opened, writer]:
                await conn.close()
            raise
        db = cls(path, writer, opened[:readers], opened[readers], query_budget)
        for conn, budget in zip(db._readers, db._budgets, strict=True):
            await conn.set_progress_handler(budget, 10_000)  # checked every 10,000 VM steps
        return db

    async def close(self) -> None:
        if self._probing is not None:
            await self._probing
        if self._committer is not None:
            await self._committer  # every queued write is committed (or fails) first
        for conn in [*self._readers, self._quick, self._writer]:
            await conn.close()

    async def read(
        self, fn: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`fn(tx, *args)` in one read snapshot on the least busy reader: one round trip.

        QueryTimeout if a statement runs past the query budget (it is interrupted)."""
        i = self._busy.index(min(self._busy))
        self._busy[i] += 1
        job = _read_job(fn, args, kwargs, self._budgets[i], self.query_budget)
        try:
            return await self._run_read(self._readers[i], job)
        finally:
            self._busy[i] -= 1

    async def lookup(
        self, fn: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """As `read`, for index lookups (a token, a session, readiness): on a connection of
        their own, which no client's filter ever occupies."""
        return await self._run_read(self._quick, _read_job(fn, args, kwargs))

    async def _run_read(
        self, conn: aiosqlite.Connection, job: Callable[[sqlite3.Connection], tuple[T, int]]
    ) -> T:
        try:
            result, statements = await _on_thread(conn, job)
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):  # only a reader's budget interrupts a statement
                raise QueryTimeout(self.query_budget) from None
            raise unavailable(exc) from None
        self.stats.reads += 1
        self.stats.statements += statements
        return result

    async def write(
        self, fn: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`fn(tx, *args)` in a write transaction, undone alone if it raises; its result once
        the transaction has committed. Writes queued together share one transaction and one
        round trip (see `app.group_commit`).

        `fn` runs on the writer's thread while every other write waits, so it should only run
        statements: whatever can be computed before belongs before.
        """
        write = Write(fn, args, kwargs, asyncio.get_running_loop().create_future())
        self._queued.append(write)
        if self._committer is None:
            self._committer = asyncio.create_task(self._commit_queued())
        # Shielded: a caller that gives up (a client gone) leaves its write to its fate, and
        # never takes the committer down with it.
        try:
            result: T = await asyncio.shield(write.future)
        except sqlite3.OperationalError as exc:
            raise unavailable(exc) from None
        return result

    async def _commit_queued(self) -> None:
        """Commit what is queued, batch after batch, until nothing is; then end."""
        try:
            while self._queued:
                batch, self._queued = self._queued[:MAX_BATCH], self._queued[MAX_BATCH:]
                try:
                    await _on_thread(self._writer, partial(run_batch, batch=batch, make_tx=Tx))
                except BaseException as exc:
                    if isinstance(exc, sqlite3.OperationalError):
                        self.fault = unavailable(exc).reason
                    for write in batch:
                        _settle(write.future, error=exc)
                    if not isinstance(exc, Exception):
                        raise
                    continue
                self.stats.writes += 1
                failed = [w.error for w in batch if isinstance(w.error, sqlite3.OperationalError)]
                self.fault = unavailable(failed[0]).reason if failed else None
                for write in batch:
                    self.stats.statements += write.statements
                    if write.ok:
                        for table in write.changes:
                            for listener in self._listeners.get(table, ()):
                                listener()
                        _settle(write.future, result=write.result)
                    else:
                        _settle(write.future, error=write.error)
        finally:
            self._committer = None

    def on_change(self, table: str, listener: Callable[[], None]) -> None:
        """Call `listener` after every write of this process that marked `table` changed."""
        self._listeners[table].append(listener)

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        return await self.read(_fetch_one, sql, params)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        return await self.read(_fetch_all, sql, params)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write statement in its own transaction; returns the row count."""
        return await self.write(_execute, sql, params)

    async def ping(self) -> None:
        """Raise unless the database answers a query on the lookup connection."""
        await self.lookup(_fetch_one, "SELECT 1", ())

    async def writable(self) -> str | None:
        """Why writes fail, or None: a try at the write lock; after a failed write, a probe.

        The fault of a failed write stays until a write succeeds. So that it also ends when no
        client writes (a readiness check that stays red takes the service out of rotation, and
        then no write would ever come), a harmless probe write is started in the background,
        at most once every `PROBE_SECONDS` however often this is asked; the answer is the fault
        as it stands, so a probe that waits (for a lock held elsewhere) never holds it up. The
        probe proves that a small write commits: a larger one may still fail, and set the fault
        again.
        """
        if self.fault is not None:
            if time.monotonic() >= self._next_probe and (
                self._probing is None or self._probing.done()
            ):
                self._next_probe = time.monotonic() + PROBE_SECONDS
                self._probing = asyncio.create_task(self._probe())
            return self.fault

        def job(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")  # the lock, and a read-only file, are seen here
            conn.execute("ROLLBACK")

        try:
            await _on_thread(self._writer, job)
        except sqlite3.Error as exc:
            return unavailable(exc).reason
        return None

    async def _probe(self) -> None:
        with contextlib.suppress(DatabaseUnavailable, sqlite3.Error):
            await self.write(_probe)  # success clears `fault`, failure renews it

    async def data_version(self) -> int:
        """SQLite's `data_version` of the writer: it changes when another process commits.

        Not counted in `stats`: it is the cache watcher's, not a request's.
        """

        def job(conn: sqlite3.Connection) -> int:
            return int(conn.execute("PRAGMA data_version").fetchone()[0])

        return await _on_thread(self._writer, job)


def _probe(tx: Tx) -> None:
    """A write that changes nothing but needs what any write needs: room for a new page (a
    table created and rolled back) and a commit that reaches the disk (the header's
    `user_version` written with the value it has)."""
    tx.execute("SAVEPOINT probe")
    tx.execute("CREATE TABLE webrix_probe (x)")
    tx.execute("ROLLBACK TO probe")
    tx.execute("RELEASE probe")
    row = tx.fetch_one("PRAGMA user_version")
    assert row is not None
    tx.execute(f"PRAGMA user_version = {int(row[0])}")


def _settle(
    future: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None
) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(result)
    elif isinstance(error, Exception):
        future.set_exception(error)
        future.exception()  # retrieved: a caller that gave up must not make asyncio complain
    else:
        future.cancel()  # the committer itself was cancelled (shutdown)


def _fetch_one(tx: Tx, sql: str, params: Params) -> Row | None:
    return tx.fetch_one(sql, params)


def _fetch_all(tx: Tx, sql: str, params: Params) -> list[Row]:
    return tx.fetch_all(sql, params)


def _execute(tx: Tx, sql: str, params: Params) -> int:
    return tx.execute(sql, params)


async def _connect(path: str, *, read_only: bool = False) -> aiosqlite.Connection:
    if read_only and path != ":memory:":
        conn = await aiosqlite.connect(
            f"file:{Path(path).resolve()}?mode=ro", uri=True, isolation_level=None
        )
    else:
        conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    for pragma in (
        f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
        "PRAGMA foreign_keys = ON",
        # FULL: every COMMIT is on disk before a client hears of it, power cut included (WAL
        # with NORMAL survives a crash of the process, not of the machine). Group commit
        # shares one sync among the writes of a batch.
        "PRAGMA synchronous = FULL",
    ):
        await conn.execute_fetchall(pragma)
    return conn
