"""SQLite access: connections, migrations, transactions, online backup.

One writer connection guarded by a lock (so this process never races itself into
"database is locked"), a few read-only connections for queries that need no transaction, and
`busy_timeout` for writers in other processes (the CLI). Knows nothing of any table's meaning.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import aiosqlite
import anyio

BUSY_TIMEOUT_MS = 10_000
Row = sqlite3.Row
Params = Sequence[Any] | dict[str, Any]


class DatabaseError(Exception):
    """The database cannot be opened or migrated."""


class Conn(Protocol):
    """What store functions need: reads and writes on one connection."""

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None: ...
    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]: ...
    async def execute(self, sql: str, params: Params = ()) -> int: ...


def migrations() -> list[tuple[int, str, str]]:
    """The packaged migrations as (number, name, sql), in order."""
    found = []
    for entry in resources.files("app.migrations").iterdir():
        m = re.fullmatch(r"(\d{4})_[a-z0-9_]+\.sql", entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise DatabaseError(f"migrations are not numbered 1..n without gaps: {numbers}")
    return found


def latest_version() -> int:
    return len(migrations())


class _Tx:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        async with self._conn.execute(sql, params) as cur:
            row: Row | None = await cur.fetchone()
            return row

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._conn.execute(sql, params) as cur:
            return cur.rowcount


class Database:
    """The service's SQLite file, opened by `Database.open(path)`."""

    def __init__(
        self, path: str, writer: aiosqlite.Connection, readers: list[aiosqlite.Connection]
    ) -> None:
        self.path = path
        self._writer = writer
        self._readers = readers
        self._next_reader = itertools.cycle(range(len(readers)))
        self._lock = anyio.Lock()

    @classmethod
    async def open(cls, path: str, *, readers: int = 2) -> Database:
        """Open (creating if needed), migrate, and return the database."""
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            writer = await _connect(path)
        except (OSError, sqlite3.Error) as exc:
            raise DatabaseError(f"cannot open database {path}: {exc}") from None
        try:
            mode = await writer.execute("PRAGMA journal_mode = WAL")
            await mode.close()
            await migrate(writer)
            reader_conns = [await _connect(path, read_only=True) for _ in range(readers)]
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader_conns)

    async def close(self) -> None:
        for conn in [*self._readers, self._writer]:
            await conn.close()

    def _reader(self) -> _Tx:
        return _Tx(self._readers[next(self._next_reader)])

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        return await self._reader().fetch_one(sql, params)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._reader().fetch_all(sql, params)

    async def ping(self) -> None:
        """Raise unless the database answers a query."""
        await self.fetch_one("SELECT 1")

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write statement in its own transaction; returns the row count."""
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Tx]:
        """A write transaction (BEGIN IMMEDIATE); rolled back if the block raises."""
        async with self._lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield _Tx(self._writer)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await self._writer.rollback()
                raise
            with anyio.CancelScope(shield=True):
                await self._writer.commit()


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
        "PRAGMA synchronous = NORMAL",
    ):
        cur = await conn.execute(pragma)
        await cur.close()
    return conn


async def migrate(conn: aiosqlite.Connection) -> int:
    """Apply pending migrations; return the resulting schema version."""
    known = migrations()
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    current = int(row[0]) if row else 0
    if current > len(known):
        raise DatabaseError(
            f"the database schema is version {current}, newer than this webrix knows "
            f"(up to {len(known)}): run a newer webrix, or restore a backup taken by this version"
        )
    for number, name, sql in known[current:]:
        try:
            await conn.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;"
            )
        except sqlite3.Error as exc:
            if conn.in_transaction:
                await conn.rollback()
            raise DatabaseError(f"migration {name} failed: {exc}") from None
    return max(current, len(known))


def backup(source: str, dest: str) -> None:
    """A consistent online copy of `source` at `dest`, safe while another process writes."""
    target = Path(dest)
    if target.exists():
        raise DatabaseError(f"{dest} already exists; choose a new file name")
    if not Path(source).exists():
        raise DatabaseError(f"database {source} does not exist")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{Path(source).resolve()}?mode=ro", uri=True)
    try:
        src.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # one step: the copy is a single read snapshot
            dst.execute("PRAGMA journal_mode = DELETE")
            (result,) = dst.execute("PRAGMA integrity_check").fetchone()
        finally:
            dst.close()
    finally:
        src.close()
    if result != "ok":
        partial.unlink(missing_ok=True)
        raise DatabaseError(f"backup failed its integrity check: {result}")
    partial.replace(target)
